// The hugepage plan as a pure function of (host facts, request): how many pages of which size,
// the hugetlbfs mount for the VM group, and what persists them. `kvmctl tune hugepages` turns it
// into file diffs and applies it; check's remedies call it too, so both name the same change.
// A fact the replayed capture did not hold stops the plan with "not in this capture: PATH".
import {cmdlineDefaultPages, type ParamEdit} from '../host/cmdline.js'
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
  HUGEPAGES_TMPFILES,
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
  /** NUMA node(s): the pool of --vms VMs on each node given (`--node 0 --node 1`). */
  node?: string | string[]
  /** An uneven split: NODE:VMS pairs (`--nodes 0:4,1:2`: 4 VMs on node 0, 2 on node 1). */
  nodes?: string
  /** Unset: the default group `kvm`, created when the host has none (as distributions do). */
  group?: string
  /** Create an explicitly named --group that does not exist. */
  createGroup?: boolean
  mount?: string
  persist?: boolean
  /** Reserve the pool now too; default: yes for the default page size, no for others (1 GiB: at boot). */
  runtime?: boolean
  allowPartial?: boolean
}

/** The command line that makes this request: what a remedy tells the user to run. */
export function hugepagesArgv(req: HugepagesRequest): string[] {
  const argv = ['kvmctl', 'tune', 'hugepages', '--vm-mem', req.vmMem]
  const add = (flag: string, value: string | undefined) => value !== undefined && argv.push(flag, value)
  if (req.vms !== undefined && req.vms !== '1') add('--vms', req.vms)
  add('--page-size', req.pageSize)
  add('--headroom', req.headroom)
  for (const n of typeof req.node === 'string' ? [req.node] : (req.node ?? [])) add('--node', n)
  add('--nodes', req.nodes)
  add('--group', req.group)
  if (req.createGroup) argv.push('--create-group')
  if (req.mount !== undefined && req.mount !== HUGETLBFS_MOUNT) add('--mount', req.mount)
  if (req.persist === false) argv.push('--no-persist')
  if (req.runtime !== undefined) argv.push(req.runtime ? '--runtime' : '--no-runtime')
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

export interface NodeShare {
  node: number
  vms: number
  pages: number
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
  /** The one node asked for (--node N), else null. */
  node: number | null
  /** Per-node pools asked for (--node, --nodes): VMs and pages on each node; null: the whole pool. */
  split: NodeShare[] | null
  memTotalBytes: number
  floorBytes: number
  group: {name: string; gid: number | null; create: boolean}
  mount: {target: string; options: string[]; action: 'none' | 'mount' | 'set-attrs'; createDir: boolean}
  runtime: RuntimeChange[]
  /** Per-node counts of this page size now, for information. */
  nodes: Array<{node: number; count: number}>
  /**
   * What persists the plan across reboots: the fstab line, the sysctl for the default size, and
   * for another size (or a per-node split) the kernel command line edits (`hugepagesz=SIZE hugepages=N`).
   */
  persist: {
    fstab: FstabEntry | null
    sysctl: {path: string; key: string; value: string} | null
    cmdline: ParamEdit[] | null
    /** Before Linux 5.16 a per-node split persists as systemd-tmpfiles `w` lines, one per node's pool. */
    tmpfiles: {path: string; writes: Array<{path: string; value: string}>} | null
  }
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
  return node === null
    ? `${HUGEPAGES_DIR}/${dir}/nr_hugepages`
    : `${NUMA_NODES}/node${node}/hugepages/${dir}/nr_hugepages`
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
  if (f.hugepages.length === 0)
    throw new UsageError(
      `this kernel offers no hugepages (${HUGEPAGES_DIR} is missing); build it with CONFIG_HUGETLBFS`,
    )
  const sizes = f.hugepages.map((p) => p.sizeKb * 1024)
  const vmMemBytes = parseSize(req.vmMem, '--vm-mem')
  const vms = parseCount(req.vms ?? '1', '--vms', 1)
  const defaultSize = defaultPageSize(f)
  const pageSizeBytes = req.pageSize === undefined ? defaultSize : parsePageSize(req.pageSize, sizes)
  const headroomPct = req.headroom === undefined ? defaultHeadroom(pageSizeBytes) : parseHeadroom(req.headroom)
  const sizeKb = pageSizeBytes / 1024
  const nodes = f.nodePools.filter((p) => p.sizeKb === sizeKb).map((p) => ({node: p.node, count: p.total}))
  const shares = nodeShares(f, req, vms)
  const split =
    shares?.map((sh) => ({...sh, pages: plannedPages({vmMemBytes, vms: sh.vms, pageSizeBytes, headroomPct})})) ?? null
  const node = split?.length === 1 ? split[0].node : null
  const pages = split
    ? split.reduce((sum, sh) => sum + sh.pages, 0)
    : plannedPages({vmMemBytes, vms, pageSizeBytes, headroomPct})
  const label = pageSizeLabel(pageSizeBytes)
  const requestText = `--vm-mem ${req.vmMem}${vms > 1 ? ` × --vms ${vms}` : ''}`

  const globalBefore = poolOf(f, pageSizeBytes)?.total ?? 0
  const nodeBefore = (n: number) => nodes.find((x) => x.node === n)?.count ?? 0
  const before = split ? split.reduce((sum, sh) => sum + nodeBefore(sh.node), 0) : globalBefore
  const globalAfter = split ? globalBefore - before + pages : pages
  // Every other pool stays as it is and counts against the host's memory too.
  const otherPoolsBytes = f.hugepages
    .filter((p) => p.sizeKb !== sizeKb)
    .reduce((sum, p) => sum + p.sizeKb * 1024 * p.total, 0)
  const memTotalBytes = (f.meminfo.MemTotal ?? 0) * 1024
  checkMemoryFits({poolBytesAfter: otherPoolsBytes + globalAfter * pageSizeBytes, memTotalBytes, requestText})

  // What the mount, the group and the persisted files need to be known.
  // Every page size gets its own hugetlbfs mount; the default size keeps the usual /dev/hugepages.
  const target = checkMountPoint(req.mount ?? sizeMount(pageSizeBytes, defaultSize))
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
    warnings.push(
      `group ${groupName} does not exist: kvmctl creates it (\`groupadd --system ${groupName}\`, undone by \`kvmctl tune undo\`); then let VM users in with \`usermod -aG ${groupName} USER\``,
    )
  }

  const gidText = gid === null ? `<gid of ${groupName}>` : String(gid)
  const options = hugetlbfsOptions(gidText, pageSizeBytes !== defaultSize ? label : undefined)
  // The filesystem mounted last at the target is the visible one.
  const mounted = f.mounts.filter((m) => m.target === target).pop()
  const attrs = f.paths[target] ?? null
  let mountAction: HugepagesIntent['mount']['action'] = 'mount'
  if (mounted) {
    if (mounted.fstype !== 'hugetlbfs') {
      throw new UsageError(
        `--mount ${target} already has a ${printable(mounted.fstype, 20)} filesystem mounted; pick another directory with --mount`,
      )
    }
    mountAction = attrs && attrs.mode === MOUNT_MODE && attrs.gid === gid ? 'none' : 'set-attrs'
    const mountedSize = /(?:^|,)pagesize=([^,]+)/.exec(mounted.options)?.[1]
    // The mount's pagesize comes from /proc/mounts, not from the user: one that does not parse is ignored.
    const mountedBytes = mountedSize === undefined ? undefined : tryParseSize(mountedSize)
    if (mountedSize && mountedBytes !== undefined && mountedBytes !== pageSizeBytes) {
      warnings.push(
        `${target} is mounted with pagesize=${printable(mountedSize, 20)}, not ${label}; VMs using it get ${printable(mountedSize, 20)} pages`,
      )
    }
  }
  const createDir = !mounted && attrs === null

  const bootValue = split ? split.map((sh) => `${sh.node}:${sh.pages}`).join(',') : String(pages)
  const kernelCmdline = `hugepagesz=${label} hugepages=${bootValue}`
  let fstab: FstabEntry | null = null
  let sysctl: HugepagesIntent['persist']['sysctl'] = null
  let cmdline: ParamEdit[] | null = null
  let tmpfiles: HugepagesIntent['persist']['tmpfiles'] = null
  if (persist) {
    fstab = hugetlbfsFstabEntry(target, options)
    // Per-node counts at boot need `hugepages=N:COUNT` (Linux 5.16+); sysctl only sets a total.
    const perNode = split !== null && kernelAtLeast(f.host.uname.release, 5, 16)
    if (split && !perNode) {
      // The kernel command line has no per-node form before 5.16: systemd-tmpfiles writes each
      // node's pool early at every boot instead.
      const writes = split.map((sh) => ({path: poolPath(pageSizeBytes, sh.node), value: String(sh.pages)}))
      tmpfiles = {path: HUGEPAGES_TMPFILES, writes}
      warnings.push(
        `kernel ${printable(f.host.uname.release ?? 'unknown', 40)} predates 5.16, which reads \`hugepages=NODE:COUNT\`: ` +
          `each node's pool is written at boot by systemd-tmpfiles (${HUGEPAGES_TMPFILES})`,
      )
    }
    if (pageSizeBytes === defaultSize) {
      sysctl = {path: SYSCTL_FILE, key: SYSCTL_KEY, value: String(globalAfter)}
      for (const later of laterSysctlSetters(f, SYSCTL_FILE, SYSCTL_KEY)) {
        warnings.push(
          `${later.path} sets ${SYSCTL_KEY} = ${later.value} and is applied after ${SYSCTL_FILE} at boot, so its value wins; remove that line`,
        )
      }
      if (perNode) cmdline = hugepageEdits(label, bootValue, false)
    } else if (!split || perNode) {
      // sysctl persists only the default size: another size goes on the kernel command line, where
      // the kernel reserves it before memory fragments. With no default-size pool in use or
      // persisted, this size becomes the default too (default_hugepagesz).
      const defaultKb = defaultSize / 1024
      const makeDefault =
        (poolOf(f, defaultSize)?.total ?? 0) === 0 &&
        !f.sysctl.some((file) => file.settings[SYSCTL_KEY] !== undefined && file.settings[SYSCTL_KEY] !== '0') &&
        !(f.boot.cmdline && cmdlineDefaultPages(f.boot.cmdline.text, defaultKb))
      cmdline = hugepageEdits(label, bootValue, makeDefault)
    }
  }

  const runtimeWanted = req.runtime ?? pageSizeBytes === defaultSize
  const runtime: RuntimeChange[] = !runtimeWanted
    ? []
    : split
      ? split.map((sh) => ({
          path: poolPath(pageSizeBytes, sh.node),
          pageSize: label,
          node: sh.node,
          before: nodeBefore(sh.node),
          after: sh.pages,
        }))
      : [{path: poolPath(pageSizeBytes, null), pageSize: label, node: null, before, after: pages}]
  if (!runtimeWanted)
    warnings.push(
      `no ${label} pages are reserved now (${before} in ${poolPath(pageSizeBytes, null)}); add --runtime to try, or reboot after persisting`,
    )
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
    split,
    memTotalBytes,
    floorBytes: memoryFloor(memTotalBytes),
    group: {name: groupName, gid, create: gid === null},
    mount: {target, options, action: mountAction, createDir},
    runtime,
    nodes,
    persist: {fstab, sysctl, cmdline, tmpfiles},
    kernelCmdline,
    warnings,
    argv: hugepagesArgv(req),
    runtimeChanges:
      runtime.filter((r) => r.before !== r.after).length + (mountAction === 'none' ? 0 : 1) + (gid === null ? 1 : 0),
  }
}

