// The hugepage pool as the kernel exposes it: per-size counts in /sys/kernel/mm/hugepages and
// per-node counts in /sys/devices/system/node/nodeN/hugepages. Writes go through a PoolBackend
// so tests can stand in for a kernel that grants fewer pages than asked.
import {constants as fsc} from 'node:fs'
import {open} from 'node:fs/promises'

import type {Host} from '../host/host.js'
import {OperationError} from '../lib/errors.js'
import {parseCounter} from '../lib/parse.js'
import {printable} from '../lib/printable.js'
import {pageSizeDir} from '../plan/hugepage-math.js'
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
    if (n === undefined) throw new OperationError(`${path}: expected a page count, read "${printable(text ?? '(nothing)', 20)}"`)
    return n
  }

  async compact(): Promise<void> {
    await writeKernelValue(this.host, COMPACT_PATH, '1')
  }
}

export function poolPath(sizeBytes: number, node: number | null): string {
  return node === null
    ? `/sys/kernel/mm/hugepages/${pageSizeDir(sizeBytes)}/nr_hugepages`
    : `/sys/devices/system/node/node${node}/hugepages/${pageSizeDir(sizeBytes)}/nr_hugepages`
}

export interface Meminfo {
  memTotalBytes: number
  hugePagesTotal: number
  hugePagesFree: number
  defaultPageSizeBytes: number
}

export function parseMeminfo(text: string): Meminfo {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)
    return parseCounter(m?.[1])
  }
  return {
    memTotalBytes: (field('MemTotal') ?? 0) * 1024,
    hugePagesTotal: field('HugePages_Total') ?? 0,
    hugePagesFree: field('HugePages_Free') ?? 0,
    defaultPageSizeBytes: (field('Hugepagesize') ?? 0) * 1024,
  }
}

export interface PoolInventory {
  meminfo: Meminfo
  /** Page sizes the kernel offers, in bytes, ascending. */
  sizes: number[]
  /** NUMA node numbers (empty on a kernel without NUMA sysfs). */
  nodes: number[]
  /** Current persistent page count per size (global). */
  counts: Map<number, number>
}

export async function readInventory(host: Host): Promise<PoolInventory> {
  const meminfo = parseMeminfo((await host.read('/proc/meminfo')) ?? '')
  const sizes = ((await host.list('/sys/kernel/mm/hugepages')) ?? [])
    .map((d) => /^hugepages-(\d+)kB$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => (parseCounter(m[1]) ?? 0) * 1024)
    .filter((size) => Number.isSafeInteger(size) && size > 0)
    .sort((a, b) => a - b)
  const nodes = ((await host.list('/sys/devices/system/node')) ?? [])
    .map((d) => /^node(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => parseCounter(m[1]))
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b)
  const counts = new Map<number, number>()
  for (const size of sizes) {
    counts.set(size, (await host.readNumber(poolPath(size, null), parseCounter)) ?? 0)
  }
  return {meminfo, sizes, nodes, counts}
}

/** Per-node counts of one page size (nodes whose file is missing are left out). */
export async function nodeCounts(host: Host, sizeBytes: number, nodes: number[]): Promise<Array<{node: number; count: number}>> {
  const out: Array<{node: number; count: number}> = []
  for (const node of nodes) {
    const v = await host.readValue(poolPath(sizeBytes, node))
    const count = parseCounter(v)
    if (count !== undefined) out.push({node, count})
  }
  return out
}
