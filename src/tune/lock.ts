// Serialises tune runs: an exclusive lockfile created with O_EXCL that holds the owner's pid.
// A lock whose pid no longer runs (a crashed or killed run) is stale and is taken over.
import {constants as fsc} from 'node:fs'
import {mkdir, open, readFile, rmdir, unlink} from 'node:fs/promises'
import {dirname} from 'node:path'

import type {Host} from '../host/host.js'
import {OperationError} from '../lib/errors.js'

export const LOCK_PATH = '/run/kvmctl/tune.lock'

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface TuneLock {
  release(): Promise<void>
}

/** Takes the tune lock or throws naming the pid that holds it. */
export async function acquireTuneLock(host: Host): Promise<TuneLock> {
  const file = host.path(LOCK_PATH)
  for (let attempt = 0; attempt < 3; attempt++) {
    await mkdir(dirname(file), {recursive: true, mode: 0o755})
    try {
      const fd = await open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644)
      await fd.writeFile(`${process.pid}\n`)
      await fd.close()
      return {
        release: async () => {
          await unlink(file).catch(() => undefined)
          // Another run may be waiting to create its own lock here: only an empty dir goes.
          await rmdir(dirname(file)).catch(() => undefined)
        },
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      // ENOENT: a finishing run removed the empty lock dir between our mkdir and open.
      if (code === 'ENOENT') continue
      if (code !== 'EEXIST') throw error
    }
    const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10)
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
      throw new OperationError(`another kvmctl tune run (pid ${holder}) holds ${LOCK_PATH}; wait for it to finish`)
    }
    // Stale (dead pid or unreadable): remove it and try again.
    await unlink(file).catch(() => undefined)
  }
  throw new OperationError(`could not take ${LOCK_PATH}; remove it if no kvmctl tune run is active`)
}
