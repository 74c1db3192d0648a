// `kvmctl tune nested`: turn nested virtualization on (or off) in the vendor KVM module, verify
// it in sysfs and persist it in /etc/modprobe.d. Refuses to reload a module that VMs are using,
// and explains the cases where no reload can help (built-in module, PVM host, no KVM at all).
import {gatherFacts} from '../host/facts.js'
import {paramEnabled} from '../host/derived.js'
import {
  nestedEdits,
  NOT_POSSIBLE,
  planNestedIntent,
  type NestedIntent,
  type NestedRequest,
  type VendorModule,
} from '../plan/nested.js'
import {type CmdlinePlan, planCmdline, runCmdlinePlan} from './bootloader.js'
import {requireRoot, type TuneContext} from './context.js'
import {editModprobeOptions} from './editors.js'
import {type FileChange, planFile} from './file-plan.js'
import {errorLine} from './files.js'
import {refuseInterrupted, Transaction} from './journal.js'
import {cannotReload, rollback} from './revert.js'
import {refuseLiveToolsUnderRoot, runTool} from './tools.js'

export type {NestedOutcome, NestedRequest, VendorModule} from '../plan/nested.js'

export interface NestedPlan extends Omit<NestedIntent, 'persist' | 'runtimeChanges'> {
  files: FileChange[]
  /** Built-in module: the kernel command line edit that sets the parameter at the next boot. */
  cmdline: CmdlinePlan | null
  changes: number
}

export interface NestedResult {
  status: 'applied' | 'unchanged' | 'refused' | 'not-possible' | 'failed' | 'rolled-back'
  /** The parameter after the run, as read back from sysfs. */
  nestedAfter: string | null
  files: Array<{path: string; written: boolean}>
  journalId: string | null
  messages: string[]
  rollbackProblems: string[]
}

const enabled = (v: string | null | undefined) => paramEnabled(v ?? undefined) ?? null

/**
 * The plan: the pure intent from the host facts (src/plan/nested.ts), with the modprobe.d file as
 * a diff against the file as it is. Reads the host, changes nothing.
 */
export async function planNested(ctx: TuneContext, req: NestedRequest): Promise<NestedPlan> {
  const facts = await gatherFacts(ctx.host, {processes: true})
  const {persist, runtimeChanges, ...intent} = planNestedIntent(facts, req)
  const files: FileChange[] = []
  if (persist)
    files.push(
      await planFile(ctx, persist.path, (old) =>
        editModprobeOptions(old, persist.module, persist.param, persist.value),
      ),
    )
  const plan: NestedPlan = {
    ...intent,
    files,
    cmdline: null,
    changes: runtimeChanges + files.filter((f) => f.action !== 'none').length,
  }
  if (plan.outcome === 'builtin' && plan.module) {
    // Not reloadable: the parameter goes on the kernel command line for the next boot.
    const cmdline = await planCmdline(ctx, nestedEdits(plan.module, plan.wantEnabled ? '1' : '0'))
    const what = cmdline.edits.join(', ')
    plan.cmdline = cmdline
    plan.changes = cmdline.refusal ? 0 : cmdline.changes
    plan.explanation = cmdline.refusal
      ? `${plan.explanation}; ${cmdline.refusal}`
      : plan.changes === 0
        ? `${plan.module === 'arm64' ? 'arm64 KVM' : plan.module} is built into the kernel; the kernel command line (${cmdline.loader}) already has it (${what}): reboot to apply it`
        : `${plan.module === 'arm64' ? 'arm64 KVM' : plan.module} is built into the kernel, so it cannot be reloaded: kvmctl edits the kernel command line (${cmdline.loader}: ${what}); it takes effect at the next boot`
  }
  return plan
}

/** Whether the plan cannot be carried out here (exit 1 with and without --dry-run). */
export function nestedNotPossible(plan: NestedPlan): boolean {
  if (plan.outcome === 'builtin') return !plan.cmdline || plan.cmdline.refusal !== null
  return NOT_POSSIBLE.includes(plan.outcome)
}

