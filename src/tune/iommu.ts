// `kvmctl tune iommu [--passthrough-mode pt|dma]`: the pure intent (src/plan/iommu.ts) turned into
// kernel command line edits for the boot loader found; applied by the shared setting runner.
import {gatherFacts} from '../host/facts.js'
import {planIommuIntent, type IommuRequest} from '../plan/iommu.js'
import {planCmdline} from './bootloader.js'
import type {TuneContext} from './context.js'
import {countChanges, type SettingPlan} from './setting.js'

export {PASSTHROUGH_MODES, type IommuRequest} from '../plan/iommu.js'

export async function planIommu(ctx: TuneContext, req: IommuRequest): Promise<SettingPlan> {
  const intent = planIommuIntent(await gatherFacts(ctx.host), req)
  const base = {tuner: 'iommu' as const, runtime: [], files: [], commands: [], warnings: intent.warnings}
  if (intent.refusal) return {...base, summary: intent.summary, cmdline: null, refusal: intent.refusal, changes: 0}
  if (intent.nothingToAdd)
    return {...base, summary: `${intent.summary}; ${intent.nothingToAdd}`, cmdline: null, refusal: null, changes: 0}
  const cmdline = await planCmdline(ctx, intent.edits)
  const plan: Omit<SettingPlan, 'changes'> = {...base, summary: intent.summary, cmdline, refusal: cmdline.refusal}
  return {...plan, changes: countChanges(plan)}
}
