import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../lib/base-command.js'
import {tuneIommuBody} from '../../report/bodies/tune-setting.js'
import type {SettingJson} from '../../tune/setting-render.js'
import {PASSTHROUGH_MODES} from '../../tune/iommu.js'

export default class TuneIommu extends BaseCommand {
  static override summary = 'Turn the IOMMU on for device assignment (VFIO) on the kernel command line'
  static override description =
    'Intel: intel_iommu=on; AMD: nothing to add (the IOMMU is on when the firmware describes it). --passthrough-mode pt adds iommu=pt (identity-mapped host DMA), dma removes it. Refuses iommu=pt on a SEV-SNP host, where the kernel would turn SNP off. Edits GRUB (then update-grub / grub2-mkconfig), BLS entries through grubby, or systemd-boot, journaled so `kvmctl tune undo` restores every file; takes effect at the next boot. --json: schemas/tune-setting.schema.json.'
  static override examples = [
    '<%= config.bin %> tune iommu --dry-run',
    '<%= config.bin %> tune iommu',
    '<%= config.bin %> tune iommu --passthrough-mode pt --json',
  ]
  static override flags = {
    'passthrough-mode': Flags.string({
      description: 'pt: add iommu=pt; dma: remove it (translated DMA, the default)',
      options: [...PASSTHROUGH_MODES],
    }),
    'dry-run': Flags.boolean({description: 'print the plan and change nothing (any user)', default: false}),
    root: Flags.string({description: 'operate on a host tree instead of the live machine (tests)', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<SettingJson> {
    return this.runBody(tuneIommuBody)
  }
}
