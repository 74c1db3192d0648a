// Which of the modules KVM guests need are loaded. Built in counts as loaded, and kernels without
// module support (no /proc/modules) are read through /sys/module and the kernel config instead.
import {configValue, type HostFacts} from '../host/facts.js'
import type {Check} from './types.js'

/**
 * loaded: in /proc/modules; builtin: compiled into the kernel; available: a module (=m) that is
 * not loaded; missing: the kernel config does not have it; unknown: not loaded, no config to ask.
 */
export type ModuleState = 'loaded' | 'builtin' | 'available' | 'missing' | 'unknown'

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

export function moduleState(f: HostFacts, name: string): ModuleState {
  if (f.loadedModules?.includes(name)) return 'loaded'
  if (f.builtinModules?.includes(name)) return 'builtin'
  const config = MODULE_CONFIG[name] ? configValue(f.kernelConfig, MODULE_CONFIG[name]) : undefined
  if (config === 'y') return 'builtin'
  // /sys/module/NAME without a /proc/modules line is a built-in module with parameters.
  if (f.sysModules?.includes(name)) return 'builtin'
  if (config === 'm') return 'available'
  if (config === 'unset') return 'missing'
  return 'unknown'
}

export function isPresent(state: ModuleState): boolean {
  return state === 'loaded' || state === 'builtin'
}

/** Commands that load a module now and at every boot, or the kernel change it needs. */
export function loadModuleRemedy(f: HostFacts, name: string): string[] {
  const state = moduleState(f, name)
  if (state === 'missing') {
    return [`the running kernel is built without CONFIG_${MODULE_CONFIG[name]}: install a distribution kernel (Debian: sudo apt-get install linux-image-${f.arch === 'arm64' ? 'arm64' : 'amd64'}) or rebuild with CONFIG_${MODULE_CONFIG[name]}=m, then reboot`]
  }
  if (configValue(f.kernelConfig, 'MODULES') === 'unset') {
    return [`this kernel has no module support (CONFIG_MODULES is not set): use a kernel with CONFIG_${MODULE_CONFIG[name]}=y`]
  }
  return [`sudo modprobe ${name}`, `load it at every boot: echo ${name} | sudo tee /etc/modules-load.d/${name}.conf`]
}

const VIRTIO_SET = ['virtio', 'virtio_pci', 'virtio_net', 'virtio_blk', 'virtio_scsi', 'virtio_console', 'virtio_balloon']

export function moduleChecks(f: HostFacts): Check[] {
  const how =
    f.loadedModules === null
      ? 'no /proc/modules (a kernel without module support, or not captured): read from /sys/module and the kernel config'
      : undefined
  const one = (id: string, name: string, title: string, missingStatus: 'warn' | 'fail'): Check => {
    const state = moduleState(f, name)
    const ok = isPresent(state)
    // An option the kernel config lacks is reported once, by the kernel-config checks.
    const status = ok ? 'pass' : state === 'missing' && missingStatus === 'warn' ? 'skip' : missingStatus
    return {
      id: `modules.${id}`,
      area: 'modules',
      title,
      status,
      detail: [`${name}: ${describeState(state)}`, how].filter(Boolean).join('; '),
      ...(ok ? {} : {remedy: loadModuleRemedy(f, name)}),
    }
  }
  const checks = [one('kvm', 'kvm', 'kvm module', 'fail'), one('vhost-net', 'vhost_net', 'vhost_net module', 'warn'), one('tun', 'tun', 'tun module', 'warn')]
  const virtio = VIRTIO_SET.map((name) => [name, moduleState(f, name)] as const)
  const absent = virtio.filter(([, s]) => !isPresent(s) && s !== 'available' && s !== 'missing')
  const missing = virtio.filter(([, s]) => s === 'missing')
  checks.splice(1, 0, {
    id: 'modules.virtio',
    area: 'modules',
    title: 'virtio modules',
    status: absent.length > 0 ? 'warn' : missing.length > 0 ? 'skip' : 'pass',
    detail: virtio.map(([name, s]) => `${name}: ${describeState(s)}`).join(', '),
    ...(absent.length + missing.length === 0 ? {} : {remedy: [...absent, ...missing].flatMap(([name]) => loadModuleRemedy(f, name).slice(0, 1))}),
  })
  return checks
}

export function describeState(state: ModuleState): string {
  switch (state) {
    case 'loaded':
      return 'loaded'
    case 'builtin':
      return 'built in'
    case 'available':
      return 'not loaded (available as a module)'
    case 'missing':
      return 'not in this kernel'
    default:
      return 'not loaded'
  }
}
