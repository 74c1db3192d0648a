// Who is using KVM right now: the vendor module's reference count and holders in sysfs, and the
// processes that have /dev/kvm open (from /proc/PID/fd links). All read through the host, so a
// test tree can hold a fake VM process as a symlink to /dev/kvm.
import type {Host} from '../host/host.js'
import {parseCounter} from '../lib/parse.js'

export interface KvmUsers {
  refcnt: number | null
  holders: string[]
  processes: Array<{pid: number; name: string}>
}

export function inUse(u: KvmUsers): boolean {
  return (u.refcnt ?? 0) > 0 || u.holders.length > 0 || u.processes.length > 0
}

export async function kvmUsers(host: Host, module: string | null): Promise<KvmUsers> {
  let refcnt: number | null = null
  let holders: string[] = []
  if (module) {
    refcnt = (await host.readNumber(`/sys/module/${module}/refcnt`, parseCounter)) ?? null
    holders = (await host.list(`/sys/module/${module}/holders`)) ?? []
  }
  const processes: Array<{pid: number; name: string}> = []
  for (const entry of (await host.list('/proc')) ?? []) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    if (pid === process.pid && host.live) continue
    const fds = (await host.list(`/proc/${pid}/fd`)) ?? []
    for (const fd of fds) {
      const target = await host.readLink(`/proc/${pid}/fd/${fd}`)
      if (target === '/dev/kvm') {
        processes.push({pid, name: (await host.readValue(`/proc/${pid}/comm`)) ?? '?'})
        break
      }
    }
  }
  processes.sort((a, b) => a.pid - b.pid)
  return {refcnt, holders, processes}
}

export function describeUsers(u: KvmUsers): string {
  const parts: string[] = []
  if (u.processes.length > 0) parts.push(`processes with /dev/kvm open: ${u.processes.map((p) => `${p.pid} (${p.name})`).join(', ')}`)
  if ((u.refcnt ?? 0) > 0) parts.push(`module refcnt ${u.refcnt}`)
  if (u.holders.length > 0) parts.push(`held by ${u.holders.join(', ')}`)
  return parts.join('; ')
}
