// The arithmetic of a hugepage reservation, kept free of I/O so tests can pin it.
//
// Headroom rule (documented in README.md and `tune hugepages --help`):
//   pages = ceil( ceil(vmMem / pageSize) × vms × (1 + headroom/100) )
// with the default headroom 7.4 % for pages smaller than 1 GiB and 0 % for 1 GiB pages.
// 1024 MiB on 2 MiB pages: 512 × 1.074 = 549.9 -> 550, the count the guides use. The margin
// covers the VMM's own hugetlb mappings (firmware, ROMs, video memory) and a page or two lost to
// fragmentation. On 1 GiB pages a percentage would round up to a whole extra GiB, so none is added.
import {UsageError} from '../lib/errors.js'
import {formatBytes, parseSize} from '../lib/size.js'

export const MIB = 2 ** 20
export const GIB = 2 ** 30

/** Default headroom in percent for a page size. */
export function defaultHeadroom(pageSizeBytes: number): number {
  return pageSizeBytes >= GIB ? 0 : 7.4
}

export interface PageCountInput {
  vmMemBytes: number
  vms: number
  pageSizeBytes: number
  headroomPct: number
}

/** Pages each VM needs: its memory rounded up to whole pages (a hugetlbfs backing is page-sized). */
export function pagesPerVm(vmMemBytes: number, pageSizeBytes: number): number {
  return Math.ceil(vmMemBytes / pageSizeBytes)
}

/** The pool size for the request, per the headroom rule above. Exact integer arithmetic. */
export function plannedPages(input: PageCountInput): number {
  const base = BigInt(pagesPerVm(input.vmMemBytes, input.pageSizeBytes) * input.vms)
  // Headroom in hundredths of a percent, so 7.4 % is exactly 740 / 10000.
  const basisPoints = BigInt(Math.round(input.headroomPct * 100))
  const scaled = base * (10000n + basisPoints)
  return Number((scaled + 9999n) / 10000n)
}

/**
 * Memory the host keeps outside every hugepage pool: the larger of 512 MiB and 5 % of MemTotal.
 * Below that the kernel, page cache and the VMM processes themselves start to thrash or OOM.
 */
export function memoryFloor(memTotalBytes: number): number {
  return Math.max(512 * MIB, Math.ceil(memTotalBytes * 0.05))
}

/** Text that names a page size the way the kernel's sysfs and cmdline do: 2M, 1G. */
export function pageSizeLabel(bytes: number): string {
  return bytes >= GIB && bytes % GIB === 0
    ? `${bytes / GIB}G`
    : bytes >= MIB && bytes % MIB === 0
      ? `${bytes / MIB}M`
      : `${bytes / 1024}K`
}

/** The sysfs directory name for a page size: hugepages-2048kB. */
export function pageSizeDir(bytes: number): string {
  return `hugepages-${bytes / 1024}kB`
}

/** Parses --page-size against the sizes the host offers (from /sys/kernel/mm/hugepages). */
export function parsePageSize(value: string, offeredBytes: number[]): number {
  let bytes: number
  try {
    bytes = parseSize(value, '--page-size')
  } catch {
    throw new UsageError(
      `--page-size ${JSON.stringify(value)} is not a page size; use one this host offers: ${offeredBytes.map(pageSizeLabel).join(', ')}`,
    )
  }
  if (!offeredBytes.includes(bytes)) {
    throw new UsageError(
      `--page-size ${value} is not offered by this host; use one of: ${offeredBytes.map(pageSizeLabel).join(', ') || '(none: the kernel has no hugetlb support)'}`,
    )
  }
  return bytes
}

/** Parses a whole number flag with a lower bound, as a one-line usage error. */
export function parseCount(value: string | number, flag: string, min: number): number {
  const text = String(value).trim()
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(
      `${flag} ${JSON.stringify(String(value))} must be a whole number of at least ${min}; e.g. ${flag} ${Math.max(min, 1)}`,
    )
  }
  return Number(text)
}

export function parseHeadroom(value: string): number {
  const text = value.trim()
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) > 100) {
    throw new UsageError(`--headroom ${JSON.stringify(value)} must be a percentage from 0 to 100; e.g. --headroom 7.4`)
  }
  return Number(text)
}

/** Refuses requests larger than the host, or that would leave it below the memory floor. */
export function checkMemoryFits(opts: {poolBytesAfter: number; memTotalBytes: number; requestText: string}): void {
  const {poolBytesAfter, memTotalBytes, requestText} = opts
  if (poolBytesAfter >= memTotalBytes) {
    throw new UsageError(
      `${requestText} needs ${formatBytes(poolBytesAfter)} of hugepages, more than this host has (${formatBytes(memTotalBytes)}); use a smaller --vm-mem or fewer --vms`,
    )
  }
  const floor = memoryFloor(memTotalBytes)
  const left = memTotalBytes - poolBytesAfter
  if (left < floor) {
    throw new UsageError(
      `${requestText} would leave the host ${formatBytes(left)} outside hugepages, below the safe floor of ${formatBytes(floor)} (max of 512 MiB and 5 % of ${formatBytes(memTotalBytes)}); ask for less`,
    )
  }
}
