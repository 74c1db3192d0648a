// Host devices guests use, as virt-host-validate checks them: /dev/vhost-net, /dev/net/tun, and
// IOMMU groups for device passthrough.
import {guestOf, vendorModule} from '../host/derived.js'
import {isUnknown, type HostFacts} from '../host/facts.js'
import {isPresent, MODULE_CONFIG, moduleState} from '../host/module-state.js'
import {IOMMU_GROUPS} from '../host/paths.js'
import {loadModuleRemedy} from './modules.js'
import {notCaptured, type Check} from './types.js'

export function deviceChecks(f: HostFacts): Check[] {
  return [node(f, '/dev/vhost-net', 'vhost_net', 'vhost networking', 238), node(f, '/dev/net/tun', 'tun', 'TAP networking', 200), iommu(f)]
}

/** A misc device node (major 10) that its module creates. */
function node(f: HostFacts, path: string, module: string, what: string, minor: number): Check {
  const dev = f.host.devices[path]
  const base = {id: `devices.${module.replace('_', '-')}`, area: 'devices' as const, title: `${path} (${what})`}
  if (dev) return {...base, status: 'pass', detail: `mode ${dev.mode}, uid ${dev.uid}${dev.gid < 0 ? '' : `, gid ${dev.gid}`}${dev.group ? ` (group ${dev.group})` : ''}`}
  if (dev === undefined) return notCaptured(base, path)
  // The node is missing because the module is: that finding is reported once, where it is found.
  const state = moduleState(f, module)
  if (state === 'missing') return {...base, status: 'skip', detail: `${path} is missing: the kernel has no CONFIG_${MODULE_CONFIG[module]} (reported under Kernel config)`}
  if (state === 'available' || state === 'not-loaded') return {...base, status: 'skip', detail: `${path} is missing: ${module} is not loaded (reported under Modules)`}
  if (!isPresent(state)) return {...base, status: 'warn', detail: `${path} is missing`, remedy: loadModuleRemedy(f, module)}
  const remedy =
    typeof f.host.container === 'string'
      ? [`pass the device into the container: docker run --device ${path} ... (podman: --device ${path})`]
      : [`recreate the node: ${path.startsWith('/dev/net/') ? 'sudo mkdir -p /dev/net && ' : ''}sudo mknod ${path} c 10 ${minor}`]
  return {...base, status: 'warn', detail: `${path} is missing although ${module} is ${state === 'loaded' ? 'loaded' : 'in the kernel'}`, remedy}
}

function iommu(f: HostFacts): Check {
  const base = {id: 'devices.iommu', area: 'devices' as const, title: 'IOMMU groups (PCI passthrough)'}
  if (isUnknown(f, 'iommuGroups')) return notCaptured(base, `${IOMMU_GROUPS}/`)
  const groups = f.iommuGroups ?? 0
  if (groups > 0) return {...base, status: 'pass', detail: `${groups} IOMMU group${groups === 1 ? '' : 's'}`}
  const vendor = f.arch === 'arm64' ? undefined : vendorModule(f)
  const cmdline = f.cmdline ?? ''
  const remedy = guestOf(f).guest
    ? ['this host is a VM: passthrough inside it needs a virtual IOMMU from the outer host (QEMU: -device intel-iommu or virtio-iommu); only needed to pass PCI devices to guests']
    : vendor === 'kvm_intel'
      ? [
          'enable VT-d (Intel Virtualization Technology for Directed I/O) in the firmware setup',
          `${/\bintel_iommu=on\b/.test(cmdline) ? 'intel_iommu=on is already set; ' : ''}add intel_iommu=on iommu=pt to GRUB_CMDLINE_LINUX in /etc/default/grub, then sudo update-grub and reboot`,
        ]
      : vendor === 'kvm_amd'
        ? ['enable IOMMU (AMD-Vi) in the firmware setup; add iommu=pt to GRUB_CMDLINE_LINUX in /etc/default/grub, then sudo update-grub and reboot']
        : ['enable the IOMMU (SMMU on arm64) in the firmware; it is needed only to pass PCI devices through to guests']
  return {...base, status: 'warn', detail: `no IOMMU groups${f.iommuGroups === null ? ' (no /sys/kernel/iommu_groups)' : ''}: PCI devices cannot be passed through to guests`, remedy}
}
