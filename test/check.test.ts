import {expect} from 'chai'
import fc from 'fast-check'

import {backendChecks} from '../src/checks/backend.js'
import {cpuChecks} from '../src/checks/cpu.js'
import {devKvmChecks, devKvmRemedy} from '../src/checks/dev-kvm.js'
import {deviceChecks} from '../src/checks/devices.js'
import {firmwareChecks} from '../src/checks/firmware.js'
import {hugepageChecks} from '../src/checks/hugepages.js'
import {runChecks, verdictOf} from '../src/checks/index.js'
import {kernelConfigChecks} from '../src/checks/kernel-config.js'
import {filterKernelLog, matchKernelLog} from '../src/host/kernel-log.js'
import {moduleChecks} from '../src/checks/modules.js'
import {nestedChecks} from '../src/checks/nested.js'
import {passthroughChecks} from '../src/checks/passthrough.js'
import type {Check} from '../src/checks/types.js'
import {detectBackend} from '../src/host/derived.js'
import {remedyLines} from '../src/lib/remedy.js'
import type {Fact} from '../src/host/facts.js'
import {moduleFact, moduleState} from '../src/host/module-state.js'
import {kernelConfigOf, parseCpuinfo, parseKernelConfig, parseModulesBuiltin, selectedMode} from '../src/host/facts.js'
import {intelHost} from './support/facts.js'

const byId = (checks: Check[], id: string) => {
  const found = checks.find((c) => c.id === id)
  if (!found) throw new Error(`no check ${id} in ${checks.map((c) => c.id).join(', ')}`)
  return found
}
const remedyText = (c: Check) => remedyLines(c.remedy).join('\n')

/** Intel with VT-x switched off in firmware on a modern kernel: flag gone, CPUID still has VMX. */
const vtxDisabled = (line: string) =>
  intelHost({
    cpu: {vendor: 'GenuineIntel', model: 'Intel(R) Core(TM) i7', flags: ['fpu', 'lm'], count: 8},
    loadedModules: [],
    sysModules: [],
    host: {dmesg: `[    0.120000] ${line}\n`, devices: {'/dev/kvm': null}, kvm: {open: 'ENOENT'}},
  })

describe('checks: CPU virtualization', () => {
  it('passes the vmx flag of a working Intel host', () => {
    const checks = cpuChecks(intelHost())
    expect(checks.map((c) => c.status)).to.deep.equal(['pass', 'pass', 'pass'])
  })

  const firmwareLines: Array<[string, string]> = [
    ['kvm: disabled by bios', 'before 5.6'],
    ['x86/cpu: VMX (outside TXT) disabled by BIOS', '5.6+ feature control'],
    ['kvm_intel: VMX not enabled (by BIOS) in MSR_IA32_FEAT_CTL on CPU 0', 'kvm_intel on modern kernels'],
  ]
  for (const [line, era] of firmwareLines) {
    it(`reads "${line}" (${era}) as VT-x disabled in firmware, with a firmware remedy`, () => {
      const checks = cpuChecks(vtxDisabled(line))
      const log = byId(checks, 'cpu.kernel-log')
      expect(log.status).to.equal('fail')
      expect(log.detail).to.contain(line.replace(/^.*?: /, ''))
      expect(remedyText(log)).to.match(/enable "Intel Virtualization Technology \(VT-x\)" in the firmware/)
      for (const c of checks) expect(`${c.detail} ${remedyText(c)}`).not.to.match(/cannot|not support/i)
    })
  }

  it('flags CPUID VMX without the cpuinfo flag even when the kernel log is unreadable', () => {
    const f = vtxDisabled('x')
    f.host.dmesg = null
    const checks = cpuChecks(f)
    expect(byId(checks, 'cpu.cpuid').status).to.equal('fail')
    expect(byId(checks, 'cpu.flag').status).to.equal('fail')
    expect(remedyText(byId(checks, 'cpu.flag'))).to.contain('VT-x')
    expect(byId(checks, 'cpu.kernel-log').status).to.equal('skip')
  })

  it('names SVM / AMD-V for AMD firmware-disabled hosts (6.7+ message)', () => {
    const f = intelHost({
      cpu: {vendor: 'AuthenticAMD', model: 'AMD Ryzen 7', flags: ['fpu'], count: 16},
      loadedModules: ['kvm'],
      sysModules: ['kvm'],
      host: {
        cpuid: {vendor: 'AuthenticAMD', vmx: false, svm: true, hypervisor: false},
        dmesg: 'kvm_amd: SVM disabled (by BIOS) in MSR_VM_CR on CPU 0\n',
      },
    })
    const flag = byId(cpuChecks(f), 'cpu.flag')
    expect(flag.status).to.equal('fail')
    expect(remedyText(flag)).to.contain('SVM Mode (AMD-V)')
  })

  it('asks for EL2 on an arm64 host booted without HYP mode', () => {
    const f = intelHost({
      arch: 'arm64',
      cpu: {vendor: '0x41', flags: ['fp', 'asimd'], count: 4},
      host: {
        cpuid: null,
        uname: {release: '6.1.0', machine: 'aarch64'},
        dmesg: 'kvm [1]: HYP mode not available\n',
        devices: {'/dev/kvm': null},
        kvm: {open: 'ENOENT'},
      },
    })
    const el2 = byId(cpuChecks(f), 'cpu.el2')
    expect(el2.status).to.equal('fail')
    expect(remedyText(el2)).to.contain('EL2')
    expect(detectBackend(f)).to.equal(undefined)
  })
})

