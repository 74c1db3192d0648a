// File changes under the host root for tuning: snapshots of what a file was, atomic writes that
// keep its mode and owner (src/lib/atomic-write.ts), removals and new directories.
import {createHash} from 'node:crypto'
import {lstat, mkdir, unlink} from 'node:fs/promises'
import {dirname} from 'node:path'

import type {Host} from '../host/host.js'
import {syncDir, writeFileAtomic} from '../lib/atomic-write.js'
import {OperationError} from '../lib/errors.js'

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
  // A path out of a replay root is a usage error (exit 2) before anything is read.
  const real = host.path(path)
  const read = await host.readResult(path)
  if (!read.ok && read.absent) return {path, content: undefined, meta: undefined}
  if (!read.ok) throw new OperationError(`${path}: cannot plan a change to it: ${read.reason}; fix or remove that file first`)
  const st = await lstat(real)
  return {path, content: read.text, meta: {mode: st.mode & 0o7777, uid: st.uid, gid: st.gid}}
}

/** Writes host file `path` atomically with the given mode and owner. */
export async function atomicWrite(host: Host, path: string, content: string, meta: FileMeta): Promise<void> {
  await writeFileAtomic(host.path(path), content, {mode: meta.mode, owner: {uid: meta.uid, gid: meta.gid}})
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
  await syncDir(dirname(real))
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
