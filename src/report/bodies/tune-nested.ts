// `kvmctl tune nested`: plan, then reload the vendor module under the tune lock when it changes.
import {Host} from '../../host/host.js'
import type {CommandBody} from '../../lib/command-body.js'
import {makeStyles} from '../../lib/style.js'
import {liveContext} from '../../tune/context.js'
import {type TuneJson, tuneJson} from '../../tune/json.js'
import {acquireTuneLock} from '../../tune/lock.js'
import {applyNested, type NestedPlan, type NestedResult, nestedNotPossible, planNested} from '../../tune/nested.js'
import {renderNestedPlan, renderNestedResult} from '../../tune/render.js'

export type TuneNestedJson = TuneJson<NestedPlan, NestedResult>

export interface TuneNestedFlagValues {
  disable?: boolean
  'persist-only'?: boolean
  'dry-run': boolean
  root?: string
}

export const tuneNestedBody: CommandBody<TuneNestedFlagValues, TuneNestedJson> = async ({flags}, io) => {
  const c = await makeStyles()
  const ctx = liveContext(await Host.open(flags.root))
  const req = {disable: flags.disable, persistOnly: flags['persist-only']}
  let plan = await planNested(ctx, req)
  let result: NestedResult | null = null
  if (flags['dry-run']) {
    io.log([...renderNestedPlan(plan, c), `  ${plan.explanation}`].join('\n'))
  } else {
    // Only a run that will change something takes the lock (and so needs to write /run).
    const lock = plan.changes > 0 ? await acquireTuneLock(ctx.host, 'kvmctl tune nested') : undefined
    try {
      if (lock) plan = await planNested(ctx, req)
      result = await applyNested(ctx, plan)
    } finally {
      await lock?.release()
    }
    io.log([...renderNestedPlan(plan, c), ...renderNestedResult(plan, result, c)].join('\n'))
  }
  // What cannot be done here fails the same with and without --dry-run (exit 1, nothing changed).
  const failed = result === null ? nestedNotPossible(plan) : !['applied', 'unchanged'].includes(result.status)
  return {result: tuneJson(flags['dry-run'], plan, result), failed}
}