describe('checks: KVM backend', () => {
  const pvm = () =>
    intelHost({
      cpu: {vendor: 'AuthenticAMD', model: 'AMD EPYC', flags: ['fpu', 'hypervisor'], count: 2},
      loadedModules: null,
      builtinModules: null,
      sysModules: ['kvm', 'kvm_pvm'],
      moduleParams: {},
      kernelConfig: {source: '/proc/config.gz', options: {KVM: 'y', KVM_PVM: 'y', HUGETLBFS: 'y'}},
      host: {
        cpuid: {vendor: 'AuthenticAMD', vmx: false, svm: false, hypervisor: true},
        dmesg: 'Hypervisor detected: KVM\nkvm-pvm: loaded\n',
      },
    })

  it('explains PVM as a warning: no hardware extensions, PVM-enabled guest kernels only', () => {
    const [check] = backendChecks(pvm())
    expect(check.status).to.equal('warn')
    expect(check.detail).to.match(/no hardware virtualization extensions/)
    expect(check.detail).to.match(/only PVM-enabled guest kernels/)
    const verdict = verdictOf(pvm(), runChecks(pvm()))
    expect(verdict).to.include({kvmUsable: true, backend: 'kvm_pvm'})
    expect(runChecks(pvm()).filter((c) => c.status === 'fail')).to.deep.equal([])
  })

  it('finds built-in modules on a kernel without module support', () => {
    expect(moduleState(pvm(), 'kvm_pvm')).to.equal('builtin')
    expect(moduleState(pvm(), 'vhost_net')).to.equal('missing')
    expect(byId(moduleChecks(pvm()), 'modules.kvm').status).to.equal('pass')
  })

  it('reads modules.builtin paths as module names', () => {
    expect(parseModulesBuiltin('kernel/arch/x86/kvm/kvm-intel.ko\nkernel/drivers/net/tun.ko.xz\n')).to.deep.equal([
      'kvm_intel',
      'tun',
    ])
    const f = intelHost({loadedModules: [], sysModules: [], builtinModules: ['kvm', 'kvm_intel'], kernelConfig: null})
    expect(detectBackend(f)).to.equal('kvm_intel')
  })

  it('fails with a modprobe remedy when the vendor module is available but not loaded', () => {
    const f = intelHost({loadedModules: ['kvm'], sysModules: ['kvm']})
    const [check] = backendChecks(f)
    expect(check.status).to.equal('fail')
    expect(check.remedy?.steps).to.include('sudo modprobe kvm_intel')
  })
})

