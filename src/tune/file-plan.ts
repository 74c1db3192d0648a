// A planned change to one file: the new text, the unified diff a user sees, and the mode/owner
// the write keeps (the old file's, or root 0644 for a new one).
import type {TuneContext} from './context.js'
import {unifiedDiff} from './diff.js'
import {type FileMeta, snapshotFile} from './files.js'

export interface FileChange {
  path: string
  action: 'create' | 'modify' | 'none'
  /** Unified diff of the change ('' when none). */
  diff: string
  /** Text to write. */
  content?: string
  meta?: FileMeta
}

export async function planFile(ctx: TuneContext, path: string, edit: (old: string | undefined) => string): Promise<FileChange> {
  const old = await snapshotFile(ctx.host, path)
  const content = edit(old.content)
  const action = old.content === undefined ? 'create' : content === old.content ? 'none' : 'modify'
  return {path, action, diff: unifiedDiff(path, old.content, content), content, meta: old.meta ?? {mode: 0o644, uid: 0, gid: 0}}
}
