// `kvmctl tune thp --mode always|madvise|never`: transparent hugepages now through
// /sys/kernel/mm/transparent_hugepage/enabled, and at every boot through `transparent_hugepage=`
// on the kernel command line.
import {THP_ENABLED} from '../host/paths.js'
import {UsageError} from '../lib/errors.js'
import {planCmdline} from './bootloader.js'
import type {ParamEdit} from './cmdline.js'
import type {TuneContext} from './context.js'
import {countChanges, readSetting, type SettingPlan} from './setting.js'

export {THP_ENABLED}
export const THP_MODES = ['always', 'madvise', 'never'] as const
export type ThpMode = (typeof THP_MODES)[number]

export interface ThpRequest {
  mode: string
  persist?: boolean
}

export const thpEdits = (mode: ThpMode): ParamEdit[] => [{op: 'set', key: 'transparent_hugepage', value: mode}]

export async function planThp(ctx: TuneContext, req: ThpRequest): Promise<SettingPlan> {
  if (!(THP_MODES as readonly string[]).includes(req.mode)) {
    throw new UsageError(`--mode ${JSON.stringify(req.mode)} is not a THP mode; use always, madvise or never`)
  }
  const mode = req.mode as ThpMode
  const now = await readSetting(ctx, THP_ENABLED)
  const base = {tuner: 'thp' as const, runtime: [], files: [], cmdline: null, commands: [], warnings: [] as string[]}
  if (now === undefined) {
    return {...base, summary: 'no transparent hugepages in this kernel', refusal: `this kernel has no transparent hugepages (${THP_ENABLED} is missing); it needs CONFIG_TRANSPARENT_HUGEPAGE=y`, changes: 0}
  }
  const cmdline = req.persist === false ? null : await planCmdline(ctx, thpEdits(mode))
  const plan: Omit<SettingPlan, 'changes'> = {
    ...base,
    summary: `transparent hugepages now: ${now}; wanted: ${mode}`,
    runtime: [{path: THP_ENABLED, before: now, after: mode}],
    cmdline,
    refusal: null,
  }
  if (cmdline?.refusal) plan.warnings.push(`not persisted: ${cmdline.refusal}`)
  return {...plan, changes: countChanges(plan)}
}
