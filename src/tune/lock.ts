// Serialises tune runs (apply and undo) on one host root with flock(2) on a file descriptor this
// process holds for the whole run: the kernel grants it to one open file at a time and drops it
// when the holder exits in any way (SIGKILL included), so there is no stale lock to judge and an
// empty or half-written lock file means nothing. Node has no flock(), so util-linux flock(1) takes
// it on our descriptor (passed as its fd 3): the lock belongs to the open file description we
// share, and stays ours after flock(1) exits. The holder's pid, start time (/proc/PID/stat field
// 22, so a reused pid is not mistaken for it) and command are written into the file only to tell
// a second run who holds it. Release unlinks the file while still locked; a run that locked an
// unlinked file sees its inode differ from the path's and tries again.
import {spawn} from 'node:child_process'
import {constants as fsc} from 'node:fs'
import {type FileHandle, lstat, mkdir, open, readFile, rmdir, unlink} from 'node:fs/promises'
import {dirname} from 'node:path'

import type {Host} from '../host/host.js'
import {OperationError} from '../lib/errors.js'
import {fsPath} from './files.js'

export const LOCK_PATH = '/run/kvmctl/tune.lock'
const BUSY = 75

export interface LockOwner {
  pid: number
  /** Field 22 of /proc/PID/stat (clock ticks after boot), or null where /proc is unreadable. */
  start: string | null
  command: string
}

/** The start time of process `pid` (field 22 of /proc/PID/stat), or null when it does not run. */
export async function processStart(pid: number): Promise<string | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (stat === undefined) return null
  // Field 2 (comm) is in parentheses and may hold spaces: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return rest[22 - 3] ?? null
}

/** Whether the process recorded as `owner` still runs (same pid and the same start time). */
export async function ownerAlive(owner: Pick<LockOwner, 'pid' | 'start'>): Promise<boolean> {
  const start = await processStart(owner.pid)
  return start !== null && (owner.start === null || start === owner.start)
}

export interface TuneLock {
  release(): Promise<void>
}

function flockNonBlocking(handle: FileHandle): Promise<'locked' | 'busy'> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', ['--nonblock', '--conflict-exit-code', String(BUSY), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', handle.fd],
    })
    let err = ''
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new OperationError(
          e.code === 'ENOENT'
            ? 'flock(1) is missing; install util-linux, which kvmctl tune needs to lock the host'
            : `flock: ${e.message}`,
        ),
      ),
    )
    child.on('exit', (code) => {
      if (code === 0) resolve('locked')
      else if (code === BUSY) resolve('busy')
      else reject(new OperationError(`flock ${LOCK_PATH} failed (exit ${code}): ${err.trim() || 'no output'}`))
    })
  })
}

async function describeHolder(file: string): Promise<string> {
  // The holder writes its record right after locking: give it a moment before saying less.
  for (let attempt = 0; attempt < 20; attempt++) {
    const text = await readFile(file, 'utf8').catch(() => '')
    try {
      const owner = JSON.parse(text) as LockOwner
      if (Number.isInteger(owner.pid)) return `pid ${owner.pid}, \`${owner.command}\``
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return 'owner not recorded'
}

/** Takes the tune lock for `command`, or throws one line naming the run that holds it. */
export async function acquireTuneLock(host: Host, command = 'kvmctl tune'): Promise<TuneLock> {
  const file = fsPath(host, LOCK_PATH)
  // The first dir this run made (a tree without /run gets one): release removes it again when empty.
  let made: string | undefined
  for (let attempt = 0; attempt < 5; attempt++) {
    made ??= await mkdir(dirname(file), {recursive: true, mode: 0o755})
    let handle: FileHandle
    try {
      handle = await open(file, fsc.O_RDWR | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o644)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      // ENOENT: a finishing run removed the empty lock dir between our mkdir and open.
      if (code === 'ENOENT') continue
      if (code === 'ELOOP')
        throw new OperationError(`${LOCK_PATH} is a symbolic link; remove it (no kvmctl run makes one)`)
      throw error
    }
    let state: 'locked' | 'busy'
    try {
      state = await flockNonBlocking(handle)
    } catch (error) {
      await handle.close()
      throw error
    }
    if (state === 'busy') {
      await handle.close()
      throw new OperationError(
        `another kvmctl tune run holds ${LOCK_PATH} (${await describeHolder(file)}); wait for it to finish, then run again`,
      )
    }
    // Locked; but if the holder before us unlinked the file meanwhile, our lock is on a dead inode.
    const [mine, now] = await Promise.all([handle.stat(), lstat(file).catch(() => undefined)])
    if (!now || now.ino !== mine.ino || now.dev !== mine.dev) {
      await handle.close()
      continue
    }
    const owner: LockOwner = {pid: process.pid, start: await processStart(process.pid), command}
    const record = Buffer.from(JSON.stringify(owner) + '\n')
    await handle.truncate(0)
    await handle.write(record, 0, record.length, 0)
    return {
      release: async () => {
        // Unlink while still locked, then unlock by closing: see the inode check above.
        await unlink(file).catch(() => undefined)
        await handle.close()
        // Another run may be creating its own lock here: only an empty dir goes.
        await rmdir(dirname(file)).catch(() => undefined)
        if (made !== undefined && made !== dirname(file)) await rmdir(made).catch(() => undefined)
      },
    }
  }
  throw new OperationError(`could not take ${LOCK_PATH}: it kept being replaced; run again`)
}
