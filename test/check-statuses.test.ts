// A healthy host is quiet: fail = VMs cannot run, warn = a typical VM suffers, info = optional
// tuning. And the diagnoses that used to be wrong: a PVM guest whose kvm_pvm will not bind, a
// permission problem taken for a nesting one, virtio advice on bare metal, a kernel change that
// would lose the KVM backend in use.
import {expect} from 'chai'

import {runChecks, verdictOf} from '../src/checks/index.js'
import {renderReport} from '../src/checks/render.js'
import {buildReport} from '../src/checks/report.js'
import type {Check} from '../src/checks/types.js'
import type {HostFacts} from '../src/host/facts.js'
import {hostSummary} from '../src/host/summary.js'
import {remedyLines} from '../src/lib/remedy.js'
import {PLAIN} from '../src/lib/style.js'
import {intelHost} from './support/facts.js'

/** A host summary with nothing in it: the statuses come from the checks alone. */
const BARE_SUMMARY = {
  source: 'replay' as const,
  kernel: '',
  arch: '',
  cpu: null,
  cpus: null,
  memoryBytes: null,
  os: null,
  virtual: false,
  hypervisor: null,
  nested: true,
  hugepages: {},
}

const byId = (checks: Check[], id: string) => {
  const found = checks.find((c) => c.id === id)
  if (!found) throw new Error(`no check ${id} in ${checks.map((c) => c.id).join(', ')}`)
  return found
}
const everything = (checks: Check[]) => checks.map((c) => [c.detail, ...remedyLines(c.remedy)].join('\n')).join('\n')
const ids = (checks: Check[], status: string) => checks.filter((c) => c.status === status).map((c) => c.id)

/** intelHost as an AMD host: kvm_amd loaded, SVM. */
const amdHost = () =>
  intelHost({
    cpu: {vendor: 'AuthenticAMD', model: 'AMD Ryzen 9 3950X', flags: ['fpu', 'svm', 'lm'], count: 32},
    loadedModules: ['kvm_amd', 'kvm', 'vhost_net', 'tun'],
    sysModules: ['kvm', 'kvm_amd', 'vhost_net', 'tun'],
    moduleParams: {'kvm_amd.nested': '1'},
    cmdline: 'BOOT_IMAGE=/boot/vmlinuz ro quiet',
    host: {cpuid: {vendor: 'AuthenticAMD', vmx: false, svm: true, hypervisor: false}},
  })

/** This session's machine: a PVM guest whose built-in kvm_pvm refuses to bind (PVM cannot nest). */
const pvmNestedGuest = (overrides: Partial<HostFacts['host']> = {}) =>
  intelHost({
    cpu: {vendor: 'AuthenticAMD', model: 'AMD EPYC', flags: ['fpu', 'hypervisor'], count: 2},
    loadedModules: null,
    builtinModules: null,
    sysModules: ['kvm', 'kvm_pvm', 'tun', 'virtio', 'virtio_net'],
    moduleParams: {},
    kernelConfig: {
      source: '/proc/config.gz',
      options: {KVM: 'y', KVM_PVM: 'y', HUGETLBFS: 'y', TUN: 'y', VIRTIO: 'y', VIRTIO_NET: 'y'},
    },
    hugepages: [{sizeKb: 2048, total: 0, free: 0, reserved: 0, surplus: 0}],
    mounts: [],
    iommuGroups: null,
    firmware: [],
    kvmMisc: false,
    virtioDevices: [{name: 'virtio0', device: 1, driver: 'virtio_net'}],
    host: {
      cpuid: {vendor: 'AuthenticAMD', vmx: false, svm: false, hypervisor: true},
      dmesg:
        '[    0.000000] Hypervisor detected: PVM\n[    0.313714] kvm-pvm: this kernel is itself a kvm-pvm guest; not binding\n',
      devices: {'/dev/kvm': null, '/dev/vhost-net': null, '/dev/net/tun': {mode: '0666', uid: 0, gid: 0}},
      kvm: {open: 'ENOENT'},
      user: {uid: 0, gid: 0, groups: [0]},
      // /.dockerenv left in the VM's root image makes the live probe say "docker".
      container: 'docker',
      ...overrides,
    },
  })

