// Facts derived from the gathered ones, each defined once: which backend serves KVM, the CPU
// vendor's module, whether virtualization is on or off in firmware, whether this host is itself a
// VM, and whether KVM is usable. check, tune and selftest all read them from here, so the
// commands cannot disagree about the same host.
import {configValue, isUnknown, type HostFacts} from './facts.js'
import {matchKernelLog} from './kernel-log.js'
import {describeModule, isPresent, moduleState, VENDOR_MODULES} from './module-state.js'
import {KVM_MISC, SYS_MODULE} from './paths.js'
import type {KvmProbe} from '../native.js'

export type Backend = 'kvm_intel' | 'kvm_amd' | 'kvm_pvm' | 'arm64'

export type VendorModule = 'kvm_intel' | 'kvm_amd'

export const KVM_API_VERSION = 12

/**
 * The CPU vendor's own module on x86: the one to load when nothing serves /dev/kvm. Raw CPUID
 * names the vendor when the capture has it, else /proc/cpuinfo's vendor_id.
 */
export function vendorModule(f: HostFacts): VendorModule | undefined {
  const vendor = f.host.cpuid?.vendor ?? f.cpu?.vendor
  if (vendor === 'GenuineIntel') return 'kvm_intel'
  if (vendor === 'AuthenticAMD' || vendor === 'HygonGenuine') return 'kvm_amd'
  return undefined
}

/** The backend serving /dev/kvm on this host (hardware first), or undefined when none does. */
export function detectBackend(f: HostFacts): Backend | undefined {
  if (f.arch === 'arm64') {
    return isPresent(moduleState(f, 'kvm')) && firmwareDisabled(f).length === 0 ? 'arm64' : undefined
  }
  return VENDOR_MODULES.find((name) => isPresent(moduleState(f, name)) && !backendUnbound(f, name))
}

/** The kernel-log line saying kvm_pvm would not bind because this kernel itself runs under PVM. */
export function pvmGuestRefusal(f: HostFacts): string | undefined {
  return matchKernelLog(f.host.dmesg, 'kvm-unbound')[0]?.line
}

/**
 * Why a backend that is in the kernel serves no /dev/kvm, or undefined when nothing says so:
 * kvm_pvm refuses to bind in a kernel that is itself a PVM guest (PVM cannot nest), and a backend
 * that bound registers the misc device, so its absence (when /dev/kvm does not open either)
 * means none did.
 */
export function backendUnbound(f: HostFacts, name: string): string | undefined {
  const refusal = name === 'kvm_pvm' ? pvmGuestRefusal(f) : undefined
  if (refusal) return `this kernel itself runs under PVM, and PVM cannot nest (kernel log: "${refusal}")`
  const opens = !isUnknown(f, 'kvm') && f.host.kvm.open === 'ok'
  if (!opens && !isUnknown(f, 'kvmMisc') && !f.kvmMisc) return `it registered no KVM device (${KVM_MISC} is absent)`
  return undefined
}

/** The backends in the kernel that serve no /dev/kvm, each with the reason. */
export function unboundBackends(f: HostFacts): Array<{name: Backend; why: string}> {
  const names: readonly Backend[] = f.arch === 'arm64' ? [] : VENDOR_MODULES
  return names.flatMap((name) => {
    const why = isPresent(moduleState(f, name)) ? backendUnbound(f, name) : undefined
    return why ? [{name, why}] : []
  })
}

/**
 * Why no backend serves /dev/kvm, in the words of check's "KVM backend" row; undefined when one
 * does. tune nested says the same, so the two commands cannot disagree about a host without KVM.
 */
export type NoBackend =
  /** A backend is in the kernel but registered no /dev/kvm (kvm_pvm inside a PVM guest). */
  | {kind: 'unbound'; name: Backend; detail: string}
  | {kind: 'firmware-off'; detail: string}
  /** The capture did not hold the modules that could serve /dev/kvm: `paths` would tell. */
  | {kind: 'not-captured'; detail: string; paths: string[]}
  | {kind: 'none'; detail: string}

export function noBackend(f: HostFacts): NoBackend | undefined {
  if (detectBackend(f)) return undefined
  const candidates: readonly string[] = f.arch === 'arm64' ? ['kvm'] : VENDOR_MODULES
  const seen = candidates.map((m) => describeModule(f, m)).join(', ')
  const [unbound] = unboundBackends(f)
  if (unbound) {
    const others = candidates.filter((m) => m !== unbound.name).map((m) => describeModule(f, m))
    const state = describeModule(f, unbound.name).replace(/^\w+: /, '')
    const detail = `${unbound.name} is ${state} but serves no /dev/kvm: ${unbound.why}; ${others.join(', ')}`
    return {kind: 'unbound', name: unbound.name, detail}
  }
  if (firmwareDisabled(f).length > 0) {
    return {kind: 'firmware-off', detail: `no KVM backend can run: virtualization is off in firmware (${seen})`}
  }
  // A module the capture did not cover may be the one serving /dev/kvm.
  const unknown = candidates.filter((m) => moduleState(f, m) === 'unknown')
  if (unknown.length > 0) {
    const opens = !isUnknown(f, 'kvm') && f.host.kvm.open === 'ok'
    const detail = `${seen}${opens ? '; /dev/kvm opens, so one of them serves it' : ''}`
    return {kind: 'not-captured', detail, paths: unknown.map((m) => `${SYS_MODULE}/${m}/`)}
  }
  const noConfig = configValue(f.kernelConfig, 'KVM') === 'unset' ? '; the kernel is built without CONFIG_KVM' : ''
  return {kind: 'none', detail: `no KVM backend is loaded (${seen})${noConfig}`}
}

