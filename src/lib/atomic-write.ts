// Writes a file so readers see either the old content or the new, never a part: the data goes to
// a temporary file in the same directory (same filesystem, so rename is atomic), is fsynced, then
// renamed over the target, and the directory is fsynced so the rename survives a crash.
// The temporary name starts with a dot and ends in .tmp: NFD skips dot files in features.d and
// node_exporter's textfile collector reads only *.prom, so neither picks up a half-written file.
// rename() replaces the last path component itself: a caller that means to keep a symlink passes
// the link's resolved target (src/lib/confine.ts), not the link.
import {randomBytes} from 'node:crypto'
import {constants as fsc} from 'node:fs'
import {open, rename, stat, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {crashPoint} from './crash-point.js'

export interface AtomicWriteOptions {
  /** Permission bits of the new file; by default those of the file it replaces, else 0o644. */
  mode?: number
  /** Owner of the new file, applied only when running as root (only root may give a file away). */
  owner?: {uid: number; gid: number}
  /**
   * The temporary file's name (in the target's directory), for writers that journal it first so
   * a crash can be cleaned up; it is replaced if it exists. Default: a fresh random name.
   */
  tempName?: string
  /** Names the crash points of this write (src/lib/crash-point.ts); none without it. */
  crashLabel?: string
}

/** The temporary name a write of `path` uses when the caller fixes it by a tag. */
export function tempNameFor(path: string, tag: string): string {
  return `.${basename(path)}.${tag}.tmp`
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path)
  const temp = join(dir, options.tempName ?? tempNameFor(path, `${process.pid}.${randomBytes(4).toString('hex')}`))
  const mode =
    options.mode ??
    (await stat(path).then(
      (st) => st.mode & 0o7777,
      () => 0o644,
    ))
  // A fixed name may be left from a crash: replace it, but never follow a link planted there.
  if (options.tempName) await unlink(temp).catch(() => undefined)
  const file = await open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, mode)
  try {
    await file.writeFile(data)
    // open() applies the umask; chmod gives the file exactly the mode asked for.
    await file.chmod(mode)
    if (options.owner && process.getuid?.() === 0) await file.chown(options.owner.uid, options.owner.gid)
    await file.sync()
  } catch (error) {
    await file.close()
    await unlink(temp).catch(() => {})
    throw error
  }
  await file.close()
  if (options.crashLabel) crashPoint(`${options.crashLabel}: temporary file written`)
  try {
    await rename(temp, path)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }
  await syncDir(dir)
}

/** Fsyncs directory `dir`, so a rename or unlink in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
