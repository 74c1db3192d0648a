// The hugepage plan as a pure function of (host facts, request): how many pages of which size,
// the hugetlbfs mount for the VM group, and what persists them. `kvmctl tune hugepages` turns it
// into file diffs and applies it; check's remedies call it too, so both name the same change.
// A fact the replayed capture did not hold stops the plan with "not in this capture: PATH".
import {isUnknown, type HostFacts, type HugepagePool} from '../host/facts.js'
import {GROUP_FILE, HUGEPAGES_DIR, MEMINFO, MOUNTS, NUMA_NODES, SYSCTL_DIRS} from '../host/paths.js'
import {UsageError} from '../lib/errors.js'
import type {FstabEntry} from '../lib/fstab.js'
import {checkMountPoint} from '../lib/mount-point.js'
import {printable} from '../lib/printable.js'
import {parseSize} from '../lib/size.js'
import {
  checkMemoryFits,
  defaultHeadroom,
  memoryFloor,
  pageSizeDir,
  pageSizeLabel,
  pagesPerVm,
  parseCount,
  parseHeadroom,
  parsePageSize,
  plannedPages,
} from './hugepage-math.js'
import {NotCapturedError} from './not-captured.js'
import {
  DEFAULT_GROUP,
  FSTAB,
  HUGETLBFS_MOUNT,
  hugetlbfsFstabEntry,
  hugetlbfsOptions,
  MOUNT_MODE,
  SYSCTL_FILE,
  SYSCTL_KEY,
} from './targets.js'

export interface HugepagesRequest {
  vmMem: string
  vms?: string
  pageSize?: string
  headroom?: string
  node?: string
  /** Unset: the default group `kvm`, created when the host has none (as distributions do). */
  group?: string
  /** Create an explicitly named --group that does not exist. */
  createGroup?: boolean
  mount?: string
  persist?: boolean
  allowPartial?: boolean
}

/** The command line that makes this request: what a remedy tells the user to run. */
export function hugepagesArgv(req: HugepagesRequest): string[] {
  const argv = ['kvmctl', 'tune', 'hugepages', '--vm-mem', req.vmMem]
  const add = (flag: string, value: string | undefined) => value !== undefined && argv.push(flag, value)
  if (req.vms !== undefined && req.vms !== '1') add('--vms', req.vms)
  add('--page-size', req.pageSize)
  add('--headroom', req.headroom)
  add('--node', req.node)
  add('--group', req.group)
  if (req.createGroup) argv.push('--create-group')
  if (req.mount !== undefined && req.mount !== HUGETLBFS_MOUNT) add('--mount', req.mount)
  if (req.persist === false) argv.push('--no-persist')
  if (req.allowPartial) argv.push('--allow-partial')
  return argv
}

export interface RuntimeChange {
  path: string
  pageSize: string
  /** null: the whole pool of that size; a number: that NUMA node only. */
  node: number | null
  before: number
  after: number
}

export interface HugepagesIntent {
  pageSize: string
  pageSizeBytes: number
  /** The default hugepage size, which vm.nr_hugepages sets. */
  defaultPageSizeBytes: number
  vmMemBytes: number
  vms: number
  headroomPct: number
  pagesPerVm: number
  pages: number
  node: number | null
  memTotalBytes: number
  floorBytes: number
  group: {name: string; gid: number | null; create: boolean}
  mount: {target: string; options: string[]; action: 'none' | 'mount' | 'set-attrs'; createDir: boolean}
  runtime: RuntimeChange[]
  /** Per-node counts of this page size now, for information. */
  nodes: Array<{node: number; count: number}>
  /** What persists the plan across reboots: the fstab line, and the sysctl for the default size. */
  persist: {fstab: FstabEntry | null; sysctl: {path: string; key: string; value: string} | null}
  /** The boot-time alternative, e.g. `hugepagesz=2M hugepages=550`. */
  kernelCmdline: string
  warnings: string[]
  /** The kvmctl command that applies this plan. */
  argv: string[]
  /** Runtime changes (pool, mount, group) applying would make; file changes come on top. */
  runtimeChanges: number
}

/** The sysfs file of a pool: the whole size, or one NUMA node's share. */
export function poolPath(sizeBytes: number, node: number | null): string {
  const dir = pageSizeDir(sizeBytes)
  return node === null ? `${HUGEPAGES_DIR}/${dir}/nr_hugepages` : `${NUMA_NODES}/node${node}/hugepages/${dir}/nr_hugepages`
}

/** The pool of this size, or undefined. */
export function poolOf(f: HostFacts, sizeBytes: number): HugepagePool | undefined {
  return f.hugepages.find((p) => p.sizeKb * 1024 === sizeBytes)
}

