// Which hugepage pool `kvmctl selftest --hugepages` backs guest RAM with, as a pure function of
// the host facts: the default size through MAP_HUGETLB, or another size that has a hugetlbfs
// mount of its own. When none can, the remedy is the tune command that would make one, and never
// a command that would change nothing (the one the user may just have run).
import type {HostFacts, HugepagePool} from '../host/facts.js'
import {manual, type Remedy} from '../lib/remedy.js'
import {formatBytes} from '../lib/size.js'
import {pageSizeLabel} from './hugepage-math.js'
import {defaultPageSize, planHugepagesIntent, type HugepagesRequest} from './hugepages.js'
import {hugepagesRemedyFor, kvmGroupGid} from './remedies.js'

export interface SelftestPoolPlan {
  /** The pool's page size in kB, and how many of its pages the guest needs. */
  sizeKb: number
  need: number
  freeBefore: number
  backing: 'hugetlb' | 'hugetlbfs'
  /** The hugetlbfs mount for a size other than the default. */
  dir?: string
}

export interface SelftestPoolProblem {
  detail: string
  /** check's remedy builder on the request that would make the pool enough; none when no pools. */
  remedy: Remedy | null
}

function memFlag(bytes: number): string {
  return bytes % 2 ** 30 === 0 ? `${bytes / 2 ** 30}G` : `${Math.ceil(bytes / 2 ** 20)}M`
}

/** The pool to use, or why none can back `memBytes` of guest RAM and what would fix it. */
export function planSelftestPool(f: HostFacts, memBytes: number): SelftestPoolPlan | SelftestPoolProblem {
  if (f.hugepages.length === 0) {
    const detail = 'this kernel has no hugepage pools (/sys/kernel/mm/hugepages is missing: CONFIG_HUGETLBFS off?)'
    return {detail, remedy: null}
  }
  const defaultKb = defaultPageSize(f) / 1024
  const mountOf = (p: HugepagePool) =>
    f.mounts.find(
      (m) =>
        m.fstype === 'hugetlbfs' &&
        (/(?:^|,)pagesize=([^,]+)/.exec(m.options)?.[1] ?? pageSizeLabel(defaultKb * 1024)) ===
          pageSizeLabel(p.sizeKb * 1024),
    )
  // The default size first: MAP_HUGETLB needs no mount.
  const pools = [...f.hugepages].sort(
    (a, b) => Number(b.sizeKb === defaultKb) - Number(a.sizeKb === defaultKb) || a.sizeKb - b.sizeKb,
  )
  for (const p of pools) {
    const sizeBytes = p.sizeKb * 1024
    if (memBytes % sizeBytes !== 0) continue
    const need = memBytes / sizeBytes
    if (p.free < need) continue
    if (p.sizeKb === defaultKb) return {sizeKb: p.sizeKb, need, freeBefore: p.free, backing: 'hugetlb'}
    const mount = mountOf(p)
    if (mount) return {sizeKb: p.sizeKb, need, freeBefore: p.free, backing: 'hugetlbfs', dir: mount.target}
  }
  // None can: describe the default pool (or the only one) and what would make it enough.
  const target = pools.find((p) => memBytes % (p.sizeKb * 1024) === 0) ?? pools[0]
  const sizeBytes = target.sizeKb * 1024
  const need = Math.ceil(memBytes / sizeBytes)
  const busy = target.total - target.free
  const detail = `${need} hugepages of ${formatBytes(sizeBytes)} needed, ${target.free} free of ${target.total} reserved${target.sizeKb !== defaultKb && !mountOf(target) ? ' and no hugetlbfs mount with that page size' : ''}`
  // Reserve room for the pages others hold plus the guest's.
  const req: HugepagesRequest = {
    vmMem: memFlag((busy + need) * sizeBytes),
    ...(target.sizeKb === defaultKb ? {} : {pageSize: pageSizeLabel(sizeBytes)}),
  }
  let wouldChange = true
  try {
    wouldChange = planHugepagesIntent(f, req).runtimeChanges > 0
  } catch {
    // A plan that cannot be made here (unknown facts, not enough memory) still names the command.
  }
  const pool = `the ${formatBytes(sizeBytes)} pool holds ${target.total} pages`
  const inUse = `${pool} but ${busy} are in use by other processes`
  const remedy = wouldChange
    ? hugepagesRemedyFor({pageBytes: sizeBytes, gid: kvmGroupGid(f), isDefault: target.sizeKb === defaultKb}, req.vmMem)
    : manual(`${inUse}: stop them, or reserve more with a larger --vm-mem`)
  return {detail, remedy}
}

export function isPoolProblem(p: SelftestPoolPlan | SelftestPoolProblem): p is SelftestPoolProblem {
  return 'detail' in p
}
