import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../lib/base-command.js'
import {type TuneNestedJson, tuneNestedBody} from '../../report/bodies/tune-nested.js'

export type {TuneNestedJson} from '../../report/bodies/tune-nested.js'

export default class TuneNested extends BaseCommand {
  static override summary = 'Turn nested virtualization on (or off) in kvm_intel/kvm_amd, verify it and persist it'
  static override description =
    'Reloads the vendor module with nested=1 through modprobe (path: KVMCTL_MODPROBE or modprobe), checks /sys/module/MODULE/parameters/nested and writes /etc/modprobe.d/MODULE.conf. Refuses while VMs use the module (--persist-only writes the file for the next load). A built-in module gets the kernel command line to add; a PVM host (kvm_pvm) has no nested virtualization: exit 1, nothing changed.'
  static override examples = [
    '<%= config.bin %> tune nested --dry-run',
    '<%= config.bin %> tune nested',
    '<%= config.bin %> tune nested --persist-only',
    '<%= config.bin %> tune nested --disable',
  ]
  static override flags = {
    disable: Flags.boolean({description: 'turn nested virtualization off instead'}),
    'persist-only': Flags.boolean({description: 'only write /etc/modprobe.d; takes effect at the next module load'}),
    'dry-run': Flags.boolean({description: 'print the plan and change nothing (any user)', default: false}),
    root: Flags.string({description: 'operate on a host tree instead of the live machine (tests)', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<TuneNestedJson> {
    return this.runBody(tuneNestedBody)
  }
}
