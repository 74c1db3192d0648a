// The shared shape and runner of the smaller tuners (ksm, thp, iommu, access): a plan of kernel
// values to write now, files to write, kernel command line edits for the next boot and tuner
// steps (groups, members), applied as one journaled run that is verified by reading everything
// back, rolled back whole on any failure, and reverted by `kvmctl tune undo`.
import {selectedMode} from '../host/facts.js'
import {OperationError} from '../lib/errors.js'
import {applyCmdline, type CmdlinePlan, cmdlineTools} from './bootloader.js'
import {requireRoot, type TuneContext} from './context.js'
import type {FileChange} from './file-plan.js'
import {snapshotFile} from './files.js'
import {refuseInterrupted, Transaction} from './journal.js'
import {writeKernelValue} from './pool.js'
import {rollBackInto} from './revert.js'
import {refuseLiveToolsUnderRoot} from './tools.js'

export type TunerName = 'ksm' | 'thp' | 'iommu' | 'access'

/** A kernel value to write now (sysfs/procfs); `before` as read, `after` as wanted. */
export interface ValueChange {
  path: string
  before: string
  after: string
}

export interface SettingPlan {
  tuner: TunerName
  /** One line: what the host has now and what applying gives it. */
  summary: string
  runtime: ValueChange[]
  files: FileChange[]
  /** Kernel command line edits for the next boot, or null when none are needed. */
  cmdline: CmdlinePlan | null
  /** Other commands applying runs, as a user would type them. */
  commands: string[]
  warnings: string[]
  /** Set when this host cannot be tuned so: why, and what to do instead. Nothing is changed. */
  refusal: string | null
  changes: number
}

export interface SettingResult {
  status: 'applied' | 'unchanged' | 'refused' | 'rolled-back'
  /** What was read back after applying. */
  verified: string[]
  journalId: string | null
  messages: string[]
  rollbackProblems: string[]
}

/** Tuner steps that are neither values, files nor the command line (run inside the journal). */
export type ExtraSteps = (tx: Transaction) => Promise<string[]>

export function countChanges(plan: Omit<SettingPlan, 'changes'>, extra = 0): number {
  return (
    plan.runtime.filter((r) => r.before !== r.after).length +
    plan.files.filter((f) => f.action !== 'none').length +
    (plan.cmdline?.refusal ? 0 : (plan.cmdline?.changes ?? 0)) +
    extra
  )
}

/** Reads a kernel value as applying compares it: the selected word of a choice file, else the text. */
export async function readSetting(ctx: TuneContext, path: string): Promise<string | undefined> {
  const text = await ctx.host.read(path)
  return text === undefined ? undefined : selectedMode(text)
}

export async function applySetting(
  ctx: TuneContext,
  plan: SettingPlan,
  opts: {command: string; extra?: ExtraSteps},
): Promise<SettingResult> {
  const result: SettingResult = {status: 'unchanged', verified: [], journalId: null, messages: [], rollbackProblems: []}
  if (plan.refusal) {
    result.status = 'refused'
    result.messages.push(plan.refusal)
    return result
  }
  if (plan.changes === 0) {
    result.messages.push(`nothing to change: ${plan.summary}`)
    return result
  }
  requireRoot(ctx, `kvmctl ${opts.command}`)
  refuseLiveToolsUnderRoot(ctx.host, cmdlineTools(plan.cmdline), `kvmctl ${opts.command}`)
  await refuseInterrupted(ctx)
  const tx = await Transaction.begin(ctx, opts.command)
  result.journalId = tx.run.id
  try {
    if (opts.extra) result.messages.push(...(await opts.extra(tx)))
    for (const change of plan.runtime) {
      if (change.before === change.after) continue
      await tx.change({...change, kind: 'value'}, () => writeKernelValue(ctx.host, change.path, change.after))
      const got = await readSetting(ctx, change.path)
      if (got !== change.after)
        throw new OperationError(`${change.path} reads ${got ?? '(missing)'} after writing ${change.after}`)
      result.verified.push(`${change.path} = ${got}`)
      result.messages.push(`${change.path}: ${change.before} -> ${got}`)
    }
    for (const f of plan.files) {
      if (f.action === 'none') continue
      await tx.writeFile(f.path, f.content!, f.meta!)
      const now = await snapshotFile(ctx.host, f.path)
      if (!now.content?.equals(f.content!))
        throw new OperationError(`${f.path} does not hold the planned content after writing it`)
      result.verified.push(`${f.path} holds the planned content`)
      result.messages.push(`${f.action === 'create' ? 'created' : 'updated'} ${f.path}`)
    }
    if (plan.cmdline && plan.cmdline.changes > 0 && !plan.cmdline.refusal) {
      const outcome = await applyCmdline(ctx, tx, plan.cmdline)
      result.messages.push(...outcome.messages)
      result.verified.push(`next boot: ${outcome.after}`)
    }
    await tx.finish()
    result.status = 'applied'
  } catch (error) {
    result.status = 'rolled-back'
    await rollBackInto(tx, error, result)
  }
  return result
}
