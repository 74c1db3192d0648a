import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../lib/base-command.js'
import {tuneThpBody} from '../../report/bodies/tune-setting.js'
import type {SettingJson} from '../../tune/setting-render.js'
import {THP_MODES} from '../../tune/thp.js'

export default class TuneThp extends BaseCommand {
  static override summary = 'Set transparent hugepages (always, madvise, never) now and at every boot'
  static override description =
    'Writes /sys/kernel/mm/transparent_hugepage/enabled and reads it back, and sets transparent_hugepage=MODE on the kernel command line (GRUB, BLS/grubby or systemd-boot) for the next boots. madvise gives THP to QEMU guest RAM (QEMU asks for it) without imposing it on every process. Journaled: `kvmctl tune undo` restores both. --json: schemas/tune-setting.schema.json.'
  static override examples = [
    '<%= config.bin %> tune thp --mode madvise --dry-run',
    '<%= config.bin %> tune thp --mode madvise',
    '<%= config.bin %> tune thp --mode never --no-persist --json',
  ]
  static override flags = {
    mode: Flags.string({description: 'THP mode', options: [...THP_MODES], required: true}),
    persist: Flags.boolean({
      description: 'set transparent_hugepage= on the kernel command line (--no-persist: runtime only)',
      default: true,
      allowNo: true,
    }),
    'dry-run': Flags.boolean({description: 'print the plan and change nothing (any user)', default: false}),
    root: Flags.string({description: 'operate on a host tree instead of the live machine (tests)', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<SettingJson> {
    return this.runBody(tuneThpBody)
  }
}
