// Realistic check and selftest results, shaped as the commands return them with --json, with a
// failure, a warning, a skip, and text that needs escaping in XML and Prometheus label values.
import type {CheckReport, SelftestReport} from '../../src/report/types.js'

export function sampleCheckReport(): CheckReport {
  return {
    schema: 1,
    host: {
      hostname: 'node-7',
      kernel: '6.1.0-18-amd64',
      arch: 'x86_64',
      nested: false,
      hugepages: {'2Mi': {total: 550, free: 550}, '1Gi': {total: 0, free: 0}},
    },
    verdict: {kvmUsable: true, backend: 'pvm', summary: 'KVM is usable: PVM backend, no vmx/svm needed'},
    checks: [
      {id: 'kvm-device', area: 'kvm', title: '/dev/kvm exists', status: 'pass', detail: 'character device 10:232, mode 0660 group kvm'},
      {id: 'kvm-backend', area: 'kvm', title: 'a KVM backend is loaded', status: 'pass', detail: 'kvm_pvm (Pagetable-based VM)'},
      {
        id: 'kvm-access',
        area: 'access',
        title: 'the user can open /dev/kvm',
        status: 'fail',
        detail: 'open("/dev/kvm") failed: EACCES <user "ci" & group 1000>',
        remedy: ['sudo usermod -aG kvm ci', 'log out and back in'],
      },
      {
        id: 'hugepages',
        area: 'memory',
        title: 'huge pages reserved for guests',
        status: 'warn',
        detail: 'C:\\path "quoted"\nsecond line',
        remedy: ['kvmctl tune hugepages --vm-mem 1G'],
      },
      {id: 'nested', area: 'cpu', title: 'nested virtualization', status: 'skip', detail: 'PVM has no nested parameter'},
    ],
    counts: {pass: 2, warn: 1, fail: 1, skip: 1},
  }
}

export function sampleSelftestReport(): SelftestReport {
  return {
    schema: 1,
    stages: [
      {id: 'open', title: 'open /dev/kvm', status: 'pass', detail: 'API version 12', durationMs: 0.05},
      {id: 'create-vm', title: 'create a VM', status: 'pass', detail: 'KVM_CREATE_VM', durationMs: 1.2},
      {id: 'memory', title: 'map guest memory', status: 'pass', detail: '2 MiB', durationMs: 0.3},
      {id: 'vcpus', title: 'create vCPUs', status: 'pass', detail: '1 vCPU', durationMs: 0.4},
      {id: 'pio', title: 'port I/O exit reaches the VMM', status: 'fail', detail: 'expected "X" on port 0x3f8, got nothing', durationMs: 2.5},
    ],
    phases: {openMs: 0.05, createVmMs: 1.2, memoryMs: 0.3, vcpusMs: 0.4, firstExitMs: 2.1, totalMs: 4.45},
    pioExitNs: 1250,
    ok: false,
  }
}