/** The default hugepage size in bytes: Hugepagesize in meminfo, else the smallest pool. */
export function defaultPageSize(f: HostFacts): number {
  return (f.meminfo.Hugepagesize ?? 0) * 1024 || (f.hugepages[0]?.sizeKb ?? 0) * 1024
}

/** Computes the plan from the facts; changes nothing. Throws UsageError on bad values or unknown facts. */
export function planHugepagesIntent(f: HostFacts, req: HugepagesRequest): HugepagesIntent {
  const notCaptured = new NotCapturedError.Collector(f.unreadable)
  if (isUnknown(f, 'hugepages')) notCaptured.addUnder(`${HUGEPAGES_DIR}/`)
  if (isUnknown(f, 'meminfo')) notCaptured.add(MEMINFO)
  notCaptured.throwIfAny()
  if (f.hugepages.length === 0) throw new UsageError(`this kernel offers no hugepages (${HUGEPAGES_DIR} is missing); build it with CONFIG_HUGETLBFS`)
  const sizes = f.hugepages.map((p) => p.sizeKb * 1024)
  const vmMemBytes = parseSize(req.vmMem, '--vm-mem')
  const vms = parseCount(req.vms ?? '1', '--vms', 1)
  const defaultSize = defaultPageSize(f)
  const pageSizeBytes = req.pageSize === undefined ? defaultSize : parsePageSize(req.pageSize, sizes)
  const headroomPct = req.headroom === undefined ? defaultHeadroom(pageSizeBytes) : parseHeadroom(req.headroom)
  const sizeKb = pageSizeBytes / 1024
  const nodes = f.nodePools.filter((p) => p.sizeKb === sizeKb).map((p) => ({node: p.node, count: p.total}))
  let node: number | null = null
  if (req.node !== undefined) {
    node = parseCount(req.node, '--node', 0)
    if (f.numaNodes === null) throw new NotCapturedError([`${NUMA_NODES}/`])
    if (!f.numaNodes.includes(node)) {
      throw new UsageError(`--node ${req.node} does not exist on this host; use one of: ${f.numaNodes.join(', ') || '(no NUMA nodes in sysfs)'}`)
    }
  }
  const pages = plannedPages({vmMemBytes, vms, pageSizeBytes, headroomPct})
  const label = pageSizeLabel(pageSizeBytes)
  const requestText = `--vm-mem ${req.vmMem}${vms > 1 ? ` × --vms ${vms}` : ''}`

  const path = poolPath(pageSizeBytes, node)
  const globalBefore = poolOf(f, pageSizeBytes)?.total ?? 0
  const before = node === null ? globalBefore : (nodes.find((n) => n.node === node)?.count ?? 0)
  const globalAfter = node === null ? pages : globalBefore - before + pages
  // Every other pool stays as it is and counts against the host's memory too.
  const otherPoolsBytes = f.hugepages.filter((p) => p.sizeKb !== sizeKb).reduce((sum, p) => sum + p.sizeKb * 1024 * p.total, 0)
  const memTotalBytes = (f.meminfo.MemTotal ?? 0) * 1024
  checkMemoryFits({poolBytesAfter: otherPoolsBytes + globalAfter * pageSizeBytes, memTotalBytes, requestText})

  // What the mount, the group and the persisted files need to be known.
  const target = checkMountPoint(req.mount ?? HUGETLBFS_MOUNT)
  const persist = req.persist !== false
  if (isUnknown(f, 'groups')) notCaptured.add(GROUP_FILE)
  if (isUnknown(f, 'mounts')) notCaptured.add(MOUNTS)
  if (isUnknown(f, `path:${target}`)) notCaptured.add(target)
  if (persist && isUnknown(f, 'fstab')) notCaptured.add(FSTAB)
  if (persist && pageSizeBytes === defaultSize && isUnknown(f, 'sysctl')) notCaptured.add(`${SYSCTL_DIRS[0]}/`)
  notCaptured.throwIfAny()

  const groupName = req.group ?? DEFAULT_GROUP
  const gid = f.groups?.find((g) => g.name === groupName)?.gid ?? null
  const warnings: string[] = []
  if (gid === null) {
    // A named group that is missing is likely a typo; the default one is simply not made yet.
    if (req.group !== undefined && !req.createGroup) {
      throw new UsageError(
        `group ${groupName} does not exist (no line in /etc/group); create it with \`groupadd --system ${groupName}\`, add --create-group to let kvmctl do it, or pick another with --group`,
      )
    }
    warnings.push(`group ${groupName} does not exist: kvmctl creates it (\`groupadd --system ${groupName}\`, undone by \`kvmctl tune undo\`); then let VM users in with \`usermod -aG ${groupName} USER\``)
  }

  const gidText = gid === null ? `<gid of ${groupName}>` : String(gid)
  const options = hugetlbfsOptions(gidText, pageSizeBytes !== defaultSize ? label : undefined)
  // The filesystem mounted last at the target is the visible one.
  const mounted = f.mounts.filter((m) => m.target === target).pop()
  const attrs = f.paths[target] ?? null
  let mountAction: HugepagesIntent['mount']['action'] = 'mount'
  if (mounted) {
    if (mounted.fstype !== 'hugetlbfs') {
      throw new UsageError(`--mount ${target} already has a ${printable(mounted.fstype, 20)} filesystem mounted; pick another directory with --mount`)
    }
    mountAction = attrs && attrs.mode === MOUNT_MODE && attrs.gid === gid ? 'none' : 'set-attrs'
    const mountedSize = /(?:^|,)pagesize=([^,]+)/.exec(mounted.options)?.[1]
    // The mount's pagesize comes from /proc/mounts, not from the user: one that does not parse is ignored.
    const mountedBytes = mountedSize === undefined ? undefined : tryParseSize(mountedSize)
    if (mountedSize && mountedBytes !== undefined && mountedBytes !== pageSizeBytes) {
      warnings.push(`${target} is mounted with pagesize=${printable(mountedSize, 20)}, not ${label}; VMs using it get ${printable(mountedSize, 20)} pages`)
    }
  }
  const createDir = !mounted && attrs === null

  const kernelCmdline = `hugepagesz=${label} hugepages=${node === null ? pages : `${node}:${pages}`}`
  let fstab: FstabEntry | null = null
  let sysctl: HugepagesIntent['persist']['sysctl'] = null
  if (persist) {
    fstab = hugetlbfsFstabEntry(target, options)
    if (pageSizeBytes === defaultSize) {
      sysctl = {path: SYSCTL_FILE, key: SYSCTL_KEY, value: String(globalAfter)}
      for (const later of laterSysctlSetters(f, SYSCTL_FILE, SYSCTL_KEY)) {
        warnings.push(`${later.path} sets ${SYSCTL_KEY} = ${later.value} and is applied after ${SYSCTL_FILE} at boot, so its value wins; remove that line`)
      }
      if (node !== null) warnings.push(`${SYSCTL_KEY} is host-wide: at boot the kernel spreads the pages over all nodes; for node ${node} only, boot with \`${kernelCmdline}\``)
    } else {
      warnings.push(nonDefaultSizeNotPersisted(label, pageSizeLabel(defaultSize), pages, pageSizeBytes, kernelCmdline))
    }
  }

  const runtime: RuntimeChange[] = [{path, pageSize: label, node, before, after: pages}]
  return {
    pageSize: label,
    pageSizeBytes,
    defaultPageSizeBytes: defaultSize,
    vmMemBytes,
    vms,
    headroomPct,
    pagesPerVm: pagesPerVm(vmMemBytes, pageSizeBytes),
    pages,
    node,
    memTotalBytes,
    floorBytes: memoryFloor(memTotalBytes),
    group: {name: groupName, gid, create: gid === null},
    mount: {target, options, action: mountAction, createDir},
    runtime,
    nodes,
    persist: {fstab, sysctl},
    kernelCmdline,
    warnings,
    argv: hugepagesArgv(req),
    runtimeChanges: runtime.filter((r) => r.before !== r.after).length + (mountAction === 'none' ? 0 : 1) + (gid === null ? 1 : 0),
  }
}