describe('a healthy host is quiet', () => {
  for (const [name, facts] of [
    ['Intel (kvm_intel)', intelHost],
    ['AMD (kvm_amd)', amdHost],
  ] as const) {
    it(`${name}, the user can open /dev/kvm: no warning, no failure, exit-0 verdict`, () => {
      const f = facts()
      const checks = runChecks(f)
      const report = buildReport(f, BARE_SUMMARY)
      expect(ids(checks, 'warn'), everything(checks)).to.deep.equal([])
      expect(ids(checks, 'fail')).to.deep.equal([])
      expect(report.counts).to.include({warn: 0, fail: 0})
      // KSM off is optional tuning: noted, counted, never a warning.
      expect(byId(checks, 'hugepages.ksm').status).to.equal('info')
      expect(report.counts.info).to.equal(ids(checks, 'info').length)
      expect(verdictOf(f, checks).summary).to.match(
        /^KVM is usable through kvm_(intel|amd) .*; 0 failed, 0 warnings, \d+ notes?$/,
      )
    })
  }

  it('--quiet prints the verdict alone on a healthy host, and warnings with their remedies otherwise', async () => {
    const c = PLAIN
    const healthy = intelHost()
    const quiet = renderReport(buildReport(healthy, await hostSummary(healthy)), c, {quiet: true})
    expect(quiet).to.have.length(1)
    expect(quiet[0]).to.match(/^Verdict: OK KVM is usable through kvm_intel/)
    const noisy = intelHost({thp: 'never'})
    const lines = renderReport(buildReport(noisy, await hostSummary(noisy)), c, {quiet: true})
    expect(lines.join('\n')).to.match(/^Memory\n {2}WARN {2}transparent hugepages/)
    expect(lines.join('\n')).not.to.match(/INFO|PASS|SKIP|^Host:/m)
    expect(lines.at(-1)).to.match(/^Verdict: /)
  })

  it('shows info rows, with their optional remedies, in the full table', async () => {
    const c = PLAIN
    const f = intelHost({hugepages: [{sizeKb: 2048, total: 0, free: 0, reserved: 0, surplus: 0}], mounts: []})
    const text = renderReport(buildReport(f, await hostSummary(f)), c).join('\n')
    expect(text).to.match(
      /\n {2}INFO {2}2 MiB hugepages +0 total.*\n {9}-> sudo kvmctl tune hugepages --vm-mem 1024\n {9}-> or by hand: /,
    )
  })

  it('calls what a typical VM suffers from a warning: THP never, reserved pages without a mount', () => {
    const thp = runChecks(intelHost({thp: 'never'}))
    expect(byId(thp, 'hugepages.thp').status).to.equal('warn')
    const unmounted = runChecks(intelHost({mounts: []}))
    const mount = byId(unmounted, 'hugepages.hugetlbfs')
    expect(mount.status).to.equal('warn')
    expect(mount.detail).to.contain('512 pages (1 GiB) of 2 MiB reserved, but no hugetlbfs is mounted')
  })

  it('notes no IOMMU as optional tuning: info, never a warning', () => {
    const none = byId(runChecks(intelHost({iommuGroups: 0, cmdline: 'ro quiet'})), 'passthrough.iommu')
    expect(none.status).to.equal('info')
    expect(remedyLines(none.remedy).join('\n')).to.match(/VT-d|IOMMU/)
  })

  it('counts every status, info included, in JSON', () => {
    const f = intelHost({thp: 'never'})
    const report = buildReport(f, BARE_SUMMARY)
    expect(report.schema).to.equal(2)
    expect(Object.keys(report.counts)).to.deep.equal(['pass', 'info', 'warn', 'fail', 'skip'])
    const total = Object.values(report.counts).reduce((a, b) => a + b, 0)
    expect(total).to.equal(report.checks.length)
  })
})

