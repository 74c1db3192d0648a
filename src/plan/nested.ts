// The nested-virtualization plan as a pure function of (host facts, request): which vendor module,
// whether it is loaded, built in or in use, and what turns nested on and keeps it on. The module
// state is the same one `kvmctl check` reports (src/host/module-state.ts).
import type {ParamEdit} from '../host/cmdline.js'
import {
  arm64NestedOn,
  detectBackend,
  guestOf,
  nestedParam,
  noBackend,
  paramEnabled,
  pvmGuestRefusal,
  vendorModule,
  type VendorModule,
} from '../host/derived.js'
import {isUnknown, type HostFacts} from '../host/facts.js'
import {moduleState} from '../host/module-state.js'
import {CPUINFO, KVM_PROCESSES, moduleParamPath, MODPROBE_DIRS} from '../host/paths.js'
import {modprobeOptions, type KvmProcess} from '../host/system.js'
import {NotCapturedError} from './not-captured.js'
import {KERNEL_LOG_REMEDY, OUTER_HOST_REMEDY} from './remedies.js'
import {modprobeFile} from './targets.js'

export type {VendorModule}

export type NestedOutcome =
  /** Already in the wanted state. */
  | 'unchanged'
  /** Unload and load the module with the new value (or just load it when not loaded). */
  | 'reload'
  /** Only write modprobe.d; the value applies at the next load. */
  | 'persist-only'
  /** VMs use the module: reloading would kill them. */
  | 'blocked-in-use'
  /** Compiled into the kernel: only the kernel command line can set it. */
  | 'builtin'
  /** PVM host: kvm_pvm has no nested virtualization to turn on. */
  | 'pvm'
  /** Neither a vendor module nor a CPU that could load one. */
  | 'no-kvm'

/** Outcomes where nothing can be done here: the command exits 1 with or without --dry-run. */
/**
 * The kernel command line edit that turns nested on or off at the next boot for a built-in backend:
 * MODULE.nested=1|0, or on arm64 kvm-arm.mode=nested (added, or removed to turn it off).
 */
export function nestedEdits(module: string, want: string): ParamEdit[] {
  if (module === 'arm64')
    return want === '1' ? [{op: 'set', key: 'kvm-arm.mode', value: 'nested'}] : [{op: 'remove', key: 'kvm-arm.mode'}]
  return [{op: 'set', key: `${module}.nested`, value: want}]
}

export const NOT_POSSIBLE: readonly NestedOutcome[] = ['builtin', 'pvm', 'no-kvm', 'blocked-in-use']

export interface NestedRequest {
  disable?: boolean
  persistOnly?: boolean
}

export interface KvmUsers {
  refcnt: number | null
  holders: string[]
  /** Processes with /dev/kvm open; null when the capture did not hold them. */
  processes: KvmProcess[] | null
}

export interface NestedIntent {
  /** The backend module; 'arm64' for arm64's built-in KVM; null when no backend serves /dev/kvm. */
  module: VendorModule | 'kvm_pvm' | 'arm64' | null
  loaded: boolean
  builtin: boolean
  /** The sysfs parameter as read (Y, N, 1, 0), or null when not loaded / absent. */
  current: string | null
  currentEnabled: boolean | null
  wantEnabled: boolean
  users: KvmUsers
  outcome: NestedOutcome
  /** Commands applying would run, in order. */
  commands: string[]
  /** The modprobe.d option that keeps the value: `options MODULE nested=1` in `path`. */
  persist: {path: string; module: VendorModule; param: 'nested'; value: string} | null
  kernelCmdline: string | null
  /** Why the outcome is what it is, and what to do. */
  explanation: string
  guestAdvice: string
  warnings: string[]
  /** The kvmctl command that applies this plan. */
  argv: string[]
  /** Module loads applying would make; the file change comes on top. */
  runtimeChanges: number
}

export const GUEST_ADVICE =
  'Guests see VMX/SVM only with the host CPU model: run them with `-cpu host` (QEMU) or `<cpu mode="host-passthrough"/>` (libvirt); `kvmctl selftest` shows whether guests see vmx/svm.'

export function nestedArgv(req: NestedRequest): string[] {
  return [
    'kvmctl',
    'tune',
    'nested',
    ...(req.disable ? ['--disable'] : []),
    ...(req.persistOnly ? ['--persist-only'] : []),
  ]
}

