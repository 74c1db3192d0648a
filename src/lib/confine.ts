// Path confinement for --root trees: a host path is resolved inside the root the way openat2(2)
// with RESOLVE_IN_ROOT resolves it, component by component: an absolute symlink target starts
// again at the root, and '..' never climbs above it. So a link in a tree (proc/sys/vm/x -> /etc/y,
// or ../../../../outside) always lands inside the tree, never on the machine running kvmctl.
// The live host is the root '/', where this is plain symlink resolution (realpath).
// Callers that write then open the result with O_NOFOLLOW (or create it with O_EXCL, or rename
// onto it), so the last component cannot be swapped for a link between resolving and opening.
import {lstatSync, readlinkSync} from 'node:fs'
import {join} from 'node:path'

/** Linux gives up after 40 links (MAXSYMLINKS); so do we. */
const MAX_LINKS = 40

export interface ResolveOptions {
  /** Follow a symlink in the last component too (open without O_NOFOLLOW). Default true. */
  followLast?: boolean
}

export class PathLoopError extends Error {
  readonly code = 'ELOOP'
}

/**
 * The real location of host path `p` under `root` (absolute), never outside it. Components that
 * do not exist yet are appended as they are (a file about to be created).
 */
export function resolveInRoot(root: string, p: string, options: ResolveOptions = {}): string {
  const followLast = options.followLast ?? true
  const todo = p.split('/').filter((c) => c !== '' && c !== '.')
  const done: string[] = []
  let links = 0
  let missing = false
  while (todo.length > 0) {
    const name = todo.shift()!
    if (name === '.' || name === '') continue
    if (name === '..') {
      done.pop()
      continue
    }
    if (missing) {
      done.push(name)
      continue
    }
    const here = join(root, ...done, name)
    let isLink = false
    try {
      isLink = lstatSync(here).isSymbolicLink()
    } catch {
      missing = true
    }
    if (!isLink || (todo.length === 0 && !followLast)) {
      done.push(name)
      continue
    }
    if (++links > MAX_LINKS) throw new PathLoopError(`${p}: too many levels of symbolic links`)
    const target = readlinkSync(here)
    if (target.startsWith('/')) done.length = 0
    todo.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'))
  }
  return join(root, ...done)
}

/** Whether `real` lies in `root` (the root itself included). */
export function isInRoot(root: string, real: string): boolean {
  const r = root.endsWith('/') ? root : `${root}/`
  return real === root || real.startsWith(r) || root === '/'
}
