// The remedies kvmctl can apply, built from the constants and arithmetic `kvmctl tune` uses: the
// kvmctl command first, then the same change by hand. `kvmctl selftest` builds its remedies here
// too, so every command gives one piece of advice for one problem.
import {configValue, type HostFacts} from '../host/facts.js'
import {SYSCTL_CONF} from '../host/paths.js'
import {isPresent, MODULE_CONFIG, moduleState} from '../host/module-state.js'
import {formatFstabEntry} from '../lib/fstab.js'
import {manual, type Remedy} from '../lib/remedy.js'
import {formatBytes, parseSize} from '../lib/size.js'
import {
  DEFAULT_GROUP,
  DEFAULT_VM_MEM_MIB,
  FSTAB,
  HUGETLBFS_MOUNT,
  hugetlbfsFstabEntry,
  hugetlbfsOptions,
  modprobeFile,
  SYSCTL_FILE,
  SYSCTL_KEY,
} from './targets.js'
import {defaultHeadroom, MIB, pageSizeLabel, plannedPages} from './hugepage-math.js'
import {poolPath} from './hugepages.js'

/**
 * The gid of the kvm group: a number, null when the host has no such group, undefined when the
 * facts do not tell (a capture without /etc/group).
 */
export function kvmGroupGid(f: HostFacts): number | null | undefined {
  // /etc/group as the host layer parses it, where it was read (null: not captured).
  if (f.groups) return f.groups.find((g) => g.name === DEFAULT_GROUP)?.gid ?? null
  // Device nodes carry the group name the capturing host resolved.
  for (const node of Object.values(f.host.devices)) {
    if (node?.group === DEFAULT_GROUP && node.gid >= 0) return node.gid
  }
  return undefined
}

/** The default hugepage size in bytes: Hugepagesize, else the smallest pool, else 2 MiB. */
export function defaultPageBytes(f: HostFacts): number {
  const kb = f.meminfo.Hugepagesize ?? f.hugepages[0]?.sizeKb ?? 2048
  return kb * 1024
}

/** The shell steps that mount hugetlbfs as tune does (mode 01770, the kvm group's numeric gid). */
export function mountSteps(f: HostFacts, pageSize?: string): string[] {
  return mountStepsFor(kvmGroupGid(f), pageSize)
}

/** mountSteps for a kvm group gid: a number, null (no such group) or undefined (not known). */
function mountStepsFor(gid: number | null | undefined, pageSize?: string): string[] {
  if (gid === null) {
    // mount(8) cannot resolve gid=kvm without the group (exit 32): create it first, as tune does.
    return [
      `sudo groupadd --system ${DEFAULT_GROUP}`,
      `then run \`kvmctl check\` again: it prints the hugetlbfs mount line with the new group's gid`,
    ]
  }
  // Not known here: the user's shell looks the gid up (creating the group if need be) into $gid.
  const options = hugetlbfsOptions(gid ?? '$gid', pageSize)
  // The line tune's fstab editor writes, by its formatter.
  const fstab = formatFstabEntry(hugetlbfsFstabEntry(HUGETLBFS_MOUNT, options))
  return [
    ...(gid === undefined
      ? [
          `getent group ${DEFAULT_GROUP} || sudo groupadd --system ${DEFAULT_GROUP}`,
          `gid=$(getent group ${DEFAULT_GROUP} | cut -d: -f3)`,
        ]
      : []),
    `sudo mkdir -p ${HUGETLBFS_MOUNT} && sudo mount -t hugetlbfs -o "${options.join(',')}" hugetlbfs ${HUGETLBFS_MOUNT}`,
    `keep it across reboots: echo "${fstab}" | sudo tee -a ${FSTAB}`,
  ]
}

/**
 * Reserve hugepages for one VM of vmMemMiB (default 1 GiB) on the default page size, mount
 * hugetlbfs and persist both: `kvmctl tune hugepages --vm-mem N`, or the same by hand.
 */
