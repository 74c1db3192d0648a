// The tune journal, a write-ahead log: before each change its intent (with what it replaces) is
// made durable, and after it its outcome, so that after a crash or SIGKILL at any instant
// `kvmctl tune undo` knows every change that may have happened and reverts exactly those, checking
// the real state where only the intent was recorded (src/tune/revert.ts). Order per change:
// backup written and fsynced -> intent written, fsynced, renamed, directory fsynced -> the change
// (files: temporary file with a journaled name, fsync, rename, fsync of the directory) -> outcome.
// Lives in /var/lib/kvmctl/tune-journal.json (rewritten atomically, by the lock holder only);
// file backups beside it under backups/RUN-ID/.
import {randomBytes} from 'node:crypto'
import {rm, rmdir} from 'node:fs/promises'
import {dirname} from 'node:path'

import {syncDir} from '../lib/atomic-write.js'
import {crashPoint} from '../lib/crash-point.js'
import {OperationError} from '../lib/errors.js'
import type {TuneContext} from './context.js'
import {
  atomicWrite,
  type FileMeta,
  type FileSnapshot,
  fsPath,
  makeDir,
  missingDirs,
  removeFile,
  sha256,
  snapshotFile,
} from './files.js'
import {ownerAlive, processStart} from './lock.js'

export const STATE_DIR = '/var/lib/kvmctl'
export const JOURNAL_PATH = `${STATE_DIR}/tune-journal.json`
export const BACKUP_DIR = `${STATE_DIR}/backups`
/** Fixed: only the lock holder writes the journal, and undo removes one a crash left. */
export const JOURNAL_TEMP = '.tune-journal.json.tmp'

export type Change =
  /** A hugepage pool count, restored through the pool backend. */
  | {kind: 'pool'; path: string; before: number; after: number}
  /**
   * A file write. `real` is the file itself (`path` with links resolved: the link is kept); `link`
   * what `path` pointed to when it was a link; `before`/`written` the sha256 of the old and new
   * bytes; `backup` the old bytes' copy; `temp` the temporary name the write uses.
   */
  | {
      kind: 'file'
      path: string
      real: string
      link?: string
      existed: boolean
      backup?: string
      meta?: FileMeta
      before?: string
      written: string
      temp: string
    }
  | {kind: 'mkdir'; path: string}
  | {kind: 'mount'; target: string}
  /** Mode and owner a path had before kvmctl changed them. */
  | {kind: 'attrs'; path: string; mode: number; uid: number; gid: number}
  /** A group kvmctl created (it did not exist when the intent was written); gid once known. */
  | {kind: 'group'; name: string; gid?: number}
  /** A module kvmctl (re)loaded; `before` is the parameter value to reload with, null: it was not loaded. */
  | {kind: 'module'; module: string; param: string; before: string | null}
  /** A kernel setting (sysfs/procfs) kvmctl wrote: `before` is written back, `after` what was asked. */
  | {kind: 'value'; path: string; before: string; after: string}
  /** A user kvmctl added to a supplementary group (journaled only when it was not a member). */
  | {kind: 'member'; user: string; group: string}
  /**
   * A file a boot loader tool (update-grub, grub2-mkconfig, grubby) rewrites: its old bytes are
   * backed up before the tool runs; `written` (the bytes the tool left) is known only at the outcome.
   */
  | {
      kind: 'rewrite'
      path: string
      tool: string
      existed: boolean
      backup?: string
      meta?: FileMeta
      before?: string
      written?: string
    }

/** intent: journaled, maybe done; done: finished; reverted: undone (or found never done). */
export type StepState = 'intent' | 'done' | 'reverted'
export type Step = Change & {state: StepState; note?: string}

export interface JournalRun {
  id: string
  command: string
  startedAt: string
  /** The process that ran it, to tell an interrupted run from one still going. */
  owner: {pid: number; start: string | null}
  state: 'running' | 'complete' | 'rolling-back'
  steps: Step[]
}

