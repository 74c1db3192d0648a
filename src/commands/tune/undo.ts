import * as Flags from '@oclif/core/flags'

import {Host} from '../../host/host.js'
import {BaseCommand} from '../../lib/base-command.js'
import {makeChalk} from '../../lib/style.js'
import {liveContext, requireRoot} from '../../tune/context.js'
import {TUNE_JSON_SCHEMA} from '../../tune/json.js'
import {acquireTuneLock} from '../../tune/lock.js'
import {renderUndo} from '../../tune/render.js'
import {undoLastRun, type UndoResult} from '../../tune/undo.js'

export default class TuneUndo extends BaseCommand {
  static override summary = 'Revert the last tune run: runtime values, mounts, groups, modules and files'
  static override description =
    'Reads the journal in /var/lib/kvmctl/tune-journal.json and reverts the most recent run, newest change first. A file edited by someone else since kvmctl wrote it is left alone (the backup path is printed) unless --force. Run again to undo earlier runs.'
  static override examples = ['<%= config.bin %> tune undo --dry-run', '<%= config.bin %> tune undo']
  static override flags = {
    force: Flags.boolean({description: 'restore files even if they changed since kvmctl wrote them'}),
    'dry-run': Flags.boolean({description: 'list what would be reverted and change nothing', default: false}),
    root: Flags.string({description: 'operate on a host tree instead of the live machine (tests)', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<{schema: typeof TUNE_JSON_SCHEMA} & UndoResult> {
    const {flags} = await this.parse(TuneUndo)
    const ctx = liveContext(await Host.open(flags.root))
    let result: UndoResult
    if (flags['dry-run']) {
      result = await undoLastRun(ctx, {dryRun: true})
    } else {
      requireRoot(ctx, 'kvmctl tune undo')
      const lock = await acquireTuneLock(ctx.host)
      try {
        result = await undoLastRun(ctx, {dryRun: false, force: flags.force})
      } finally {
        await lock.release()
      }
    }
    if (!this.jsonEnabled()) this.log(renderUndo(result, makeChalk()).join('\n'))
    if (result.status === 'incomplete') this.failed = true
    return {schema: TUNE_JSON_SCHEMA, ...result}
  }
}
