import {Flags} from '@oclif/core'

import {runCheck} from '../checks/run.js'
import type {CheckReport} from '../checks/report.js'
import {BaseCommand} from '../lib/base-command.js'

export default class Check extends BaseCommand {
  static override description = 'Check whether this host can run KVM virtual machines, and say how to fix what is missing'
  static override examples = [
    '<%= config.bin %> check',
    '<%= config.bin %> check --quiet',
    '<%= config.bin %> check --json',
    '<%= config.bin %> check --root fixtures/intel-vtx-disabled',
  ]
  static override flags = {
    root: Flags.string({description: 'replay a folder written by `kvmctl capture` instead of the live machine', env: 'KVMCTL_ROOT'}),
    quiet: Flags.boolean({char: 'q', description: 'print only failures, warnings and the verdict'}),
  }

  async run(): Promise<CheckReport> {
    const {flags} = await this.parse(Check)
    const report = await runCheck(flags.root)
    if (!this.jsonEnabled()) {
      const [{renderReport}, {makeChalk}] = await Promise.all([import('../checks/render.js'), import('../lib/style.js')])
      this.log(renderReport(report, makeChalk(), {quiet: flags.quiet}).join('\n'))
    }
    this.failed = report.counts.fail > 0
    return report
  }
}
