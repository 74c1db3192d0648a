// Reverting journaled changes, for a failed run's rollback and for `kvmctl tune undo`. Each revert
// looks at the real state first, so a step journaled as an intent whose change never happened
// (the run was killed in between) is found undone and passes, and a revert is safe to repeat.
// Nothing is removed that this run did not create or that has come into use since: such a group,
// mount, directory or module state is left as it is, with the reason ("kept").
import {chmod, chown, readdir, readlink} from 'node:fs/promises'
import {release as osRelease} from 'node:os'

import {groupNow, groupUsersNow} from '../host/accounts.js'
import {parseMounts, selectedMode} from '../host/facts.js'
import type {Host} from '../host/host.js'
import {MOUNTS} from '../host/paths.js'
import type {TuneContext} from './context.js'
import {
  atomicWrite,
  errorLine,
  fsPath,
  pathKind,
  removeDir,
  removeFile,
  removeTemp,
  restoreLink,
  sha256,
  snapshotFile,
} from './files.js'
import {type Change, describeChange, dropRun, type JournalRun, type Step, type Transaction} from './journal.js'
import {writeKernelValue} from './pool.js'
import {runTool} from './tools.js'

type Outcome = {kind: 'reverted' | 'kept'; note?: string} | {kind: 'problem'; note: string}

export interface RevertReport {
  /** What was reverted, newest first (as describeChange says it). */
  steps: string[]
  /** Left on purpose, with why (in use, not created by this run). */
  kept: string[]
  /** Reverts that failed: the run stays in the journal for another try. */
  problems: string[]
}

// What undo needs to know now is read through the host at revert time (not from the plan's facts,
// which are as old as the run being undone): groups and their users by src/host/accounts.ts.

/** The filesystem type mounted last (the visible one) at `target`, from /proc/mounts. */
async function mountedType(host: Host, target: string): Promise<string | undefined> {
  return parseMounts((await host.read(MOUNTS)) ?? '')
    .filter((m) => m.target === target)
    .pop()?.fstype
}

/** Why a loaded module is in use (its reference count and holders), or undefined. */
async function moduleUsers(host: Host, module: string): Promise<string | undefined> {
  const refcnt = Number.parseInt((await host.readValue(`/sys/module/${module}/refcnt`)) ?? '0', 10) || 0
  const holders = (await host.list(`/sys/module/${module}/holders`)) ?? []
  const why = [
    ...(refcnt > 0 ? [`refcnt ${refcnt}`] : []),
    ...(holders.length > 0 ? [`held by ${holders.join(', ')}`] : []),
  ]
  return why.length > 0 ? why.join(', ') : undefined
}

/**
 * Why module `module` could not be loaded again for the running kernel (modinfo finds no .ko), or
 * undefined when it can: checked before anything unloads it.
 */
export async function cannotReload(ctx: TuneContext, module: string): Promise<string | undefined> {
  const release = (await ctx.host.readValue('/proc/sys/kernel/osrelease')) ?? osRelease()
  const r = await runTool(ctx.host, 'modinfo', ['-k', release, '-F', 'filename', module])
  const file = r.output.split('\n')[0]?.trim() ?? ''
  if (r.exitCode === 0 && file !== '' && file !== '(builtin)') return undefined
  return `${module} cannot be shown loadable again for kernel ${release} (\`modinfo -k ${release} ${module}\`: ${r.exitCode === 0 ? file || 'no file' : r.output || `exit ${r.exitCode}`})`
}

