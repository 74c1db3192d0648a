// A planned change to one file: the new bytes, the unified diff a user sees, and the mode/owner
// the write keeps (the old file's, or root 0644 for a new one). Editors work on byte strings
// (latin1: one char per byte), so every byte they do not own comes back exactly as it was read.
import type {TuneContext} from './context.js'
import {unifiedDiff} from './diff.js'
import {type FileMeta, type FileSnapshot, snapshotFile} from './files.js'

export interface FileChange {
  path: string
  action: 'create' | 'modify' | 'none'
  /** Unified diff of the change ('' when none), as text for people (invalid UTF-8 shows as U+FFFD). */
  diff: string
  /** Bytes to write. */
  content?: Buffer
  meta?: FileMeta
}

/** An editor: the old file as a byte string (undefined: no file) to the new one. */
export type ByteEditor = (old: string | undefined) => string

/** The change `edit` makes to a file whose current state is `old` (pure). */
export function planFileChange(old: FileSnapshot, edit: ByteEditor): FileChange {
  const before = old.content?.toString('latin1')
  const after = edit(before)
  const action = before === undefined ? 'create' : after === before ? 'none' : 'modify'
  const diff = Buffer.from(unifiedDiff(old.path, before, after), 'latin1').toString('utf8')
  return {
    path: old.path,
    action,
    diff,
    content: Buffer.from(after, 'latin1'),
    meta: old.meta ?? {mode: 0o644, uid: 0, gid: 0},
  }
}

export async function planFile(ctx: TuneContext, path: string, edit: ByteEditor): Promise<FileChange> {
  return planFileChange(await snapshotFile(ctx.host, path), edit)
}
