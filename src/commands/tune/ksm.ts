import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../lib/base-command.js'
import {tuneKsmBody} from '../../report/bodies/tune-setting.js'
import type {SettingJson} from '../../tune/setting-render.js'

export default class TuneKsm extends BaseCommand {
  static override summary = 'Start or stop Kernel Samepage Merging (KSM) now and at every boot'
  static override description =
    'Writes /sys/kernel/mm/ksm/run (1 with --on, 0 with --off), reads it back, and keeps it across reboots with /etc/tmpfiles.d/kvmctl-ksm.conf (systemd-tmpfiles). Names ksmtuned and ksm.service where installed, since they drive the same file. Journaled: `kvmctl tune undo` restores the value and the file. --json: schemas/tune-setting.schema.json.'
  static override examples = [
    '<%= config.bin %> tune ksm --on --dry-run',
    '<%= config.bin %> tune ksm --on',
    '<%= config.bin %> tune ksm --off --no-persist --json',
  ]
  static override flags = {
    on: Flags.boolean({description: 'run ksmd: merge identical guest pages (saves memory, costs CPU)'}),
    off: Flags.boolean({description: 'stop ksmd'}),
    persist: Flags.boolean({
      description: 'write /etc/tmpfiles.d/kvmctl-ksm.conf (--no-persist: runtime only)',
      default: true,
      allowNo: true,
    }),
    'dry-run': Flags.boolean({description: 'print the plan and change nothing (any user)', default: false}),
    root: Flags.string({description: 'operate on a host tree instead of the live machine (tests)', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<SettingJson> {
    return this.runBody(tuneKsmBody)
  }
}
