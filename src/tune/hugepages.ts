// `kvmctl tune hugepages`: plan a hugepage pool for N VMs of a given size, then apply it with
// readback, compaction retries and rollback on a shortfall, mount hugetlbfs for the VM group,
// and persist the result in sysctl.d and fstab. The plan is computed without changing anything.
import {chmod, chown} from 'node:fs/promises'

import {UsageError} from '../lib/errors.js'
import {printable} from '../lib/printable.js'
import {parseSize} from '../lib/size.js'
import {requireRoot, type TuneContext} from './context.js'
import {checkMountPoint} from '../lib/mount-point.js'
import {editFstab, editSysctl, type FstabEntry} from './editors.js'
import {type FileChange, planFile} from './file-plan.js'
import {errorLine, fsPath, snapshotFile} from './files.js'
import {refuseInterrupted, Transaction} from './journal.js'
import {groupGid, rollback} from './revert.js'
import {
  checkMemoryFits,
  defaultHeadroom,
  memoryFloor,
  pageSizeLabel,
  pagesPerVm,
  parseCount,
  parseHeadroom,
  parsePageSize,
  plannedPages,
} from '../plan/hugepage-math.js'
import {nodeCounts, parseMeminfo, poolPath, readInventory} from './pool.js'
import {laterSysctlSetters, mountAt, statAttrs} from './system-files.js'
import {commandLine, runTool} from './tools.js'

export type {FileChange} from './file-plan.js'

export const SYSCTL_FILE = '/etc/sysctl.d/40-hugepage.conf'
export const FSTAB = '/etc/fstab'
export const MOUNT_MODE = 0o1770
export const DEFAULT_GROUP = 'kvm'
/** How many compaction rounds a shortfall gets at most (each must make progress). */
const MAX_COMPACTIONS = 5

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

export interface RuntimeChange {
  path: string
  pageSize: string
  /** null: the whole pool of that size; a number: that NUMA node only. */
  node: number | null
  before: number
  after: number
}

export interface HugepagesPlan {
  pageSize: string
  pageSizeBytes: number
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
  files: FileChange[]
  /** The boot-time alternative, e.g. `hugepagesz=2M hugepages=550`. */
  kernelCmdline: string
  warnings: string[]
  /** Number of changes applying would make; 0 means the host is already tuned. */
  changes: number
}

