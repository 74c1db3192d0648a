// The one-line host summary at the top of `kvmctl check`: CPU, memory, OS, bare metal or virtual.
// Everything comes from the facts, live and in replay alike (memory is /proc/meminfo's MemTotal,
// which is also all systeminformation's mem() read, after loading about 30 ms of modules).
import {guestOf, nestedParam, paramEnabled} from './derived.js'
import type {HostFacts} from './facts.js'
import {platformSummary, type PlatformSummary} from './platform-summary.js'

export interface HostSummary extends Partial<PlatformSummary> {
  /** "live" or the replayed folder. */
  source: string
  kernel: string
  arch: string
  cpu: string | null
  cpus: number | null
  memoryBytes: number | null
  os: string | null
  virtual: boolean
  /** The hypervisor this host runs under, when the kernel log names it. */
  hypervisor: string | null
  /** Nested virtualization on in the vendor KVM module; false on PVM (it has none); null when unknown. */
  nested: boolean | null
  /** Huge page pools by size in Kubernetes notation ("2Mi", "1Gi"). */
  hugepages: Record<string, {total: number; free: number}>
  /** Host paths that could not be used, with why (see HostFacts.unreadable); absent when none. */
  unreadable?: Record<string, string>
}

export async function hostSummary(f: HostFacts): Promise<HostSummary> {
  const memoryBytes = f.meminfo.MemTotal === undefined ? null : f.meminfo.MemTotal * 1024
  const {guest, hypervisor} = guestOf(f)
  return {
    source: f.live ? 'live' : (f.root ?? 'replay'),
    kernel: f.host.uname.release,
    arch: f.host.uname.machine,
    cpu: f.cpu?.model ?? f.cpu?.vendor ?? null,
    cpus: f.cpu?.count || null,
    memoryBytes,
    os: f.os,
    virtual: guest,
    hypervisor: hypervisor ?? null,
    nested: nestedEnabled(f),
    hugepages: Object.fromEntries(f.hugepages.map((p) => [quantity(p.sizeKb), {total: p.total, free: p.free}])),
    ...platformSummary(f),
    ...(Object.keys(f.unreadable).length ? {unreadable: f.unreadable} : {}),
  }
}

function nestedEnabled(f: HostFacts): boolean | null {
  for (const vendor of ['kvm_intel', 'kvm_amd'] as const) {
    const value = nestedParam(f, vendor)
    if (value !== undefined) return paramEnabled(value) ?? null
  }
  return f.sysModules?.includes('kvm_pvm') ? false : null
}

/** 2048 kB -> "2Mi", 1048576 kB -> "1Gi": the size names Kubernetes uses for hugepages resources. */
function quantity(sizeKb: number): string {
  if (sizeKb % 1048576 === 0) return `${sizeKb / 1048576}Gi`
  if (sizeKb % 1024 === 0) return `${sizeKb / 1024}Mi`
  return `${sizeKb}Ki`
}
