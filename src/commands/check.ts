import * as Flags from '@oclif/core/flags'

import type {CheckReport} from '../checks/report.js'
import {BaseCommand} from '../lib/base-command.js'
import {checkBody} from '../report/bodies/check.js'
import {reportFlags} from '../report/flags.js'

export default class Check extends BaseCommand {
  static override description =
    'Check whether this host can run KVM virtual machines, and say how to fix what is missing'
  static override examples = [
    '<%= config.bin %> check',
    '<%= config.bin %> check --quiet',
    '<%= config.bin %> check --json',
    '<%= config.bin %> check --root fixtures/intel-vtx-disabled',
    '<%= config.bin %> check --passthrough 0000:01:00.0',
    '<%= config.bin %> check --format junit --output kvmctl-check.xml',
    '<%= config.bin %> check --format prometheus --output /var/lib/node_exporter/textfile/kvmctl.prom',
    '<%= config.bin %> check --format nfd --expires-in 2h --output /etc/kubernetes/node-feature-discovery/features.d/kvmctl',
  ]
  static override flags = {
    root: Flags.string({
      description: 'replay a folder written by `kvmctl capture` instead of the live machine',
      env: 'KVMCTL_ROOT',
    }),
    quiet: Flags.boolean({char: 'q', description: 'print only failures, warnings and the verdict'}),
    passthrough: Flags.string({
      description:
        'also check one PCI device (address 0000:01:00.0 or id 10de:1b80) for passthrough: IOMMU group, driver, steps',
      helpValue: 'DEVICE',
    }),
    ...reportFlags(),
  }

  async run(): Promise<CheckReport> {
    return this.runBody(checkBody)
  }
}
