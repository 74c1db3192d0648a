// File changes under the host root, as bytes: snapshots of what a file was (bytes, mode, owner,
// and the symlink it was reached through), atomic writes that keep mode and owner, removals and
// new directories. Every path is resolved inside --root (src/lib/confine.ts) and opened with
// O_NOFOLLOW, so a link in a tree never redirects a read or write outside it; on the live host a
// symlinked file (NixOS /etc/fstab -> /etc/static/fstab) is edited at its target, keeping the link.
import {createHash} from 'node:crypto'
import {constants as fsc} from 'node:fs'
import {lstat, mkdir, open, readlink, rename, rmdir, symlink, unlink} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import type {Host} from '../host/host.js'
import {syncDir, writeFileAtomic} from '../lib/atomic-write.js'
import {resolveInRoot} from '../lib/confine.js'
import {expectedFailure, OperationError, unexpectedFailure} from '../lib/errors.js'

export interface FileMeta {
  mode: number
  uid: number
  gid: number
}

export interface FileSnapshot {
  /** The host path as asked. */
  path: string
  /** The host path of the file itself: `path` with every symlink resolved inside the root. */
  real: string
  /** What `path` points to when it is a symlink (readlink), else undefined. */
  link: string | undefined
  /** The file's bytes; undefined when it does not exist. */
  content: Buffer | undefined
  meta: FileMeta | undefined
}

export const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')

/** Where host path `p` is on this machine, resolved inside the root (symlinks included unless followLast is false). */
export function fsPath(host: Host, p: string, followLast = true): string {
  return resolveInRoot(host.root ?? '/', p, {followLast})
}

/** The host path (as the tree sees it) of the file `p` resolves to. */
export function realHostPath(host: Host, p: string): string {
  const real = fsPath(host, p)
  if (!host.root) return real
  return real.slice(host.root.length) || '/'
}

/**
 * An error's message as one line (a failed step's reason in a result): kvmctl's own errors and the
 * system's (ENOENT, EACCES: they name the file) as they are; anything else is a bug, said as one.
 */
export function errorLine(error: unknown): string {
  const expected = expectedFailure(error)
  if (expected) return expected.message.split('\n')[0]
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (error instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) return error.message.split('\n')[0]
  return unexpectedFailure(error)?.message ?? (error instanceof Error ? error.message : String(error)).split('\n')[0]
}

/** One line for a file kvmctl cannot treat as a file, naming it and the fix. */
function notAFile(path: string, what: string): OperationError {
  return new OperationError(
    `${path} is ${what}, not a regular file; kvmctl edits it as a file: move it aside (or fix the link) and run again`,
  )
}

function fileError(path: string, error: NodeJS.ErrnoException): Error {
  switch (error.code) {
    case 'EISDIR':
      return notAFile(path, 'a directory')
    case 'ELOOP':
      return new OperationError(`${path}: too many levels of symbolic links; fix the link and run again`)
    case 'EACCES':
    case 'EPERM':
      return new OperationError(`${path}: permission denied (${error.code}); run as root`)
    case 'ENOTDIR':
      return new OperationError(`${path}: a component of the path is not a directory; fix the tree and run again`)
    default:
      return error
  }
}

/** The current bytes, mode and owner of host file `path` (content undefined when absent). */
export async function snapshotFile(host: Host, path: string): Promise<FileSnapshot> {
  let real: string
  let link: string | undefined
  try {
    real = fsPath(host, path)
    const st = await lstat(fsPath(host, path, false)).catch(() => undefined)
    if (st?.isSymbolicLink()) link = await readlink(fsPath(host, path, false))
  } catch (error) {
    throw fileError(path, error as NodeJS.ErrnoException)
  }
  const realHost = host.root ? real.slice(host.root.length) || '/' : real
  let handle
  try {
    handle = await open(real, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK)
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    // Writing through a dangling link would create its target somewhere unexpected (with --root,
    // a link to an outside path lands inside the tree): refuse it instead.
    if (e.code === 'ENOENT' && link !== undefined) {
      // A link out of a replay root is the host's usage error (exit 2), as for every read.
      if (host.root) host.path(path)
      throw new OperationError(
        `${path} is a symbolic link to ${link}, which does not exist${host.root ? ' inside --root' : ''}; fix the link and run again`,
      )
    }
    if (e.code === 'ENOENT') return {path, real: realHost, link, content: undefined, meta: undefined}
    throw fileError(path, e)
  }
  try {
    const st = await handle.stat()
    if (st.isDirectory()) throw notAFile(path, 'a directory')
    if (!st.isFile()) throw notAFile(path, 'a device, socket or pipe')
    const content = await handle.readFile()
    return {path, real: realHost, link, content, meta: {mode: st.mode & 0o7777, uid: st.uid, gid: st.gid}}
  } catch (error) {
    throw fileError(path, error as NodeJS.ErrnoException)
  } finally {
    await handle.close()
  }
}

