// Writing the hugepage pool: the kernel's per-size and per-node nr_hugepages files (their paths
// come from src/plan/hugepages.ts, their counts are read with the host facts). Writes go through
// a PoolBackend so tests can stand in for a kernel that grants fewer pages than asked.
import {constants as fsc} from 'node:fs'
import {open} from 'node:fs/promises'

import type {Host} from '../host/host.js'
import {OperationError} from '../lib/errors.js'
import {parseCounter} from '../lib/parse.js'
import {printable} from '../lib/printable.js'
import {fsPath} from './files.js'

export const COMPACT_PATH = '/proc/sys/vm/compact_memory'

export interface PoolBackend {
  /** Asks the kernel for `count` persistent pages through pool file `path`. */
  write(path: string, count: number): Promise<void>
  /** Reads a pool file back: what the kernel actually holds. */
  read(path: string): Promise<number>
  /** Asks the kernel to compact memory, which can free contiguous ranges for more pages. */
  compact(): Promise<void>
}

/**
 * Writes a procfs/sysfs value without creating or appending: O_WRONLY | O_TRUNC, at the path
 * resolved inside the root and opened with O_NOFOLLOW, so a link in a tree never gets a file
 * outside it written.
 */
export async function writeKernelValue(host: Host, path: string, value: string): Promise<void> {
  const fd = await open(fsPath(host, path), fsc.O_WRONLY | fsc.O_TRUNC | fsc.O_NOFOLLOW)
  try {
    await fd.write(`${value}\n`)
  } finally {
    await fd.close()
  }
}

/** The real backend: writes the kernel's files under the host root and reads them back. */
export class SysfsPool implements PoolBackend {
  constructor(protected readonly host: Host) {}

  async write(path: string, count: number): Promise<void> {
    await writeKernelValue(this.host, path, String(count))
  }

  async read(path: string): Promise<number> {
    const text = await this.host.readValue(path)
    const n = parseCounter(text)
    if (n === undefined)
      throw new OperationError(`${path}: expected a page count, read "${printable(text ?? '(nothing)', 20)}"`)
    return n
  }

  async compact(): Promise<void> {
    try {
      await writeKernelValue(this.host, COMPACT_PATH, '1')
    } catch (error) {
      // A kernel without CONFIG_COMPACTION (or a tree without the file) cannot compact: go on without.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
}
