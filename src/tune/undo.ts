// `kvmctl tune undo`: reverts the most recent tune run recorded in the journal, newest change
// first, and forgets it once nothing is left. An interrupted run (killed mid-apply or mid-undo)
// is undone the same way: every revert checks the real state, so steps that never happened pass.
import {requireRoot, type TuneContext} from './context.js'
import {rm} from 'node:fs/promises'

import {fsPath, pathKind} from './files.js'
import {
  BACKUP_DIR,
  STATE_DIR,
  describeChange,
  type JournalRun,
  readJournal,
  Transaction,
  writeJournal,
} from './journal.js'
import {revertRun} from './revert.js'

export interface UndoResult {
  status: 'restored' | 'nothing' | 'incomplete' | 'planned'
  run: {id: string; command: string; startedAt: string; complete: boolean} | null
  /** What was (or, with --dry-run, would be) reverted, in order. */
  steps: string[]
  /** Left on purpose, with the reason (in use, or not created by that run). */
  kept: string[]
  problems: string[]
  /** Runs still in the journal after this one. */
  remaining: number
}

function summary(run: JournalRun): NonNullable<UndoResult['run']> {
  return {id: run.id, command: run.command, startedAt: run.startedAt, complete: run.state === 'complete'}
}

export async function undoLastRun(ctx: TuneContext, opts: {dryRun: boolean; force?: boolean}): Promise<UndoResult> {
  const journal = await readJournal(ctx)
  const run = journal.runs.at(-1)
  if (!run) {
    // A run killed while writing its first journal entry leaves only a temporary file, and backups
    // belong to journaled runs only: tidy both.
    if (!opts.dryRun && (await pathKind(ctx.host, STATE_DIR)) !== 'absent') {
      requireRoot(ctx, 'kvmctl tune undo')
      await rm(fsPath(ctx.host, BACKUP_DIR, false), {recursive: true, force: true})
      await writeJournal(ctx, journal, 'empty')
    }
    return {status: 'nothing', run: null, steps: [], kept: [], problems: [], remaining: 0}
  }
  if (opts.dryRun) {
    const steps = [...run.steps]
      .reverse()
      .filter((s) => s.state !== 'reverted')
      .map(describeChange)
    return {status: 'planned', run: summary(run), steps, kept: [], problems: [], remaining: journal.runs.length - 1}
  }
  requireRoot(ctx, 'kvmctl tune undo')
  const about = summary(run)
  const report = await revertRun(Transaction.resume(ctx, run), {force: opts.force ?? false})
  const done = report.problems.length === 0
  return {
    status: done ? 'restored' : 'incomplete',
    run: about,
    ...report,
    remaining: journal.runs.length - (done ? 1 : 0),
  }
}
