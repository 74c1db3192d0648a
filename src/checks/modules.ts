// Which of the modules KVM hosts need are loaded. Built in counts as loaded, and kernels without
// module support (no /proc/modules) are read through /sys/module and the kernel config instead.
// The states themselves, with what the kernel guarantees, come from src/host/module-state.ts.
// Virtio drivers belong to guests: on a host that is itself a VM, its own virtio devices must
// have their drivers bound; what guests booting this kernel would get is under Kernel config.
import {configValue, isUnknown, type HostFacts, type VirtioDevice} from '../host/facts.js'
import {guestOf} from '../host/derived.js'
import {describeModule, isPresent, moduleState} from '../host/module-state.js'
import {VIRTIO_DEVICES} from '../host/paths.js'
import {loadModuleRemedy} from '../plan/remedies.js'
import {manual, notCaptured, type Check} from './types.js'

export {loadModuleRemedy}

/** A module the kernel config lacks is reported once, by the kernel-config checks. */
const SEE_CONFIG = 'reported under Kernel config'

/** Modules whose device node loads them on first open (kmod's static nodes, devname aliases). */
const LOADS_ON_OPEN: Record<string, string> = {vhost_net: '/dev/vhost-net', tun: '/dev/net/tun'}

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
    const node = LOADS_ON_OPEN[name]
    if (state === 'available' && node && f.host.devices[node]) {
      return {...base, status: 'pass', detail: `${detail}; ${node} exists, and opening it loads the module`}
    }
    return {...base, status: absentStatus, detail, remedy: loadModuleRemedy(f, name)}
  }
  return [
    one('kvm', 'kvm', 'kvm module', 'fail'),
    virtioDevices(f),
    one('vhost-net', 'vhost_net', 'vhost_net module', 'warn'),
    one('tun', 'tun', 'tun module', 'warn'),
  ]
}

/** Virtio device ids (virtio spec 1.2, 5) with the driver module and its kernel option. */
const VIRTIO_TYPES: Record<number, [kind: string, module: string, option: string]> = {
  1: ['net', 'virtio_net', 'VIRTIO_NET'],
  2: ['block', 'virtio_blk', 'VIRTIO_BLK'],
  3: ['console', 'virtio_console', 'VIRTIO_CONSOLE'],
  4: ['rng', 'virtio_rng', 'HW_RANDOM_VIRTIO'],
  5: ['balloon', 'virtio_balloon', 'VIRTIO_BALLOON'],
  8: ['scsi', 'virtio_scsi', 'SCSI_VIRTIO'],
  9: ['9p', '9pnet_virtio', 'NET_9P_VIRTIO'],
  16: ['gpu', 'virtio_gpu', 'DRM_VIRTIO_GPU'],
  18: ['input', 'virtio_input', 'VIRTIO_INPUT'],
  19: ['vsock', 'vmw_vsock_virtio_transport', 'VIRTIO_VSOCKETS'],
  20: ['crypto', 'virtio_crypto', 'CRYPTO_DEV_VIRTIO'],
  23: ['iommu', 'virtio_iommu', 'VIRTIO_IOMMU'],
  24: ['mem', 'virtio_mem', 'VIRTIO_MEM'],
  26: ['fs', 'virtiofs', 'VIRTIO_FS'],
  27: ['pmem', 'virtio_pmem', 'VIRTIO_PMEM'],
}

function describeVirtio(d: VirtioDevice): string {
  const kind = d.device === null ? undefined : VIRTIO_TYPES[d.device]?.[0]
  return `${d.name} (${kind ?? (d.device === null ? 'unknown type' : `type ${d.device}`)})`
}

/** On a guest, its own virtio devices and their drivers; on bare metal there are none to judge. */
function virtioDevices(f: HostFacts): Check {
  const base = {id: 'modules.virtio', area: 'modules' as const, title: "this VM's virtio devices have drivers"}
  const {guest} = guestOf(f)
  if (!guest) {
    return {
      ...base,
      status: 'skip',
      detail:
        'bare metal: virtio drivers belong to guests (what guests booting this kernel get is under Kernel config)',
    }
  }
  if (isUnknown(f, 'virtio')) return notCaptured(base, `${VIRTIO_DEVICES}/`)
  const devices = f.virtioDevices ?? []
  if (devices.length === 0)
    return {
      ...base,
      status: 'skip',
      detail: `a guest without virtio devices (${f.virtioDevices === null ? `no ${VIRTIO_DEVICES}` : 'none on the bus'})`,
    }
  const bound = devices.filter((d) => d.driver)
  const unbound = devices.filter((d) => !d.driver)
  const boundText = bound.map((d) => `${describeVirtio(d)}: ${d.driver}`).join(', ')
  if (unbound.length === 0) return {...base, status: 'pass', detail: boundText}
  // A driver module that can be loaded fixes the device; one the kernel lacks leaves it unused.
  const option = (d: VirtioDevice) => (d.device === null ? undefined : VIRTIO_TYPES[d.device])
  const lacking = unbound.filter((d) => option(d) && configValue(f.kernelConfig, option(d)![2]) === 'unset')
  const loadable = unbound
    .filter((d) => option(d) && configValue(f.kernelConfig, option(d)![2]) === 'm')
    .map((d) => option(d)![1])
  const detail = `no driver bound to ${unbound.map(describeVirtio).join(', ')}${boundText ? `; bound: ${boundText}` : ''}`
  if (lacking.length === unbound.length)
    return {
      ...base,
      status: 'info',
      detail: `${detail}: this kernel has no driver for ${lacking.length === 1 ? 'it' : 'them'}`,
    }
  const steps = [
    ...new Set(loadable.map((m) => `sudo modprobe ${m}`)),
    `see why: sudo dmesg | grep -i virtio; ls -l ${VIRTIO_DEVICES}/*/driver`,
  ]
  return {...base, status: 'warn', detail, remedy: manual(...steps)}
}
