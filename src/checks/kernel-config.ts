// Kernel config options KVM hosts need, as y / m / unset, from whichever config file exists.
import {kernelConfigPaths} from '../host/paths.js'
import {configValue, isUnknown, type ConfigValue, type HostFacts} from '../host/facts.js'
import {notCaptured, type Check, type Status} from './types.js'

const VIRTIO_OPTIONS = ['VIRTIO', 'VIRTIO_PCI', 'VIRTIO_NET', 'VIRTIO_BLK', 'SCSI_VIRTIO', 'VIRTIO_CONSOLE', 'VIRTIO_BALLOON']

/** The hardware/backend options that make sense for this architecture. */
function backendOptions(f: HostFacts): string[] {
  return f.arch === 'arm64' ? [] : ['KVM_INTEL', 'KVM_AMD', 'KVM_PVM']
}

export function kernelConfigChecks(f: HostFacts): Check[] {
  const config = f.kernelConfig
  const found = {id: 'kernel-config.found', area: 'kernel-config' as const, title: 'kernel config'}
  if (isUnknown(f, 'kernelConfig')) return [notCaptured(found, kernelConfigPaths(f.host.uname.release || 'RELEASE').join(', '))]
  if (!config) {
    return [
      {
        id: 'kernel-config.found',
        area: 'kernel-config',
        title: 'kernel config',
        status: 'skip',
        detail: `no kernel config: looked for ${kernelConfigPaths(f.host.uname.release).join(', ')}`,
        remedy: ['sudo modprobe configs (provides /proc/config.gz), or install the package with /boot/config-RELEASE for the running kernel'],
      },
    ]
  }
  const value = (name: string) => configValue(config, name) as ConfigValue
  const list = (names: string[]) => names.map((n) => `${n}=${value(n)}`).join(' ')
  const from = `(from ${config.source})`
  const row = (id: string, title: string, status: Status, detail: string, remedy?: string[]): Check => ({
    id: `kernel-config.${id}`,
    area: 'kernel-config',
    title,
    status,
    detail: `${detail} ${from}`,
    ...(remedy && status !== 'pass' ? {remedy} : {}),
  })
  const install = (opt: string) => [
    `use a kernel with CONFIG_${opt}=y or =m: a distribution kernel has it (Debian: sudo apt-get install linux-image-${f.arch === 'arm64' ? 'arm64' : 'amd64'}), then reboot into it`,
  ]

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
      install(kvm === 'unset' ? 'KVM' : backends[0] ?? 'KVM'),
    ),
    row(
      'virtio',
      'virtio drivers',
      missingVirtio.length === 0 ? 'pass' : 'warn',
      list(VIRTIO_OPTIONS),
      missingVirtio.length ? install(missingVirtio.join(', CONFIG_')) : undefined,
    ),
    row('vhost-net', 'CONFIG_VHOST_NET', value('VHOST_NET') === 'unset' ? 'warn' : 'pass', `${list(['VHOST_NET'])}; without it guest networking runs in user space, slower`, install('VHOST_NET')),
    row('hugetlbfs', 'CONFIG_HUGETLBFS', value('HUGETLBFS') === 'unset' ? 'warn' : 'pass', list(['HUGETLBFS']), install('HUGETLBFS')),
  ]
}
