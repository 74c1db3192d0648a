// The firmware's lock on hardware virtualization, read from the CPU itself as kvm-ok does: Intel
// IA32_FEATURE_CONTROL (0x3A: bit 0 lock, bit 2 VMX outside SMX) and AMD VM_CR (0xC0010114: bit 4
// SVMDIS). It finds a firmware-disabled host even when the kernel log has wrapped.
import {isUnknown, type HostFacts} from '../host/facts.js'
import {cpuVendor} from '../host/confidential-levels.js'
import {msrBit, msrValue} from '../host/msr.js'
import {MSR_DEVICE} from '../host/paths.js'
import {guestOf} from '../host/derived.js'
import {firmwareRemedy} from './cpu.js'
import {notCaptured, type Check} from './types.js'

export function firmwareLockChecks(f: HostFacts): Check[] {
  const base = {id: 'cpu.firmware-lock', area: 'cpu' as const, title: 'Firmware lock (MSR)'}
  if (f.arch !== 'x86') return []
  const vendor = cpuVendor(f)
  if (guestOf(f).guest)
    return [
      {
        ...base,
        status: 'skip',
        detail: "this host is a VM: its MSRs are what its hypervisor shows, not the firmware's",
      },
    ]
  const probe = f.confidential?.msr
  if (!probe)
    return [
      f.live || !isUnknown(f, 'cpuinfo')
        ? {...base, status: 'skip', detail: 'not read'}
        : notCaptured(base, MSR_DEVICE),
    ]
  if (probe.device !== 'ok') {
    const hint =
      probe.device === 'ENOENT'
        ? ' (load the msr driver: sudo modprobe msr)'
        : probe.device === 'EACCES' || probe.device === 'EPERM'
          ? ' (root only)'
          : ''
    return [
      {...base, status: 'skip', detail: `${MSR_DEVICE}: ${probe.device}${hint}; the kernel log and CPUID stand in`},
    ]
  }
  if (vendor === 'intel') {
    const value = msrValue(probe, 'featureControl')
    if (value === undefined)
      return [
        {
          ...base,
          status: 'skip',
          detail: `IA32_FEATURE_CONTROL unreadable (${probe.values.featureControl ?? 'not read'})`,
        },
      ]
    const hex = `IA32_FEATURE_CONTROL = 0x${value.toString(16)}`
    const locked = msrBit(probe, 'featureControl', 0)
    const vmx = msrBit(probe, 'featureControl', 2)
    if (locked && !vmx)
      return [{...base, status: 'fail', detail: `${hex}: locked by firmware with VMX off`, remedy: firmwareRemedy(f)}]
    return [
      {
        ...base,
        status: 'pass',
        detail: `${hex}: ${locked ? 'locked with VMX on' : 'not locked (kvm_intel locks it with VMX on)'}`,
      },
    ]
  }
  if (vendor === 'amd') {
    const value = msrValue(probe, 'vmCr')
    if (value === undefined)
      return [{...base, status: 'skip', detail: `VM_CR unreadable (${probe.values.vmCr ?? 'not read'})`}]
    const hex = `VM_CR = 0x${value.toString(16)}`
    if (msrBit(probe, 'vmCr', 4))
      return [
        {
          ...base,
          status: 'fail',
          detail: `${hex}: SVMDIS set, firmware disabled SVM${msrBit(probe, 'vmCr', 3) ? ' and locked it' : ''}`,
          remedy: firmwareRemedy(f),
        },
      ]
    return [{...base, status: 'pass', detail: `${hex}: SVM not disabled by firmware`}]
  }
  return [{...base, status: 'skip', detail: 'unknown CPU vendor'}]
}