export async function applyNested(ctx: TuneContext, plan: NestedPlan): Promise<NestedResult> {
  const result: NestedResult = {
    status: 'unchanged',
    nestedAfter: plan.current,
    files: [],
    journalId: null,
    messages: [],
    rollbackProblems: [],
  }
  if (plan.outcome === 'builtin' && plan.cmdline && !plan.cmdline.refusal) {
    const run = await runCmdlinePlan(ctx, plan.cmdline, `tune nested${plan.wantEnabled ? '' : ' --disable'}`)
    result.status = run.status === 'rolled-back' ? 'rolled-back' : run.status === 'applied' ? 'applied' : 'unchanged'
    result.journalId = run.journalId
    result.rollbackProblems = run.rollbackProblems
    result.messages.push(...(run.status === 'unchanged' ? [plan.explanation] : run.messages))
    return result
  }
  switch (plan.outcome) {
    case 'unchanged':
      result.messages.push(plan.explanation)
      return result
    case 'pvm':
    case 'builtin':
    case 'no-kvm':
      result.status = 'not-possible'
      result.messages.push(plan.explanation)
      return result
    case 'blocked-in-use':
      result.status = 'refused'
      result.messages.push(plan.explanation)
      return result
  }
  requireRoot(ctx, 'kvmctl tune nested')
  refuseLiveToolsUnderRoot(ctx.host, plan.outcome === 'reload' ? ['modprobe'] : [], 'kvmctl tune nested')
  await refuseInterrupted(ctx)
  if (plan.changes === 0) {
    result.messages.push('nothing to change: the module file already holds the value')
    return result
  }
  const module = plan.module as VendorModule
  const want = plan.wantEnabled ? '1' : '0'
  // Unloading a module that cannot be loaded again (its .ko gone after a kernel upgrade) would
  // leave the host without KVM: prove it loads before anything is changed.
  if (plan.outcome === 'reload' && plan.loaded) {
    const why = await cannotReload(ctx, module)
    if (why) {
      result.status = 'refused'
      result.messages.push(
        `not unloading ${module}: ${why}. Nothing was changed; reinstall the modules of the running kernel (or reboot into the new one), or add --persist-only`,
      )
      return result
    }
  }
  const tx = await Transaction.begin(ctx, plan.argv.slice(1).join(' '))
  result.journalId = tx.run.id
  const fail = async (message: string) => {
    result.status = 'rolled-back'
    result.messages.push(message)
    const report = await rollback(tx)
    result.rollbackProblems = report.problems
    result.messages.push(...report.kept)
    if (report.problems.length === 0) result.journalId = null
    result.nestedAfter = (await ctx.host.readValue(`/sys/module/${module}/parameters/nested`)) ?? null
    result.messages.push(
      report.problems.length === 0 && report.kept.length === 0
        ? `rolled back: ${module} is as it was`
        : 'rollback was incomplete; see rollbackProblems',
    )
    return result
  }
  try {
    if (plan.outcome === 'reload') {
      const failure = await tx.change(
        {kind: 'module', module, param: 'nested', before: plan.loaded ? plan.current : null},
        async () => {
          if (plan.loaded) {
            const r = await runTool(ctx.host, 'modprobe', ['-r', module])
            if (r.exitCode !== 0) return `${r.command} failed (exit ${r.exitCode}): ${r.output || 'no output'}`
          }
          const r = await runTool(ctx.host, 'modprobe', [module, `nested=${want}`])
          return r.exitCode === 0 ? undefined : `${r.command} failed (exit ${r.exitCode}): ${r.output || 'no output'}`
        },
      )
      if (failure) return await fail(failure)
      const after = (await ctx.host.readValue(`/sys/module/${module}/parameters/nested`)) ?? null
      result.nestedAfter = after
      if (enabled(after) !== plan.wantEnabled)
        return await fail(
          `/sys/module/${module}/parameters/nested reads ${after ?? '(missing)'} after the load, not ${want}`,
        )
      result.messages.push(
        `${plan.loaded ? 'reloaded' : 'loaded'} ${module}: /sys/module/${module}/parameters/nested reads ${after}`,
      )
    }
    for (const f of plan.files) {
      if (f.action === 'none') continue
      await tx.writeFile(f.path, f.content!, f.meta!)
      result.files.push({path: f.path, written: true})
      result.messages.push(`${f.action === 'create' ? 'created' : 'updated'} ${f.path}`)
    }
    await tx.finish()
  } catch (error) {
    return await fail(errorLine(error))
  }
  result.status = 'applied'
  if (plan.outcome === 'persist-only') result.messages.push(`nested=${want} applies at the next load of ${module}`)
  return result
}
