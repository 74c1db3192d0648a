import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../lib/base-command.js'
import {selftestBody} from '../report/bodies/selftest.js'
import {reportFlags} from '../report/flags.js'
import type {SelftestReport} from '../vmm/selftest.js'

export default class Selftest extends BaseCommand {
  static override description = 'Prove the host runs VMs: boot a probe guest on the built-in VMM and check each stage'
  static override examples = [
    '<%= config.bin %> selftest',
    '<%= config.bin %> selftest --vcpus 2 --mem 64M',
    '<%= config.bin %> selftest --hugepages --mem 128M',
    '<%= config.bin %> selftest --json',
    '<%= config.bin %> selftest --format junit --output kvmctl-selftest.xml',
    '<%= config.bin %> selftest --format prometheus --output /var/lib/node_exporter/textfile/kvmctl-selftest.prom',
  ]
  static override flags = {
    vcpus: Flags.string({description: 'vCPUs for the SMP stage (default: host CPUs, at most 4)'}),
    mem: Flags.string({description: 'guest RAM, e.g. 8M or 1G (multiple of 2 MiB)', default: '8M'}),
    hugepages: Flags.boolean({
      description: 'back guest RAM with reserved hugepages and check the pool',
      default: false,
    }),
    timeout: Flags.string({description: 'watchdog bound of each guest run, ms or a duration (2s)', default: '2s'}),
    device: Flags.string({description: 'KVM device', default: '/dev/kvm'}),
    ...reportFlags(['text', 'json', 'junit', 'prometheus']),
  }

  async run(): Promise<SelftestReport> {
    return this.runBody(selftestBody)
  }
}
