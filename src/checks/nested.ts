// Nested virtualization: whether guests of this host can run KVM themselves (the vendor module's
// "nested" parameter), and whether this host is itself a guest.
import {isUnknown, type HostFacts} from '../host/facts.js'
import {moduleParamPath} from '../host/paths.js'
import {
  arm64NestedOn,
  detectBackend,
  guestOf,
  kvmUsable,
  nestedParam as readNested,
  noBackend,
  paramEnabled,
  unboundBackends,
} from '../host/derived.js'
import {nestedRemedy} from '../plan/remedies.js'
import {BACKEND_NAMES} from './backend.js'
import {notCaptured, type Check} from './types.js'

export function nestedChecks(f: HostFacts): Check[] {
  return [nestedParam(f), hostIsGuest(f)]
}

function nestedParam(f: HostFacts): Check {
  const base = {id: 'nested.param', area: 'nested' as const, title: 'guests can run their own VMs'}
  const backend = detectBackend(f)
  if (backend === 'kvm_pvm') {
    return {...base, status: 'skip', detail: 'kvm_pvm has no nested parameter: guests of a PVM host see no VT-x/AMD-V'}
  }
  if (backend === 'arm64') {
    const on = arm64NestedOn(f)
    return {
      ...base,
      status: on ? 'pass' : 'skip',
      detail: on
        ? 'kvm-arm.mode=nested on the command line'
        : 'arm64 nested virtualization needs kvm-arm.mode=nested and an ARMv8.4+ CPU; not enabled',
    }
  }
  if (!backend) {
    const none = noBackend(f)!
    if (none.kind === 'not-captured') return notCaptured(base, none.paths.join(', '))
    const detail = 'no KVM backend serves /dev/kvm, so there is nothing to nest (reported under KVM backend)'
    return {...base, status: 'skip', detail}
  }
  const value = readNested(f, backend)
  if (value === undefined && isUnknown(f, `param:${backend}.nested`))
    return notCaptured(base, moduleParamPath(backend, 'nested'))
  if (value === undefined) return {...base, status: 'skip', detail: `${backend}: no nested parameter readable`}
  const on = paramEnabled(value) === true
  // Most guests never run VMs of their own: nested virtualization is optional tuning.
  return {
    ...base,
    status: on ? 'pass' : 'info',
    detail: `${backend} nested=${value}: ${on ? 'guests can use' : 'guests cannot use'} ${backend === 'kvm_intel' ? 'VT-x' : 'AMD-V'}${on ? '' : ' (needed only by guests that run VMs themselves)'}`,
    ...(on ? {} : {remedy: nestedRemedy(f, backend)}),
  }
}

function hostIsGuest(f: HostFacts): Check {
  const base = {id: 'nested.host-is-guest', area: 'nested' as const, title: 'this host is bare metal or a guest'}
  const {guest, hypervisor} = guestOf(f)
  if (!guest) {
    // Say only what was looked at: a capture may lack CPUID, cpuinfo or the kernel log.
    const looked = [
      f.host.cpuid ? 'no hypervisor bit in CPUID' : '',
      f.cpu ? 'no hypervisor flag in /proc/cpuinfo' : '',
      f.host.dmesg !== null && !isUnknown(f, 'dmesg') ? 'no "Hypervisor detected" line' : '',
    ].filter(Boolean)
    if (looked.length === 0) return notCaptured(base, 'CPUID, /proc/cpuinfo, the kernel log')
    return {...base, status: 'pass', detail: `bare metal: ${looked.join(', ')}`}
  }
  const evidence = [
    f.host.cpuid?.hypervisor ? 'CPUID hypervisor bit' : '',
    hypervisor ? `kernel log "Hypervisor detected: ${hypervisor}"` : '',
  ]
    .filter(Boolean)
    .join(', ')
  const who = `a guest (${evidence || 'hypervisor flag'})`
  if (kvmUsable(f)) {
    return {
      ...base,
      status: 'pass',
      detail: `${who}: its VMs are nested${detectBackend(f) === 'kvm_pvm' ? ' through PVM' : ''}`,
    }
  }
  // A backend in the kernel means nesting is not what stops KVM here (a permission, a missing
  // node, a backend that would not bind): that is reported where it is found.
  const backend = detectBackend(f)
  if (backend)
    return {
      ...base,
      status: 'pass',
      detail: `${who}, with ${BACKEND_NAMES[backend]} in its kernel: what keeps /dev/kvm from working is reported under /dev/kvm`,
    }
  if (unboundBackends(f).length > 0) return {...base, status: 'skip', detail: `${who} (reported under KVM backend)`}
  if (f.cpu) {
    const passed = f.cpu.flags.some((x) => x === 'vmx' || x === 'svm')
    return {
      ...base,
      status: 'skip',
      detail: `${who}${passed ? ' with VT-x/AMD-V passed through' : ''} (reported under ${passed ? 'KVM backend' : 'CPU virtualization'})`,
    }
  }
  return {
    ...base,
    status: 'info',
    detail: `${who}: KVM inside it needs VT-x/AMD-V passed through by the outer host (nested virtualization), or PVM`,
  }
}
