import {Flags} from '@oclif/core'

import {BaseCommand} from '../lib/base-command.js'

import {Host} from '../host/host.js'

export default class Check extends BaseCommand {
  static override description = 'Check whether this host can run KVM virtual machines'
  static override examples = ['<%= config.bin %> check']
  static override flags = {
    root: Flags.string({description: 'replay a captured host folder instead of the live machine', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Check)
    const host = await Host.open(flags.root)
    const facts = await host.facts()
    if (!this.jsonEnabled()) this.log(JSON.stringify(facts, null, 2))
    return facts
  }
}
