// `kvmctl tune hugepages`: plan (every value validated, exit 2), then apply under the tune lock.
import {Host} from '../../host/host.js'
import type {CommandBody} from '../../lib/command-body.js'
import {makeStyles} from '../../lib/style.js'
import {liveContext, requireRoot} from '../../tune/context.js'
import {
  applyHugepages,
  type HugepagesPlan,
  type HugepagesRequest,
  type HugepagesResult,
  planHugepages,
} from '../../tune/hugepages.js'
import {type TuneJson, tuneJson} from '../../tune/json.js'
import {acquireTuneLock} from '../../tune/lock.js'
import {renderHugepagesPlan, renderHugepagesResult} from '../../tune/render.js'

export type TuneHugepagesJson = TuneJson<HugepagesPlan, HugepagesResult>

export interface TuneHugepagesFlagValues {
  'vm-mem': string
  vms: string
  'page-size'?: string
  headroom?: string
  node?: string[]
  nodes?: string
  group?: string
  'create-group'?: boolean
  mount: string
  persist: boolean
  runtime?: boolean
  'allow-partial'?: boolean
  'dry-run': boolean
  root?: string
}

export const tuneHugepagesBody: CommandBody<TuneHugepagesFlagValues, TuneHugepagesJson> = async ({flags}, io) => {
  const c = await makeStyles()
  const ctx = liveContext(await Host.open(flags.root))
  const req: HugepagesRequest = {
    vmMem: flags['vm-mem'],
    vms: flags.vms,
    pageSize: flags['page-size'],
    headroom: flags.headroom,
    node: flags.node,
    nodes: flags.nodes,
    group: flags.group,
    createGroup: flags['create-group'],
    mount: flags.mount,
    persist: flags.persist,
    runtime: flags.runtime,
    allowPartial: flags['allow-partial'],
  }
  // Planning validates every value (exit 2) before the root check and the lock.
  let plan = await planHugepages(ctx, req)
  let result: HugepagesResult | null = null
  if (flags['dry-run']) {
    io.log(renderHugepagesPlan(plan, c).join('\n'))
  } else {
    requireRoot(ctx, `${io.bin} tune hugepages`)
    const lock = await acquireTuneLock(ctx.host, 'kvmctl tune hugepages')
    try {
      plan = await planHugepages(ctx, req)
      io.log(renderHugepagesPlan(plan, c).join('\n'))
      ;({plan, result} = await applyHugepages(ctx, req, plan))
    } finally {
      await lock.release()
    }
    io.log(renderHugepagesResult(result, c).join('\n'))
  }
  const failed = result !== null && (result.status === 'rolled-back' || result.status === 'failed')
  return {result: tuneJson(flags['dry-run'], plan, result), failed}
}