describe('checks: /dev/kvm', () => {
  it('gives the group remedy on EACCES, naming the user and telling to log in again', () => {
    const f = intelHost({host: {kvm: {open: 'EACCES'}, user: {uid: 1000, gid: 1000, groups: [1000], name: 'alice'}}})
    const open = byId(devKvmChecks(f), 'dev-kvm.open')
    expect(open.status).to.equal('fail')
    expect(open.remedy?.steps).to.deep.equal([
      'sudo usermod -aG kvm alice',
      'then log out and log in again (or run `newgrp kvm`) so the new group applies',
    ])
  })

  it('says to pass the device into the container when KVM is loaded but the node is missing', () => {
    const f = intelHost({host: {kvm: {open: 'ENOENT'}, devices: {'/dev/kvm': null}}})
    const checks = devKvmChecks(f)
    expect(byId(checks, 'dev-kvm.exists').status).to.equal('fail')
    expect(remedyText(byId(checks, 'dev-kvm.exists'))).to.contain(
      'pass the device into the container: docker run --device /dev/kvm',
    )
    expect(byId(checks, 'dev-kvm.open').status).to.equal('skip')
  })

  it('on ENOENT with the vendor module loaded: pass the device in a container, recreate the node outside one', () => {
    const missing = {kvm: {open: 'ENOENT'}, devices: {'/dev/kvm': null}} as const
    const inDocker = devKvmRemedy(intelHost({host: {...missing, container: 'docker'}}), 'ENOENT')
    expect(inDocker.steps.join('\n'))
      .to.contain('docker run --device /dev/kvm')
      .and.contain('Kubernetes: a KVM device plugin')
    expect(inDocker.steps.join('\n')).not.to.contain('mknod')
    const onHost = devKvmRemedy(intelHost({host: {...missing, container: null}}), 'ENOENT')
    expect(onHost.steps).to.have.length(1)
    expect(onHost.steps[0])
      .to.contain('sudo modprobe -r kvm_intel && sudo modprobe kvm_intel')
      .and.contain('sudo mknod /dev/kvm c 10 232')
    // Built in: nothing to reload, so udev or mknod.
    const builtin = devKvmRemedy(
      intelHost({loadedModules: [], builtinModules: ['kvm', 'kvm_intel'], host: {...missing, container: null}}),
      'ENOENT',
    )
    expect(builtin.steps[0]).to.contain('udevadm trigger').and.not.contain('modprobe -r')
    // Not known whether this is a container: both, the container first.
    const unsure = devKvmRemedy(intelHost({host: missing}), 'ENOENT')
    expect(unsure.steps[0]).to.match(/^pass the device into the container/)
    expect(unsure.steps.at(-1)).to.match(/^outside a container: recreate the node/)
  })

  it('on EACCES names the group that owns /dev/kvm', () => {
    const f = intelHost({
      host: {
        kvm: {open: 'EACCES'},
        devices: {'/dev/kvm': {mode: '0660', uid: 0, gid: 993, group: 'hvusers'}},
        user: {uid: 1000, gid: 1000, groups: [1000], name: 'bob'},
      },
    })
    expect(devKvmRemedy(f, 'EACCES').steps).to.deep.equal([
      'sudo usermod -aG hvusers bob',
      'then log out and log in again (or run `newgrp hvusers`) so the new group applies',
    ])
  })

  it('never asks to enable VT-x/SVM in firmware when the CPU shows it on', () => {
    const missing = {kvm: {open: 'ENOENT'}, devices: {'/dev/kvm': null}} as const
    const amd = {vendor: 'AuthenticAMD', vmx: false, svm: true, hypervisor: false}
    const cases = [
      // kvm_amd loaded (it refuses to load while SVM is off), cpuinfo not captured
      intelHost({
        cpu: null,
        unknown: ['cpuinfo'],
        loadedModules: ['kvm', 'kvm_amd'],
        sysModules: ['kvm', 'kvm_amd'],
        host: {...missing, cpuid: amd, uname: {release: '6.11.0-19-generic', machine: 'x86_64'}},
      }),
      // the svm flag on a kernel that clears it when firmware disables SVM, nothing loaded
      intelHost({
        cpu: {vendor: 'AuthenticAMD', flags: ['fpu', 'svm'], count: 4},
        loadedModules: [],
        sysModules: [],
        host: {...missing, cpuid: amd, uname: {release: '6.11.0-19-generic', machine: 'x86_64'}},
      }),
    ]
    for (const f of cases) {
      const text = runChecks(f)
        .flatMap((c) => [c.detail, ...remedyLines(c.remedy)])
        .join('\n')
      expect(text).not.to.match(/in the firmware|SVM Mode/)
    }
    // Before 5.6 the flag stays when firmware disabled VT-x: the log line then decides.
    const old = intelHost({
      loadedModules: [],
      sysModules: [],
      host: {
        ...missing,
        uname: {release: '4.19.0-6-amd64', machine: 'x86_64'},
        dmesg: '[    2.1] kvm: disabled by bios\n',
      },
    })
    expect(remedyText(byId(cpuChecks(old), 'cpu.kernel-log'))).to.contain('in the firmware')
  })

  it('judges /dev/kvm by the probe steps a capture recorded, skipping the rest', () => {
    const onlyOpen = intelHost({host: {kvm: {open: 'ok'}}})
    expect(byId(devKvmChecks(onlyOpen), 'dev-kvm.vm')).to.deep.include({
      status: 'skip',
      detail: 'not in this capture: API version, KVM_CREATE_VM, KVM_CREATE_VCPU',
    })
    expect(verdictOf(onlyOpen, runChecks(onlyOpen)).kvmUsable).to.equal(true)
    const badApi = intelHost({host: {kvm: {open: 'ok', apiVersionError: 'EINVAL'}}})
    expect(byId(devKvmChecks(badApi), 'dev-kvm.vm').status).to.equal('fail')
    expect(verdictOf(badApi, runChecks(badApi)).kvmUsable).to.equal(false)
  })

  it('infers kvm from its dependants and from a /dev/kvm that opens', () => {
    const sparse = {
      loadedModules: null,
      builtinModules: null,
      kernelConfig: null,
      unknown: [
        'procModules',
        'modulesBuiltin',
        'kernelConfig',
        'module:kvm',
        'module:kvm_amd',
        'module:kvm_pvm',
      ] as Fact[],
    }
    expect(moduleFact(intelHost({...sparse, sysModules: ['kvm_intel']}), 'kvm')).to.deep.equal({
      state: 'present',
      inferred: 'kvm_intel depends on it',
    })
    expect(moduleFact(intelHost({...sparse, sysModules: []}), 'kvm')).to.deep.equal({
      state: 'present',
      inferred: '/dev/kvm opens',
    })
    expect(moduleState(intelHost({...sparse, sysModules: [], host: {kvm: {open: 'EACCES'}}}), 'kvm')).to.equal(
      'unknown',
    )
    // Covered and absent is absent.
    expect(
      moduleState(intelHost({...sparse, unknown: [], sysModules: [], host: {kvm: {open: 'ENOENT'}}}), 'kvm'),
    ).to.equal('not-loaded')
  })

  it('says modprobe when no KVM module is loaded', () => {
    const f = intelHost({loadedModules: [], sysModules: [], host: {kvm: {open: 'ENOENT'}, devices: {'/dev/kvm': null}}})
    expect(devKvmRemedy(f, 'ENOENT').steps[0]).to.equal('sudo modprobe kvm_intel')
  })

  it('fails when a VM cannot be created', () => {
    const f = intelHost({host: {kvm: {open: 'ok', apiVersion: 12, createVm: 'EBUSY'}}})
    const vm = byId(devKvmChecks(f), 'dev-kvm.vm')
    expect(vm.status).to.equal('fail')
    expect(remedyText(vm)).to.match(/VirtualBox or VMware/)
    expect(verdictOf(f, runChecks(f)).kvmUsable).to.equal(false)
  })
})

