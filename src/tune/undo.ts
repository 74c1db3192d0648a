// `kvmctl tune undo`: reverts the most recent tune run recorded in the journal, newest change
// first, and forgets it once everything was restored.
import {requireRoot, type TuneContext} from './context.js'
import {describeStep, dropRun, readJournal, revertSteps} from './journal.js'

export interface UndoResult {
  status: 'restored' | 'nothing' | 'incomplete' | 'planned'
  run: {id: string; command: string; startedAt: string; complete: boolean} | null
  /** What was (or, with --dry-run, would be) reverted, in order. */
  steps: string[]
  problems: string[]
  /** Runs still in the journal after this one. */
  remaining: number
}

export async function undoLastRun(ctx: TuneContext, opts: {dryRun: boolean; force?: boolean}): Promise<UndoResult> {
  const journal = await readJournal(ctx)
  const run = journal.runs.at(-1)
  if (!run) return {status: 'nothing', run: null, steps: [], problems: [], remaining: 0}
  const summary = {id: run.id, command: run.command, startedAt: run.startedAt, complete: run.complete}
  const steps = [...run.steps].reverse().map(describeStep)
  if (opts.dryRun) return {status: 'planned', run: summary, steps, problems: [], remaining: journal.runs.length - 1}
  requireRoot(ctx, 'kvmctl tune undo')
  const problems = await revertSteps(ctx, run.steps, {force: opts.force ?? false})
  if (problems.length === 0) await dropRun(ctx, run.id)
  return {status: problems.length === 0 ? 'restored' : 'incomplete', run: summary, steps, problems, remaining: journal.runs.length - (problems.length === 0 ? 1 : 0)}
}
