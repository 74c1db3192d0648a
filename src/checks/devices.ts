// Host devices guests use, as virt-host-validate checks them: /dev/vhost-net, /dev/net/tun, and
// IOMMU groups for device passthrough.
import type {HostFacts} from '../host/facts.js'
import {vendorModule} from './backend.js'
import {guestOf} from './cpu.js'
import {loadModuleRemedy} from './modules.js'
import type {Check} from './types.js'

export function deviceChecks(f: HostFacts): Check[] {
  return [node(f, '/dev/vhost-net', 'vhost_net', 'vhost networking'), node(f, '/dev/net/tun', 'tun', 'TAP networking'), iommu(f)]
}

function node(f: HostFacts, path: string, module: string, what: string): Check {
  const dev = f.host.devices[path]
  const base = {id: `devices.${module.replace('_', '-')}`, area: 'devices' as const, title: `${path} (${what})`}
  if (dev) return {...base, status: 'pass', detail: `mode ${dev.mode}, uid ${dev.uid}, gid ${dev.gid}${dev.group ? ` (${dev.group})` : ''}`}
  if (dev === undefined) return {...base, status: 'skip', detail: `${path} was not captured`}
  return {...base, status: 'warn', detail: `${path} is missing`, remedy: loadModuleRemedy(f, module)}
}

function iommu(f: HostFacts): Check {
  const base = {id: 'devices.iommu', area: 'devices' as const, title: 'IOMMU groups (PCI passthrough)'}
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