/** The default hugetlbfs mount of a page size: /dev/hugepages for the default, /dev/hugepagesSIZE else. */
export function sizeMount(sizeBytes: number, defaultSize: number): string {
  return sizeBytes === defaultSize ? HUGETLBFS_MOUNT : `${HUGETLBFS_MOUNT}${pageSizeLabel(sizeBytes)}`
}

/** The command line edits that reserve `value` (a count, or per node `0:N,1:M`, Linux 5.16+) pages of `label` at boot. */
export function hugepageEdits(label: string, value: string, makeDefault: boolean): ParamEdit[] {
  const edits: ParamEdit[] = makeDefault ? [{op: 'set', key: 'default_hugepagesz', value: label}] : []
  return [...edits, {op: 'set', key: 'hugepages', size: label, value}]
}

/** Whether a kernel release (`6.1.0-28-amd64`) is at least major.minor; false when it cannot be told. */
export function kernelAtLeast(release: string | null | undefined, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release ?? '')
  return m !== null && (Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor))
}

/**
 * The NUMA nodes asked for and the VMs on each: `--node N` (repeatable: --vms VMs on each) or
 * `--nodes 0:4,1:2`; null when neither was given. Throws a one-line UsageError on a bad value.
 */
export function nodeShares(
  f: HostFacts,
  req: HugepagesRequest,
  vms: number,
): Array<{node: number; vms: number}> | null {
  const list = typeof req.node === 'string' ? [req.node] : (req.node ?? [])
  if (list.length === 0 && req.nodes === undefined) return null
  if (list.length > 0 && req.nodes !== undefined)
    throw new UsageError('give --node (repeatable) or --nodes NODE:VMS,..., not both; e.g. --nodes 0:4,1:2')
  let shares: Array<{node: number; vms: number}>
  if (req.nodes !== undefined) {
    if (!/^\d{1,4}:\d{1,6}(,\d{1,4}:\d{1,6})*$/.test(req.nodes.trim())) {
      throw new UsageError(
        `--nodes ${JSON.stringify(printable(req.nodes, 40))} is not a split; give NODE:VMS pairs, e.g. --nodes 0:4,1:2 (4 VMs on node 0, 2 on node 1)`,
      )
    }
    if (vms !== 1) throw new UsageError('--nodes gives the VMs per node; leave out --vms, e.g. --nodes 0:4,1:2')
    shares = req.nodes
      .trim()
      .split(',')
      .map((pair) => ({node: Number(pair.split(':')[0]), vms: Number(pair.split(':')[1])}))
    const empty = shares.find((sh) => sh.vms === 0)
    if (empty) {
      throw new UsageError(
        `--nodes: node ${empty.node} is given 0 VMs; leave it out or give it at least 1, e.g. --nodes 0:4,1:2`,
      )
    }
  } else {
    shares = list.map((n) => ({node: parseCount(n, '--node', 0), vms}))
  }
  const seen = new Set<number>()
  for (const {node} of shares) {
    if (seen.has(node))
      throw new UsageError(
        `${req.nodes !== undefined ? '--nodes' : '--node'}: node ${node} is given twice; name each node once, e.g. --nodes 0:4,1:2`,
      )
    seen.add(node)
  }
  if (f.numaNodes === null) throw new NotCapturedError([`${NUMA_NODES}/`])
  for (const [i, {node}] of shares.entries()) {
    if (!f.numaNodes.includes(node)) {
      // The value as given: a huge --node reads back rounded as a number.
      const named = req.nodes !== undefined ? `--nodes: node ${node}` : `--node ${printable(list[i].trim(), 40)}`
      throw new UsageError(
        `${named} does not exist on this host; use one of: ${f.numaNodes.join(', ') || '(no NUMA nodes in sysfs)'}`,
      )
    }
  }
  return shares
}

/**
 * vm.nr_hugepages sets only the default size's pool, so kvmctl cannot persist another size:
 * the exact step that does, for the user to take (persisting through /sys at boot is not done).
 */
export function nonDefaultSizeNotPersisted(
  label: string,
  defaultLabel: string,
  pages: number,
  sizeBytes: number,
  kernelCmdline: string,
): string {
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