async function revertChange(ctx: TuneContext, step: Step, opts: {force: boolean}): Promise<Outcome> {
  const {host} = ctx
  switch (step.kind) {
    case 'pool': {
      await ctx.pool.write(step.path, step.before)
      const got = await ctx.pool.read(step.path)
      return got === step.before
        ? {kind: 'reverted'}
        : {kind: 'problem', note: `${step.path}: asked ${step.before} back, the kernel holds ${got}`}
    }
    case 'file':
      return revertFile(ctx, step, opts)
    case 'mkdir': {
      const r = await removeDir(host, step.path)
      if (r === 'removed' || r === 'absent') return {kind: 'reverted'}
      if (r === 'it is a mount point in use') return {kind: 'problem', note: `${step.path} not removed: ${r}`}
      return {kind: 'kept', note: `kept directory ${step.path}: ${r}`}
    }
    case 'mount': {
      // Killed between journaling the mount and mounting: nothing to unmount.
      if ((await mountedType(host, step.target)) !== 'hugetlbfs')
        return {kind: 'reverted', note: `${step.target} was not mounted`}
      const files = await readdir(fsPath(host, step.target)).catch(() => [])
      if (files.length > 0)
        return {
          kind: 'kept',
          note: `kept hugetlbfs on ${step.target} mounted: it holds ${files.length} file(s) (VM memory in use)`,
        }
      const r = await runTool(host, 'umount', [fsPath(host, step.target)])
      if (r.exitCode === 0) return {kind: 'reverted'}
      if (/busy/i.test(r.output))
        return {kind: 'kept', note: `kept hugetlbfs on ${step.target} mounted: it is in use (${r.output})`}
      return {kind: 'problem', note: `${r.command} failed (exit ${r.exitCode}): ${r.output}`}
    }
    case 'attrs':
      await chmod(fsPath(host, step.path), step.mode)
      await chown(fsPath(host, step.path), step.uid, step.gid)
      return {kind: 'reverted'}
    case 'group': {
      // The step is journaled only when the group did not exist: if it exists now, this run made it.
      const gid = (await groupNow(host, step.name))?.gid
      if (gid === undefined) return {kind: 'reverted', note: `group ${step.name} does not exist`}
      if (step.gid !== undefined && gid !== step.gid)
        return {
          kind: 'kept',
          note: `kept group ${step.name}: it has gid ${gid} now, not the ${step.gid} kvmctl created`,
        }
      const uses = await groupUsersNow(host, step.name, gid)
      if (uses.length > 0) return {kind: 'kept', note: `kept group ${step.name} (gid ${gid}): ${uses.join('; ')}`}
      const r = await runTool(host, 'groupdel', [...(host.root ? ['--prefix', host.root] : []), step.name])
      return r.exitCode === 0
        ? {kind: 'reverted'}
        : {kind: 'problem', note: `${r.command} failed (exit ${r.exitCode}): ${r.output}`}
    }
    case 'module':
      return revertModule(ctx, step)
    case 'value':
      return revertValue(ctx, step, opts)
    case 'member': {
      // Journaled only when the user was not a member: if the user is listed now, this run added it.
      if (!(await groupNow(host, step.group))?.members.includes(step.user))
        return {kind: 'reverted', note: `${step.user} is not in group ${step.group}`}
      const r = await runTool(host, 'usermod', [
        ...(host.root ? ['--prefix', host.root] : []),
        '-r',
        '-G',
        step.group,
        step.user,
      ])
      if (r.exitCode !== 0) return {kind: 'problem', note: `${r.command} failed (exit ${r.exitCode}): ${r.output}`}
      const still = (await groupNow(host, step.group))?.members.includes(step.user) ?? false
      return still
        ? {kind: 'problem', note: `/etc/group still lists ${step.user} in ${step.group} after ${r.command}`}
        : {kind: 'reverted'}
    }
    case 'rewrite':
      return revertRewrite(ctx, step, opts)
  }
}

async function revertValue(
  ctx: TuneContext,
  step: Extract<Step, {kind: 'value'}>,
  opts: {force: boolean},
): Promise<Outcome> {
  const {host} = ctx
  const read = async () => {
    const text = await host.read(step.path)
    return text === undefined ? undefined : selectedMode(text)
  }
  const now = await read()
  // Killed between the intent and the write, or already put back.
  if (now === step.before) return {kind: 'reverted'}
  if (now === undefined) return {kind: 'problem', note: `${step.path} is gone; cannot write ${step.before} back`}
  if (now !== step.after && !opts.force) {
    return {
      kind: 'problem',
      note: `${step.path} reads ${now}, neither what kvmctl wrote (${step.after}) nor what it was (${step.before}); left as is (--force writes ${step.before})`,
    }
  }
  await writeKernelValue(host, step.path, step.before)
  const back = await read()
  return back === step.before
    ? {kind: 'reverted'}
    : {kind: 'problem', note: `${step.path}: wrote ${step.before} back, it reads ${back}`}
}