describe('checks: nested, memory, devices, firmware, config', () => {
  it('reads the nested parameter as Y/N or 1/0; off is optional tuning, fixed by `tune nested`', () => {
    expect(byId(nestedChecks(intelHost({moduleParams: {'kvm_intel.nested': '1'}})), 'nested.param').status).to.equal(
      'pass',
    )
    const off = byId(nestedChecks(intelHost({moduleParams: {'kvm_intel.nested': 'N'}})), 'nested.param')
    expect(off.status).to.equal('info')
    // The file and line `kvmctl tune nested` writes (src/tune/nested.ts: MODULE.conf).
    expect(off.remedy).to.deep.equal({
      kvmctl: ['tune', 'nested'],
      steps: [
        'echo "options kvm_intel nested=1" | sudo tee /etc/modprobe.d/kvm_intel.conf',
        'with every VM stopped: sudo modprobe -r kvm_intel && sudo modprobe kvm_intel',
      ],
    })
    expect(remedyLines(off.remedy)[0]).to.equal('sudo kvmctl tune nested')
    // Built in: no reload and no tune command, the kernel command line.
    const builtin = byId(
      nestedChecks(
        intelHost({moduleParams: {'kvm_intel.nested': 'N'}, loadedModules: [], builtinModules: ['kvm', 'kvm_intel']}),
      ),
      'nested.param',
    )
    expect(builtin.remedy?.kvmctl).to.equal(undefined)
    expect(remedyText(builtin)).to.contain('kvm_intel.nested=1 to the kernel command line')
    expect(byId(nestedChecks(intelHost()), 'nested.host-is-guest').detail).to.match(/^bare metal/)
  })

  it('reports every hugepage size, and notes once (info) when none is reserved', () => {
    const f = intelHost({
      hugepages: [
        {sizeKb: 2048, total: 0, free: 0, reserved: 0, surplus: 0},
        {sizeKb: 1048576, total: 0, free: 0, reserved: 0, surplus: 0},
      ],
      mounts: [],
      thp: 'never',
    })
    const checks = hugepageChecks(f)
    expect(byId(checks, 'hugepages.2048kB').status).to.equal('info')
    expect(byId(checks, 'hugepages.1048576kB').status).to.equal('skip')
    expect(byId(checks, 'hugepages.thp').status).to.equal('warn')
    expect(byId(hugepageChecks(intelHost()), 'hugepages.hugetlbfs').detail).to.contain('/dev/hugepages')
  })

  it('warns about missing vhost-net and tun nodes, with remedies; no IOMMU is optional, under Device passthrough', () => {
    const f = intelHost({
      iommuGroups: 0,
      host: {devices: {'/dev/kvm': {mode: '0660', uid: 0, gid: 108}, '/dev/vhost-net': null, '/dev/net/tun': null}},
    })
    const checks = deviceChecks(f)
    expect(checks.map((c) => c.status)).to.deep.equal(['warn', 'warn'])
    // vhost_net and tun are loaded here, so the nodes themselves are gone.
    expect(byId(checks, 'devices.vhost-net').remedy?.steps[0]).to.equal(
      'recreate the node: sudo mknod /dev/vhost-net c 10 238',
    )
    expect(byId(checks, 'devices.tun').remedy?.steps[0]).to.equal(
      'recreate the node: sudo mkdir -p /dev/net && sudo mknod /dev/net/tun c 10 200',
    )
    const iommu = byId(passthroughChecks(f), 'passthrough.iommu')
    expect(iommu.status).not.to.equal('warn')
    expect(remedyText(iommu)).to.contain('intel_iommu=on')
  })

  it('reports a node missing for want of its module once, under the module or the kernel config', () => {
    const devices = {'/dev/kvm': {mode: '0660', uid: 0, gid: 108}, '/dev/vhost-net': null, '/dev/net/tun': null}
    const unloaded = intelHost({loadedModules: ['kvm', 'kvm_intel'], sysModules: ['kvm', 'kvm_intel'], host: {devices}})
    const checks = runChecks(unloaded)
    expect(byId(checks, 'modules.vhost-net')).to.include({status: 'warn'})
    expect(byId(checks, 'modules.vhost-net').remedy?.steps[0]).to.equal('sudo modprobe vhost_net')
    expect(byId(checks, 'devices.vhost-net')).to.deep.include({
      status: 'skip',
      detail: '/dev/vhost-net is missing: vhost_net is not loaded (reported under Modules)',
    })
    const options = {...unloaded.kernelConfig!.options}
    delete options.VHOST_NET
    const noConfig = runChecks({...unloaded, kernelConfig: {source: '/proc/config.gz', options}})
    expect(byId(noConfig, 'kernel-config.vhost-net').status).to.equal('info')
    expect(byId(noConfig, 'modules.vhost-net')).to.include({status: 'skip'})
    expect(byId(noConfig, 'modules.vhost-net').remedy).to.equal(undefined)
    expect(byId(noConfig, 'devices.vhost-net').detail).to.contain('reported under Kernel config')
    expect(noConfig.filter((c) => c.status !== 'pass' && c.status !== 'skip' && /vhost/i.test(c.title))).to.have.length(
      1,
    )
  })

  it('finds secure-boot OVMF, or names the Debian package ovmf', () => {
    expect(firmwareChecks(intelHost())[0].status).to.equal('pass')
    // A typical guest boots with legacy BIOS: UEFI images are optional.
    const none = firmwareChecks(intelHost({firmware: []}))[0]
    expect(none.status).to.equal('info')
    expect(none.remedy?.steps[0]).to.match(/^sudo apt-get install ovmf /)
  })

  it('reads a kernel config as a regex on each line reads it, whatever the lines hold', () => {
    const reference = (text: string) => {
      const options: Record<string, string> = {}
      for (const line of text.split('\n')) {
        const set = /^CONFIG_(\w+)=(.*)$/.exec(line)
        if (set) options[set[1]] = set[2]
      }
      return options
    }
    const piece = fc.constantFrom(
      'CONFIG_',
      'KVM',
      '=',
      'y',
      'm',
      '"x y"',
      '# ',
      ' is not set',
      '\r',
      '\u2028',
      '-',
      ' ',
      '',
    )
    const line = fc.array(piece, {maxLength: 6}).map((p) => p.join(''))
    fc.assert(
      fc.property(fc.array(line, {maxLength: 8}), fc.constantFrom('KVM', 'KVMKVM', 'X', 'KVM y'), (lines, name) => {
        const text = lines.join('\n')
        expect(parseKernelConfig(text)).to.deep.equal(reference(text))
        // The lazy config finds one option by searching the text, as the whole parse has it.
        const config = kernelConfigOf('/proc/config.gz', text)
        expect(config.value!(name)).to.equal(reference(text)[name])
        expect(config.options).to.deep.equal(reference(text))
      }),
      {numRuns: 3000},
    )
  })

  it('reads kernel config values as y / m / unset, and skips clearly without a config', () => {
    const options = parseKernelConfig('CONFIG_KVM=y\n# CONFIG_KVM_INTEL is not set\nCONFIG_VHOST_NET=m\n')
    const f = intelHost({kernelConfig: {source: '/proc/config.gz', options}})
    const checks = kernelConfigChecks(f)
    expect(byId(checks, 'kernel-config.kvm').detail).to.contain('KVM=y KVM_INTEL=unset')
    expect(byId(checks, 'kernel-config.vhost-net').status).to.equal('pass')
    const none = kernelConfigChecks(intelHost({kernelConfig: null}))
    expect(none).to.have.length(1)
    expect(none[0]).to.include({status: 'skip'})
    expect(none[0].detail).to.contain('/boot/config-6.1.0-18-amd64')
  })
})

