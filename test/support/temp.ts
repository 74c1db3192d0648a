// Temporary folders of one test process, all removed when the process exits (tests passed or not),
// so a suite run leaves nothing in /tmp; per-test `after` hooks may still remove theirs earlier.
import {rmSync} from 'node:fs'
import {mkdtemp} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const made: string[] = []

process.once('exit', () => {
  for (const dir of made) {
    try {
      rmSync(dir, {recursive: true, force: true})
    } catch {
      // A folder a test left immutable or mounted stays; the run's result does not depend on it.
    }
  }
})

/** A new folder /tmp/PREFIXxxxxxx, removed when this test process exits. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}