/** Computes the plan; reads the host, changes nothing. Throws UsageError on bad values. */
export async function planHugepages(ctx: TuneContext, req: HugepagesRequest): Promise<HugepagesPlan> {
  const {host} = ctx
  const inv = await readInventory(host)
  if (inv.sizes.length === 0) throw new UsageError('this kernel offers no hugepages (/sys/kernel/mm/hugepages is missing); build it with CONFIG_HUGETLBFS')
  const vmMemBytes = parseSize(req.vmMem, '--vm-mem')
  const vms = parseCount(req.vms ?? '1', '--vms', 1)
  const defaultSize = inv.meminfo.defaultPageSizeBytes || inv.sizes[0]
  const pageSizeBytes = req.pageSize === undefined ? defaultSize : parsePageSize(req.pageSize, inv.sizes)
  const headroomPct = req.headroom === undefined ? defaultHeadroom(pageSizeBytes) : parseHeadroom(req.headroom)
  let node: number | null = null
  if (req.node !== undefined) {
    node = parseCount(req.node, '--node', 0)
    if (!inv.nodes.includes(node)) {
      throw new UsageError(`--node ${req.node} does not exist on this host; use one of: ${inv.nodes.join(', ') || '(no NUMA nodes in sysfs)'}`)
    }
  }
  const pages = plannedPages({vmMemBytes, vms, pageSizeBytes, headroomPct})
  const label = pageSizeLabel(pageSizeBytes)
  const requestText = `--vm-mem ${req.vmMem}${vms > 1 ? ` × --vms ${vms}` : ''}`

  const path = poolPath(pageSizeBytes, node)
  const nodes = await nodeCounts(host, pageSizeBytes, inv.nodes)
  const globalBefore = inv.counts.get(pageSizeBytes) ?? 0
  const before = node === null ? globalBefore : (nodes.find((n) => n.node === node)?.count ?? 0)
  const globalAfter = node === null ? pages : globalBefore - before + pages
  // Every other pool stays as it is and counts against the host's memory too.
  let otherPoolsBytes = 0
  for (const [size, count] of inv.counts) if (size !== pageSizeBytes) otherPoolsBytes += size * count
  checkMemoryFits({poolBytesAfter: otherPoolsBytes + globalAfter * pageSizeBytes, memTotalBytes: inv.meminfo.memTotalBytes, requestText})

  const groupName = req.group ?? DEFAULT_GROUP
  const gid = (await groupGid(host, groupName)) ?? null
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

  const target = checkMountPoint(req.mount ?? '/dev/hugepages')
  const gidText = gid === null ? `<gid of ${groupName}>` : String(gid)
  const options = [`mode=0${MOUNT_MODE.toString(8)}`, `gid=${gidText}`]
  if (pageSizeBytes !== defaultSize) options.push(`pagesize=${label}`)
  const mounted = await mountAt(host, target)
  let mountAction: HugepagesPlan['mount']['action'] = 'mount'
  if (mounted) {
    if (mounted.vfstype !== 'hugetlbfs') {
      throw new UsageError(`--mount ${target} already has a ${printable(mounted.vfstype, 20)} filesystem mounted; pick another directory with --mount`)
    }
    const attrs = await statAttrs(host, target)
    mountAction = attrs && attrs.mode === MOUNT_MODE && attrs.gid === gid ? 'none' : 'set-attrs'
    const mountedSize = mounted.options.find((o) => o.startsWith('pagesize='))?.slice('pagesize='.length)
    // The mount's pagesize comes from /proc/mounts, not from the user: one that does not parse is ignored.
    const mountedBytes = mountedSize === undefined ? undefined : tryParse(() => parseSize(mountedSize, 'pagesize'))
    if (mountedSize && mountedBytes !== undefined && mountedBytes !== pageSizeBytes) {
      warnings.push(`${target} is mounted with pagesize=${printable(mountedSize, 20)}, not ${label}; VMs using it get ${printable(mountedSize, 20)} pages`)
    }
  }
  const createDir = !mounted && !(await host.exists(target))

  const kernelCmdline = `hugepagesz=${label} hugepages=${node === null ? pages : `${node}:${pages}`}`
  const files: FileChange[] = []
  if (req.persist !== false) {
    // fstab first: a failure writing sysctl.d then also exercises restoring a written file.
    const entry: FstabEntry = {spec: 'hugetlbfs', file: target, vfstype: 'hugetlbfs', options: [...options, 'nofail'], freq: 0, passno: 0}
    files.push(await planFile(ctx, FSTAB, (old) => editFstab(old, entry)))
    if (pageSizeBytes === defaultSize) {
      files.push(await planFile(ctx, SYSCTL_FILE, (old) => editSysctl(old, 'vm.nr_hugepages', String(globalAfter))))
      for (const later of await laterSysctlSetters(host, '40-hugepage.conf', 'vm.nr_hugepages')) {
        warnings.push(`${later.path} sets vm.nr_hugepages = ${later.value} and is applied after ${SYSCTL_FILE} at boot, so its value wins; remove that line`)
      }
      if (node !== null) warnings.push(`vm.nr_hugepages is host-wide: at boot the kernel spreads the pages over all nodes; for node ${node} only, boot with \`${kernelCmdline}\``)
    } else {
      warnings.push(`sysctl can only persist the default page size (${pageSizeLabel(defaultSize)}); to keep ${label} pages after a reboot, add \`${kernelCmdline}\` to the kernel command line`)
    }
  }

  const runtime: RuntimeChange[] = [{path, pageSize: label, node, before, after: pages}]
  const changes =
    runtime.filter((r) => r.before !== r.after).length +
    (mountAction === 'none' ? 0 : 1) +
    files.filter((f) => f.action !== 'none').length +
    (gid === null ? 1 : 0)
  return {
    pageSize: label,
    pageSizeBytes,
    vmMemBytes,
    vms,
    headroomPct,
    pagesPerVm: pagesPerVm(vmMemBytes, pageSizeBytes),
    pages,
    node,
    memTotalBytes: inv.meminfo.memTotalBytes,
    floorBytes: memoryFloor(inv.meminfo.memTotalBytes),
    group: {name: groupName, gid, create: gid === null},
    mount: {target, options, action: mountAction, createDir},
    runtime,
    nodes,
    files,
    kernelCmdline,
    warnings,
    changes,
  }
}