describe('checks: registry and parsers', () => {
  it('turns a throwing check group into a fail result with the error text', () => {
    const checks = runChecks(intelHost(), [
      ['cpu', cpuChecks],
      [
        'nested',
        () => {
          throw new TypeError('boom')
        },
      ],
    ])
    const broken = byId(checks, 'nested.error')
    expect(broken.status).to.equal('fail')
    expect(broken.detail).to.contain('boom')
    expect(checks[0].id).to.equal('cpu.flag')
  })

  it('keeps only the kernel-log lines the checks understand', () => {
    const log = [
      '[0.1] Linux version 6.1',
      '[0.2] Hypervisor detected: KVM',
      '[0.3] kvm-clock: Using msrs',
      '[0.4] kvm_intel: VMX not enabled (by BIOS) in MSR_IA32_FEAT_CTL',
      '[0.5] HugeTLB: registered 2.00 MiB page size',
      '[0.6] eth0: renamed from veth',
    ].join('\n')
    expect(filterKernelLog(log)?.split('\n')).to.deep.equal([
      '[0.2] Hypervisor detected: KVM',
      '[0.4] kvm_intel: VMX not enabled (by BIOS) in MSR_IA32_FEAT_CTL',
      '[0.5] HugeTLB: registered 2.00 MiB page size',
    ])
    expect(matchKernelLog(log, 'firmware-disabled')[0].pattern.id).to.equal('vmx-feat-ctl')
  })

  it('parses cpuinfo on x86 and arm64, and the THP mode', () => {
    expect(
      parseCpuinfo('processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n\nprocessor\t: 1\n').flags,
    ).to.deep.equal(['fpu', 'vmx'])
    const arm = parseCpuinfo('processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n')
    expect(arm).to.deep.include({vendor: '0x41', flags: ['fp', 'asimd'], count: 1})
    expect(selectedMode('always [madvise] never')).to.equal('madvise')
  })
})
