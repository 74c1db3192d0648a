// Nested virtualization: whether guests of this host can run KVM themselves (the vendor module's
// "nested" parameter), and whether this host is itself a guest.
import {isUnknown, type HostFacts} from '../host/facts.js'
import {moduleParamPath} from '../host/paths.js'
import {detectBackend, guestOf, kvmUsable} from '../host/derived.js'
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
    const on = /\bkvm-arm\.mode=nested\b/.test(f.host.dmesg ?? '') || /\bkvm-arm\.mode=nested\b/.test(f.cmdline ?? '')
    return {...base, status: on ? 'pass' : 'skip', detail: on ? 'kvm-arm.mode=nested on the command line' : 'arm64 nested virtualization needs kvm-arm.mode=nested and an ARMv8.4+ CPU; not enabled'}
  }
  if (!backend) return {...base, status: 'skip', detail: 'no hardware KVM backend loaded'}
  const value = f.moduleParams[`${backend}.nested`]
  if (value === undefined && isUnknown(f, `param:${backend}.nested`)) return notCaptured(base, moduleParamPath(backend, 'nested'))
  if (value === undefined) return {...base, status: 'skip', detail: `${backend}: no nested parameter readable`}
  const on = /^(y|1)$/i.test(value)
  return {
    ...base,
    status: on ? 'pass' : 'warn',
    detail: `${backend} nested=${value}: ${on ? 'guests can use' : 'guests cannot use'} ${backend === 'kvm_intel' ? 'VT-x' : 'AMD-V'}`,
    ...(on
      ? {}
      : {
          remedy: [
            `echo "options ${backend} nested=1" | sudo tee /etc/modprobe.d/kvm-nested.conf`,
            `with every VM stopped: sudo modprobe -r ${backend} && sudo modprobe ${backend}`,
          ],
        }),
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
  const evidence = [f.host.cpuid?.hypervisor ? 'CPUID hypervisor bit' : '', hypervisor ? `kernel log "Hypervisor detected: ${hypervisor}"` : ''].filter(Boolean).join(', ')
  if (kvmUsable(f)) {
    return {...base, status: 'pass', detail: `a guest (${evidence || 'hypervisor flag'}): its VMs are nested${detectBackend(f) === 'kvm_pvm' ? ' through PVM' : ''}`}
  }
  return {
    ...base,
    status: 'warn',
    detail: `a guest (${evidence || 'hypervisor flag'}): KVM inside it needs nested virtualization from the outer host`,
    remedy: ['on the outer host: options kvm_intel nested=1 (or kvm_amd nested=1), and start this VM with -cpu host (libvirt: <cpu mode="host-passthrough"/>)'],
  }
}
