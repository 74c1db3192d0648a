import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../lib/base-command.js'
import {type TuneHugepagesJson, tuneHugepagesBody} from '../../report/bodies/tune-hugepages.js'

export type {TuneHugepagesJson} from '../../report/bodies/tune-hugepages.js'

export default class TuneHugepages extends BaseCommand {
  static override summary = 'Reserve hugepages for VMs: plan, apply with readback, mount hugetlbfs, persist'
  static override description = `Pages = ceil(ceil(VM memory / page size) × VMs × (1 + headroom/100)). The default headroom is 7.4 % for 2 MiB pages (1024 MiB -> 512 pages -> 550, as the guides do) and 0 for 1 GiB pages. Prints the plan (runtime values and a unified diff per file) first; applying needs root and is journaled, so \`kvmctl tune undo\` restores the host. A shortfall is compacted and retried, then rolled back (exit 1) unless --allow-partial. The host always keeps max(512 MiB, 5 % of MemTotal) outside hugepages. The default group kvm is created (journaled) when the host has none; a missing --group NAME is an error unless --create-group. Another page size than the default (1G) persists on the kernel command line (hugepagesz=1G hugepages=N, default_hugepagesz when it is the only pool; GRUB, BLS/grubby or systemd-boot) with its own hugetlbfs mount, and is reserved now only with --runtime. Per NUMA node (--node N, repeatable, or --nodes 0:4,1:2) memory is compacted first, each node is written and read back, a shortfall on any node rolls every node back, and the split persists as hugepages=0:N,1:M on Linux 5.16+ (before 5.16: a systemd-tmpfiles line per node).`
  static override examples = [
    '<%= config.bin %> tune hugepages --vm-mem 1024 --dry-run',
    '<%= config.bin %> tune hugepages --vm-mem 4G --vms 2',
    '<%= config.bin %> tune hugepages --vm-mem 8G --page-size 1G --node 0',
    '<%= config.bin %> tune hugepages --vm-mem 2G --nodes 0:4,1:2 --dry-run',
    '<%= config.bin %> tune hugepages --vm-mem 4G --page-size 1G --runtime',
    '<%= config.bin %> tune hugepages --vm-mem 1024 --group vmusers --create-group --json',
  ]
  static override flags = {
    'vm-mem': Flags.string({description: 'memory of each VM: 1024 (MiB), 512M, 1G, 1GiB', required: true}),
    vms: Flags.string({description: 'number of VMs of that size', default: '1'}),
    'page-size': Flags.string({description: 'hugepage size, 2M or 1G (default: the system default size)'}),
    headroom: Flags.string({description: 'extra pages in percent (default 7.4 for 2M pages, 0 for 1G)'}),
    node: Flags.string({
      description: 'reserve on this NUMA node (per-node sysfs); repeat for several nodes, --vms VMs on each',
      multiple: true,
      multipleNonGreedy: true,
    }),
    nodes: Flags.string({
      description: 'an uneven per-node split, NODE:VMS pairs: 0:4,1:2 is 4 VMs on node 0 and 2 on node 1',
    }),
    group: Flags.string({description: 'group that may use the hugetlbfs mount (default kvm, created when missing)'}),
    'create-group': Flags.boolean({description: 'create --group with `groupadd --system` when it does not exist'}),
    mount: Flags.string({description: 'hugetlbfs mount point', default: '/dev/hugepages'}),
    persist: Flags.boolean({
      description: 'write /etc/sysctl.d/40-hugepage.conf and /etc/fstab (--no-persist: runtime only)',
      default: true,
      allowNo: true,
    }),
    runtime: Flags.boolean({
      description:
        'reserve the pages now too (default: yes for the default page size; other sizes are reserved at boot unless --runtime)',
      allowNo: true,
    }),
    'allow-partial': Flags.boolean({description: 'keep (and persist) fewer pages than asked instead of rolling back'}),
    'dry-run': Flags.boolean({description: 'print the plan and change nothing (any user)', default: false}),
    root: Flags.string({description: 'operate on a host tree instead of the live machine (tests)', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<TuneHugepagesJson> {
    return this.runBody(tuneHugepagesBody)
  }
}
