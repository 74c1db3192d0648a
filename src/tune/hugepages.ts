// `kvmctl tune hugepages`: plan a hugepage pool for N VMs of a given size, then apply it with
// readback, compaction retries and rollback on a shortfall, mount hugetlbfs for the VM group,
// and persist the result in sysctl.d and fstab. The plan is computed without changing anything.
import {chmod, chown} from 'node:fs/promises'

import {gatherFacts} from '../host/facts.js'
import {OperationError} from '../lib/errors.js'
import {readNodePools, readNumaNodes, statPath} from '../host/system.js'
import {pageSizeLabel} from '../plan/hugepage-math.js'
import {
  nonDefaultSizeNotPersisted,
  planHugepagesIntent,
  poolPath,
  type HugepagesIntent,
  type HugepagesRequest,
  type RuntimeChange,
} from '../plan/hugepages.js'
import {tmpfilesCaveat} from '../plan/settings.js'
import {FSTAB, MOUNT_MODE, SYSCTL_FILE, SYSCTL_KEY} from '../plan/targets.js'
import {requireRoot, type TuneContext} from './context.js'
import {editFstab, editSysctl, editTmpfilesWrite} from './editors.js'
import {createGroup} from './group.js'
import {applyCmdline, type CmdlinePlan, cmdlineTools, planCmdline} from './bootloader.js'
import {type FileChange, planFile} from './file-plan.js'
import {errorLine, fsPath, snapshotFile} from './files.js'
import {refuseInterrupted, Transaction} from './journal.js'
import {rollback, rollbackMessages} from './revert.js'
import {commandLine, refuseLiveToolsUnderRoot, runTool} from './tools.js'

export type {FileChange} from './file-plan.js'
export type {HugepagesRequest, RuntimeChange} from '../plan/hugepages.js'

/** How many compaction rounds a shortfall gets at most (each must make progress). */
const MAX_COMPACTIONS = 5

export interface HugepagesPlan extends Omit<HugepagesIntent, 'persist' | 'runtimeChanges'> {
  files: FileChange[]
  /** Pages of another size than the default persist on the kernel command line: the edit. */
  cmdline: CmdlinePlan | null
  /** Number of changes applying would make; 0 means the host is already tuned. */
  changes: number
}

/**
 * The plan: the pure intent from the host facts (src/plan/hugepages.ts), with each file to
 * persist it as a diff against the file as it is. Reads the host, changes nothing. Throws
 * UsageError on bad values and on facts a capture did not hold.
 */
export async function planHugepages(ctx: TuneContext, req: HugepagesRequest): Promise<HugepagesPlan> {
  // The mount of another page size than the default is /dev/hugepagesSIZE: stat those too.
  const facts = await gatherFacts(ctx.host, {paths: req.mount === undefined ? SIZE_MOUNTS : [req.mount]})
  const {persist, runtimeChanges, ...intent} = planHugepagesIntent(facts, req)
  const files: FileChange[] = []
  // fstab first: a failure writing sysctl.d then also exercises restoring a written file.
  if (persist.fstab) files.push(await planFile(ctx, FSTAB, (old) => editFstab(old, persist.fstab!)))
  if (persist.sysctl) {
    const {key, value} = persist.sysctl
    files.push(await planFile(ctx, persist.sysctl.path, (old) => editSysctl(old, key, value)))
  }
  if (persist.tmpfiles) {
    const {path, writes} = persist.tmpfiles
    const edit = (old: string | undefined) =>
      writes.reduce<string | undefined>((text, w) => editTmpfilesWrite(text, w.path, w.value, TMPFILES_HEADER), old)!
    files.push(await planFile(ctx, path, edit))
    intent.warnings.push(...tmpfilesCaveat(facts))
  }
  const cmdline = persist.cmdline ? await planCmdline(ctx, persist.cmdline) : null
  if (cmdline?.refusal) intent.warnings.push(`not persisted: ${cmdline.refusal}`)
  const cmdlineChanges = cmdline && !cmdline.refusal ? cmdline.changes : 0
  return {
    ...intent,
    files,
    cmdline,
    changes: runtimeChanges + cmdlineChanges + files.filter((f) => f.action !== 'none').length,
  }
}

const TMPFILES_HEADER =
  '# Hugepages per NUMA node for virtual machines. Written by `kvmctl tune hugepages`; revert with `kvmctl tune undo`.\n'