describe('virtio: a guest judges its own devices, a host only reports its config', () => {
  it('gives a bare-metal host no virtio advice at all', () => {
    const f = intelHost({loadedModules: ['kvm_intel', 'kvm', 'vhost_net', 'tun'], sysModules: ['kvm', 'kvm_intel']})
    const checks = runChecks(f)
    const virtio = byId(checks, 'modules.virtio')
    expect(virtio.status).to.equal('skip')
    expect(virtio.remedy).to.equal(undefined)
    expect(virtio.detail).to.match(/^bare metal: virtio drivers belong to guests/)
    expect(everything(checks)).not.to.match(/modprobe virtio/)
  })

  it('reports what guests booting this kernel would get, with no modprobe', () => {
    const options = {...intelHost().kernelConfig!.options}
    delete options.SCSI_VIRTIO
    const row = byId(runChecks(intelHost({kernelConfig: {source: '/proc/config.gz', options}})), 'kernel-config.virtio')
    expect(row.status).to.equal('info')
    expect(row.detail).to.contain('a guest booting this kernel would lack CONFIG_SCSI_VIRTIO')
    expect(row.remedy).to.equal(undefined)
  })

  it('inside a VM, passes bound drivers and names an unbound device with the module to load', () => {
    const guest = (virtioDevices: HostFacts['virtioDevices']) =>
      intelHost({
        virtioDevices,
        cpu: {vendor: 'GenuineIntel', flags: ['vmx', 'hypervisor'], count: 2},
        host: {cpuid: {vendor: 'GenuineIntel', vmx: true, svm: false, hypervisor: true}},
      })
    const bound = byId(
      runChecks(
        guest([
          {name: 'virtio0', device: 1, driver: 'virtio_net'},
          {name: 'virtio1', device: 2, driver: 'virtio_blk'},
        ]),
      ),
      'modules.virtio',
    )
    expect(bound).to.include({status: 'pass', detail: 'virtio0 (net): virtio_net, virtio1 (block): virtio_blk'})
    const unbound = byId(
      runChecks(
        guest([
          {name: 'virtio0', device: 1, driver: null},
          {name: 'virtio1', device: 2, driver: 'virtio_blk'},
        ]),
      ),
      'modules.virtio',
    )
    expect(unbound.status).to.equal('warn')
    expect(unbound.detail).to.contain('no driver bound to virtio0 (net)')
    expect(unbound.remedy?.steps[0]).to.equal('sudo modprobe virtio_net')
    // The kernel has no driver for it: nothing to load, the device goes unused.
    const options = {...intelHost().kernelConfig!.options}
    delete options.VIRTIO_VSOCKETS
    const lacking = byId(
      runChecks({
        ...guest([{name: 'virtio3', device: 19, driver: null}]),
        kernelConfig: {source: '/proc/config.gz', options},
      }),
      'modules.virtio',
    )
    expect(lacking.status).to.equal('info')
    expect(lacking.detail).to.contain('virtio3 (vsock)')
  })
})

describe('no advice that breaks what works', () => {
  it('on a PVM host never advises a distribution kernel: it would remove kvm_pvm', () => {
    const pvm = intelHost({
      cpu: {vendor: 'AuthenticAMD', model: 'AMD EPYC', flags: ['fpu', 'hypervisor'], count: 2},
      loadedModules: null,
      builtinModules: null,
      sysModules: ['kvm', 'kvm_pvm'],
      moduleParams: {},
      kernelConfig: {source: '/proc/config.gz', options: {KVM: 'y', KVM_PVM: 'y', HUGETLBFS: 'y', VIRTIO: 'y'}},
      host: {
        cpuid: {vendor: 'AuthenticAMD', vmx: false, svm: false, hypervisor: true},
        dmesg: 'Hypervisor detected: KVM\n',
        devices: {'/dev/kvm': {mode: '0666', uid: 0, gid: 0}, '/dev/vhost-net': null, '/dev/net/tun': null},
      },
    })
    const checks = runChecks(pvm)
    const text = everything(checks)
    expect(text).not.to.match(/install a distribution kernel|apt-get install linux-image|a distribution kernel has it/)
    expect(remedyLines(byId(checks, 'kernel-config.vhost-net').remedy).join('\n')).to.contain(
      'keeping CONFIG_KVM_PVM=y',
    )
    expect(ids(checks, 'warn')).to.deep.equal(['cpu.flag', 'backend.kvm'])
    // On an Intel host a distribution kernel keeps kvm_intel: there it is the simple fix.
    const options = {...intelHost().kernelConfig!.options}
    delete options.VHOST_NET
    const intel = byId(
      runChecks(intelHost({kernelConfig: {source: '/boot/config', options}})),
      'kernel-config.vhost-net',
    )
    expect(remedyLines(intel.remedy).join('\n')).to.contain('a distribution kernel has it')
  })

  it('as a user who gets EACCES with a backend present, blames the permission, never nesting', () => {
    const f = intelHost({
      cpu: {vendor: 'AuthenticAMD', model: 'AMD EPYC', flags: ['fpu', 'hypervisor'], count: 2},
      loadedModules: null,
      builtinModules: null,
      sysModules: ['kvm', 'kvm_pvm'],
      moduleParams: {},
      kernelConfig: {source: '/proc/config.gz', options: {KVM: 'y', KVM_PVM: 'y'}},
      host: {
        cpuid: {vendor: 'AuthenticAMD', vmx: false, svm: false, hypervisor: true},
        dmesg: null,
        kvm: {open: 'EACCES'},
        devices: {'/dev/kvm': {mode: '0660', uid: 0, gid: 994, group: 'kvm'}},
        user: {uid: 1000, gid: 1000, groups: [1000], name: 'alice'},
      },
    })
    const checks = runChecks(f)
    expect(everything(checks)).not.to.match(/needs nested virtualization|nested virtualization from the outer host/)
    const open = byId(checks, 'dev-kvm.open')
    expect(open.status).to.equal('fail')
    expect(open.remedy?.steps[0]).to.equal('sudo usermod -aG kvm alice')
    expect(byId(checks, 'nested.host-is-guest')).to.include({status: 'pass'})
    expect(byId(checks, 'nested.host-is-guest').detail).to.contain(
      'what keeps /dev/kvm from working is reported under /dev/kvm',
    )
    expect(verdictOf(f, checks).summary).to.contain('open failed: EACCES')
  })
})

