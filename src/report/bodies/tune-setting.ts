// The bodies of the smaller tune commands (ksm, thp, iommu, access): plan (validating input,
// exit 2), then with --dry-run print it, else take the tune lock, plan again under it, apply and
// print the result. A refusal is the same answer with or without --dry-run: exit 1.
import {Host} from '../../host/host.js'
import type {CommandBody, CommandIO} from '../../lib/command-body.js'
import {makeStyles} from '../../lib/style.js'
import {type AccessPlan, accessSteps, planAccess} from '../../tune/access.js'
import {liveContext, requireRoot, type TuneContext} from '../../tune/context.js'
import {planIommu} from '../../tune/iommu.js'
import {planKsm} from '../../tune/ksm.js'
import {acquireTuneLock} from '../../tune/lock.js'
import {applySetting, type SettingPlan, type SettingResult} from '../../tune/setting.js'
import {renderSettingPlan, renderSettingResult, type SettingJson, settingJson} from '../../tune/setting-render.js'
import {planThp} from '../../tune/thp.js'

interface CommonFlags {
  'dry-run': boolean
  root?: string
}

async function runSetting<P extends SettingPlan>(
  io: CommandIO,
  flags: CommonFlags,
  command: (plan: P) => string,
  plan: (ctx: TuneContext) => Promise<P>,
  apply: (ctx: TuneContext, plan: P) => Promise<SettingResult>,
): Promise<{result: SettingJson; failed: boolean}> {
  const c = await makeStyles()
  const ctx = liveContext(await Host.open(flags.root))
  let planned = await plan(ctx)
  if (flags['dry-run']) {
    io.log(renderSettingPlan(planned, c).join('\n'))
    return {result: settingJson(true, planned, null), failed: planned.refusal !== null}
  }
  let result: SettingResult
  if (planned.changes > 0 && !planned.refusal) {
    requireRoot(ctx, `${io.bin} ${command(planned)}`)
    const lock = await acquireTuneLock(ctx.host, `kvmctl ${command(planned)}`)
    try {
      planned = await plan(ctx)
      result = await apply(ctx, planned)
    } finally {
      await lock.release()
    }
  } else {
    result = await apply(ctx, planned)
  }
  io.log([...renderSettingPlan(planned, c), ...renderSettingResult(result, c)].join('\n'))
  return {
    result: settingJson(false, planned, result),
    failed: result.status === 'refused' || result.status === 'rolled-back',
  }
}

export interface TuneKsmFlagValues extends CommonFlags {
  on?: boolean
  off?: boolean
  persist: boolean
}

export const tuneKsmBody: CommandBody<TuneKsmFlagValues, SettingJson> = async ({flags}, io) => {
  const req = {on: flags.on, off: flags.off, persist: flags.persist}
  const command = `tune ksm ${flags.on ? '--on' : '--off'}${flags.persist ? '' : ' --no-persist'}`
  return runSetting(
    io,
    flags,
    () => command,
    (ctx) => planKsm(ctx, req),
    (ctx, plan) => applySetting(ctx, plan, {command}),
  )
}

export interface TuneThpFlagValues extends CommonFlags {
  mode: string
  persist: boolean
}

export const tuneThpBody: CommandBody<TuneThpFlagValues, SettingJson> = async ({flags}, io) => {
  const req = {mode: flags.mode, persist: flags.persist}
  const command = `tune thp --mode ${flags.mode}${flags.persist ? '' : ' --no-persist'}`
  return runSetting(
    io,
    flags,
    () => command,
    (ctx) => planThp(ctx, req),
    (ctx, plan) => applySetting(ctx, plan, {command}),
  )
}

export interface TuneIommuFlagValues extends CommonFlags {
  'passthrough-mode'?: string
}

export const tuneIommuBody: CommandBody<TuneIommuFlagValues, SettingJson> = async ({flags}, io) => {
  const req = {passthroughMode: flags['passthrough-mode']}
  const command = `tune iommu${req.passthroughMode ? ` --passthrough-mode ${req.passthroughMode}` : ''}`
  return runSetting(
    io,
    flags,
    () => command,
    (ctx) => planIommu(ctx, req),
    (ctx, plan) => applySetting(ctx, plan, {command}),
  )
}

export interface TuneAccessFlagValues extends CommonFlags {
  user?: string
}

export const tuneAccessBody: CommandBody<TuneAccessFlagValues, SettingJson> = async ({flags}, io) =>
  runSetting<AccessPlan>(
    io,
    flags,
    (plan) => `tune access --user ${plan.user}`,
    (ctx) => planAccess(ctx, {user: flags.user}),
    (ctx, plan) => applySetting(ctx, plan, {command: `tune access --user ${plan.user}`, extra: accessSteps(ctx, plan)}),
  )
