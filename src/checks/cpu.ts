// CPU virtualization: the /proc/cpuinfo flag, the raw CPUID bits against it, and the kernel-log
// messages that mean firmware turned virtualization off. Since 5.6 (Intel) and 6.7 (AMD) the kernel
// deletes the vmx/svm flag when firmware disabled it, so a missing flag alone proves nothing: the
// fix is then one firmware switch, which is what the remedy says.
import {isUnknown, type HostFacts} from '../host/facts.js'
import {
  detectBackend,
  firmwareDisabled,
  guestOf,
  kvmUsable,
  pvmGuestRefusal,
  vendorModule,
  virtualizationEnabled,
} from '../host/derived.js'
import {matchKernelLog} from '../host/kernel-log.js'
import {CPUINFO, KMSG} from '../host/paths.js'
import {OUTER_HOST_REMEDY} from '../plan/remedies.js'
import {manual, notCaptured, type Check, type Remedy} from './types.js'

/** The firmware setting to switch on, as firmware menus name it. */
export function firmwareSetting(f: HostFacts): string {
  if (f.arch === 'arm64') return 'virtualization (EL2) for the OS'
  const vendor = vendorModule(f)
  if (vendor === 'kvm_intel') return 'Intel Virtualization Technology (VT-x)'
  if (vendor === 'kvm_amd') return 'SVM Mode (AMD-V)'
  return 'Intel VT-x or AMD-V (SVM Mode)'
}

export function firmwareRemedy(f: HostFacts): Remedy {
  if (f.arch === 'arm64') {
    return manual(
      'the kernel was started at EL1, so KVM cannot use the virtualization extensions: enable virtualization (EL2) in the firmware, or boot the kernel directly from a firmware/boot loader that hands over at EL2',
      'then reboot and check again: the kernel log should say "CPU: All CPU(s) started at EL2"',
    )
  }
  const setting = firmwareSetting(f)
  return manual(
    `enable "${setting}" in the firmware (BIOS/UEFI) setup: reboot, enter setup (usually Del, F2 or F10), find it under CPU / Advanced / Security settings`,
    'save, then power the machine fully off and on (the setting is latched at power-on)',
    `check again: the ${vendorModule(f) === 'kvm_amd' ? 'svm' : vendorModule(f) === 'kvm_intel' ? 'vmx' : 'vmx/svm'} flag returns to /proc/cpuinfo`,
  )
}

export function cpuChecks(f: HostFacts): Check[] {
  if (f.arch === 'arm64') return [arm64Level(f), kernelLog(f)]
  if (f.arch === 'other') {
    return [
      {
        id: 'cpu.flag',
        area: 'cpu',
        title: 'CPU virtualization',
        status: 'skip',
        detail: `kvmctl checks x86 and arm64 hosts; this one is ${f.host.uname.machine}`,
      },
    ]
  }
  if (f.arch === 'unknown')
    return [
      notCaptured({id: 'cpu.flag', area: 'cpu', title: 'CPU virtualization'}, 'uname, /proc/cpuinfo, CPUID'),
      kernelLog(f),
    ]
  return [cpuFlag(f), cpuidAgainstCpuinfo(f), kernelLog(f)]
}

function cpuFlag(f: HostFacts): Check {
  const base = {id: 'cpu.flag', area: 'cpu' as const, title: 'vmx/svm flag in /proc/cpuinfo'}
  if (isUnknown(f, 'cpuinfo')) return notCaptured(base, CPUINFO)
  if (!f.cpu) return {...base, status: 'skip', detail: '/proc/cpuinfo is absent'}
  const flag = f.cpu.flags.find((x) => x === 'vmx' || x === 'svm')
  if (flag) return {...base, status: 'pass', detail: `${flag} (${flag === 'vmx' ? 'Intel VT-x' : 'AMD-V'}) present`}
  const evidence = firmwareDisabled(f)
  if (evidence.length > 0) {
    return {
      ...base,
      status: 'fail',
      detail: `no vmx/svm flag: ${firmwareSetting(f)} is disabled in firmware (${evidence.join('; ')})`,
      remedy: firmwareRemedy(f),
    }
  }
  const {guest, hypervisor} = guestOf(f)
  if (guest) {
    // A backend that needs no VT-x/AMD-V (PVM) may still serve /dev/kvm: then this is a caveat.
    const pvm = detectBackend(f) === 'kvm_pvm'
    const usable = pvm || kvmUsable(f)
    const instead = pvm
      ? '; KVM works here through PVM instead'
      : usable
        ? '; yet /dev/kvm works, through a backend that needs neither'
        : ''
    // Under PVM the outer hypervisor has no VT-x/AMD-V to pass on: only running elsewhere helps.
    const underPvm = hypervisor === 'PVM' || pvmGuestRefusal(f) !== undefined
    return {
      ...base,
      status: usable ? 'warn' : 'fail',
      detail: `no vmx/svm flag: this host is a virtual machine${hypervisor ? ` (${hypervisor})` : ''} whose hypervisor does not pass VT-x/AMD-V through${instead}`,
      remedy:
        underPvm && !usable
          ? OUTER_HOST_REMEDY
          : manual(
              'on the outer host, enable nested virtualization (e.g. options kvm_intel nested=1, or kvm_amd nested=1) and give this VM the host CPU model (-cpu host, or "host-passthrough" in libvirt)',
              'on a cloud VM, pick an instance type that offers nested virtualization',
            ),
    }
  }
  const enabled = virtualizationEnabled(f)
  return {
    ...base,
    status: 'fail',
    detail: `no vmx/svm flag, and ${f.host.cpuid ? 'CPUID reports neither VMX nor SVM' : 'no raw CPUID in this capture'}${enabled ? `, yet ${enabled}` : ''}`,
    remedy: enabled
      ? manual('look at the kernel log for why the flag is hidden: sudo dmesg | grep -iE "vmx|svm|kvm"')
      : manual(
          ...firmwareRemedy(f).steps,
          'if the firmware has no such setting, the virtualization extensions are locked off on this board: KVM needs a machine that offers VT-x or AMD-V',
        ),
  }
}