describe('a PVM guest whose kvm_pvm will not bind (this machine)', () => {
  it('says kvm_pvm is built in but refused to bind because PVM cannot nest, and where VMs can run', () => {
    const f = pvmNestedGuest()
    const checks = runChecks(f)
    const backend = byId(checks, 'backend.kvm')
    expect(backend.status).to.equal('fail')
    expect(backend.detail).to.match(
      /^kvm_pvm is built in but serves no \/dev\/kvm: this kernel itself runs under PVM, and PVM cannot nest/,
    )
    expect(backend.detail).to.contain('kvm-pvm: this kernel is itself a kvm-pvm guest; not binding')
    // One remedy for the three findings, printed under the first (the CPU flag) only.
    expect(backend.detail).to.match(/\(remedy under "vmx\/svm flag in \/proc\/cpuinfo"\)$/)
    expect(remedyLines(byId(checks, 'cpu.flag').remedy).join('\n')).to.match(
      /^run the VMs on the outer host.*\n.*host whose CPU exposes Intel VT-x or AMD-V/,
    )
    expect(byId(checks, 'dev-kvm.exists').detail).to.equal(
      '/dev/kvm is missing: kvm_pvm is in the kernel but did not bind (this kernel itself runs under PVM, and PVM cannot nest) (remedy under "vmx/svm flag in /proc/cpuinfo")',
    )
    const verdict = verdictOf(f, checks)
    expect(verdict).to.include({kvmUsable: false, backend: null})
    expect(verdict.summary).to.match(
      /^KVM is not usable: kvm_pvm is built in but serves no \/dev\/kvm: this kernel itself runs under PVM, and PVM cannot nest/,
    )
  })

  it('gives no container, mknod or modprobe advice, and the one remedy once', () => {
    const checks = runChecks(pvmNestedGuest())
    const text = everything(checks.filter((c) => c.status === 'fail'))
    expect(text).not.to.match(/container|docker|mknod|modprobe|udevadm|nested=1/)
    const withRemedy = checks.filter((c) => c.status === 'fail' && c.remedy)
    expect(withRemedy).to.have.length(1)
    expect(ids(checks, 'fail')).to.deep.equal(['cpu.flag', 'backend.kvm', 'dev-kvm.exists'])
    // Nesting is not this host's fault to fix: one finding, one place.
    expect(byId(checks, 'nested.host-is-guest').status).to.equal('skip')
  })

  it('finds the same without a readable kernel log, from the missing KVM misc device', () => {
    const checks = runChecks(pvmNestedGuest({dmesg: null}))
    const backend = byId(checks, 'backend.kvm')
    expect(backend.status).to.equal('fail')
    expect(backend.detail).to.contain('it registered no KVM device (/sys/class/misc/kvm is absent)')
    expect(everything(checks.filter((c) => c.status === 'fail'))).not.to.match(/container|docker|mknod/)
  })

  it('still tells a real container without the node to pass it in', () => {
    const f = pvmNestedGuest({dmesg: null, container: 'docker'})
    // The kernel registered KVM (a container sees the host's sysfs): only the node is missing.
    const checks = runChecks({...f, kvmMisc: true})
    expect(remedyLines(byId(checks, 'dev-kvm.exists').remedy).join('\n')).to.contain('docker run --device /dev/kvm')
  })
})