export function inUse(u: KvmUsers): boolean {
  return (u.refcnt ?? 0) > 0 || u.holders.length > 0 || (u.processes?.length ?? 0) > 0
}

export function describeUsers(u: KvmUsers): string {
  const parts: string[] = []
  if (u.processes?.length)
    parts.push(`processes with /dev/kvm open: ${u.processes.map((p) => `${p.pid} (${p.name})`).join(', ')}`)
  if ((u.refcnt ?? 0) > 0) parts.push(`module refcnt ${u.refcnt}`)
  if (u.holders.length > 0) parts.push(`held by ${u.holders.join(', ')}`)
  return parts.join('; ')
}

/** The plan; pure. Throws NotCapturedError when the capture lacks the nested parameter it needs. */
export function planNestedIntent(f: HostFacts, req: NestedRequest): NestedIntent {
  const wantEnabled = !req.disable
  const want = wantEnabled ? '1' : '0'
  const backend = detectBackend(f)
  const plan: NestedIntent = {
    module: null,
    loaded: false,
    builtin: false,
    current: null,
    currentEnabled: null,
    wantEnabled,
    users: {refcnt: null, holders: [], processes: f.kvmProcesses},
    outcome: 'unchanged',
    commands: [],
    persist: null,
    kernelCmdline: null,
    explanation: '',
    guestAdvice: GUEST_ADVICE,
    warnings: [],
    argv: nestedArgv(req),
    runtimeChanges: 0,
  }
  if (backend === 'kvm_pvm') {
    plan.module = 'kvm_pvm'
    plan.loaded = true
    plan.outcome = wantEnabled ? 'pvm' : 'unchanged'
    plan.explanation = wantEnabled
      ? 'this host runs KVM through kvm_pvm (Pagetable-based Virtual Machine), which has no nested virtualization: it gives guests no VMX or SVM to run their own KVM, and no module parameter or kernel option can add it. Nothing was changed. Nested KVM needs a host with kvm_intel or kvm_amd.'
      : 'kvm_pvm offers no nested virtualization, so it is already off; nothing to change.'
    return plan
  }
  if (backend === 'arm64') {
    // As check's nested row says: arm64 KVM is built in, with no module parameter to set.
    const on = arm64NestedOn(f)
    plan.module = 'arm64'
    plan.loaded = true
    plan.builtin = true
    plan.outcome = on === wantEnabled ? 'unchanged' : 'builtin'
    plan.currentEnabled = on
    if (on === wantEnabled) {
      plan.explanation = `arm64 KVM ${on ? 'already runs with' : 'runs without'} kvm-arm.mode=nested; nothing to change`
    } else {
      plan.kernelCmdline = on ? null : 'kvm-arm.mode=nested'
      plan.explanation = on
        ? 'arm64 KVM is built into the kernel: remove `kvm-arm.mode=nested` from the kernel command line and reboot'
        : 'arm64 KVM is built into the kernel, with no module parameter: add `kvm-arm.mode=nested` to the kernel ' +
          'command line (it needs an ARMv8.4+ CPU) and reboot'
    }
    return plan
  }
  const present = backend === 'kvm_intel' || backend === 'kvm_amd' ? backend : undefined
  const module = present ?? loadableVendorModule(f)
  if (module === undefined) {
    plan.outcome = 'no-kvm'
    plan.explanation = noKvmExplanation(f)
    return plan
  }
  const state = moduleState(f, module)
  plan.module = module
  plan.loaded = present !== undefined
  plan.builtin = state === 'builtin'
  const param = nestedParam(f, module)
  if (plan.loaded && param === undefined && isUnknown(f, `param:${module}.nested`))
    throw new NotCapturedError([moduleParamPath(module, 'nested')])
  plan.current = plan.loaded ? (param ?? null) : null
  plan.currentEnabled = paramEnabled(plan.current ?? undefined) ?? null
  const moduleUsers = f.moduleUsers[module]
  plan.users = {refcnt: moduleUsers?.refcnt ?? null, holders: moduleUsers?.holders ?? [], processes: f.kvmProcesses}
  if (state === 'present')
    plan.warnings.push(`${module} is loaded or built in: the capture cannot tell which (no /proc/modules in it)`)
  if (isUnknown(f, 'kvmProcesses'))
    plan.warnings.push(
      `not in this capture: processes with /dev/kvm open (${KVM_PROCESSES}); the plan assumes no VM uses ${module}`,
    )
  // modprobe.d options apply at every load; the last one read wins.
  const persisted = modprobeOptions(f.modprobe, module).nested
  const file = modprobeFile(module)

  if (plan.currentEnabled === wantEnabled) {
    plan.outcome = 'unchanged'
    plan.explanation = `${module} already has nested=${plan.current}; nothing to change`
    if (persisted && paramEnabled(persisted.value) !== wantEnabled) {
      plan.warnings.push(`${persisted.path} sets nested=${persisted.value}; the next load of ${module} will use it`)
    }
    return plan
  }
  if (plan.builtin) {
    plan.outcome = 'builtin'
    plan.kernelCmdline = `${module}.nested=${want}`
    plan.explanation = `${module} is built into the kernel, so it cannot be reloaded; add \`${plan.kernelCmdline}\` to the kernel command line and reboot`
    return plan
  }
  if (isUnknown(f, 'modprobe'))
    plan.warnings.push(`not in this capture: ${MODPROBE_DIRS[0]}/; the diff assumes ${file} holds no other options`)
  plan.persist = {path: file, module, param: 'nested', value: want}
  if (req.persistOnly) {
    plan.outcome = 'persist-only'
    plan.explanation = `writing ${file} only; nested=${want} takes effect the next time ${module} loads (after the VMs stop: \`modprobe -r ${module} && modprobe ${module}\`, or a reboot)`
    return plan
  }
  if (plan.loaded && inUse(plan.users)) {
    plan.outcome = 'blocked-in-use'
    plan.persist = null
    plan.explanation = `${module} is in use (${describeUsers(plan.users)}); reloading it would stop those VMs. Stop them and run again, or add --persist-only to write ${file} for the next load`
    return plan
  }
  plan.outcome = 'reload'
  if (plan.loaded) plan.commands.push(`modprobe -r ${module}`)
  plan.commands.push(`modprobe ${module} nested=${want}`)
  plan.explanation = `${plan.loaded ? 'reload' : 'load'} ${module} with nested=${want}, verify /sys/module/${module}/parameters/nested, and persist it in ${file}`
  plan.runtimeChanges = 1
  return plan
}

