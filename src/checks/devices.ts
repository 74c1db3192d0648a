// Host devices guests use, as virt-host-validate checks them: /dev/vhost-net and /dev/net/tun.
// IOMMU and VFIO readiness are under Device passthrough (passthrough.ts).
import type {HostFacts} from '../host/facts.js'
import {isPresent, MODULE_CONFIG, moduleState} from '../host/module-state.js'
import {loadModuleRemedy} from '../plan/remedies.js'
import {manual, notCaptured, type Check} from './types.js'

export function deviceChecks(f: HostFacts): Check[] {
  return [
    node(f, '/dev/vhost-net', 'vhost_net', 'vhost networking', 238),
    node(f, '/dev/net/tun', 'tun', 'TAP networking', 200),
  ]
}

/** A misc device node (major 10) that its module creates. */
function node(f: HostFacts, path: string, module: string, what: string, minor: number): Check {
  const dev = f.host.devices[path]
  const base = {id: `devices.${module.replace('_', '-')}`, area: 'devices' as const, title: `${path} (${what})`}
  if (dev)
    return {
      ...base,
      status: 'pass',
      detail: `mode ${dev.mode}, uid ${dev.uid}${dev.gid < 0 ? '' : `, gid ${dev.gid}`}${dev.group ? ` (group ${dev.group})` : ''}`,
    }
  if (dev === undefined) return notCaptured(base, path)
  // The node is missing because the module is: that finding is reported once, where it is found.
  const state = moduleState(f, module)
  if (state === 'missing')
    return {
      ...base,
      status: 'skip',
      detail: `${path} is missing: the kernel has no CONFIG_${MODULE_CONFIG[module]} (reported under Kernel config)`,
    }
  if (state === 'available' || state === 'not-loaded')
    return {...base, status: 'skip', detail: `${path} is missing: ${module} is not loaded (reported under Modules)`}
  if (!isPresent(state))
    return {...base, status: 'warn', detail: `${path} is missing`, remedy: loadModuleRemedy(f, module)}
  const remedy =
    typeof f.host.container === 'string'
      ? manual(`pass the device into the container: docker run --device ${path} ... (podman: --device ${path})`)
      : manual(
          `recreate the node: ${path.startsWith('/dev/net/') ? 'sudo mkdir -p /dev/net && ' : ''}sudo mknod ${path} c 10 ${minor}`,
        )
  return {
    ...base,
    status: 'warn',
    detail: `${path} is missing although ${module} is ${state === 'loaded' ? 'loaded' : 'in the kernel'}`,
    remedy,
  }
}
