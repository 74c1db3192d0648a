// `kvmctl tune thp --mode always|madvise|never`: the pure intent (src/plan/settings.ts) turned into
// the value of /sys/kernel/mm/transparent_hugepage/enabled now and `transparent_hugepage=` on the
// kernel command line of the boot loader found.
import {gatherFacts} from '../host/facts.js'
import {THP_ENABLED} from '../host/paths.js'
import {planThpIntent, type ThpRequest} from '../plan/settings.js'
import {planCmdline} from './bootloader.js'
import type {TuneContext} from './context.js'
import {countChanges, type SettingPlan} from './setting.js'

export {THP_ENABLED}
export {THP_MODES, thpEdits, type ThpMode, type ThpRequest} from '../plan/settings.js'

export async function planThp(ctx: TuneContext, req: ThpRequest): Promise<SettingPlan> {
  const intent = planThpIntent(await gatherFacts(ctx.host), req)
  const base = {tuner: 'thp' as const, files: [], commands: [], warnings: intent.warnings, summary: intent.summary}
  if (intent.refusal || !intent.value) {
    return {...base, runtime: [], cmdline: null, refusal: intent.refusal, changes: 0}
  }
  const cmdline = intent.edits.length ? await planCmdline(ctx, intent.edits) : null
  const plan: Omit<SettingPlan, 'changes'> = {...base, runtime: [intent.value], cmdline, refusal: null}
  if (cmdline?.refusal) plan.warnings.push(`not persisted: ${cmdline.refusal}`)
  return {...plan, changes: countChanges(plan)}
}