export interface PoolOutcome {
  path: string
  node: number | null
  asked: number
  got: number
  compactions: number
  /** Per-node counts after the write, to show where the pages came from. */
  nodes: Array<{node: number; count: number}>
}

export interface HugepagesResult {
  status: 'applied' | 'unchanged' | 'partial' | 'rolled-back' | 'failed'
  pool: PoolOutcome | null
  /** HugePages_Total from /proc/meminfo after the run (default page size only). */
  hugePagesTotal: number
  mount: {target: string; mounted: boolean; mode: string | null; gid: number | null} | null
  files: Array<{path: string; written: boolean; verified: boolean}>
  journalId: string | null
  messages: string[]
  /** Problems met while rolling back, if any: the host may need a hand. */
  rollbackProblems: string[]
}

/**
 * Applies a plan under the write-ahead journal. On a shortfall or a failed verification (without
 * allowPartial) or any failed step, everything done so far is rolled back and the result says why.
 */
export async function applyHugepages(ctx: TuneContext, req: HugepagesRequest, planned: HugepagesPlan): Promise<{plan: HugepagesPlan; result: HugepagesResult}> {
  requireRoot(ctx, 'kvmctl tune hugepages')
  await refuseInterrupted(ctx)
  const result: HugepagesResult = {status: 'applied', pool: null, hugePagesTotal: 0, mount: null, files: [], journalId: null, messages: [], rollbackProblems: []}
  if (planned.changes === 0) {
    result.status = 'unchanged'
    result.messages.push(`nothing to change: ${planned.pages} pages of ${planned.pageSize} are reserved, ${planned.mount.target} is mounted and the files are up to date`)
    const problems = await verify(ctx, planned, result)
    if (problems.length > 0) result.status = 'failed'
    return {plan: planned, result}
  }

  const tx = await Transaction.begin(ctx, `tune hugepages --vm-mem ${req.vmMem}`)
  result.journalId = tx.run.id
  let plan = planned
  const fail = async (status: 'rolled-back' | 'failed', message: string) => {
    result.status = status
    result.messages.push(message)
    const report = await rollback(tx)
    result.rollbackProblems = report.problems
    result.messages.push(...report.kept)
    if (report.problems.length === 0) result.journalId = null
    result.messages.push(
      report.problems.length > 0
        ? 'rollback was incomplete; see rollbackProblems, then `kvmctl tune undo` finishes it'
        : report.kept.length > 0
          ? 'rolled back, except what is kept above'
          : 'rolled back: the host is as it was before this run',
    )
    return {plan, result}
  }

  try {
    if (plan.group.create) {
      // Under the lock, look again: a group made since the plan is used, never created (nor deleted).
      const gid = await groupGid(ctx.host, plan.group.name)
      if (gid === undefined) {
        const args = [...(ctx.host.root ? ['--prefix', ctx.host.root] : []), '--system', plan.group.name]
        const made = await tx.change(
          {kind: 'group', name: plan.group.name},
          async () => ({run: await runTool(ctx.host, 'groupadd', args), gid: await groupGid(ctx.host, plan.group.name)}),
          // A failed groupadd made nothing (even when the group turned out to exist): never undo it.
          (r) => (r.run.exitCode === 0 && r.gid !== undefined ? {gid: r.gid} : {state: 'reverted', note: 'groupadd failed: nothing was created'}),
        )
        if (made.run.exitCode !== 0) return await fail('failed', `${made.run.command} failed (exit ${made.run.exitCode}): ${made.run.output}`)
        result.messages.push(`created group ${plan.group.name} (gid ${made.gid})`)
      }
      // The gid is known now: plan again so the mount options and fstab line carry it.
      plan = await planHugepages(ctx, {...req, createGroup: false})
    }

    const change = plan.runtime[0]
    const pool = await tx.change({kind: 'pool', path: change.path, before: change.before, after: change.after}, () => fillPool(ctx, change))
    result.pool = pool
    if (pool.got < pool.asked) {
      const short = shortfallMessage(plan, pool)
      if (!req.allowPartial) return await fail('rolled-back', short)
      result.status = 'partial'
      result.messages.push(`${short} (kept, as --allow-partial asked)`)
      // Persist what the kernel really holds, not what was asked.
      const globalNow = await ctx.pool.read(poolPath(plan.pageSizeBytes, null))
      plan = {...plan, files: await replanSysctl(ctx, plan, globalNow)}
    } else if (change.before !== change.after) {
      result.messages.push(`${change.path}: ${change.before} -> ${pool.got} pages of ${plan.pageSize}${pool.compactions ? ` (after ${pool.compactions} compaction round(s))` : ''}`)
    }

    await applyMount(ctx, tx, plan, result)
    for (const file of plan.files) {
      if (file.action === 'none') continue
      await tx.writeFile(file.path, file.content!, file.meta!)
      result.messages.push(`${file.action === 'create' ? 'created' : 'updated'} ${file.path}`)
    }
  } catch (error) {
    return await fail('failed', errorLine(error))
  }
  // A verification that fails is a failure like any other: roll back, unless asked to keep it.
  const problems = await verify(ctx, plan, result)
  if (problems.length > 0 && !req.allowPartial) return await fail('rolled-back', `verification failed: ${problems.join('; ')}`)
  if (problems.length > 0) result.messages.push('kept as --allow-partial asked; `kvmctl tune undo` reverts it')
  await tx.finish()
  return {plan, result}
}

