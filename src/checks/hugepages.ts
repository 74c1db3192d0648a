// Guest memory: hugepage pools of each size, hugetlbfs mounts, transparent hugepages and KSM.
import {isUnknown, type HostFacts} from '../host/facts.js'
import {HUGEPAGES_DIR, KSM_RUN, MOUNTS, THP_ENABLED} from '../host/paths.js'
import {formatBytes} from '../lib/size.js'
import {hugepagesRemedy, mountRemedy, poolSize} from '../plan/remedies.js'
import {ksmOnRemedy, thpRemedy} from '../plan/settings.js'
import {notCaptured, type Check} from './types.js'

export function hugepageChecks(f: HostFacts): Check[] {
  return [...pools(f), mounts(f), thp(f), ksm(f)]
}

function pools(f: HostFacts): Check[] {
  const defaultKb = f.meminfo.Hugepagesize
  if (isUnknown(f, 'hugepages'))
    return [notCaptured({id: 'hugepages.pools', area: 'hugepages', title: 'hugepage pools'}, `${HUGEPAGES_DIR}/`)]
  if (f.hugepages.length === 0) {
    return [
      {
        id: 'hugepages.pools',
        area: 'hugepages',
        title: 'hugepage pools',
        status: 'skip',
        detail: 'no /sys/kernel/mm/hugepages: the kernel has no hugetlb support',
      },
    ]
  }
  const anyReserved = f.hugepages.some((p) => p.total > 0)
  return f.hugepages.map((p) => {
    const size = formatBytes(p.sizeKb * 1024)
    const isDefault = p.sizeKb === defaultKb || (defaultKb === undefined && p === f.hugepages[0])
    const detail = `${p.total} total, ${p.free} free, ${p.reserved} reserved${p.surplus ? `, ${p.surplus} surplus` : ''}${isDefault ? ' (default size)' : ''}`
    const base = {id: `hugepages.${p.sizeKb}kB`, area: 'hugepages' as const, title: `${size} hugepages`}
    if (p.total > 0) return {...base, status: 'pass' as const, detail}
    // Optional tuning, noted once for the whole host, on the default size, when no pool holds any page.
    if (isDefault && !anyReserved) {
      return {
        ...base,
        status: 'info' as const,
        detail: `${detail}: guests get ordinary pages (hugepages are optional tuning)`,
        remedy: hugepagesRemedy(f),
      }
    }
    return {...base, status: 'skip' as const, detail: `${detail}: none reserved`}
  })
}

function mounts(f: HostFacts): Check {
  const base = {id: 'hugepages.hugetlbfs', area: 'hugepages' as const, title: 'hugetlbfs mounted'}
  if (isUnknown(f, 'mounts')) return notCaptured(base, MOUNTS)
  const found = f.mounts.filter((m) => m.fstype === 'hugetlbfs')
  if (found.length > 0)
    return {...base, status: 'pass', detail: found.map((m) => `${m.target} (${m.options})`).join(', ')}
  // Reserved pages nobody can map are memory taken from the host for nothing.
  const reserved = f.hugepages.filter((p) => p.total > 0)
  if (reserved.length === 0) {
    return {
      ...base,
      status: 'skip',
      detail: 'no hugetlbfs mount, and no hugepages reserved for one (kvmctl tune hugepages mounts one with the pool)',
    }
  }
  return {
    ...base,
    status: 'warn',
    detail: `${reserved.map((p) => `${poolSize(p)} of ${formatBytes(p.sizeKb * 1024)}`).join(', ')} reserved, but no hugetlbfs is mounted: QEMU -mem-path and libvirt need one, so the pages sit unused`,
    remedy: mountRemedy(f, reserved[0]),
  }
}

function thp(f: HostFacts): Check {
  const base = {id: 'hugepages.thp', area: 'hugepages' as const, title: 'transparent hugepages'}
  if (isUnknown(f, 'thp')) return notCaptured(base, THP_ENABLED)
  if (f.thp === null) return {...base, status: 'skip', detail: 'no transparent hugepage support in this kernel'}
  if (f.thp === 'never') {
    return {
      ...base,
      status: 'warn',
      detail: 'never: guest memory is never backed by transparent hugepages',
      // QEMU and kvmctl madvise guest RAM: madvise gives it hugepages and leaves the rest alone.
      remedy: thpRemedy(f),
    }
  }
  return {...base, status: 'pass', detail: f.thp}
}

function ksm(f: HostFacts): Check {
  const base = {id: 'hugepages.ksm', area: 'hugepages' as const, title: 'KSM (same-page merging)'}
  if (isUnknown(f, 'ksm')) return notCaptured(base, KSM_RUN)
  if (f.ksm === null) return {...base, status: 'skip', detail: 'no KSM in this kernel'}
  if (f.ksm === '0') {
    return {
      ...base,
      status: 'info',
      detail:
        'off: guest pages are not merged (optional: merging trades CPU time for memory when many similar guests run)',
      remedy: ksmOnRemedy(f),
    }
  }
  const state: Record<string, string> = {
    '1': 'running: identical guest pages are merged',
    '2': 'unmerging: merged pages are being split and KSM stops',
  }
  return {...base, status: 'pass', detail: state[f.ksm] ?? `run=${f.ksm}`}
}
