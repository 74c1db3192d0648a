import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../lib/base-command.js'
import {tuneAccessBody} from '../../report/bodies/tune-setting.js'
import type {SettingJson} from '../../tune/setting-render.js'

export default class TuneAccess extends BaseCommand {
  static override summary = 'Let a user open /dev/kvm: the group that owns it, created when missing'
  static override description =
    "Adds the user (--user, else the sudo caller) to the group that owns /dev/kvm (kvm, created with `groupadd --system` when missing) with usermod, and writes a udev rule (/etc/udev/rules.d/65-kvmctl-kvm.rules) only when the node has the wrong group or mode. Says when the user's current login lacks the group (log out and in, or `newgrp kvm`). Journaled: `kvmctl tune undo` removes the membership, the group it created and the rule. --json: schemas/tune-setting.schema.json."
  static override examples = [
    '<%= config.bin %> tune access --dry-run',
    'sudo <%= config.bin %> tune access',
    '<%= config.bin %> tune access --user alice --json',
  ]
  static override flags = {
    user: Flags.string({description: 'the user who runs VMs (default: the user who ran sudo)'}),
    'dry-run': Flags.boolean({description: 'print the plan and change nothing (any user)', default: false}),
    root: Flags.string({description: 'operate on a host tree instead of the live machine (tests)', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<SettingJson> {
    return this.runBody(tuneAccessBody)
  }
}
