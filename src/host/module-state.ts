// What the gathered facts say about each kernel module, including what the kernel guarantees
// beyond the files a capture happens to hold: the vendor modules cannot load without kvm, and
// /dev/kvm opens only while kvm is loaded. A module the capture did not cover is 'unknown'.
import {configValue, isUnknown, type HostFacts} from './facts.js'
import {VENDOR_MODULES} from './paths.js'

/**
 * loaded: in /proc/modules; builtin: compiled into the kernel; present: loaded or built in, the
 * capture cannot tell which; available: a module (=m) that is not loaded; missing: the kernel
 * config does not have it; not-loaded: absent, and no config to say more; unknown: not captured.
 */
export type ModuleState = 'loaded' | 'builtin' | 'present' | 'available' | 'missing' | 'not-loaded' | 'unknown'

export interface ModuleFact {
  state: ModuleState
  /** Why the state was inferred rather than read, e.g. "kvm_intel depends on it". */
  inferred?: string
}

/** The kernel config option behind each module kvmctl looks at. */
export const MODULE_CONFIG: Record<string, string> = {
  kvm: 'KVM',
  kvm_intel: 'KVM_INTEL',
  kvm_amd: 'KVM_AMD',
  kvm_pvm: 'KVM_PVM',
  vhost_net: 'VHOST_NET',
  tun: 'TUN',
  virtio: 'VIRTIO',
  virtio_pci: 'VIRTIO_PCI',
  virtio_net: 'VIRTIO_NET',
  virtio_blk: 'VIRTIO_BLK',
  virtio_scsi: 'SCSI_VIRTIO',
  virtio_console: 'VIRTIO_CONSOLE',
  virtio_balloon: 'VIRTIO_BALLOON',
}

export {VENDOR_MODULES}

export function moduleFact(f: HostFacts, name: string): ModuleFact {
  if (f.loadedModules?.includes(name)) return {state: 'loaded'}
  if (f.builtinModules?.includes(name)) return {state: 'builtin'}
  const config = MODULE_CONFIG[name] ? configValue(f.kernelConfig, MODULE_CONFIG[name]) : undefined
  if (config === 'y') return {state: 'builtin'}
  // Only a loadable module has /sys/module/NAME/initstate ("live" once loaded).
  if (f.moduleUsers[name]?.initstate) return {state: 'loaded'}
  // /sys/module/NAME without a /proc/modules line is a built-in module with parameters; without
  // /proc/modules in the capture it may be either.
  if (f.sysModules?.includes(name)) return {state: isUnknown(f, 'procModules') ? 'present' : 'builtin'}
  if (name === 'kvm') {
    const vendor = VENDOR_MODULES.find((m) => isPresent(moduleState(f, m)))
    if (vendor) return {state: 'present', inferred: `${vendor} depends on it`}
    if (!isUnknown(f, 'kvm') && f.host.kvm.open === 'ok') return {state: 'present', inferred: '/dev/kvm opens'}
  }
  if (config === 'unset') return {state: 'missing'}
  if (isUnknown(f, `module:${name}`)) return {state: 'unknown'}
  return {state: config === 'm' ? 'available' : 'not-loaded'}
}

export function moduleState(f: HostFacts, name: string): ModuleState {
  return moduleFact(f, name).state
}

export function isPresent(state: ModuleState): boolean {
  return state === 'loaded' || state === 'builtin' || state === 'present'
}

export function describeState(state: ModuleState): string {
  switch (state) {
    case 'loaded':
      return 'loaded'
    case 'builtin':
      return 'built in'
    case 'present':
      return 'present'
    case 'available':
      return 'not loaded (available as a module)'
    case 'missing':
      return 'not in this kernel'
    case 'unknown':
      return 'not in this capture'
    default:
      return 'not loaded'
  }
}

/** "kvm: present (kvm_intel depends on it)". */
export function describeModule(f: HostFacts, name: string): string {
  const {state, inferred} = moduleFact(f, name)
  return `${name}: ${describeState(state)}${inferred ? ` (${inferred})` : ''}`
}
