// `kvmctl tune undo`: revert the newest journaled run under the tune lock.
import {Host} from '../../host/host.js'
import type {CommandBody} from '../../lib/command-body.js'
import {makeStyles} from '../../lib/style.js'
import {liveContext, requireRoot} from '../../tune/context.js'
import {TUNE_JSON_SCHEMA} from '../../tune/json.js'
import {acquireTuneLock} from '../../tune/lock.js'
import {renderUndo} from '../../tune/render.js'
import {undoLastRun, type UndoResult} from '../../tune/undo.js'

export interface TuneUndoFlagValues {
  force?: boolean
  'dry-run': boolean
  root?: string
}

export type TuneUndoJson = {schema: typeof TUNE_JSON_SCHEMA} & UndoResult

export const tuneUndoBody: CommandBody<TuneUndoFlagValues, TuneUndoJson> = async ({flags}, io) => {
  const ctx = liveContext(await Host.open(flags.root))
  let result: UndoResult
  if (flags['dry-run']) {
    result = await undoLastRun(ctx, {dryRun: true})
  } else {
    requireRoot(ctx, `${io.bin} tune undo`)
    const lock = await acquireTuneLock(ctx.host, 'kvmctl tune undo')
    try {
      result = await undoLastRun(ctx, {dryRun: false, force: flags.force})
    } finally {
      await lock.release()
    }
  }
  io.log(renderUndo(result, await makeStyles()).join('\n'))
  return {result: {schema: TUNE_JSON_SCHEMA, ...result}, failed: result.status === 'incomplete'}
}
