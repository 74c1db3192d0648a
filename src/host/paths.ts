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
/** Groups: the kvm group, the /dev/kvm owner, the hugetlbfs mount's group. */
export const GROUP_FILE = '/etc/group'
/** Group passwords and members; read only to tell whether a group kvmctl made is in use (undo). */
export const GSHADOW_FILE = '/etc/gshadow'
/** User accounts: read for the user tune access names, never kept by a capture (user names). */
export const PASSWD_FILE = '/etc/passwd'
/** ksmtuned's program and configuration: either means ksmtuned is installed. */
export const KSMTUNED_PATHS = ['/usr/sbin/ksmtuned', '/etc/ksmtuned.conf'] as const
/** Fedora's ksm.service (starts KSM at boot), where systemd keeps package units. */
export const KSM_SERVICE_PATHS = ['/usr/lib/systemd/system/ksm.service', '/lib/systemd/system/ksm.service'] as const
/** The name of PID 1, the init system: systemd applies /etc/tmpfiles.d at boot. */
export const PID1_COMM = '/proc/1/comm'
export const FSTAB = '/etc/fstab'
/** sysctl.d directories in systemd-sysctl's priority order (an earlier one hides a later one's name). */
export const SYSCTL_DIRS = [
  '/etc/sysctl.d',
  '/run/sysctl.d',
  '/usr/local/lib/sysctl.d',
  '/usr/lib/sysctl.d',
  '/lib/sysctl.d',
] as const
/** procps' `sysctl --system` applies it after every sysctl.d file. */
export const SYSCTL_CONF = '/etc/sysctl.conf'
/** modprobe.d directories in modprobe's priority order. */
export const MODPROBE_DIRS = [
  '/etc/modprobe.d',
  '/run/modprobe.d',
  '/usr/local/lib/modprobe.d',
  '/usr/lib/modprobe.d',
  '/lib/modprobe.d',
] as const
export const NUMA_NODES = '/sys/devices/system/node'
/** Stands in a `captured` list for the processes with /dev/kvm open (their /proc/PID/fd links). */
export const KVM_PROCESSES = '/proc/*/fd'
/** Where distributions (and kvmctl by default) mount hugetlbfs. */
export const DEFAULT_HUGETLBFS_MOUNT = '/dev/hugepages'

export function nodeHugepagesDir(node: number): string {
  return `${NUMA_NODES}/node${node}/hugepages`
}

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

/** The modules that serve /dev/kvm on x86; each depends on kvm. */
export const VENDOR_MODULES = ['kvm_intel', 'kvm_amd', 'kvm_pvm'] as const

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

/**
 * What a capture without a `captured` list covers: it was written before kvmctl kept the
 * planners' facts (groups, fstab, sysctl.d, modprobe.d, NUMA pools, mount points, KVM users).
 */
export function CHECK_PATHS(release: string): string[] {
  return [
    CPUINFO,
    PROC_MODULES,
    `${SYS_MODULE}/`,
    MEMINFO,
    `${HUGEPAGES_DIR}/`,
    MOUNTS,
    THP_ENABLED,
    KSM_RUN,
    `${IOMMU_GROUPS}/`,
    CMDLINE,
    OS_RELEASE,
    KMSG,
    '/dev/kvm',
    '/dev/vhost-net',
    '/dev/net/tun',
    ...FIRMWARE_DIRS.map((d) => `${d}/`),
    ...kernelConfigPaths(release),
    modulesBuiltinPath(release),
  ]
}