export interface WriteOptions {
  /** Fixed temporary name (journaled first, so a crash can be cleaned up). */
  tempName?: string
  crashLabel?: string
}

/** Writes host file `path` (at its resolved target) atomically with the given mode and owner. */
export async function atomicWrite(
  host: Host,
  path: string,
  content: Uint8Array,
  meta: FileMeta,
  options: WriteOptions = {},
): Promise<void> {
  const real = fsPath(host, path)
  const st = await lstat(real).catch(() => undefined)
  if (st?.isDirectory()) throw notAFile(path, 'a directory')
  try {
    await writeFileAtomic(real, content, {mode: meta.mode, owner: {uid: meta.uid, gid: meta.gid}, ...options})
  } catch (error) {
    throw fileError(path, error as NodeJS.ErrnoException)
  }
}

/** Removes host file `path` itself (a link is removed, not followed; absent is fine) and syncs its directory. */
export async function removeFile(host: Host, path: string): Promise<void> {
  const real = fsPath(host, path, false)
  try {
    await unlink(real)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw fileError(path, error as NodeJS.ErrnoException)
  }
  await syncDir(dirname(real))
}

/** Removes a temporary file a crashed write may have left beside host file `real`. */
export async function removeTemp(host: Host, real: string, tempName: string): Promise<void> {
  await removeFile(host, join(dirname(real), tempName))
}

/** Puts symlink `path` -> `target` back atomically (a temporary link renamed into place). */
export async function restoreLink(host: Host, path: string, target: string): Promise<void> {
  const real = fsPath(host, path, false)
  const temp = join(dirname(real), `.${path.split('/').pop()}.kvmctl-link.tmp`)
  await unlink(temp).catch(() => undefined)
  await symlink(target, temp)
  await rename(temp, real)
  await syncDir(dirname(real))
}

/** What host path `p` is right now, without following a final link. */
export async function pathKind(host: Host, p: string): Promise<'absent' | 'dir' | 'link' | 'file' | 'other'> {
  const st = await lstat(fsPath(host, p, false)).catch(() => undefined)
  if (!st) return 'absent'
  return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other'
}

/** Host directories along `dir` that do not exist yet, outermost first. */
export async function missingDirs(host: Host, dir: string): Promise<string[]> {
  const missing: string[] = []
  for (let d = dir; d !== '/' && d !== '.'; d = dirname(d)) {
    if ((await lstat(fsPath(host, d)).catch(() => undefined)) !== undefined) break
    missing.unshift(d)
  }
  return missing
}

/** Creates one directory (its parent exists) and syncs the parent so it survives a crash. */
export async function makeDir(host: Host, dir: string, mode = 0o755): Promise<void> {
  const real = fsPath(host, dir)
  await mkdir(real, {mode})
  await syncDir(dirname(real))
}

/** Removes an empty directory kvmctl made: 'removed', 'absent', or why it stays. */
export async function removeDir(host: Host, dir: string): Promise<'removed' | 'absent' | string> {
  const real = fsPath(host, dir, false)
  try {
    await rmdir(real)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return 'absent'
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return 'it is not empty'
    if (code === 'EBUSY') return 'it is a mount point in use'
    if (code === 'ENOTDIR') return 'it is no longer a directory'
    throw error
  }
  await syncDir(dirname(real))
  return 'removed'
}
