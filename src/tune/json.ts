// The `--json` envelopes of the tune commands, pinned by schemas/tune-*.schema.json. Plans carry
// each file's full new content internally; the JSON shows the diff instead.
import type {FileChange} from './file-plan.js'

export const TUNE_JSON_SCHEMA = 1

export type JsonPlan<P extends {files: FileChange[]}> = Omit<P, 'files'> & {
  files: Array<Pick<FileChange, 'path' | 'action' | 'diff'>>
}

export interface TuneJson<P extends {files: FileChange[]}, R> {
  schema: typeof TUNE_JSON_SCHEMA
  dryRun: boolean
  plan: JsonPlan<P>
  /** null with --dry-run. */
  result: R | null
}

export function tuneJson<P extends {files: FileChange[]}, R>(
  dryRun: boolean,
  plan: P,
  result: R | null,
): TuneJson<P, R> {
  return {
    schema: TUNE_JSON_SCHEMA,
    dryRun,
    plan: {...plan, files: plan.files.map(({path, action, diff}) => ({path, action, diff}))},
    result,
  }
}