const SIZE_MOUNTS = ['/dev/hugepages1G', '/dev/hugepages2M']

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
  /** The first (or only) pool written: the whole size, or the first node asked for. */
  pool: PoolOutcome | null
  /** Every pool written, one per node of a per-node request. */
  pools: PoolOutcome[]
  /** The planned size's whole pool after the run (its nr_hugepages), whatever the size. */
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
export async function applyHugepages(
  ctx: TuneContext,
  req: HugepagesRequest,
  planned: HugepagesPlan,
): Promise<{plan: HugepagesPlan; result: HugepagesResult}> {
  requireRoot(ctx, 'kvmctl tune hugepages')
  const tools = [...(planned.mount.action === 'mount' ? (['mount'] as const) : []), ...cmdlineTools(planned.cmdline)]
  refuseLiveToolsUnderRoot(ctx.host, tools, 'kvmctl tune hugepages')
  await refuseInterrupted(ctx)
  const result: HugepagesResult = {
    status: 'applied',
    pool: null,
    pools: [],
    hugePagesTotal: 0,
    mount: null,
    files: [],
    journalId: null,
    messages: [],
    rollbackProblems: [],
  }
  if (planned.changes === 0) {
    result.status = 'unchanged'
    result.messages.push(
      `nothing to change: ${planned.pages} pages of ${planned.pageSize} are reserved, ${planned.mount.target} is mounted and the files are up to date`,
    )
    const problems = await verify(ctx, planned, result)
    if (problems.length > 0) result.status = 'failed'
    return {plan: planned, result}
  }

  const tx = await Transaction.begin(ctx, planned.argv.slice(1).join(' '))
  result.journalId = tx.run.id
  let plan = planned
  const fail = async (status: 'rolled-back' | 'failed', message: string) => {
    result.status = status
    result.messages.push(message)
    const report = await rollback(tx)
    result.rollbackProblems = report.problems
    if (report.problems.length === 0) result.journalId = null
    result.messages.push(...rollbackMessages(report))
    return {plan, result}
  }

  try {
    if (plan.group.create) {
      try {
        const made = await createGroup(tx, plan.group.name)
        if (made) result.messages.push(made)
      } catch (error) {
        return await fail('failed', errorLine(error))
      }
      // The gid is known now: plan again so the mount options and fstab line carry it.
      plan = await planHugepages(ctx, {...req, createGroup: false})
    }

    // Per-node pools compact first, so each node's free memory is as contiguous as it gets.
    if (plan.split && plan.runtime.length > 0) await ctx.pool.compact()
    const pools: PoolOutcome[] = []
    for (const change of plan.runtime) {
      pools.push(
        await tx.change({kind: 'pool', path: change.path, before: change.before, after: change.after}, () =>
          fillPool(ctx, change),
        ),
      )
    }
    result.pools = pools
    result.pool = pools[0] ?? null
    const short = pools.filter((p) => p.got < p.asked)
    if (short.length > 0) {
      // A shortfall on any node rolls every node back (each pool write is a journaled step).
      const message = shortfallMessage(plan, short)
      if (!req.allowPartial) return await fail('rolled-back', message)
      result.status = 'partial'
      result.messages.push(`${message} (kept, as --allow-partial asked)`)
      // Persist what the kernel really holds, not what was asked; a split not reached is not persisted.
      const globalNow = await ctx.pool.read(poolPath(plan.pageSizeBytes, null))
      plan = {...plan, files: await replanSysctl(ctx, plan, globalNow), cmdline: plan.split ? null : plan.cmdline}
    } else {
      for (const [i, change] of plan.runtime.entries()) {
        if (change.before === change.after) continue
        const {got, compactions} = pools[i]
        result.messages.push(
          `${change.path}: ${change.before} -> ${got} pages of ${plan.pageSize}${compactions ? ` (after ${compactions} compaction round(s))` : ''}`,
        )
      }
    }

    await applyMount(ctx, tx, plan, result)
    for (const file of plan.files) {
      if (file.action === 'none') continue
      await tx.writeFile(file.path, file.content!, file.meta!)
      result.messages.push(`${file.action === 'create' ? 'created' : 'updated'} ${file.path}`)
    }
    if (plan.cmdline && !plan.cmdline.refusal && plan.cmdline.changes > 0) {
      result.messages.push(...(await applyCmdline(ctx, tx, plan.cmdline)).messages)
    }
  } catch (error) {
    return await fail('failed', errorLine(error))
  }
  // A verification that fails is a failure like any other: roll back, unless asked to keep it.
  const problems = await verify(ctx, plan, result)
  if (problems.length > 0 && !req.allowPartial)
    return await fail('rolled-back', `verification failed: ${problems.join('; ')}`)
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
  return {
    path: change.path,
    node: change.node,
    asked: change.after,
    got,
    compactions,
    nodes: await nodeCounts(ctx, change.path),
  }
}

/** Per-node counts of the pool behind this sysfs path, read back after a write. */
async function nodeCounts(ctx: TuneContext, path: string): Promise<Array<{node: number; count: number}>> {
  const sizeKb = Number(/hugepages-(\d+)kB/.exec(path)![1])
  const pools = await readNodePools(ctx.host, (await readNumaNodes(ctx.host)) ?? [])
  return pools.filter((p) => p.sizeKb === sizeKb).map((p) => ({node: p.node, count: p.total}))
}

