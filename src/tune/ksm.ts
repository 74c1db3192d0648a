// `kvmctl tune ksm --on|--off`: the pure intent (src/plan/settings.ts) turned into the value of
// /sys/kernel/mm/ksm/run to write now (1 runs ksmd, 0 stops it) and the systemd-tmpfiles file
// that writes the same value at boot; applied by the shared setting runner.
import {gatherFacts} from '../host/facts.js'
import {KSM_RUN} from '../host/paths.js'
import {planKsmIntent, type KsmRequest} from '../plan/settings.js'
import {KSM_TMPFILES} from '../plan/targets.js'
import type {TuneContext} from './context.js'
import {editTmpfilesWrite} from './editors.js'
import {planFile} from './file-plan.js'
import {countChanges, type SettingPlan} from './setting.js'

export {KSM_RUN}
export {KSM_TMPFILES} from '../plan/targets.js'
export type {KsmRequest} from '../plan/settings.js'
const HEADER = '# KSM for virtual machines. Written by `kvmctl tune ksm`; revert with `kvmctl tune undo`.\n'

export async function planKsm(ctx: TuneContext, req: KsmRequest): Promise<SettingPlan> {
  const intent = planKsmIntent(await gatherFacts(ctx.host), req)
  const base = {tuner: 'ksm' as const, cmdline: null, commands: [], warnings: intent.warnings, summary: intent.summary}
  const {value} = intent
  if (intent.refusal || !value) return {...base, runtime: [], files: [], refusal: intent.refusal, changes: 0}
  const tmpfilesEdit = (old: string | undefined) => editTmpfilesWrite(old, value.path, value.after, HEADER)
  const plan: Omit<SettingPlan, 'changes'> = {
    ...base,
    runtime: [value],
    files: intent.tmpfilesLine ? [await planFile(ctx, KSM_TMPFILES, tmpfilesEdit)] : [],
    refusal: null,
  }
  return {...plan, changes: countChanges(plan)}
}