/** A file a boot loader tool rewrote: its backup goes back while the file holds what the tool left. */
async function revertRewrite(
  ctx: TuneContext,
  step: Extract<Step, {kind: 'rewrite'}>,
  opts: {force: boolean},
): Promise<Outcome> {
  const now = await snapshotFile(ctx.host, step.path)
  const nowHash = now.content === undefined ? undefined : sha256(now.content)
  // Intent only: the tool may have run (or half run); anything but the old bytes is its doing.
  const written = step.written ?? (nowHash === (step.existed ? step.before : undefined) ? undefined : nowHash)
  const real = now.real
  return revertFile(
    ctx,
    {
      kind: 'file',
      path: step.path,
      real,
      existed: step.existed,
      backup: step.backup,
      meta: step.meta,
      before: step.before,
      written: written ?? '',
      temp: '.none.tmp',
      state: step.state,
    },
    opts,
  )
}

async function revertFile(
  ctx: TuneContext,
  step: Extract<Step, {kind: 'file'}>,
  opts: {force: boolean},
): Promise<Outcome> {
  const {host} = ctx
  // A write killed before its rename leaves its journaled temporary file.
  await removeTemp(host, step.real, step.temp)
  if (step.link !== undefined) {
    const kind = await pathKind(host, step.path)
    const now = kind === 'link' ? await readlink(fsPath(host, step.path, false)) : undefined
    if (now !== step.link) {
      if (!opts.force && kind !== 'absent')
        return {
          kind: 'problem',
          note: `${step.path} is no longer the link to ${step.link} it was; left as is (--force puts the link back)`,
        }
      await restoreLink(host, step.path, step.link)
    }
  }
  const now = await snapshotFile(host, step.real)
  const nowHash = now.content === undefined ? undefined : sha256(now.content)
  if (nowHash !== step.written) {
    // Never written (killed before the rename), or already restored: nothing to do.
    if (step.existed ? nowHash === step.before : nowHash === undefined) return {kind: 'reverted'}
    if (!opts.force) {
      return {
        kind: 'problem',
        note: `${step.path} changed since kvmctl wrote it; left as is${step.backup ? ` (the old bytes are in ${step.backup}; --force restores them)` : ' (--force removes it)'}`,
      }
    }
  }
  if (!step.existed) {
    await removeFile(host, step.real)
    return (await snapshotFile(host, step.real)).content === undefined
      ? {kind: 'reverted'}
      : {kind: 'problem', note: `${step.path} is still there after removing it`}
  }
  const old = await snapshotFile(host, step.backup!)
  if (old.content === undefined)
    return {kind: 'problem', note: `${step.path}: backup ${step.backup} is missing; not restored`}
  if (step.before !== undefined && sha256(old.content) !== step.before)
    return {kind: 'problem', note: `${step.path}: backup ${step.backup} does not hold the saved bytes; not restored`}
  await atomicWrite(host, step.real, old.content, step.meta!)
  // Say restored only when a re-read gives the saved bytes, mode and owner back.
  const back = await snapshotFile(host, step.real)
  const same = back.content !== undefined && back.content.equals(old.content) && back.meta?.mode === step.meta!.mode
  const owned = process.getuid?.() !== 0 || (back.meta?.uid === step.meta!.uid && back.meta?.gid === step.meta!.gid)
  return same && owned
    ? {kind: 'reverted'}
    : {kind: 'problem', note: `${step.path}: re-read after restoring does not match the saved bytes, mode and owner`}
}

