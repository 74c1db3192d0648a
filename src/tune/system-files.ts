// Read-only views of /proc/mounts, /etc/group and the sysctl.d search path, all through the host.
import {lstat, realpath} from 'node:fs/promises'

import type {Host} from '../host/host.js'
import {sysctlValue} from './editors.js'

export interface MountEntry {
  spec: string
  file: string
  vfstype: string
  options: string[]
}

const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))

export async function readMounts(host: Host): Promise<MountEntry[]> {
  const text = (await host.read('/proc/mounts')) ?? ''
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4)
    .map((f) => ({spec: unescapeOctal(f[0]), file: unescapeOctal(f[1]), vfstype: f[2], options: f[3].split(',')}))
}

/** The filesystem mounted last at `target` (the visible one), if any. */
export async function mountAt(host: Host, target: string): Promise<MountEntry | undefined> {
  return (await readMounts(host)).filter((m) => m.file === target).pop()
}

export async function groupGid(host: Host, name: string): Promise<number | undefined> {
  const text = (await host.read('/etc/group')) ?? ''
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f[0] === name && f.length >= 3 && /^\d+$/.test(f[2])) return Number(f[2])
  }
  return undefined
}

/** Mode bits and owner of a host path, or undefined when absent. */
export async function statAttrs(host: Host, path: string): Promise<{mode: number; uid: number; gid: number; isDir: boolean} | undefined> {
  try {
    const st = await lstat(host.path(path, {followLast: false}))
    return {mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, isDir: st.isDirectory()}
  } catch {
    return undefined
  }
}

// sysctl.d directories in systemd-sysctl's priority order: a name in an earlier directory hides
// the same name in a later one; then all files apply in lexical order of their names, and
// procps' `sysctl --system` reads /etc/sysctl.conf after them all.
const SYSCTL_DIRS = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d']

export interface SysctlSetter {
  path: string
  value: string
}

/** Files applied after `ourName` at boot that set `key` (and would win over our value). */
export async function laterSysctlSetters(host: Host, ourName: string, key: string): Promise<SysctlSetter[]> {
  const byName = new Map<string, string>()
  for (const dir of SYSCTL_DIRS) {
    for (const name of (await host.list(dir)) ?? []) {
      if (name.endsWith('.conf') && !byName.has(name)) byName.set(name, `${dir}/${name}`)
    }
  }
  const ordered = [...byName.keys()].filter((n) => n > ourName).sort().map((n) => byName.get(n)!)
  ordered.push('/etc/sysctl.conf')
  const out: SysctlSetter[] = []
  const seen = new Set<string>()
  for (const path of ordered) {
    const text = await host.read(path)
    if (text === undefined) continue
    // /etc/sysctl.d/99-sysctl.conf is usually a link to /etc/sysctl.conf: report that file once.
    const real = await realpath(host.path(path)).catch(() => host.path(path))
    const value = sysctlValue(text, key)
    if (value === undefined || seen.has(real)) continue
    seen.add(real)
    out.push({path, value})
  }
  return out
}