function cpuidAgainstCpuinfo(f: HostFacts): Check {
  const base = {id: 'cpu.cpuid', area: 'cpu' as const, title: 'raw CPUID against /proc/cpuinfo'}
  const cpuid = f.host.cpuid
  // An x86 host.json without CPUID bits: the capture did not have them.
  if (!cpuid) return notCaptured(base, 'raw CPUID')
  if (isUnknown(f, 'cpuinfo')) return notCaptured(base, CPUINFO)
  if (!f.cpu) return {...base, status: 'skip', detail: '/proc/cpuinfo is absent'}
  const flags = f.cpu.flags
  const yes = (b: boolean) => (b ? 'yes' : 'no')
  const detail = `CPUID ${cpuid.vendor}: VMX ${yes(cpuid.vmx)}, SVM ${yes(cpuid.svm)}, hypervisor bit ${yes(cpuid.hypervisor)}; cpuinfo: vmx ${yes(flags.includes('vmx'))}, svm ${yes(flags.includes('svm'))}`
  const hidden = (cpuid.vmx && !flags.includes('vmx')) || (cpuid.svm && !flags.includes('svm'))
  const enabled = virtualizationEnabled(f)
  if (hidden && enabled) return {...base, status: 'pass', detail: `${detail}: they differ, but ${enabled}`}
  if (hidden) {
    return {
      ...base,
      status: 'fail',
      detail: `${detail}: the kernel removed the flag because firmware disabled ${firmwareSetting(f)}`,
      remedy: firmwareRemedy(f),
    }
  }
  return {...base, status: 'pass', detail: `${detail}: they agree`}
}

function kernelLog(f: HostFacts): Check {
  const base = {id: 'cpu.kernel-log', area: 'cpu' as const, title: 'firmware-disabled messages in kernel log'}
  if (isUnknown(f, 'dmesg')) return notCaptured(base, `the kernel log (${KMSG})`)
  if (f.host.dmesg === null) {
    return {
      ...base,
      status: 'skip',
      detail: 'the kernel log is unreadable',
      remedy: manual('run kvmctl check as root, or allow it: sudo sysctl kernel.dmesg_restrict=0'),
    }
  }
  const lines = matchKernelLog(f.host.dmesg, 'firmware-disabled')
  if (lines.length === 0) return {...base, status: 'pass', detail: 'no firmware-disabled message'}
  const enabled = virtualizationEnabled(f)
  if (enabled)
    return {
      ...base,
      status: 'pass',
      detail: `${lines.map((m) => `"${m.line}"`).join('; ')}, but ${enabled}: virtualization is on now`,
    }
  return {...base, status: 'fail', detail: lines.map((m) => `"${m.line}"`).join('; '), remedy: firmwareRemedy(f)}
}

function arm64Level(f: HostFacts): Check {
  const base = {id: 'cpu.el2', area: 'cpu' as const, title: 'arm64 kernel started at EL2'}
  if (firmwareDisabled(f).length > 0) {
    return {
      ...base,
      status: 'fail',
      detail: 'the kernel log says HYP mode is not available: the kernel runs at EL1',
      remedy: firmwareRemedy(f),
    }
  }
  const hyp = matchKernelLog(f.host.dmesg, 'hyp')
  if (hyp.length > 0) return {...base, status: 'pass', detail: hyp.map((m) => `"${m.line}"`).join('; ')}
  if (!isUnknown(f, 'kvm') && f.host.kvm.open === 'ok')
    return {...base, status: 'pass', detail: '/dev/kvm opens, so KVM initialised at EL2'}
  if (isUnknown(f, 'dmesg')) return notCaptured(base, `the kernel log (${KMSG})`)
  return {
    ...base,
    status: 'warn',
    detail: 'no kernel-log line tells the boot exception level',
    remedy: manual('look for "started at EL2" or "HYP mode not available": sudo dmesg | grep -iE "EL2|HYP mode"'),
  }
}
