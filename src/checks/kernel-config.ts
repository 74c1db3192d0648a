// Kernel config options KVM hosts need, as y / m / unset, from whichever config file exists.
import {kernelConfigPaths} from '../host/paths.js'
import {configValue, isUnknown, type ConfigValue, type HostFacts} from '../host/facts.js'
import {kernelChangeSteps} from '../plan/remedies.js'
import {manual, notCaptured, type Check, type Remedy, type Status} from './types.js'

/** The virtio drivers a typical guest uses: what a guest booting this same kernel would have. */
const VIRTIO_OPTIONS = [
  'VIRTIO',
  'VIRTIO_PCI',
  'VIRTIO_NET',
  'VIRTIO_BLK',
  'SCSI_VIRTIO',
  'VIRTIO_CONSOLE',
  'VIRTIO_BALLOON',
]

/** The hardware/backend options that make sense for this architecture. */
function backendOptions(f: HostFacts): string[] {
  return f.arch === 'arm64' ? [] : ['KVM_INTEL', 'KVM_AMD', 'KVM_PVM']
}

export function kernelConfigChecks(f: HostFacts): Check[] {
  const config = f.kernelConfig
  const found = {id: 'kernel-config.found', area: 'kernel-config' as const, title: 'kernel config'}
  if (isUnknown(f, 'kernelConfig'))
    return [notCaptured(found, kernelConfigPaths(f.host.uname.release || 'RELEASE').join(', '))]
  if (!config) {
    return [
      {
        id: 'kernel-config.found',
        area: 'kernel-config',
        title: 'kernel config',
        status: 'skip',
        detail: `no kernel config: looked for ${kernelConfigPaths(f.host.uname.release).join(', ')}`,
        remedy: manual(
          'sudo modprobe configs (provides /proc/config.gz), or install the package with /boot/config-RELEASE for the running kernel',
        ),
      },
    ]
  }
  const value = (name: string) => configValue(config, name) as ConfigValue
  const list = (names: string[]) => names.map((n) => `${n}=${value(n)}`).join(' ')
  const from = `(from ${config.source})`
  const row = (id: string, title: string, status: Status, detail: string, remedy?: Remedy): Check => ({
    id: `kernel-config.${id}`,
    area: 'kernel-config',
    title,
    status,
    detail: `${detail} ${from}`,
    ...(remedy && status !== 'pass' ? {remedy} : {}),
  })
  // A kernel change never drops the backend in use (no distribution kernel on a PVM host).
  const install = (...options: string[]) => manual(...kernelChangeSteps(f, options))

  const kvm = value('KVM')
  const backends = backendOptions(f)
  const anyBackend = backends.length === 0 || backends.some((o) => value(o) !== 'unset')
  const missingVirtio = VIRTIO_OPTIONS.filter((o) => value(o) === 'unset')
  return [
    row(
      'kvm',
      'CONFIG_KVM and a backend',
      kvm !== 'unset' && anyBackend ? 'pass' : 'fail',
      list(['KVM', ...backends]),
      install(kvm === 'unset' ? 'KVM' : (backends[0] ?? 'KVM')),
    ),
    // Guests normally boot their own kernel: this says what one booting this kernel would get.
    row(
      'virtio',
      'virtio drivers for guests booting this kernel',
      missingVirtio.length === 0 ? 'pass' : 'info',
      missingVirtio.length === 0
        ? `${list(VIRTIO_OPTIONS)}: a guest booting this kernel has the common virtio drivers`
        : `${list(VIRTIO_OPTIONS)}: a guest booting this kernel would lack ${missingVirtio.map((o) => `CONFIG_${o}`).join(', ')} (guests usually boot their own kernel)`,
    ),
    row(
      'vhost-net',
      'CONFIG_VHOST_NET',
      value('VHOST_NET') === 'unset' ? 'info' : 'pass',
      `${list(['VHOST_NET'])}${value('VHOST_NET') === 'unset' ? ': guest networking works, but its data path runs in the VMM process instead of the kernel (slower)' : ''}`,
      install('VHOST_NET'),
    ),
    row(
      'hugetlbfs',
      'CONFIG_HUGETLBFS',
      value('HUGETLBFS') === 'unset' ? 'info' : 'pass',
      `${list(['HUGETLBFS'])}${value('HUGETLBFS') === 'unset' ? ': guests cannot be given hugepages (optional tuning)' : ''}`,
      install('HUGETLBFS'),
    ),
  ]
}