/** Writes the pool, reads it back, and compacts memory while that keeps adding pages. */
async function fillPool(ctx: TuneContext, change: RuntimeChange): Promise<PoolOutcome> {
  await ctx.pool.write(change.path, change.after)
  let got = await ctx.pool.read(change.path)
  let compactions = 0
  while (got < change.after && compactions < MAX_COMPACTIONS) {
    compactions++
    await ctx.pool.compact()
    await ctx.pool.write(change.path, change.after)
    const now = await ctx.pool.read(change.path)
    const progressed = now > got
    got = now
    if (!progressed) break
  }
  const inv = await readInventory(ctx.host)
  const sizeBytes = Number(/hugepages-(\d+)kB/.exec(change.path)![1]) * 1024
  return {path: change.path, node: change.node, asked: change.after, got, compactions, nodes: await nodeCounts(ctx.host, sizeBytes, inv.nodes)}
}

function shortfallMessage(plan: HugepagesPlan, pool: PoolOutcome): string {
  const where = pool.node === null ? `${plan.pageSize} pool` : `node ${pool.node}`
  const perNode = pool.nodes.map((n) => `node ${n.node}: ${n.count}`).join(', ')
  const remedies =
    plan.pageSizeBytes >= 2 ** 30
      ? `1 GiB pages rarely fit once memory is fragmented: add \`${plan.kernelCmdline}\` to the kernel command line and reboot`
      : `free memory (stop services, \`sync; echo 3 > /proc/sys/vm/drop_caches\`), ask for fewer pages, or reserve them at boot with \`${plan.kernelCmdline}\` on the kernel command line`
  return `short of hugepages: ${where} asked ${pool.asked}, got ${pool.got}${perNode ? ` (${perNode})` : ''} after ${pool.compactions} compaction round(s); ${remedies}`
}

