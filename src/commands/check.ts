import {Flags} from '@oclif/core'

import {BaseCommand} from '../lib/base-command.js'

import {Host} from '../host/host.js'
import {interimCheckReport} from '../report/interim-check.js'
import {emitReport, reportFlags} from '../report/flags.js'
import type {CheckReport} from '../report/types.js'

export default class Check extends BaseCommand {
  static override description = 'Check whether this host can run KVM virtual machines'
  static override examples = [
    '<%= config.bin %> check',
    '<%= config.bin %> check --json',
    '<%= config.bin %> check --format junit --output kvmctl-check.xml',
    '<%= config.bin %> check --format prometheus --output /var/lib/node_exporter/textfile/kvmctl.prom',
    '<%= config.bin %> check --format nfd --expires-in 2h --output /etc/kubernetes/node-feature-discovery/features.d/kvmctl',
  ]
  static override flags = {
    root: Flags.string({description: 'replay a captured host folder instead of the live machine', env: 'KVMCTL_ROOT'}),
    ...reportFlags(),
  }

  async run(): Promise<CheckReport> {
    const {flags} = await this.parse(Check)
    const host = await Host.open(flags.root)
    const report = await interimCheckReport(host)
    await emitReport(report, {...flags, json: this.jsonEnabled()}, {log: (t) => this.log(t), renderText: () => JSON.stringify(report, null, 2)})
    if (!report.verdict.kvmUsable) this.failed = true
    return report
  }
}