/**
 * With no backend serving /dev/kvm, the vendor module that could be loaded (the CPU shows its
 * flag and nothing says firmware turned it off). Throws NotCapturedError when the capture lacks
 * the modules or /proc/cpuinfo that would tell.
 */
function loadableVendorModule(f: HostFacts): VendorModule | undefined {
  const none = noBackend(f)
  if (none?.kind === 'not-captured') throw new NotCapturedError(none.paths)
  if (none?.kind !== 'none' || f.arch !== 'x86') return undefined
  if (isUnknown(f, 'cpuinfo')) throw new NotCapturedError([CPUINFO])
  const vendor = vendorModule(f)
  if (vendor === undefined) return undefined
  return f.cpu?.flags.includes(vendor === 'kvm_intel' ? 'vmx' : 'svm') ? vendor : undefined
}

/** Why there is nothing to nest: check's "KVM backend" row, then what would help. */
function noKvmExplanation(f: HostFacts): string {
  const none = noBackend(f)!
  const lead = `there is no KVM to nest: ${none.detail}`
  if (none.kind === 'unbound') {
    const pvmGuest = none.name === 'kvm_pvm' && pvmGuestRefusal(f) !== undefined
    const fix = (pvmGuest ? OUTER_HOST_REMEDY : KERNEL_LOG_REMEDY).steps[0]
    return `${lead}. Nothing was changed. ${sentence(fix)}.`
  }
  const setting = f.arch === 'arm64' ? 'virtualization (EL2)' : 'VT-x/AMD-V'
  if (none.kind === 'firmware-off') return `${lead}. Nothing was changed; enable ${setting} in the firmware first.`
  const noFlag = f.cpu && !f.cpu.flags.some((x) => x === 'vmx' || x === 'svm')
  const cpu = noFlag ? ', and /proc/cpuinfo has no vmx or svm flag' : ''
  const fix = guestOf(f).guest
    ? 'this host is a virtual machine: its hypervisor must pass VT-x/AMD-V through (nested virtualization on the ' +
      'outer host)'
    : 'enable VT-x/AMD-V in the firmware, then load kvm_intel or kvm_amd'
  return `${lead}${cpu}. Nothing was changed; ${fix}.`
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)
