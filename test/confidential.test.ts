// Confidential guests (SEV, SEV-ES, SEV-SNP, TDX), IOMMU/VFIO readiness and `check --passthrough`:
// the derivations as pure functions, the five fixtures of real hosts through the built CLI in every
// report format, the native probes' error paths, and this machine (a PVM guest without an IOMMU).
import {expect} from 'chai'
import {readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {confidentialChecks} from '../src/checks/confidential.js'
import {passthroughChecks, passthroughDeviceChecks} from '../src/checks/passthrough.js'
import {captureHost} from '../src/host/capture.js'
import {decodeMemEncrypt} from '../src/host/confidential.js'
import {confidentialLevels, type LevelId} from '../src/host/confidential-levels.js'
import {gatherFacts, type HostFacts} from '../src/host/facts.js'
import {Host} from '../src/host/host.js'
import {parseMemlock, parsePciSpec, parseUevent} from '../src/host/iommu.js'
import {readMsrs} from '../src/host/msr.js'
import {loadNative} from '../src/native.js'
import {judgeVmTypes} from '../src/vmm/vm-types.js'
import {fixture, runCli} from './support/cli.js'
import {intelHost} from './support/facts.js'
import {tempDir} from './support/temp.js'

const facts = async (name: string) => gatherFacts(await Host.open(fixture(name)))
const state = (f: HostFacts, id: LevelId) => confidentialLevels(f).find((l) => l.id === id)!

/** An AMD host: intelHost with AMD CPUID (leaf 0x8000001F as given) and a kernel log. */
function amdHost(
  memEncrypt: {eax: number; ebx: number; ecx: number; edx: number} | null,
  dmesg: string,
  extra: Partial<HostFacts> = {},
): HostFacts {
  const base = intelHost()
  return {
    ...base,
    cpu: {vendor: 'AuthenticAMD', model: 'AMD EPYC', flags: ['svm', 'sev', 'sev_es'], count: 4},
    ...extra,
    host: {...base.host, cpuid: {vendor: 'AuthenticAMD', vmx: false, svm: true, hypervisor: false, memEncrypt}, dmesg},
  }
}

// EPYC 7313 (HPE DL385 Gen10 Plus v2): `cpuid -1 -r -l 0x8000001f` in https://github.com/AMDESE/AMDSEV/issues/197
const EPYC_7313 = {eax: 0x0101fd3f, ebx: 0x00004133, ecx: 0x000000fd, edx: 0x0000000f}

describe('confidential guests: derivation', () => {
  it('decodes raw CPUID 0x8000001F', () => {
    expect(decodeMemEncrypt(EPYC_7313)).to.deep.equal({
      sme: true,
      sev: true,
      sevEs: true,
      sevSnp: true,
      cBit: 51,
      physAddrReduction: 4,
      encryptedGuests: 253,
      minSevAsid: 15,
    })
    expect(decodeMemEncrypt({eax: 0, ebx: 0, ecx: 0, edx: 0})).to.include({sev: false, sevSnp: false})
  })

  it('finds SEV-SNP usable on the SEV-SNP host, with the ASIDs of each level', async () => {
    const f = await facts('sev-snp')
    expect(confidentialLevels(f).map((l) => [l.id, l.state, l.capacity])).to.deep.equal([
      ['sev', 'usable', 907],
      ['sev-es', 'usable', 99],
      ['sev-snp', 'usable', 99],
      ['tdx', 'unsupported', null],
    ])
  })

  it('finds memory encryption off in firmware from the kernel log, for every SEV level, with the firmware fix', async () => {
    const f = await facts('sev-bios-off')
    for (const id of ['sev', 'sev-es', 'sev-snp'] as const)
      expect(state(f, id)).to.include({state: 'firmware-disabled', cause: 'memory-encryption-off'})
    const [sev] = confidentialChecks(f)
    expect(sev.status).not.to.equal('warn')
    expect(sev.remedy?.steps[0]).to.contain('SMEE')
  })

  it('finds TDX usable on the TDX host, with its private KeyIDs', async () => {
    const f = await facts('tdx-host')
    expect(state(f, 'tdx')).to.include({state: 'usable', capacity: 32})
    expect(confidentialChecks(f).map((c) => [c.id, c.status])).to.deep.equal([['confidential.tdx', 'pass']])
  })

  // Each kernel-log line below is copied from the public report cited beside it.
  it('says SEV-ES is off for want of ASIDs when the firmware left the minimum SEV ASID at 1', () => {
    const f = amdHost({...EPYC_7313, edx: 1}, '[   12.005457] SEV supported: 509 ASIDs', {
      moduleParams: {'kvm_amd.sev': 'Y', 'kvm_amd.sev_es': 'N'},
    })
    expect(state(f, 'sev')).to.include({state: 'usable', capacity: 509})
    expect(state(f, 'sev-es')).to.include({state: 'firmware-disabled', cause: 'no-es-asids'})
    expect(confidentialChecks(f)[1].remedy?.steps[0]).to.contain('SEV-ES ASID Space Limit')
  })

  it('says SEV-SNP is blocked by iommu=pt (AMDESE/AMDSEV#113 and #88), and the fix removes it', () => {
    const log =
      '[   32.381854] AMD-Vi: SNP: IOMMU is disabled or configured in passthrough mode, SNP cannot be supported'
    const f = amdHost(EPYC_7313, log, {
      cmdline: 'BOOT_IMAGE=/boot/vmlinuz ro iommu=pt mem_encrypt=on kvm_amd.sev=1',
      moduleParams: {'kvm_amd.sev': 'Y', 'kvm_amd.sev_snp': 'N'},
    })
    expect(state(f, 'sev-snp')).to.include({state: 'blocked', cause: 'iommu-passthrough'})
    expect(confidentialChecks(f)[2].remedy?.steps[0]).to.contain('remove iommu=pt')
  })

  it('says the RMP table was not reserved by firmware (AMDESE/AMDSEV#197)', () => {
    const f = amdHost(EPYC_7313, '[    0.642786] SEV-SNP: Memory for the RMP table has not been reserved by BIOS', {
      moduleParams: {'kvm_amd.sev': 'Y'},
    })
    expect(state(f, 'sev-snp')).to.include({state: 'firmware-disabled', cause: 'rmp-unreserved'})
  })

  it('reads Y/N and 1/0 module parameters alike: sev off by parameter gives the modprobe.d fix', () => {
    for (const off of ['N', '0']) {
      const f = amdHost(EPYC_7313, '', {
        moduleParams: {'kvm_amd.sev': off},
        loadedModules: ['kvm', 'kvm_amd'],
        sysModules: ['kvm', 'kvm_amd'],
      })
      expect(state(f, 'sev')).to.include({state: 'module-disabled'})
      expect(confidentialChecks(f)[0].remedy?.steps[0]).to.equal(
        'echo "options kvm_amd sev=1" | sudo tee -a /etc/modprobe.d/kvm_amd.conf',
      )
    }
  })

  it('gives the TDX fixes: kvm_intel.tdx off, hibernation, no TDX module (canonical/tdx#260, #425)', () => {
    const tdx = (dmesg: string) => state(intelHost({host: {dmesg}}), 'tdx')
    expect(tdx('[    0.874604] virt/tdx: BIOS enabled: private KeyID range [32, 64)')).to.include({
      state: 'module-disabled',
      cause: 'tdx-param-off',
    })
    expect(tdx('virt/tdx: BIOS enabled: private KeyID range [1, 64)\nvirt/tdx: module not loaded')).to.include({
      state: 'firmware-disabled',
      cause: 'tdx-module-not-loaded',
    })
    expect(tdx('virt/tdx: initialization failed: Hibernation support is enabled')).to.include({
      state: 'blocked',
      cause: 'tdx-hibernation',
    })
    const hibernation = confidentialChecks(
      intelHost({host: {dmesg: 'virt/tdx: initialization failed: Hibernation support is enabled'}}),
    )[0]
    expect(hibernation.remedy?.steps[0]).to.contain('nohibernate')
  })

  it('treats a malformed capture value as unknown, never as a number', () => {
    const f = amdHost({eax: 'x', ebx: -1, ecx: 1.5, edx: null} as never, '', {sysModules: ['kvm', 'kvm_amd']})
    expect(state(f, 'sev').state).to.equal('unknown')
    expect(JSON.stringify(confidentialChecks(f))).not.to.match(/NaN|undefined/)
    expect(parseMemlock('Max locked memory         lots  8388608  bytes')).to.equal(null)
  })
})

describe('device passthrough: derivation', () => {
  it('parses PCI specs and uevents', () => {
    expect(parsePciSpec('01:00.0')).to.deep.equal({address: '0000:01:00.0'})
    expect(parsePciSpec('10DE:1B80')).to.deep.equal({id: '10de:1b80'})
    expect(parsePciSpec('0000:01:00.9')).to.equal(undefined)
    expect(parseUevent('0000:00:01.0', 'DRIVER=virtio-pci\nPCI_CLASS=FFFF00\nPCI_ID=1AF4:1045\n')).to.deep.equal({
      address: '0000:00:01.0',
      id: '1af4:1045',
      classCode: 'ffff',
      driver: 'virtio-pci',
    })
    expect(parseUevent('0000:00:00.0', 'PCI_CLASS=60000\nPCI_ID=8086:0D57\n')).to.include({
      classCode: '0600',
      driver: null,
    })
  })

  it('without an IOMMU, nothing asked: optional, never a warning; asked for a device: it fails', async () => {
    const f = await facts('no-iommu')
    const iommu = passthroughChecks(f).find((c) => c.id === 'passthrough.iommu')!
    expect(iommu.status).not.to.be.oneOf(['warn', 'fail'])
    expect(iommu.remedy?.steps[0]).to.contain('IOMMU')
    expect(passthroughDeviceChecks(f, '00:11.0')[0]).to.include({status: 'fail'})
    // The capture lists only some devices: an address it lacks is unknown, not absent.
    expect(passthroughDeviceChecks(f, '00:19.0')[0].detail).to.match(/^not in this capture/)
  })

  it("warns when the group holds another endpoint, not for bridges or the device's own functions", async () => {
    const f = await facts('vfio-ready')
    expect(passthroughDeviceChecks(f, '0000:01:00.0')[0].status).to.equal('info')
    const crowded: HostFacts = {
      ...f,
      iommu: {...f.iommu!, groups: {...f.iommu!.groups, 1: [...f.iommu!.groups![1], '0000:03:00.0']}},
    }
    const check = passthroughDeviceChecks(crowded, '0000:01:00.0')[0]
    expect(check.status).to.equal('warn')
    expect(check.detail).to.contain('the group also holds 0000:03:00.0 (1b21:1242)')
    expect(check.detail).not.to.contain('also holds 0000:00:01.0')
  })
})

describe('confidential and passthrough reports of the fixtures (built CLI)', function () {
  this.timeout(60_000)

  /** My areas' lines of the text report, check lines and their remedies. */
  async function text(name: string, ...args: string[]): Promise<string[]> {
    const {stdout} = await runCli(['check', '--root', fixture(name), ...args])
    const lines = stdout.split('\n')
    const start = lines.indexOf('Device passthrough')
    const end = lines.indexOf('Guest firmware')
    return lines.slice(start, end).filter((l) => l.trim() !== '')
  }

  async function json(name: string) {
    const {stdout, exitCode} = await runCli(['check', '--root', fixture(name), '--json'])
    expect(exitCode).to.be.oneOf([0, 1])
    return JSON.parse(stdout) as {
      host: {confidential: unknown; iommu: unknown}
      checks: Array<{id: string; area: string; status: string}>
    }
  }

  async function metrics(name: string): Promise<string[]> {
    const {stdout} = await runCli(['check', '--root', fixture(name), '--format', 'prometheus'])
    return stdout.split('\n').filter((l) => /^kvmctl_(confidential|iommu)/.test(l))
  }

  async function labels(name: string): Promise<string[]> {
    const {stdout} = await runCli(['check', '--root', fixture(name), '--format', 'nfd'])
    return stdout
      .split('\n')
      .filter((l) => /^kvmctl\.io\/(cpu-security|iommu\.|check\.(confidential|passthrough))/.test(l))
  }

  it('sev-snp: every SEV level usable, in text, --json, Prometheus and NFD', async () => {
    expect((await text('sev-snp')).slice(-4)).to.deep.equal([
      'Confidential guests',
      '  PASS  SEV guests                                 SEV guests can run: 907 ASIDs (kernel log: "kvm_amd: SEV enabled (ASIDs 100 - 1006)")',
      '  PASS  SEV-ES guests                              SEV-ES guests can run: 99 ASIDs (kernel log: "kvm_amd: SEV-ES enabled (ASIDs 1 - 99)")',
      '  PASS  SEV-SNP guests                             SEV-SNP guests can run: 99 ASIDs (kernel log: "kvm_amd: SEV-SNP enabled (ASIDs 1 - 99)"; kernel log: "ccp 0000:03:00.5: SEV-SNP API:1.55 build:24")',
    ])
    expect((await json('sev-snp')).host.confidential).to.deep.equal({
      sev: {state: 'usable', capacity: 907},
      'sev-es': {state: 'usable', capacity: 99},
      'sev-snp': {state: 'usable', capacity: 99},
      tdx: {state: 'unsupported', capacity: null},
    })
    expect(await metrics('sev-snp')).to.deep.equal([
      'kvmctl_confidential_guests_usable{type="sev",state="usable"} 1',
      'kvmctl_confidential_guests_usable{type="sev_es",state="usable"} 1',
      'kvmctl_confidential_guests_usable{type="sev_snp",state="usable"} 1',
      'kvmctl_confidential_guests_usable{type="tdx",state="unsupported"} 0',
      'kvmctl_confidential_guests_capacity{type="sev"} 907',
      'kvmctl_confidential_guests_capacity{type="sev_es"} 99',
      'kvmctl_confidential_guests_capacity{type="sev_snp"} 99',
    ])
    expect((await labels('sev-snp')).filter((l) => l.includes('cpu-security'))).to.deep.equal([
      'kvmctl.io/cpu-security.sev.enabled=true',
      'kvmctl.io/cpu-security.sev.es.enabled=true',
      'kvmctl.io/cpu-security.sev.snp.enabled=true',
    ])
  })

  it('sev-bios-off: disabled in firmware with the SMEE fix once, optional (no warning), no NFD feature label', async () => {
    const lines = await text('sev-bios-off')
    expect(lines.slice(-6)).to.deep.equal([
      'Confidential guests',
      '  INFO  SEV guests                                 SEV is disabled in firmware (kernel log: "ccp 0000:03:00.2: SEV: memory encryption not enabled by BIOS")',
      '         -> enable memory encryption in the firmware (BIOS/UEFI) setup: AMD CBS → CPU Common Options → SMEE (Secure Memory Encryption) → Enabled, and SEV Control / SEV ASID Count → Enabled (the names vary by board vendor); save and reboot',
      '         -> check again: the kernel log then says "kvm_amd: SEV enabled (ASIDs …)"',
      '  INFO  SEV-ES guests                              SEV-ES is disabled in firmware (kernel log: "ccp 0000:03:00.2: SEV: memory encryption not enabled by BIOS") (remedy under "SEV guests")',
      '  INFO  SEV-SNP guests                             SEV-SNP is disabled in firmware (kernel log: "ccp 0000:03:00.2: SEV: memory encryption not enabled by BIOS") (remedy under "SEV guests")',
    ])
    const report = await json('sev-bios-off')
    expect(report.host.confidential).to.deep.include({sev: {state: 'firmware-disabled', capacity: null}})
    expect(
      report.checks.filter(
        (c) => ['confidential', 'passthrough'].includes(c.area) && ['warn', 'fail'].includes(c.status),
      ),
    ).to.deep.equal([])
    expect(await metrics('sev-bios-off')).to.include(
      'kvmctl_confidential_guests_usable{type="sev",state="firmware-disabled"} 0',
    )
    expect(await labels('sev-bios-off'))
      .to.include('kvmctl.io/check.confidential.sev=info')
      .and.not.include('kvmctl.io/cpu-security.sev.enabled=true')
  })

  it('tdx-host: TDX usable with 32 private KeyIDs, in every format', async () => {
    expect((await text('tdx-host')).slice(-2)).to.deep.equal([
      'Confidential guests',
      '  PASS  TDX guests                                 TDX guests can run: 32 private KeyIDs (kernel log: "virt/tdx: BIOS enabled: private KeyID range [32, 64)"; kernel log: "virt/tdx: module initialized")',
    ])
    expect((await json('tdx-host')).host.confidential).to.deep.include({tdx: {state: 'usable', capacity: 32}})
    expect(await metrics('tdx-host')).to.include.members([
      'kvmctl_confidential_guests_usable{type="tdx",state="usable"} 1',
      'kvmctl_confidential_guests_capacity{type="tdx"} 32',
    ])
    expect(await labels('tdx-host')).to.include.members([
      'kvmctl.io/cpu-security.tdx.enabled=true',
      'kvmctl.io/check.confidential.tdx=pass',
    ])
  })

  it('vfio-ready: 14 real IOMMU groups, each endpoint isolated, in every format', async () => {
    const lines = await text('vfio-ready')
    expect(lines).to.include('  PASS  IOMMU (PCI passthrough)                    14 IOMMU groups')
    expect(lines).to.include(
      "  PASS  IOMMU group isolation                      every PCI endpoint sits in an IOMMU group of its own (bridges and a device's own functions aside)",
    )
    expect((await json('vfio-ready')).host.iommu).to.deep.equal({
      enabled: true,
      groups: 14,
      interruptRemapping: null,
      vfio: null,
    })
    expect(await metrics('vfio-ready')).to.include.members(['kvmctl_iommu_enabled 1', 'kvmctl_iommu_groups 14'])
    expect(await labels('vfio-ready')).to.include.members([
      'kvmctl.io/iommu.enabled=true',
      'kvmctl.io/check.passthrough.iommu=pass',
    ])
  })

  it('no-iommu: no groups, optional with the firmware fix, in every format', async () => {
    const lines = await text('no-iommu')
    expect(lines.slice(0, 3)).to.deep.equal([
      'Device passthrough',
      '  INFO  IOMMU (PCI passthrough)                    no IOMMU groups: PCI devices cannot be passed through to guests (needed only for that)',
      '         -> enable the IOMMU (VT-d, AMD-Vi, or the SMMU on arm64) in the firmware setup, then reboot',
    ])
    expect((await json('no-iommu')).host.iommu).to.deep.equal({
      enabled: false,
      groups: 0,
      interruptRemapping: null,
      vfio: null,
    })
    expect(await metrics('no-iommu')).to.deep.equal(['kvmctl_iommu_enabled 0', 'kvmctl_iommu_groups 0'])
    expect(await labels('no-iommu'))
      .to.include('kvmctl.io/check.passthrough.iommu=info')
      .and.not.include('kvmctl.io/iommu.enabled=true')
  })

  it('check --passthrough gives the group analysis and the hand-over steps on vfio-ready', async () => {
    const lines = await text('vfio-ready', '--passthrough', '0000:01:00.0')
    const i = lines.findIndex((l) => l.includes('Passthrough of 0000:01:00.0'))
    expect(lines[i]).to.contain(
      'IOMMU group 1; driver not in this capture; with it: 0000:01:00.1 (10de:0fba), 0000:00:01.0 (8086:1901)',
    )
    expect(lines[i + 3]).to.contain('vfio-pci.ids=10de:1401,10de:0fba')
    expect(lines[i + 2]).to.contain('echo vfio-pci | sudo tee /sys/bus/pci/devices/0000:01:00.0/driver_override')
    // By vendor:device id, through the fast path and through oclif alike.
    for (const env of [{}, {KVMCTL_NO_FAST_PATH: '1'}]) {
      const {stdout, exitCode} = await runCli(
        ['check', '--root', fixture('vfio-ready'), '--passthrough', '10de:0fba', '--json'],
        {env},
      )
      expect(exitCode).to.equal(0)
      const device = (JSON.parse(stdout) as {checks: Array<{id: string; detail: string}>}).checks.find(
        (c) => c.id === 'passthrough.device',
      )
      expect(device?.detail).to.match(/^0000:01:00\.1 \(10de:0fba\): IOMMU group 1;/)
    }
  })

  it('check --passthrough of an address that does not exist: one line, exit 2, either path', async () => {
    for (const env of [{}, {KVMCTL_NO_FAST_PATH: '1'}]) {
      for (const spec of ['0000:05:00.0', 'not-a-device']) {
        const run = await runCli(['check', '--root', fixture('vfio-ready'), '--passthrough', spec], {env})
        expect(run.exitCode, `${spec} ${JSON.stringify(env)}`).to.equal(2)
        expect(run.stdout).to.equal('')
        expect(run.stderr.trim().split('\n'), run.stderr).to.have.length(1)
        expect(run.stderr).to.contain(`--passthrough ${spec}`)
      }
    }
  })

  it('check --passthrough on the host without an IOMMU fails (exit 1) naming the fix', async () => {
    const run = await runCli(['check', '--root', fixture('no-iommu'), '--passthrough', '00:11.0'])
    expect(run.exitCode).to.equal(1)
    expect(run.stdout).to.contain('FAIL  Passthrough of 0000:00:11.0')
    expect(run.stdout).to.contain('there is no IOMMU')
  })
})

describe('native probes: error paths (no KVM on this machine)', () => {
  it('probeVmTypes returns typed results for a missing device and for a device that is not KVM', () => {
    const native = loadNative()
    expect(native.probeVmTypes('/nonexistent/kvm')).to.deep.equal({open: 'ENOENT'})
    expect(native.probeVmTypes('/dev/null')).to.deep.equal({open: 'ok', apiVersionError: 'ENOTTY'})
  })

  it('judges every answer of the VM-types probe, skipping cleanly where there is none', () => {
    expect(judgeVmTypes({open: 'ENOENT'}, '/dev/kvm').status).to.equal('skip')
    expect(judgeVmTypes({open: 'ok', apiVersionError: 'ENOTTY'}, '/dev/null').status).to.equal('skip')
    expect(judgeVmTypes({open: 'ok', vmTypes: 0}, '/dev/kvm').detail).to.contain('does not list VM types')
    expect(judgeVmTypes({open: 'ok', vmTypes: 0b11, created: {}}, '/dev/kvm').status).to.equal('skip')
    expect(judgeVmTypes({open: 'ok', vmTypes: 0b11101, created: {2: 'ok', 3: 'ok', 4: 'ok'}}, '/dev/kvm')).to.include({
      status: 'pass',
      detail: 'created a VM of each confidential type KVM offers: SEV, SEV-ES, SEV-SNP (KVM_CAP_VM_TYPES 0x1d)',
    })
    expect(judgeVmTypes({open: 'ok', vmTypes: 0b100001, created: {5: 'EINVAL'}}, '/dev/kvm')).to.include({
      status: 'warn',
    })
  })

  it('reads CPUID 0x8000001F raw and MSRs without crashing where the msr driver is missing', () => {
    const cpuid = loadNative().cpuid()
    expect(cpuid?.memEncrypt === null || typeof cpuid?.memEncrypt?.eax === 'number').to.equal(true)
    expect(cpuid?.tdxGuest).to.be.a('boolean')
    expect(readMsrs(['vmCr'], '/nonexistent/msr')).to.deep.equal({device: 'ENOENT', values: {}})
    expect(readMsrs(['vmCr'], '/dev/null')).to.deep.equal({device: 'ok', values: {vmCr: 'EIO'}})
  })
})

describe('this machine (a PVM guest, no IOMMU)', function () {
  this.timeout(60_000)

  it('nothing new warns: passthrough, confidential, firmware lock and hardware assists skip or pass', async () => {
    const {stdout} = await runCli(['check', '--json'])
    const report = JSON.parse(stdout) as {checks: Array<{id: string; area: string; status: string}>}
    const mine = report.checks.filter(
      (c) =>
        ['passthrough', 'confidential'].includes(c.area) || ['cpu.firmware-lock', 'backend.hw-assist'].includes(c.id),
    )
    expect(mine.length).to.be.greaterThan(5)
    expect(mine.filter((c) => c.status === 'warn' || c.status === 'fail')).to.deep.equal([])
  })

  it('capture keeps the MSR probe, the PCI uevents cut to what the checks read, and replays the same platform facts', async () => {
    const dir = await tempDir('kvmctl-platform-')
    try {
      const target = join(dir, 'cap')
      const {files} = await captureHost(await Host.open(), target, {source: 'test'})
      const json = JSON.parse(await readFile(join(target, 'host.json'), 'utf8'))
      expect(json.msr.device).to.be.a('string')
      expect(json.cpuid).to.have.property('memEncrypt')
      const uevents = files.filter((f) => f.endsWith('/uevent'))
      for (const file of uevents)
        expect(await readFile(join(target, file), 'utf8')).to.match(
          /^(DRIVER=\S+\n)?PCI_CLASS=[0-9a-f]{6}\nPCI_ID=\S+\nPCI_SLOT_NAME=\S+\n$/,
        )
      const live = await gatherFacts(await Host.open())
      const replay = await gatherFacts(await Host.open(target))
      expect(replay.iommu?.pci).to.deep.equal(live.iommu?.pci)
      expect(confidentialLevels(replay)).to.deep.equal(confidentialLevels(live))
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