async function revertModule(ctx: TuneContext, step: Extract<Step, {kind: 'module'}>): Promise<Outcome> {
  const {host} = ctx
  const loaded = await host.exists(`/sys/module/${step.module}`)
  const value = loaded ? ((await host.readValue(`/sys/module/${step.module}/parameters/${step.param}`)) ?? null) : null
  if (step.before === null ? !loaded : loaded && value === step.before) return {kind: 'reverted'}
  if (loaded) {
    const users = await moduleUsers(host, step.module)
    if (users)
      return {kind: 'kept', note: `kept ${step.module} loaded with ${step.param}=${value}: it is in use (${users})`}
    if (step.before !== null) {
      const why = await cannotReload(ctx, step.module)
      if (why) return {kind: 'kept', note: `kept ${step.module} with ${step.param}=${value}: ${why}`}
    }
    const unload = await runTool(host, 'modprobe', ['-r', step.module])
    if (unload.exitCode !== 0)
      return {kind: 'problem', note: `${unload.command} failed (exit ${unload.exitCode}): ${unload.output}`}
  }
  if (step.before === null) return {kind: 'reverted'}
  const load = await runTool(host, 'modprobe', [step.module, `${step.param}=${step.before}`])
  return load.exitCode === 0
    ? {kind: 'reverted'}
    : {kind: 'problem', note: `${load.command} failed (exit ${load.exitCode}): ${load.output}`}
}

/**
 * Reverts a run's steps newest first, marking each reverted in the journal as it goes (so an
 * undo that is itself killed resumes where it stopped). Drops the run when nothing is left.
 */
export async function revertRun(tx: Transaction, opts: {force: boolean}): Promise<RevertReport> {
  const report: RevertReport = {steps: [], kept: [], problems: []}
  const {run} = tx
  // Journaled as rolling back (kept until dropRun, even once every step is reverted): an undo
  // killed here is finished by the next one.
  if (run.state !== 'rolling-back') {
    run.state = 'rolling-back'
    await tx.save('undo started')
  }
  for (const step of [...run.steps].reverse()) {
    if (step.state === 'reverted') continue
    report.steps.push(describeChange(step))
    let outcome: Outcome
    try {
      outcome = await revertChange(tx.ctx, step, opts)
    } catch (error) {
      outcome = {kind: 'problem', note: `${describeChange(step)}: ${(error as Error).message}`}
    }
    if (outcome.kind === 'problem') {
      report.problems.push(outcome.note)
      continue
    }
    if (outcome.kind === 'kept') report.kept.push(outcome.note!)
    Object.assign(step, {state: 'reverted'}, outcome.note ? {note: outcome.note} : {})
    await tx.save(`reverted ${describeChange(step)}`)
  }
  if (report.problems.length === 0) await dropRun(tx.ctx, run.id)
  return report
}

/** What a rollback left, for a result's messages: the kept items, then one line on the whole. */
export function rollbackMessages(report: RevertReport): string[] {
  const summary =
    report.problems.length > 0
      ? 'rollback was incomplete; see rollbackProblems, then `kvmctl tune undo` finishes it'
      : report.kept.length > 0
        ? 'rolled back, except what is kept above'
        : 'rolled back: the host is as it was before this run'
  return [...report.kept, summary]
}

/**
 * After a failed step: the reason and the rollback's outcome go into the run's result (the journal
 * id stays only while something is left for `kvmctl tune undo`).
 */
export async function rollBackInto(
  tx: Transaction,
  error: unknown,
  result: {messages: string[]; rollbackProblems: string[]; journalId: string | null},
): Promise<void> {
  result.messages.push(errorLine(error))
  const report = await rollback(tx)
  result.rollbackProblems = report.problems
  if (report.problems.length === 0) result.journalId = null
  result.messages.push(...rollbackMessages(report))
}

/** Rolls back a failed run: everything it did is reverted (what came into use is kept, and said). */
export async function rollback(tx: Transaction): Promise<RevertReport> {
  return revertRun(tx, {force: false})
}

export type {Change, JournalRun}