async function replanSysctl(ctx: TuneContext, plan: HugepagesPlan, count: number): Promise<FileChange[]> {
  return Promise.all(
    plan.files.map(async (f) => (f.path === SYSCTL_FILE ? planFile(ctx, SYSCTL_FILE, (old) => editSysctl(old, 'vm.nr_hugepages', String(count))) : f)),
  )
}

async function applyMount(ctx: TuneContext, tx: Transaction, plan: HugepagesPlan, result: HugepagesResult): Promise<void> {
  const {host} = ctx
  const {target, options, action, createDir} = plan.mount
  if (action === 'none') return
  if (action === 'set-attrs') {
    const old = (await statAttrs(host, target))!
    await tx.change({kind: 'attrs', path: target, mode: old.mode, uid: old.uid, gid: old.gid}, async () => {
      await chmod(fsPath(host, target), MOUNT_MODE)
      await chown(fsPath(host, target), old.uid, plan.group.gid!)
    })
    result.messages.push(`set ${target} to mode 01770, group ${plan.group.name} (it was already mounted)`)
    return
  }
  if (createDir) await tx.makeDirs(target)
  const args = ['-t', 'hugetlbfs', '-o', options.join(','), 'hugetlbfs', fsPath(host, target)]
  const r = await tx.change({kind: 'mount', target}, () => runTool(host, 'mount', args))
  if (r.exitCode !== 0) throw new Error(`${commandLine('mount', args)} failed (exit ${r.exitCode}): ${r.output}`)
  result.messages.push(`mounted hugetlbfs on ${target} (${options.join(',')})`)
}

/**
 * Reads back what the run should have left: pool, HugePages_Total, mount attributes, files.
 * Returns the problems found (also put in the result's messages).
 */
async function verify(ctx: TuneContext, plan: HugepagesPlan, result: HugepagesResult): Promise<string[]> {
  const {host} = ctx
  result.hugePagesTotal = parseMeminfo((await host.read('/proc/meminfo')) ?? '').hugePagesTotal
  if (!result.pool) {
    const change = plan.runtime[0]
    const got = await ctx.pool.read(change.path)
    result.pool = {path: change.path, node: change.node, asked: change.after, got, compactions: 0, nodes: plan.nodes}
  }
  const mounted = await mountAt(host, plan.mount.target)
  const attrs = await statAttrs(host, plan.mount.target)
  result.mount = {
    target: plan.mount.target,
    mounted: mounted?.vfstype === 'hugetlbfs',
    mode: attrs ? attrs.mode.toString(8).padStart(4, '0') : null,
    gid: attrs?.gid ?? null,
  }
  result.files = []
  for (const f of plan.files) {
    const now = await snapshotFile(host, f.path)
    result.files.push({path: f.path, written: f.action !== 'none', verified: now.content !== undefined && now.content.equals(f.content!)})
  }
  const problems: string[] = []
  if (result.status !== 'partial' && result.pool.got !== plan.pages) problems.push(`${result.pool.path} reads ${result.pool.got}, not ${plan.pages}`)
  if (!result.mount.mounted) problems.push(`${plan.mount.target} is not mounted`)
  else if (result.mount.mode !== '1770' || result.mount.gid !== plan.group.gid) problems.push(`${plan.mount.target} has mode ${result.mount.mode} gid ${result.mount.gid}, not 1770 gid ${plan.group.gid}`)
  for (const f of result.files) if (!f.verified) problems.push(`${f.path} does not hold the planned content`)
  if (problems.length > 0) {
    result.status = 'failed'
    result.messages.push(`verification failed: ${problems.join('; ')}`)
  } else {
    result.messages.push(`verified: ${result.pool.got} pages of ${plan.pageSize} in ${result.pool.path}, HugePages_Total ${result.hugePagesTotal}, ${plan.mount.target} mounted mode 1770 gid ${plan.group.gid}${plan.files.length ? ', files match the plan' : ''}`)
  }
  return problems
}

function tryParse(parse: () => number): number | undefined {
  try {
    const n = parse()
    return Number.isSafeInteger(n) ? n : undefined
  } catch {
    return undefined
  }
}
