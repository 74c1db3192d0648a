// Realistic check and selftest results, shaped as the commands return them with --json, with a
// failure, a warning, an info, a skip, and text that needs escaping in XML and Prometheus label values.
import type {CheckReport, SelftestReport} from '../../src/report/types.js'

export function sampleCheckReport(): CheckReport {
  return {
    schema: 2,
    // fixtures/pvm-guest's summary after `kvmctl tune hugepages --vm-mem 1024`
    host: {
      source: 'live',
      kernel: '6.18.44-fc-v657',
      arch: 'x86_64',
      cpu: 'AMD EPYC',
      cpus: 2,
      memoryBytes: 25276510208,
      os: 'Debian GNU/Linux 12 (bookworm)',
      virtual: true,
      hypervisor: 'KVM',
      nested: false,
      hugepages: {'2Mi': {total: 550, free: 550}, '1Gi': {total: 0, free: 0}},
    },
    verdict: {kvmUsable: true, backend: 'kvm_pvm', summary: 'KVM is usable through kvm_pvm (PVM, Pagetable-based VM)'},
    checks: [
      {
        id: 'dev-kvm.exists',
        area: 'dev-kvm',
        title: '/dev/kvm exists',
        status: 'pass',
        detail: 'character device 10:232, mode 0660 group kvm',
      },
      {
        id: 'backend.kvm',
        area: 'backend',
        title: 'KVM backend serving /dev/kvm',
        status: 'pass',
        detail: 'kvm_pvm (Pagetable-based VM)',
      },
      {
        id: 'dev-kvm.open',
        area: 'dev-kvm',
        title: 'the user can open /dev/kvm',
        status: 'fail',
        detail: 'open("/dev/kvm") failed: EACCES <user "ci" & group 1000>',
        remedy: {steps: ['sudo usermod -aG kvm ci', 'log out and back in']},
      },
      {
        id: 'hugepages.2048kB',
        area: 'hugepages',
        title: 'huge pages reserved for guests',
        status: 'warn',
        detail: 'C:\\path "quoted"\nsecond line',
        remedy: {
          kvmctl: ['tune', 'hugepages', '--vm-mem', '1G'],
          steps: ['echo 550 | sudo tee /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'],
        },
      },
      {
        id: 'hugepages.ksm',
        area: 'hugepages',
        title: 'KSM (same-page merging)',
        status: 'info',
        detail: 'off: guest pages are not merged',
        remedy: {steps: ['echo 1 | sudo tee /sys/kernel/mm/ksm/run']},
      },
      {
        id: 'nested.param',
        area: 'nested',
        title: 'guests can run their own VMs',
        status: 'skip',
        detail: 'PVM has no nested parameter',
      },
    ],
    counts: {pass: 2, info: 1, warn: 1, fail: 1, skip: 1},
  }
}

/** A run on a PVM host: b failed (with text to escape), e warns, g failed with a remedy. */
export function sampleSelftestReport(): SelftestReport {
  return {
    schema: 2,
    ok: false,
    device: '/dev/kvm',
    vcpus: 2,
    memBytes: 8 * 2 ** 20,
    backing: 'anonymous',
    costs: {pioExitNs: 1250, pioExits: 500, cpl0NsPerIteration: 2300, cpl3NsPerIteration: 0.5, execution: 'emulated'},
    stages: [
      {
        id: 'a',
        title: 'mode ladder',
        status: 'pass',
        detail: 'real → protected → long mode with paging in 160 µs',
        ns: 700_000,
      },
      {
        id: 'b',
        title: 'PIO',
        status: 'fail',
        detail: '2-byte in returned 0x0, want 0xedcb; rep outsb delivered "kvm<ctl> & io"',
        ns: 1_200_000,
      },
      {
        id: 'c',
        title: 'MMIO',
        status: 'pass',
        detail: 'write and read at unmapped 0xd0000000 exit to the VMM',
        ns: 300_000,
      },
      {
        id: 'd',
        title: 'memory',
        status: 'pass',
        detail: '6 MiB seeded pattern verified',
        ns: 7_000_000,
        data: {bytes: 6291456, seed: '0x1', guestBad: 0, hostBad: 0},
      },
      {
        id: 'e',
        title: 'CPUID',
        status: 'warn',
        detail: "guest sees AuthenticAMD; the guest sees the host's CPUID",
        ns: 1_600_000,
        data: {applied: false, nestedVisible: false},
      },
      {
        id: 'f',
        title: 'SMP',
        status: 'pass',
        detail: '2 vCPUs reported their index; 20000 locked adds, none lost',
        ns: 1_900_000,
      },
      {
        id: 'g',
        title: 'hugepages',
        status: 'fail',
        detail: '4 hugepages of 2 MiB needed, 0 free of 0 reserved; ran on plain memory instead',
        ns: 120_000_000,
        remedy: {
          kvmctl: ['tune', 'hugepages', '--vm-mem', '8M'],
          steps: ['echo 5 | sudo tee /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'],
        },
        data: {need: 4},
      },
      {
        id: 'h',
        title: 'costs',
        status: 'pass',
        detail: 'PIO exit round trip 1.3 µs; supervisor (CPL0) code is emulated',
        ns: 30_000_000,
      },
      {
        id: 'i',
        title: 'confidential VM types',
        status: 'skip',
        detail:
          'this KVM does not list VM types (KVM_CAP_VM_TYPES: x86 KVM on Linux 6.10 and later): no confidential VM types to try',
        ns: 0,
        data: {vmTypes: 0, created: {}},
      },
    ],
    phases: {
      openNs: 30_000,
      createVmNs: 1_200_000,
      memoryNs: 150_000,
      loadNs: 5_000_000,
      vcpusNs: 1_600_000,
      firstExitNs: 200_000,
      teardownNs: 2_000_000,
      totalNs: 125_000_000,
    },
  }
}
