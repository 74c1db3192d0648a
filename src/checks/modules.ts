// Which of the modules KVM guests need are loaded. Built in counts as loaded, and kernels without
// module support (no /proc/modules) are read through /sys/module and the kernel config instead.
// The states themselves, with what the kernel guarantees, come from src/host/module-state.ts.
import {configValue, isUnknown, type HostFacts} from '../host/facts.js'
import {describeModule, isPresent, MODULE_CONFIG, moduleState} from '../host/module-state.js'
import {notCaptured, type Check} from './types.js'

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

/** A module the kernel config lacks is reported once, by the kernel-config checks. */
const SEE_CONFIG = 'reported under Kernel config'

export function moduleChecks(f: HostFacts): Check[] {
  const how =
    f.loadedModules === null && !isUnknown(f, 'procModules')
      ? 'no /proc/modules (a kernel without module support): read from /sys/module and the kernel config'
      : undefined
  const one = (id: string, name: string, title: string, absentStatus: 'warn' | 'fail'): Check => {
    const base = {id: `modules.${id}`, area: 'modules' as const, title}
    const state = moduleState(f, name)
    if (state === 'unknown') return notCaptured(base, `/sys/module/${name}`)
    const detail = [describeModule(f, name), how].filter(Boolean).join('; ')
    if (isPresent(state)) return {...base, status: 'pass', detail}
    if (state === 'missing') return {...base, status: 'skip', detail: `${detail} (${SEE_CONFIG})`}
    return {...base, status: absentStatus, detail, remedy: loadModuleRemedy(f, name)}
  }
  return [one('kvm', 'kvm', 'kvm module', 'fail'), virtioModules(f), one('vhost-net', 'vhost_net', 'vhost_net module', 'warn'), one('tun', 'tun', 'tun module', 'warn')]
}

function virtioModules(f: HostFacts): Check {
  const base = {id: 'modules.virtio', area: 'modules' as const, title: 'virtio modules'}
  const states = VIRTIO_SET.map((name) => [name, moduleState(f, name)] as const)
  if (states.every(([, s]) => s === 'unknown')) return notCaptured(base, '/sys/module/virtio*')
  const detail = states.map(([name]) => describeModule(f, name)).join(', ')
  const toLoad = states.filter(([, s]) => s === 'available' || s === 'not-loaded')
  if (toLoad.length > 0) return {...base, status: 'warn', detail, remedy: toLoad.map(([name]) => loadModuleRemedy(f, name)[0])}
  if (states.some(([, s]) => s === 'missing')) return {...base, status: 'skip', detail: `${detail} (${SEE_CONFIG})`}
  return {...base, status: 'pass', detail}
}