function shortfallMessage(plan: HugepagesPlan, short: PoolOutcome[]): string {
  const where = short
    .map((p) => `${p.node === null ? `${plan.pageSize} pool` : `node ${p.node}`} asked ${p.asked}, got ${p.got}`)
    .join('; ')
  const perNode = short[0].nodes.map((n) => `node ${n.node}: ${n.count}`).join(', ')
  const rounds = Math.max(...short.map((p) => p.compactions))
  const remedies =
    plan.pageSizeBytes >= 2 ** 30
      ? `1 GiB pages rarely fit once memory is fragmented: add \`${plan.kernelCmdline}\` to the kernel command line and reboot`
      : `free memory (stop services, \`sync; echo 3 > /proc/sys/vm/drop_caches\`), ask for fewer pages, or reserve them at boot with \`${plan.kernelCmdline}\` on the kernel command line`
  return `short of hugepages: ${where}${perNode ? ` (${perNode})` : ''} after ${rounds} compaction round(s); ${remedies}`
}

async function replanSysctl(ctx: TuneContext, plan: HugepagesPlan, count: number): Promise<FileChange[]> {
  return Promise.all(
    plan.files.map(async (f) =>
      f.path === SYSCTL_FILE ? planFile(ctx, SYSCTL_FILE, (old) => editSysctl(old, SYSCTL_KEY, String(count))) : f,
    ),
  )
}

async function applyMount(
  ctx: TuneContext,
  tx: Transaction,
  plan: HugepagesPlan,
  result: HugepagesResult,
): Promise<void> {
  const {host} = ctx
  const {target, options, action, createDir} = plan.mount
  if (action === 'none') return
  if (action === 'set-attrs') {
    const old = await statPath(host, target)
    if (!old) throw new OperationError(`${target} is gone since the plan; run kvmctl tune hugepages again`)
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
  if (r.exitCode !== 0)
    throw new OperationError(`${commandLine('mount', args)} failed (exit ${r.exitCode}): ${r.output}`)
  result.messages.push(`mounted hugetlbfs on ${target} (${options.join(',')})`)
}

/**
 * Reads back what the run should have left: pool, HugePages_Total, mount attributes, files.
 * Returns the problems found (also put in the result's messages).
 */
async function verify(ctx: TuneContext, plan: HugepagesPlan, result: HugepagesResult): Promise<string[]> {
  const {host} = ctx
  result.hugePagesTotal = await ctx.pool.read(poolPath(plan.pageSizeBytes, null))
  if (result.pools.length === 0) {
    for (const change of plan.runtime) {
      const got = await ctx.pool.read(change.path)
      result.pools.push({
        path: change.path,
        node: change.node,
        asked: change.after,
        got,
        compactions: 0,
        nodes: plan.nodes,
      })
    }
    result.pool = result.pools[0] ?? null
  }
  const after = await gatherFacts(host, {paths: [plan.mount.target]})
  const mounted = after.mounts.filter((m) => m.target === plan.mount.target).pop()
  const attrs = after.paths[plan.mount.target] ?? null
  result.mount = {
    target: plan.mount.target,
    mounted: mounted?.fstype === 'hugetlbfs',
    mode: attrs ? attrs.mode.toString(8).padStart(4, '0') : null,
    gid: attrs?.gid ?? null,
  }
  result.files = []
  for (const f of plan.files) {
    const now = await snapshotFile(host, f.path)
    result.files.push({
      path: f.path,
      written: f.action !== 'none',
      verified: now.content !== undefined && now.content.equals(f.content!),
    })
  }
  const problems: string[] = []
  if (result.status !== 'partial')
    for (const p of result.pools) if (p.got !== p.asked) problems.push(`${p.path} reads ${p.got}, not ${p.asked}`)
  if (!result.mount.mounted) problems.push(`${plan.mount.target} is not mounted`)
  else if (result.mount.mode !== '1770' || result.mount.gid !== plan.group.gid)
    problems.push(
      `${plan.mount.target} has mode ${result.mount.mode} gid ${result.mount.gid}, not 1770 gid ${plan.group.gid}`,
    )
  for (const f of result.files) if (!f.verified) problems.push(`${f.path} does not hold the planned content`)
  if (problems.length > 0) {
    result.status = 'failed'
    result.messages.push(`verification failed: ${problems.join('; ')}`)
  } else {
    const pool =
      result.pools.length > 0
        ? result.pools.map((p) => `${p.got} pages of ${plan.pageSize} in ${p.path}`).join(', ')
        : `${plan.pages} pages of ${plan.pageSize} at the next boot`
    result.messages.push(
      `verified: ${pool}, ${plan.pageSize} pool total ${result.hugePagesTotal}, ${plan.mount.target} mounted mode 1770 gid ${plan.group.gid}${plan.files.length ? ', files match the plan' : ''}`,
    )
  }
  if (
    plan.pageSizeBytes !== plan.defaultPageSizeBytes &&
    plan.files.length > 0 &&
    (!plan.cmdline || plan.cmdline.refusal)
  ) {
    result.messages.push(
      nonDefaultSizeNotPersisted(
        plan.pageSize,
        pageSizeLabel(plan.defaultPageSizeBytes),
        plan.pages,
        plan.pageSizeBytes,
        plan.kernelCmdline,
      ),
    )
  }
  return problems
}