export interface JournalFile {
  schema: 2
  runs: JournalRun[]
}

export class JournalError extends OperationError {}

function corrupt(what: string): JournalError {
  return new JournalError(
    `the tune journal ${JOURNAL_PATH} is unreadable: ${what}; nothing was changed. Look at it, then move it aside (mv ${JOURNAL_PATH} ${JOURNAL_PATH}.bad) to start over`,
  )
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isStr = (v: unknown): v is string => typeof v === 'string'
const isInt = (v: unknown): v is number => Number.isInteger(v)
const isAbs = (v: unknown): v is string => isStr(v) && v.startsWith('/') && !v.includes('\0')

/** A user or group name as shadow-utils accept it. */
const NAME_RE = /^[a-z_][a-z0-9_.-]*\$?$/i

/** A file that existed has its backup and its mode and owner recorded: the first bad field, or undefined. */
const savedBytes = (s: Record<string, unknown>) =>
  s.existed && !isAbs(s.backup)
    ? 'backup'
    : s.existed && !(isObj(s.meta) && isInt(s.meta.mode) && isInt(s.meta.uid) && isInt(s.meta.gid))
      ? 'meta'
      : undefined

/** Field checks per change kind: each returns the name of the first bad field, or undefined. */
const CHANGE_FIELDS: Record<Change['kind'], (s: Record<string, unknown>) => string | undefined> = {
  pool: (s) =>
    !isAbs(s.path)
      ? 'path'
      : !isInt(s.before)
        ? 'before'
        : s.after !== undefined && !isInt(s.after)
          ? 'after'
          : undefined,
  file: (s) =>
    !isAbs(s.path)
      ? 'path'
      : typeof s.existed !== 'boolean'
        ? 'existed'
        : !isStr(s.written)
          ? 'written'
          : (savedBytes(s) ??
            (s.real !== undefined && !isAbs(s.real)
              ? 'real'
              : s.temp !== undefined && !(isStr(s.temp) && /^\.[^/]*\.tmp$/.test(s.temp))
                ? 'temp'
                : s.link !== undefined && !isStr(s.link)
                  ? 'link'
                  : undefined)),
  mkdir: (s) => (!isAbs(s.path) ? 'path' : undefined),
  mount: (s) => (!isAbs(s.target) ? 'target' : undefined),
  attrs: (s) =>
    !isAbs(s.path) ? 'path' : !isInt(s.mode) ? 'mode' : !isInt(s.uid) ? 'uid' : !isInt(s.gid) ? 'gid' : undefined,
  group: (s) =>
    !(isStr(s.name) && NAME_RE.test(s.name)) ? 'name' : s.gid !== undefined && !isInt(s.gid) ? 'gid' : undefined,
  module: (s) =>
    !(isStr(s.module) && /^[\w-]+$/.test(s.module))
      ? 'module'
      : !isStr(s.param)
        ? 'param'
        : s.before !== null && !isStr(s.before)
          ? 'before'
          : undefined,
  value: (s) => (!isAbs(s.path) ? 'path' : !isStr(s.before) ? 'before' : !isStr(s.after) ? 'after' : undefined),
  member: (s) =>
    !(isStr(s.user) && NAME_RE.test(s.user))
      ? 'user'
      : !(isStr(s.group) && NAME_RE.test(s.group))
        ? 'group'
        : undefined,
  rewrite: (s) =>
    !isAbs(s.path)
      ? 'path'
      : !isStr(s.tool)
        ? 'tool'
        : typeof s.existed !== 'boolean'
          ? 'existed'
          : (savedBytes(s) ?? (s.written !== undefined && !isStr(s.written) ? 'written' : undefined)),
}

/** Checks a parsed journal and brings an older (schema 1) one to the current shape. */
export function validateJournal(data: unknown): JournalFile {
  if (!isObj(data) || !Array.isArray(data.runs)) throw corrupt('it is not an object with a "runs" list')
  if (data.schema !== 1 && data.schema !== 2)
    throw corrupt(
      `schema ${JSON.stringify(data.schema)} is not one this kvmctl knows (1 or 2); use the kvmctl that wrote it`,
    )
  const runs: JournalRun[] = []
  for (const [r, run] of data.runs.entries()) {
    if (
      !isObj(run) ||
      !isStr(run.id) ||
      !/^[\w.-]+$/.test(run.id) ||
      !isStr(run.command) ||
      !isStr(run.startedAt) ||
      !Array.isArray(run.steps)
    ) {
      throw corrupt(`run ${r + 1} lacks its id, command, startedAt or steps`)
    }
    const steps: Step[] = []
    for (const [i, step] of run.steps.entries()) {
      const where = `run ${run.id} step ${i + 1}`
      if (!isObj(step)) throw corrupt(`${where} is not an object`)
      const check = CHANGE_FIELDS[step.kind as Change['kind']]
      if (!Object.hasOwn(CHANGE_FIELDS, String(step.kind)) || !check) {
        throw new JournalError(
          `${where} has an unknown kind ${JSON.stringify(step.kind)} (written by another kvmctl version?); this kvmctl cannot undo it, so nothing was undone. Undo it with the kvmctl that wrote it`,
        )
      }
      const bad = check(step)
      if (bad) throw corrupt(`${where} (${String(step.kind)}) has a bad "${bad}"`)
      // Schema 1 wrote steps before making them and had no outcome: treat each as an intent.
      const state = data.schema === 1 ? 'intent' : step.state
      if (state !== 'intent' && state !== 'done' && state !== 'reverted') throw corrupt(`${where} has a bad "state"`)
      const upgraded = step.kind === 'file' ? {real: step.path, temp: '.none.tmp', ...step} : step
      steps.push({...(upgraded as Change), state} as Step)
    }
    const owner =
      isObj(run.owner) && isInt(run.owner.pid)
        ? {pid: run.owner.pid, start: isStr(run.owner.start) ? run.owner.start : null}
        : {pid: 0, start: null}
    const state = data.schema === 1 ? (run.complete === true ? 'complete' : 'running') : run.state
    if (state !== 'running' && state !== 'complete' && state !== 'rolling-back')
      throw corrupt(`run ${run.id} has a bad "state"`)
    runs.push({id: run.id, command: run.command, startedAt: run.startedAt, owner, state, steps})
  }
  return {schema: 2, runs}
}

export async function readJournal(ctx: TuneContext): Promise<JournalFile> {
  const snap = await snapshotFile(ctx.host, JOURNAL_PATH)
  if (snap.content === undefined) return {schema: 2, runs: []}
  let data: unknown
  try {
    data = JSON.parse(snap.content.toString('utf8'))
  } catch (error) {
    throw corrupt(`not JSON (${(error as Error).message.split('\n')[0]})`)
  }
  return validateJournal(data)
}

export async function writeJournal(ctx: TuneContext, journal: JournalFile, label: string): Promise<void> {
  const {host} = ctx
  if (journal.runs.length === 0) {
    await removeFile(host, JOURNAL_PATH)
    await removeFile(host, `${STATE_DIR}/${JOURNAL_TEMP}`)
    // Leave no trace once everything is undone: the state dirs go when they are empty.
    for (const dir of [BACKUP_DIR, STATE_DIR]) await rmdir(fsPath(host, dir)).catch(() => undefined)
    crashPoint(`journal: ${label}`)
    return
  }
  for (const dir of await missingDirs(host, STATE_DIR)) await makeDir(host, dir, 0o700)
  const text = Buffer.from(JSON.stringify(journal, null, 2) + '\n')
  await atomicWrite(
    host,
    JOURNAL_PATH,
    text,
    {mode: 0o600, uid: 0, gid: 0},
    {tempName: JOURNAL_TEMP, crashLabel: `journal ${label}`},
  )
  crashPoint(`journal: ${label}`)
}

/** The run that stopped without finishing (killed, crashed), if the journal holds one. */
export function interruptedRun(journal: JournalFile): JournalRun | undefined {
  return journal.runs.find((r) => r.state !== 'complete')
}

/**
 * Refuses to start while another run is journaled unfinished: one still going (its recorded pid
 * runs with the same start time) or one interrupted, which is offered for `kvmctl tune undo`.
 */
export async function refuseInterrupted(ctx: TuneContext): Promise<void> {
  const stuck = interruptedRun(await readJournal(ctx))
  if (!stuck) return
  if (stuck.owner.pid !== process.pid && (await ownerAlive(stuck.owner))) {
    throw new OperationError(
      `another tune run is in progress: ${describeRun(stuck)}; wait for it to finish, then run again`,
    )
  }
  throw new OperationError(
    `an interrupted tune run is in the journal: ${describeRun(stuck)}; revert it with \`kvmctl tune undo\`, then run again`,
  )
}

export function describeRun(run: JournalRun): string {
  return `\`kvmctl ${run.command}\` (journal ${run.id}, started ${run.startedAt} by pid ${run.owner.pid})`
}

/** A run in progress: each change's intent is journaled before it is made, its outcome after. */
export class Transaction {
  private constructor(
    readonly ctx: TuneContext,
    readonly run: JournalRun,
  ) {}

  /** Starts a run; refuses while an interrupted run waits for `kvmctl tune undo` (call under the lock). */
  static async begin(ctx: TuneContext, command: string): Promise<Transaction> {
    await refuseInterrupted(ctx)
    const run: JournalRun = {
      id: new Date().toISOString().replace(/[:.]/g, '-') + '-' + randomBytes(2).toString('hex'),
      command,
      startedAt: new Date().toISOString(),
      owner: {pid: process.pid, start: await processStart(process.pid)},
      state: 'running',
      steps: [],
    }
    const tx = new Transaction(ctx, run)
    await tx.save('run started')
    return tx
  }

  static resume(ctx: TuneContext, run: JournalRun): Transaction {
    return new Transaction(ctx, run)
  }

  /** Writes the journal with this run in its current state (dropped once it has nothing to undo). */
  async save(label: string): Promise<void> {
    const journal = await readJournal(this.ctx)
    const others = journal.runs.filter((r) => r.id !== this.run.id)
    const keep = this.run.state !== 'complete' || this.run.steps.some((s) => s.state !== 'reverted')
    await writeJournal(this.ctx, {schema: 2, runs: keep ? [...others, this.run] : others}, label)
  }

  /**
   * Makes one change write-ahead: its intent is durable before `action` runs, and its outcome
   * after (`outcome` may add fields such as a new gid, or mark the step as never done when the
   * action changed nothing). If `action` throws, the step stays an intent: undo then checks what
   * really happened.
   */
  async change<T>(change: Change, action: () => Promise<T>, outcome?: (result: T) => Partial<Step>): Promise<T> {
    const step = {...change, state: 'intent'} as Step
    this.run.steps.push(step)
    await this.save(`intent of ${changeLabel(change)}`)
    const result = await action()
    Object.assign(step, {state: 'done'}, outcome?.(result) ?? {})
    await this.save(`outcome of ${changeLabel(change)}`)
    return result
  }

  /** Creates the missing directories along `dir`, each journaled. */
  async makeDirs(dir: string): Promise<void> {
    for (const d of await missingDirs(this.ctx.host, dir)) {
      await this.change({kind: 'mkdir', path: d}, () => makeDir(this.ctx.host, d))
    }
  }

  /** Saves a file's old bytes (when it exists) as the backup of the step about to be journaled. */
  private async backUp(path: string): Promise<{old: FileSnapshot; backup: string | undefined}> {
    const {host} = this.ctx
    const old = await snapshotFile(host, path)
    if (old.content === undefined) return {old, backup: undefined}
    const backup = `${BACKUP_DIR}/${this.run.id}/${this.run.steps.length + 1}`
    for (const d of await missingDirs(host, dirname(backup))) await makeDir(host, d, 0o700)
    await atomicWrite(host, backup, old.content, {mode: 0o600, uid: 0, gid: 0}, {crashLabel: `backup of ${path}`})
    return {old, backup}
  }

  /**
   * Writes a file atomically at its real location (a symlinked path keeps its link), after its old
   * bytes are saved and the write is journaled with the temporary name it uses.
   */
  async writeFile(path: string, content: Buffer, newMeta: FileMeta): Promise<void> {
    const {host} = this.ctx
    const {old, backup} = await this.backUp(path)
    const meta = old.meta ?? newMeta
    await this.makeDirs(dirname(old.real))
    const temp = `.${old.real.split('/').pop()}.kvmctl-${this.run.id}.tmp`
    const change: Change = {
      kind: 'file',
      path,
      real: old.real,
      ...(old.link === undefined ? {} : {link: old.link}),
      existed: old.content !== undefined,
      ...(backup === undefined ? {} : {backup, meta: old.meta}),
      ...(old.content === undefined ? {} : {before: sha256(old.content)}),
      written: sha256(content),
      temp,
    }
    await this.change(change, () =>
      atomicWrite(host, old.real, content, meta, {tempName: temp, crashLabel: `write ${path}`}),
    )
  }

  /**
   * Runs a boot loader tool that rewrites `paths`: each file's old bytes are backed up and its
   * step journaled before the tool runs; the outcome records the bytes the tool left, so undo
   * restores the backup only while those bytes stay. Returns the tool's result (the caller judges it).
   */
  async rewriteWith<T>(tool: string, paths: string[], run: () => Promise<T>): Promise<T> {
    const {host} = this.ctx
    const steps: Array<Extract<Step, {kind: 'rewrite'}>> = []
    for (const path of paths) {
      const {old, backup} = await this.backUp(path)
      const step = {
        kind: 'rewrite' as const,
        path,
        tool,
        existed: old.content !== undefined,
        ...(backup === undefined ? {} : {backup, meta: old.meta, before: sha256(old.content!)}),
        state: 'intent' as const,
      }
      this.run.steps.push(step)
      steps.push(step)
    }
    await this.save(`intent of rewrite by ${tool}`)
    const result = await run()
    crashPoint(`ran ${tool}`)
    for (const step of steps) {
      const now = await snapshotFile(host, step.path)
      Object.assign(step, {state: 'done', ...(now.content === undefined ? {} : {written: sha256(now.content)})})
    }
    await this.save(`outcome of rewrite by ${tool}`)
    return result
  }

  async finish(): Promise<void> {
    this.run.state = 'complete'
    await this.save('run complete')
  }
}

export async function removeBackups(ctx: TuneContext, runId: string): Promise<void> {
  const dir = fsPath(ctx.host, `${BACKUP_DIR}/${runId}`, false)
  await rm(dir, {recursive: true, force: true})
  await syncDir(dirname(dir)).catch(() => undefined)
}

/**
 * Forgets a run once nothing of it is left to undo. Backups go first: a crash in between leaves
 * the run journaled with every step reverted, which the next undo simply drops.
 */
export async function dropRun(ctx: TuneContext, runId: string): Promise<void> {
  await removeBackups(ctx, runId)
  const journal = await readJournal(ctx)
  await writeJournal(ctx, {schema: 2, runs: journal.runs.filter((r) => r.id !== runId)}, 'run dropped')
}

/** A change named by what it does, for crash points. */
function changeLabel(c: Change): string {
  if (c.kind === 'member') return `member ${c.user} ${c.group}`
  return `${c.kind} ${'path' in c ? c.path : 'target' in c ? c.target : 'name' in c ? c.name : c.module}`
}

export function describeChange(step: Change): string {
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
    case 'value':
      return `${step.path} back to ${step.before}`
    case 'member':
      return `remove ${step.user} from group ${step.group}`
    case 'rewrite':
      return step.existed
        ? `restore ${step.path} (rewritten by ${step.tool})`
        : `remove ${step.path} (written by ${step.tool})`
  }
}
