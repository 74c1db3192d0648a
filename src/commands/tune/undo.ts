import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../lib/base-command.js'
import {type TuneUndoJson, tuneUndoBody} from '../../report/bodies/tune-undo.js'

export default class TuneUndo extends BaseCommand {
  static override summary = 'Revert the last tune run: runtime values, mounts, groups, modules and files'
  static override description =
    'Reads the write-ahead journal in /var/lib/kvmctl/tune-journal.json and reverts the most recent run, newest change first, including a run that was interrupted (killed or crashed): each revert checks the real state, so a change that never happened is passed over. A file edited by someone else since kvmctl wrote it is left alone (the backup path is printed) unless --force; a group, mount or module state that came into use since is kept, with the reason. Exit 0 when the run is undone, 1 when a revert failed (run again to retry) or the journal is unreadable or has a step this kvmctl does not know (one line, nothing changed). Run again to undo earlier runs.'
  static override examples = ['<%= config.bin %> tune undo --dry-run', '<%= config.bin %> tune undo']
  static override flags = {
    force: Flags.boolean({description: 'restore files even if they changed since kvmctl wrote them'}),
    'dry-run': Flags.boolean({description: 'list what would be reverted and change nothing', default: false}),
    root: Flags.string({description: 'operate on a host tree instead of the live machine (tests)', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<TuneUndoJson> {
    return this.runBody(tuneUndoBody)
  }
}