export function hugepagesRemedy(f: HostFacts, vmMem = String(DEFAULT_VM_MEM_MIB)): Remedy {
  return hugepagesRemedyFor({pageBytes: defaultPageBytes(f), gid: kvmGroupGid(f)}, vmMem)
}

/**
 * hugepagesRemedy from the facts it needs: the page size (the default one unless isDefault is
 * false) and the kvm group's gid (a number, null when there is none, undefined when not known).
 * `kvmctl selftest` builds its remedy here too. vmMem is --vm-mem as the user would type it
 * ("1024" MiB, "8M", "2G").
 */
export function hugepagesRemedyFor(
  target: {pageBytes: number; gid: number | null | undefined; isDefault?: boolean},
  vmMem: string,
): Remedy {
  const vmMemBytes = parseSize(vmMem, '--vm-mem')
  const pageSizeBytes = target.pageBytes
  const pages = plannedPages({vmMemBytes, vms: 1, pageSizeBytes, headroomPct: defaultHeadroom(pageSizeBytes)})
  const label = target.isDefault === false ? pageSizeLabel(pageSizeBytes) : undefined
  // vm.nr_hugepages sets the default size only: another size persists on the kernel command line.
  const persist = label
    ? `keep it across reboots: add \`hugepagesz=${label} hugepages=${pages}\` to the kernel command line`
    : `keep it across reboots: echo "${SYSCTL_KEY} = ${pages}" | sudo tee ${SYSCTL_FILE}`
  return {
    kvmctl: ['tune', 'hugepages', '--vm-mem', vmMem, ...(label ? ['--page-size', label] : [])],
    steps: [
      `reserve ${formatBytes(vmMemBytes)} for a guest (with tune's headroom): ` +
        `echo ${pages} | sudo tee ${poolPath(pageSizeBytes, null)}`,
      persist,
      ...mountStepsFor(target.gid, label),
    ],
  }
}

/**
 * Mount hugetlbfs for a pool that is already reserved, keeping its size: tune with --headroom 0
 * and the pool's own size as --vm-mem plans exactly the pages it holds.
 */
export function mountRemedy(f: HostFacts, pool: {sizeKb: number; total: number}): Remedy {
  const pageBytes = pool.sizeKb * 1024
  const isDefault = pageBytes === defaultPageBytes(f)
  return {kvmctl: keepPoolArgv(f, pool), steps: mountSteps(f, isDefault ? undefined : pageSizeLabel(pageBytes))}
}

/** `tune hugepages` for exactly the pages a pool holds: its own size as --vm-mem, --headroom 0. */
function keepPoolArgv(f: HostFacts, pool: {sizeKb: number; total: number}): string[] {
  const pageBytes = pool.sizeKb * 1024
  const isDefault = pageBytes === defaultPageBytes(f)
  const size = `${(pool.total * pageBytes) / MIB}M`
  const pageSize = isDefault ? [] : ['--page-size', pageSizeLabel(pageBytes)]
  return ['tune', 'hugepages', '--vm-mem', size, '--headroom', '0', ...pageSize]
}

/**
 * Keep the default pool's pages across reboots. `tune hugepages` persists them in SYSCTL_FILE: it
 * fixes the drift unless a sysctl file applied after it (by name, or /etc/sysctl.conf) or a tuned
 * profile sets the pool at boot; then only the manual step names what to change.
 */
export function keepPoolRemedy(f: HostFacts, pool: {sizeKb: number; total: number}): Remedy {
  const step = `keep ${pool.total} pages: echo "${SYSCTL_KEY} = ${pool.total}" | sudo tee ${SYSCTL_FILE}`
  const winner = f.boot.nrHugepages?.file
  const name = (p: string) => p.slice(p.lastIndexOf('/') + 1)
  const tuneWins =
    winner === undefined || winner === SYSCTL_FILE || (winner !== SYSCTL_CONF && name(winner) <= name(SYSCTL_FILE))
  if (pool.total === 0 || !tuneWins || f.boot.tuned?.nrHugepages) return manual(step)
  return {kvmctl: keepPoolArgv(f, pool), steps: [step]}
}