/** Since 5.6 (VMX) and 6.7 (SVM) the kernel clears the flag when firmware left the feature off. */
function kernelClearsFlag(release: string, flag: 'vmx' | 'svm'): boolean {
  const [major, minor] = release.split('.').map(Number)
  const [needMajor, needMinor] = flag === 'vmx' ? [5, 6] : [6, 7]
  return major > needMajor || (major === needMajor && minor >= needMinor)
}

/**
 * What shows hardware virtualization switched on, or undefined: kvm_intel/kvm_amd refuse to load
 * while firmware disables it, and a kernel that clears the flag keeps vmx/svm only when it is on.
 * Older kernels keep the flag either way, so there the flag counts only without a kernel-log line
 * saying firmware disabled it.
 */
export function virtualizationEnabled(f: HostFacts): string | undefined {
  // arm64 KVM initialises only at EL2, and /dev/kvm appears only then.
  if (f.arch === 'arm64') return !isUnknown(f, 'kvm') && f.host.kvm.open === 'ok' ? '/dev/kvm opens' : undefined
  const module = (['kvm_intel', 'kvm_amd'] as const).find((m) => isPresent(moduleState(f, m)))
  if (module) return `${module} is loaded`
  const flag = f.cpu?.flags.find((x): x is 'vmx' | 'svm' => x === 'vmx' || x === 'svm')
  if (
    flag &&
    (kernelClearsFlag(f.host.uname.release, flag) || matchKernelLog(f.host.dmesg, 'firmware-disabled').length === 0)
  ) {
    return `/proc/cpuinfo has the ${flag} flag`
  }
  return undefined
}

/**
 * Evidence that firmware disabled virtualization: CPUID against cpuinfo (only when both were
 * captured), and kernel-log lines. None when the CPU shows virtualization on.
 */
export function firmwareDisabled(f: HostFacts): string[] {
  if (virtualizationEnabled(f)) return []
  const evidence: string[] = []
  if (f.cpu) {
    const flags = f.cpu.flags
    if (f.host.cpuid?.vmx && !flags.includes('vmx'))
      evidence.push('CPUID reports VMX but /proc/cpuinfo has no vmx flag')
    if (f.host.cpuid?.svm && !flags.includes('svm'))
      evidence.push('CPUID reports SVM but /proc/cpuinfo has no svm flag')
  }
  for (const m of matchKernelLog(f.host.dmesg, 'firmware-disabled')) evidence.push(`kernel log: "${m.line}"`)
  return evidence
}

/** Whether this host is itself a virtual machine, and under what, from CPUID and the kernel log. */
export function guestOf(f: HostFacts): {guest: boolean; hypervisor?: string} {
  const named = matchKernelLog(f.host.dmesg, 'hypervisor')[0]?.groups[0]
  const guest = Boolean(f.host.cpuid?.hypervisor || named || f.cpu?.flags.includes('hypervisor'))
  return named ? {guest, hypervisor: named} : {guest}
}

export interface ProbeStep {
  label: string
  /** What the step gave; undefined when the capture did not record it. */
  result?: string
  ok: boolean
}

/** The probe steps after the open. A step that was not recorded is not a failure. */
export function probeSteps(p: KvmProbe): ProbeStep[] {
  const done = (result: string | undefined) => result === undefined || result === 'ok'
  return [
    p.apiVersionError === undefined
      ? {
          label: 'API version',
          result: p.apiVersion?.toString(),
          ok: p.apiVersion === undefined || p.apiVersion === KVM_API_VERSION,
        }
      : {label: 'API version', result: p.apiVersionError, ok: false},
    {label: 'KVM_CREATE_VM', result: p.createVm, ok: done(p.createVm)},
    {label: 'KVM_CREATE_VCPU', result: p.vcpu, ok: done(p.vcpu)},
  ]
}

/**
 * True when /dev/kvm opened and no later step failed. Live, the probe always goes on to create a
 * VM and a vCPU; a capture that recorded only the open is judged by the open.
 */
export function kvmUsable(f: HostFacts): boolean {
  return !isUnknown(f, 'kvm') && f.host.kvm.open === 'ok' && probeSteps(f.host.kvm).every((step) => step.ok)
}

/** A Y/N/1/0 module parameter as a boolean; undefined when absent or not one of those. */
export function paramEnabled(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined
  if (/^(y|1)$/i.test(value.trim())) return true
  if (/^(n|0)$/i.test(value.trim())) return false
  return undefined
}

/** Whether arm64 KVM runs with nested virtualization: kvm-arm.mode=nested on the command line. */
export function arm64NestedOn(f: HostFacts): boolean {
  return /\bkvm-arm\.mode=nested\b/.test(f.cmdline ?? '') || /\bkvm-arm\.mode=nested\b/.test(f.host.dmesg ?? '')
}

/** The nested parameter of a vendor module as read from sysfs, when the facts hold it. */
export function nestedParam(f: HostFacts, module: VendorModule): string | undefined {
  return f.moduleParams[`${module}.nested`]
}

/**
 * Whether user is in group `name` as the accounts say (listed among its members in /etc/group, or
 * it is the user's primary group): null when the facts do not tell (the user's account was not
 * gathered, or a capture, which keeps no user names, was replayed).
 */
export function memberOf(f: HostFacts, user: string, name: string): boolean | null {
  const account = f.accounts?.[user]
  if (account === undefined || isUnknown(f, 'groups')) return null
  const group = (f.groups ?? []).find((g) => g.name === name)
  if (!group) return false
  return group.members.includes(user) || account?.gid === group.gid
}
