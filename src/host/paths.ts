// The host files `kvmctl check` reads, in one place: facts.ts reads them and capture.ts copies
// them, so a capture always holds exactly what a replay needs. The contract is in fixtures/README.md.

export const CPUINFO = '/proc/cpuinfo'
export const PROC_MODULES = '/proc/modules'
export const SYS_MODULE = '/sys/module'
export const MEMINFO = '/proc/meminfo'
export const HUGEPAGES_DIR = '/sys/kernel/mm/hugepages'
export const MOUNTS = '/proc/mounts'
export const THP_ENABLED = '/sys/kernel/mm/transparent_hugepage/enabled'
export const KSM_RUN = '/sys/kernel/mm/ksm/run'
export const IOMMU_GROUPS = '/sys/kernel/iommu_groups'
/** A guest's own virtio devices (each with a `device` id file) and the drivers bound to them. */
export const VIRTIO_DEVICES = '/sys/bus/virtio/devices'
export const VIRTIO_DRIVERS = '/sys/bus/virtio/drivers'
/** Present once a KVM backend registered the /dev/kvm misc device (a container sees the host's). */
export const KVM_MISC = '/sys/class/misc/kvm'
export const CMDLINE = '/proc/cmdline'
export const OS_RELEASE = '/etc/os-release'
/** The kernel log; in a capture's `captured` list it stands for host.json dmesg. */
export const KMSG = '/dev/kmsg'
/** Files container runtimes leave in the root folder: Docker, and Podman/Buildah. */
export const CONTAINER_MARKERS: ReadonlyArray<readonly [path: string, runtime: string]> = [
  ['/.dockerenv', 'docker'],
  ['/run/.containerenv', 'podman'],
]
/** Read live only, to name the groups owning device nodes (host.json keeps the names). */
export const GROUP_FILE = '/etc/group'

/** Where distributions put OVMF/AAVMF images and QEMU firmware descriptors. */
export const FIRMWARE_DIRS = ['/usr/share/OVMF', '/usr/share/edk2/ovmf', '/usr/share/qemu/firmware'] as const
/** Guest firmware images and descriptors in FIRMWARE_DIRS: looked up by name only. */
export const FIRMWARE_IMAGE = /\.(fd|json)$/i

/** Kernel config locations, in order of preference: the first one found wins. */
export function kernelConfigPaths(release: string): string[] {
  return ['/proc/config.gz', `/boot/config-${release}`, `/lib/modules/${release}/config`]
}

export function modulesBuiltinPath(release: string): string {
  return `/lib/modules/${release}/modules.builtin`
}

/** Module parameters: confidential guest support, and the hardware assists KVM uses. */
export const CONFIDENTIAL_PARAMS: ReadonlyArray<readonly [module: string, param: string]> = [
  ['kvm_amd', 'sev'],
  ['kvm_amd', 'sev_es'],
  ['kvm_amd', 'sev_snp'],
  ['kvm_amd', 'npt'],
  ['kvm_amd', 'avic'],
  ['kvm_intel', 'tdx'],
  ['kvm_intel', 'ept'],
  ['kvm_intel', 'unrestricted_guest'],
  ['kvm_intel', 'enable_shadow_vmcs'],
  ['kvm_intel', 'enable_apicv'],
]

/** The modules whose /sys/module entry and parameters the checks look at. */
export const WATCHED_MODULES = [
  'kvm',
  'kvm_intel',
  'kvm_amd',
  'kvm_pvm',
  'vhost_net',
  'tun',
  'virtio',
  'virtio_pci',
  'virtio_net',
  'virtio_blk',
  'virtio_scsi',
  'virtio_console',
  'virtio_balloon',
  'vfio_pci',
] as const

/** Module parameters the checks read: /sys/module/NAME/parameters/PARAM. */
export const WATCHED_PARAMS: ReadonlyArray<readonly [module: string, param: string]> = [
  ['kvm_intel', 'nested'],
  ['kvm_amd', 'nested'],
  ...CONFIDENTIAL_PARAMS,
]

export function moduleParamPath(module: string, param: string): string {
  return `${SYS_MODULE}/${module}/parameters/${param}`
}

// Confidential guests and device passthrough (src/host/confidential.ts, src/host/iommu.ts).
/** The misc cgroup controller's capacity: SEV and SEV-ES ASIDs ("sev 410", "sev_es 99"). */
export const MISC_CAPACITY = '/sys/fs/cgroup/misc.capacity'
/** CPU 0's model-specific registers (the msr driver); in a capture's `captured` list it stands for host.json msr. */
export const MSR_DEVICE = '/dev/cpu/0/msr'
/** ACPI tables: DMAR (Intel VT-d) and IVRS (AMD-Vi) announce an IOMMU. */
export const ACPI_TABLES = '/sys/firmware/acpi/tables'
export const IOMMU_ACPI_TABLES = ['DMAR', 'IVRS'] as const
/** IOMMU units the kernel registered (dmar0, ivhd0, ...). */
export const CLASS_IOMMU = '/sys/class/iommu'
/** PCI devices: each one's uevent names its driver, class and vendor:device id. */
export const PCI_DEVICES = '/sys/bus/pci/devices'
/** PCI drivers; in a `captured` list, PCI_DRIVERS/NAME/ADDRESS says the capture knows ADDRESS's driver. */
export const PCI_DRIVERS = '/sys/bus/pci/drivers'
/** Resource limits of the process: RLIMIT_MEMLOCK bounds what VFIO may pin. */
export const PROC_LIMITS = '/proc/self/limits'

export const HUGEPAGE_COUNTERS = ['nr_hugepages', 'free_hugepages', 'resv_hugepages', 'surplus_hugepages'] as const
