// The tune journal: every change is recorded (with what it replaced) before it is made, so a
// failed run rolls back and `kvmctl tune undo` restores the previous runtime values and files.
// Lives in /var/lib/kvmctl/tune-journal.json; file backups beside it under backups/RUN-ID/.
import {randomBytes} from 'node:crypto'
import {mkdir, rm, rmdir, chmod, chown} from 'node:fs/promises'
import {dirname} from 'node:path'

import {atomicWrite, type FileMeta, makeDir, missingDirs, removeFile, sha256, snapshotFile} from './files.js'
import type {TuneContext} from './context.js'
import {runTool} from './tools.js'

export const STATE_DIR = '/var/lib/kvmctl'
export const JOURNAL_PATH = `${STATE_DIR}/tune-journal.json`

export type Step =
  /** A hugepage pool count, restored through the pool backend. */
  | {kind: 'pool'; path: string; before: number}
  /** A file kvmctl wrote; `backup` holds the old bytes when it existed. */
  | {kind: 'file'; path: string; existed: boolean; backup?: string; meta?: FileMeta; written: string}
  | {kind: 'mkdir'; path: string}
  | {kind: 'mount'; target: string}
  /** Mode and owner a path had before kvmctl changed them. */
  | {kind: 'attrs'; path: string; mode: number; uid: number; gid: number}
  | {kind: 'group'; name: string}
  /** A module kvmctl reloaded; `before` is the parameter value to reload with on undo. */
  | {kind: 'module'; module: string; param: string; before: string | null}

export interface JournalRun {
  id: string
  command: string
  startedAt: string
  complete: boolean
  steps: Step[]
}

interface JournalFile {
  schema: 1
  runs: JournalRun[]
}

export async function readJournal(ctx: TuneContext): Promise<JournalFile> {
  const text = await ctx.host.read(JOURNAL_PATH)
  if (text === undefined) return {schema: 1, runs: []}
  const data = JSON.parse(text) as JournalFile
  return {schema: 1, runs: Array.isArray(data.runs) ? data.runs : []}
}

async function writeJournal(ctx: TuneContext, journal: JournalFile): Promise<void> {
  if (journal.runs.length === 0) {
    await removeFile(ctx.host, JOURNAL_PATH)
    // Leave no trace once everything is undone: the state dirs go when they are empty.
    for (const dir of [`${STATE_DIR}/backups`, STATE_DIR]) await rmdir(ctx.host.path(dir)).catch(() => undefined)
    return
  }
  await mkdir(ctx.host.path(STATE_DIR), {recursive: true, mode: 0o700})
  await atomicWrite(ctx.host, JOURNAL_PATH, JSON.stringify(journal, null, 2) + '\n', {mode: 0o600, uid: 0, gid: 0})
}

/** A run in progress: each step is journaled before it is carried out. */
export class Transaction {
  private constructor(
    private readonly ctx: TuneContext,
    readonly run: JournalRun,
  ) {}

  static async begin(ctx: TuneContext, command: string): Promise<Transaction> {
    const run: JournalRun = {
      id: new Date().toISOString().replace(/[:.]/g, '-') + '-' + randomBytes(2).toString('hex'),
      command,
      startedAt: new Date().toISOString(),
      complete: false,
      steps: [],
    }
    const tx = new Transaction(ctx, run)
    await tx.save()
    return tx
  }

  private async save(): Promise<void> {
    const journal = await readJournal(this.ctx)
    const others = journal.runs.filter((r) => r.id !== this.run.id)
    await writeJournal(this.ctx, {schema: 1, runs: this.run.steps.length > 0 || !this.run.complete ? [...others, this.run] : others})
  }

  async record(step: Step): Promise<void> {
    this.run.steps.push(step)
    await this.save()
  }

  /** Writes a file atomically after backing up its old bytes and journaling both. */
  async writeFile(path: string, content: string, newMeta: FileMeta): Promise<void> {
    const old = await snapshotFile(this.ctx.host, path)
    let backup: string | undefined
    if (old.content !== undefined) {
      backup = `${STATE_DIR}/backups/${this.run.id}${path}`
      await mkdir(this.ctx.host.path(dirname(backup)), {recursive: true, mode: 0o700})
      await atomicWrite(this.ctx.host, backup, old.content, {mode: 0o600, uid: 0, gid: 0})
    }
    const meta = old.meta ?? newMeta
    // A missing directory (e.g. /etc/modprobe.d) is created, and journaled so undo removes it.
    for (const dir of await missingDirs(this.ctx.host, dirname(path))) {
      await this.record({kind: 'mkdir', path: dir})
      await makeDir(this.ctx.host, dir)
    }
    await this.record({kind: 'file', path, existed: old.content !== undefined, backup, meta: old.meta, written: sha256(content)})
    await atomicWrite(this.ctx.host, path, content, meta)
  }