/** Nested virtualization on in a vendor module: `kvmctl tune nested`, or its modprobe.d file by hand. */
export function nestedRemedy(f: HostFacts, module: 'kvm_intel' | 'kvm_amd'): Remedy {
  if (moduleState(f, module) === 'builtin') {
    const step = `${module} is built into the kernel: add ${module}.nested=1 to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then sudo update-grub) and reboot`
    // With a boot loader kvmctl can edit, `tune nested` writes the parameter itself.
    return f.boot.cmdline ? {kvmctl: ['tune', 'nested'], steps: [step]} : manual(step)
  }
  return {
    kvmctl: ['tune', 'nested'],
    steps: [
      `echo "options ${module} nested=1" | sudo tee ${modprobeFile(module)}`,
      `with every VM stopped: sudo modprobe -r ${module} && sudo modprobe ${module}`,
    ],
  }
}

/**
 * A kernel with the given options, without losing the KVM backend this host has: PVM (kvm_pvm)
 * is not in distribution kernels, so there the running kernel must be rebuilt instead.
 */
export function kernelChangeSteps(f: HostFacts, options: string[]): string[] {
  const wanted = options.map((o) => `CONFIG_${o}`).join(', ')
  const modular = configValue(f.kernelConfig, 'MODULES') !== 'unset'
  if (isPresent(moduleState(f, 'kvm_pvm'))) {
    return [
      `rebuild this kernel with ${wanted}=${modular ? 'm or =y' : 'y (it has no module support)'}, keeping CONFIG_KVM_PVM=y: a distribution kernel has no kvm_pvm, so booting one would remove KVM from this host`,
    ]
  }
  return [
    `use a kernel with ${wanted}=y or =m: a distribution kernel has it (Debian: sudo apt-get install linux-image-${f.arch === 'arm64' ? 'arm64' : 'amd64'}), then reboot into it`,
  ]
}

/** Load a module now and at every boot, or the kernel change it needs. */
export function loadModuleRemedy(f: HostFacts, name: string): Remedy {
  const option = MODULE_CONFIG[name] ?? name.toUpperCase()
  if (moduleState(f, name) === 'missing') return manual(...kernelChangeSteps(f, [option]))
  if (configValue(f.kernelConfig, 'MODULES') === 'unset') return manual(...kernelChangeSteps(f, [option]))
  return manual(
    `sudo modprobe ${name}`,
    `load it at every boot: echo ${name} | sudo tee /etc/modules-load.d/${name}.conf`,
  )
}

/**
 * Where VMs can run when this kernel is itself a PVM guest: PVM gives its guests no VT-x/AMD-V
 * and kvm_pvm cannot nest, so nothing inside this machine can serve KVM.
 */
/** A backend in the kernel that registered no /dev/kvm: the kernel log says why. */
export const KERNEL_LOG_REMEDY: Remedy = manual(`look at the kernel's reason: sudo dmesg | grep -iE "kvm|vmx|svm"`)

export const OUTER_HOST_REMEDY: Remedy = manual(
  'run the VMs on the outer host, the PVM host this machine runs on: PVM cannot nest, so a PVM guest cannot host PVM guests',
  'or run them on a host whose CPU exposes Intel VT-x or AMD-V to its kernel (bare metal, or a VM given nested virtualization), with kvm_intel or kvm_amd',
)

/** How much a pool holds, for details: "550 pages (1.1 GiB)". */
export function poolSize(pool: {sizeKb: number; total: number}): string {
  return `${pool.total} pages (${formatBytes(pool.total * pool.sizeKb * 1024)})`
}
