// Atomic, permission-keeping file writes under the host root. A write goes to a temporary file
// in the same directory, is fsynced, takes the old file's mode and owner, and is renamed over
// the target; the directory is fsynced so the rename itself survives a crash.
import {createHash, randomBytes} from 'node:crypto'
import {constants as fsc} from 'node:fs'
import {lstat, mkdir, open, readFile, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import type {Host} from '../host/host.js'

export interface FileMeta {
  mode: number
  uid: number
  gid: number
}

export interface FileSnapshot {
  path: string
  content: string | undefined
  meta: FileMeta | undefined
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** The current text and mode/owner of host file `path` (content undefined when absent). */
export async function snapshotFile(host: Host, path: string): Promise<FileSnapshot> {
  const real = host.path(path)
  try {
    const st = await lstat(real)
    return {path, content: await readFile(real, 'utf8'), meta: {mode: st.mode & 0o7777, uid: st.uid, gid: st.gid}}
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {path, content: undefined, meta: undefined}
    throw error
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = await open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY)
  try {
    await fd.sync()
  } finally {
    await fd.close()
  }
}

/** Writes host file `path` atomically with the given mode and owner. */
export async function atomicWrite(host: Host, path: string, content: string, meta: FileMeta): Promise<void> {
  const real = host.path(path)
  const dir = dirname(real)
  const tmp = join(dir, `.${basename(real)}.kvmctl-${process.pid}-${randomBytes(4).toString('hex')}`)
  const fd = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, meta.mode)
  try {
    try {
      await fd.writeFile(content)
      await fd.chmod(meta.mode)
      // Only root may give a file away; a non-root writer keeps its own ownership.
      if (process.getuid?.() === 0) await fd.chown(meta.uid, meta.gid)
      await fd.sync()
    } finally {
      await fd.close()
    }
    await rename(tmp, real)
  } catch (error) {
    await unlink(tmp).catch(() => undefined)
    throw error
  }
  await fsyncDir(dir)
}

/** Removes host file `path` (absent is fine) and syncs its directory. */
export async function removeFile(host: Host, path: string): Promise<void> {
  const real = host.path(path)
  try {
    await unlink(real)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  await fsyncDir(dirname(real))
}

/** Host directories along `dir` that do not exist yet, outermost first. */
export async function missingDirs(host: Host, dir: string): Promise<string[]> {
  const missing: string[] = []
  for (let d = dir; d !== '/' && d !== '.'; d = dirname(d)) {
    if (await host.exists(d)) break
    missing.unshift(d)
  }
  return missing
}

export async function makeDir(host: Host, dir: string, mode = 0o755): Promise<void> {
  await mkdir(host.path(dir), {mode})
}