  async finish(): Promise<void> {
    this.run.complete = true
    await this.save()
  }

  /** Reverts what this run did so far and forgets it. Returns the problems met, if any. */
  async rollback(): Promise<string[]> {
    const problems = await revertSteps(this.ctx, this.run.steps, {force: true})
    this.run.steps = []
    this.run.complete = true
    await removeBackups(this.ctx, this.run.id)
    await this.save()
    return problems
  }
}

export async function removeBackups(ctx: TuneContext, runId: string): Promise<void> {
  await rm(ctx.host.path(`${STATE_DIR}/backups/${runId}`), {recursive: true, force: true})
}

/** Forgets a run after a successful undo. */
export async function dropRun(ctx: TuneContext, runId: string): Promise<void> {
  await removeBackups(ctx, runId)
  const journal = await readJournal(ctx)
  await writeJournal(ctx, {schema: 1, runs: journal.runs.filter((r) => r.id !== runId)})
}

/**
 * Undoes steps newest first. A file changed by someone else since kvmctl wrote it is left alone
 * (reported) unless `force` (rollback within the same run, where nobody else could have).
 */
export async function revertSteps(ctx: TuneContext, steps: Step[], opts: {force: boolean}): Promise<string[]> {
  const problems: string[] = []
  for (const step of [...steps].reverse()) {
    try {
      const problem = await revertStep(ctx, step, opts)
      if (problem) problems.push(problem)
    } catch (error) {
      problems.push(`${describeStep(step)}: ${(error as Error).message}`)
    }
  }
  return problems
}

export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'pool':
      return `${step.path} back to ${step.before}`
    case 'file':
      return step.existed ? `restore ${step.path}` : `remove ${step.path}`
    case 'mkdir':
      return `remove directory ${step.path}`
    case 'mount':
      return `unmount ${step.target}`
    case 'attrs':
      return `${step.path} back to mode ${step.mode.toString(8).padStart(4, '0')} uid ${step.uid} gid ${step.gid}`
    case 'group':
      return `delete group ${step.name}`
    case 'module':
      return step.before === null ? `unload ${step.module}` : `reload ${step.module} with ${step.param}=${step.before}`
  }
}

async function revertStep(ctx: TuneContext, step: Step, opts: {force: boolean}): Promise<string | undefined> {
  const {host} = ctx
  switch (step.kind) {
    case 'pool': {
      await ctx.pool.write(step.path, step.before)
      const got = await ctx.pool.read(step.path)
      return got === step.before ? undefined : `${step.path}: asked ${step.before} back, the kernel holds ${got}`
    }
    case 'file': {
      const now = await snapshotFile(host, step.path)
      if (!opts.force && now.content !== undefined && sha256(now.content) !== step.written) {
        return `${step.path} changed since kvmctl wrote it; left as is${step.backup ? ` (the old file is in ${step.backup})` : ''}`
      }
      if (!step.existed) {
        await removeFile(host, step.path)
        return undefined
      }
      const old = await host.read(step.backup!)
      if (old === undefined) return `${step.path}: backup ${step.backup} is missing; not restored`
      await atomicWrite(host, step.path, old, step.meta!)
      return undefined
    }
    case 'mkdir':
      await rmdir(host.path(step.path))
      return undefined
    case 'mount': {
      const r = await runTool(host, 'umount', [host.path(step.target)])
      return r.exitCode === 0 ? undefined : `${r.command} failed (exit ${r.exitCode}): ${r.output}`
    }
    case 'attrs':
      await chmod(host.path(step.path), step.mode)
      await chown(host.path(step.path), step.uid, step.gid)
      return undefined
    case 'group': {
      const r = await runTool(host, 'groupdel', [...(host.root ? ['--prefix', host.root] : []), step.name])
      return r.exitCode === 0 ? undefined : `${r.command} failed (exit ${r.exitCode}): ${r.output}`
    }
    case 'module': {
      if (await host.exists(`/sys/module/${step.module}`)) {
        const unload = await runTool(host, 'modprobe', ['-r', step.module])
        if (unload.exitCode !== 0) return `${unload.command} failed (exit ${unload.exitCode}): ${unload.output}`
      }
      if (step.before === null) return undefined
      const load = await runTool(host, 'modprobe', [step.module, `${step.param}=${step.before}`])
      return load.exitCode === 0 ? undefined : `${load.command} failed (exit ${load.exitCode}): ${load.output}`
    }
  }
}