/**
 * vm.nr_hugepages sets only the default size's pool, so kvmctl cannot persist another size:
 * the exact step that does, for the user to take (persisting through /sys at boot is not done).
 */
export function nonDefaultSizeNotPersisted(label: string, defaultLabel: string, pages: number, sizeBytes: number, kernelCmdline: string): string {
  return (
    `${label} pages are not persisted: vm.nr_hugepages sets only the default size (${defaultLabel}); to keep ${pages} pages of ${label} after a reboot, ` +
    `add \`${kernelCmdline}\` to the kernel command line (or write ${pages} to ${poolPath(sizeBytes, null)} at every boot)`
  )
}

/** The sysctl files applied after `ours` at boot that set `key`, whose value then wins. */
export function laterSysctlSetters(f: HostFacts, ours: string, key: string): Array<{path: string; value: string}> {
  const name = ours.slice(ours.lastIndexOf('/') + 1)
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1)
  // f.sysctl is in boot order, /etc/sysctl.conf last: files named after ours in sysctl.d, and it.
  return f.sysctl
    .filter((file) => (SYSCTL_DIRS.some((d) => file.path.startsWith(`${d}/`)) ? base(file.path) > name : true))
    .filter((file) => file.path !== ours && file.settings[key] !== undefined)
    .map((file) => ({path: file.path, value: file.settings[key]}))
}

function tryParseSize(text: string): number | undefined {
  try {
    const n = parseSize(text, 'pagesize')
    return Number.isSafeInteger(n) ? n : undefined
  } catch {
    return undefined
  }
}
