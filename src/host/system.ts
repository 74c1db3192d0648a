// The system facts tune and selftest plan from, read once with the rest of the host: hugepage
// pools per NUMA node, /etc/group, /etc/fstab, sysctl.d and modprobe.d in the order the boot
// applies them, who holds the KVM modules and /dev/kvm, and the mode and group of the hugetlbfs
// mount points. Each is null when the capture did not hold it (unknown), never "absent".
import {lstatSync, realpathSync} from 'node:fs'

import {parseCounter} from '../lib/parse.js'
import {type Account, type Group, parseGroups, readAccounts} from './accounts.js'
import type {Host} from './host.js'
import type {HostJson} from './types.js'
import {
  FSTAB,
  GROUP_FILE,
  KSM_SERVICE_PATHS,
  KSMTUNED_PATHS,
  MODPROBE_DIRS,
  NUMA_NODES,
  nodeHugepagesDir,
  PID1_COMM,
  SYS_MODULE,
  SYSCTL_CONF,
  SYSCTL_DIRS,
} from './paths.js'

export interface NodePool {
  node: number
  sizeKb: number
  /** nr_hugepages of this size on this node. */
  total: number
  free: number
  surplus: number
}

export type {Account, Group}
export {parseGroups}

/** A config file as read: its host path and text. */
export interface ConfigFile {
  path: string
  text: string
}

/** One sysctl file: the keys it sets, in the order the boot applies the files. */
export interface SysctlFile {
  path: string
  settings: Record<string, string>
}

export interface ModuleUsers {
  /** /sys/module/NAME/refcnt; null when the module has none (built in) or it was not read. */
  refcnt: number | null
  holders: string[]
  /** /sys/module/NAME/initstate ("live" for a loaded module); null when absent: built in. */
  initstate: string | null
}

export interface KvmProcess {
  pid: number
  name: string
}

export interface PathAttrs {
  mode: number
  uid: number
  gid: number
  isDir: boolean
}

export interface SystemFacts {
  /** NUMA node numbers from sysfs; [] on a kernel without NUMA sysfs; null when not captured. */
  numaNodes: number[] | null
  /** Hugepage pools per node and size. */
  nodePools: NodePool[]
  /** /etc/group parsed; null when absent or not captured. A capture keeps no members (user names). */
  groups: Group[] | null
  /**
   * The /etc/passwd lines of the users a planner named (tune access's --user), by name: null when
   * the user has no line; {} when none was named. null when unknown (see readAccounts).
   */
  accounts: Record<string, Account | null> | null
  /** /etc/fstab text; null when absent or not captured (see unknown 'fstab'). */
  fstab: string | null
  /** sysctl.d files and /etc/sysctl.conf, in the order systemd-sysctl and `sysctl --system` apply them. */
  sysctl: SysctlFile[]
  /** modprobe.d files, in the order modprobe reads them. */
  modprobe: ConfigFile[]
  /** Users of each vendor module that is present, by module name. */
  moduleUsers: Record<string, ModuleUsers>
  /** Processes with /dev/kvm open; null when not gathered (a replay that did not hold /proc). */
  kvmProcesses: KvmProcess[] | null
  /** Mode and owner of the hugetlbfs mount points and the default one; null when absent. */
  paths: Record<string, PathAttrs | null>
  /** The services that drive KSM and the init system (tune ksm's warnings); see ServiceFacts. */
  services: ServiceFacts
}

/** Each is null when the capture did not hold its paths (unknown), never "not installed". */
export interface ServiceFacts {
  /** ksmtuned is installed (its program or configuration is there). */
  ksmtuned: boolean | null
  /** A ksm.service unit is installed (Fedora: starts KSM at boot). */
  ksmService: boolean | null
  /** The name of PID 1 ("systemd", "init", ...). */
  init: string | null
}

/** Reads the system facts; `extraPaths` are stat'ed too (a requested --mount). */
export async function readSystemFacts(
  host: Host,
  opts: {
    vendorModules: readonly string[]
    pathsToStat: string[]
    withProcesses: boolean
    covers: (path: string) => boolean
    /** host.json `paths` of a capture: recorded attributes win over the capture folder's own. */
    recorded?: HostJson['paths']
    /** Users whose accounts a planner needs. */
    users?: readonly string[]
  },
): Promise<SystemFacts> {
  const accounts = readAccounts(host, opts.users ?? [])
  const [numaNodes, groupText, fstab, sysctl, modprobe, users, processes, paths, services] = await Promise.all([
    readNumaNodes(host, opts.covers),
    host.read(GROUP_FILE),
    host.read(FSTAB),
    readSysctlFiles(host),
    readModprobeFiles(host),
    Promise.all(opts.vendorModules.map(async (m) => [m, await readModuleUsers(host, m)] as const)),
    opts.withProcesses ? readKvmProcesses(host) : Promise.resolve(null),
    Promise.all(
      [...new Set(opts.pathsToStat)].map(
        async (p) => [p, recordedAttrs(opts.recorded, p) ?? (await statPath(host, p))] as const,
      ),
    ),
    readServiceFacts(host, opts.covers),
  ])
  return {
    numaNodes,
    nodePools: numaNodes ? await readNodePools(host, numaNodes) : [],
    groups: groupText === undefined ? null : parseGroups(groupText),
    accounts: await accounts,
    fstab: fstab ?? null,
    sysctl,
    modprobe,
    moduleUsers: Object.fromEntries(users.filter((u): u is [string, ModuleUsers] => u[1] !== undefined)),
    kvmProcesses: processes,
    paths: Object.fromEntries(paths),
    services,
  }
}

/** Whether any of the paths is there: null when none is and the capture did not hold them all. */
async function anyPresent(
  host: Host,
  paths: readonly string[],
  covers: (p: string) => boolean,
): Promise<boolean | null> {
  const found = await Promise.all(paths.map((p) => host.exists(p)))
  if (found.some(Boolean)) return true
  return paths.every(covers) ? false : null
}

export async function readServiceFacts(host: Host, covers: (p: string) => boolean): Promise<ServiceFacts> {
  const [ksmtuned, ksmService, init] = await Promise.all([
    anyPresent(host, KSMTUNED_PATHS, covers),
    anyPresent(host, KSM_SERVICE_PATHS, covers),
    host.readValue(PID1_COMM),
  ])
  return {ksmtuned, ksmService, init: init ?? null}
}

export async function readNumaNodes(host: Host, covers = (p: string) => host.covers(p)): Promise<number[] | null> {
  const entries = await host.list(NUMA_NODES)
  if (entries === undefined) return covers(`${NUMA_NODES}/`) ? [] : null
  return entries
    .map((d) => /^node(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
}

export async function readNodePools(host: Host, nodes: number[]): Promise<NodePool[]> {
  const perNode = await Promise.all(
    nodes.map(async (node) => {
      const dir = nodeHugepagesDir(node)
      const sizes = (await host.list(dir)) ?? []
      return Promise.all(
        sizes.map(async (entry) => {
          const m = /^hugepages-(\d+)kB$/.exec(entry)
          if (!m) return undefined
          const [total, free, surplus] = await Promise.all(
            (['nr_hugepages', 'free_hugepages', 'surplus_hugepages'] as const).map(async (c) =>
              count(await host.readValue(`${dir}/${entry}/${c}`)),
            ),
          )
          return {node, sizeKb: Number(m[1]), total, free, surplus}
        }),
      )
    }),
  )
  return perNode.flat().filter((p): p is NodePool => p !== undefined)
}

/** A page counter: a whole number, else 0 (an unreadable counter holds no pages we can use). */
export function count(text: string | undefined): number {
  return parseCounter(text) ?? 0
}

/** sysctl file lines: `key = value`, `-key = value` (errors ignored); # and ; start comments. */
export function parseSysctl(text: string): Record<string, string> {
  const settings: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const m = /^-?([^=\s]+)\s*=\s*(.*)$/.exec(line)
    // sysctl accepts / as the separator as well as .
    if (m) settings[m[1].replace(/\//g, '.')] = m[2].trim()
  }
  return settings
}

/**
 * systemd-sysctl order: a file name in an earlier directory hides the same name in a later one,
 * then all files apply in lexical order of their names; procps' `sysctl --system` reads
 * /etc/sysctl.conf after them. A file reached twice (99-sysctl.conf links to sysctl.conf) counts once.
 */
async function readSysctlFiles(host: Host): Promise<SysctlFile[]> {
  const listed = await Promise.all(SYSCTL_DIRS.map(async (dir) => [dir, (await host.list(dir)) ?? []] as const))
  const byName = new Map<string, string>()
  for (const [dir, names] of listed)
    for (const name of names) if (name.endsWith('.conf') && !byName.has(name)) byName.set(name, `${dir}/${name}`)
  const ordered = [...[...byName.keys()].sort().map((n) => byName.get(n)!), SYSCTL_CONF]
  const files = await Promise.all(
    ordered.map(async (path) => ({path, text: await host.read(path), real: await realPath(host, path)})),
  )
  const seen = new Set<string>()
  const out: SysctlFile[] = []
  for (const f of files) {
    if (f.text === undefined || seen.has(f.real)) continue
    seen.add(f.real)
    out.push({path: f.path, settings: parseSysctl(f.text)})
  }
  return out
}

/** Where a file really is (99-sysctl.conf links to ../sysctl.conf); itself when that cannot be told. */
async function realPath(host: Host, path: string): Promise<string> {
  try {
    return realpathSync.native(host.path(path))
  } catch {
    return path
  }
}

/** modprobe.d: like sysctl.d, an earlier directory's file hides a later one's of the same name. */
async function readModprobeFiles(host: Host): Promise<ConfigFile[]> {
  const listed = await Promise.all(MODPROBE_DIRS.map(async (dir) => [dir, (await host.list(dir)) ?? []] as const))
  const byName = new Map<string, string>()
  for (const [dir, names] of listed)
    for (const name of names) if (name.endsWith('.conf') && !byName.has(name)) byName.set(name, `${dir}/${name}`)
  const files = await Promise.all(
    [...byName.keys()].sort().map(async (n) => ({path: byName.get(n)!, text: await host.read(byName.get(n)!)})),
  )
  return files.filter((f): f is ConfigFile => f.text !== undefined)
}

/** The module parameter values modprobe.d sets (`options MODULE key=value ...`), last file wins. */
export function modprobeOptions(files: ConfigFile[], module: string): Record<string, {value: string; path: string}> {
  const out: Record<string, {value: string; path: string}> = {}
  const names = new Set([module, module.replace(/_/g, '-')])
  for (const f of files) {
    for (const line of f.text.split('\n')) {
      const words = line.trim().split(/\s+/)
      if (words[0] !== 'options' || !names.has(words[1])) continue
      for (const w of words.slice(2)) {
        const eq = w.indexOf('=')
        if (eq > 0) out[w.slice(0, eq)] = {value: w.slice(eq + 1), path: f.path}
      }
    }
  }
  return out
}

async function readModuleUsers(host: Host, module: string): Promise<ModuleUsers | undefined> {
  if (!(await host.exists(`${SYS_MODULE}/${module}`))) return undefined
  const [refcnt, holders, initstate] = await Promise.all([
    host.readValue(`${SYS_MODULE}/${module}/refcnt`),
    host.list(`${SYS_MODULE}/${module}/holders`),
    host.readValue(`${SYS_MODULE}/${module}/initstate`),
  ])
  return {refcnt: parseCounter(refcnt) ?? null, holders: holders ?? [], initstate: initstate ?? null}
}

/** Processes with /dev/kvm open, from /proc/PID/fd links (kvmctl itself left out live). */
async function readKvmProcesses(host: Host): Promise<KvmProcess[]> {
  const out: KvmProcess[] = []
  const pids = ((await host.list('/proc')) ?? []).filter((e) => /^\d+$/.test(e)).map(Number)
  await Promise.all(
    pids.map(async (pid) => {
      if (pid === process.pid && host.live) return
      const fds = (await host.list(`/proc/${pid}/fd`)) ?? []
      for (const fd of fds) {
        const target = await host.readLink(`/proc/${pid}/fd/${fd}`)
        if (target === '/dev/kvm') {
          out.push({pid, name: (await host.readValue(`/proc/${pid}/comm`)) ?? '?'})
          return
        }
      }
    }),
  )
  return out.sort((a, b) => a.pid - b.pid)
}

/** A path's attributes as host.json recorded them: undefined when it did not. */
function recordedAttrs(recorded: HostJson['paths'], p: string): PathAttrs | null | undefined {
  if (!recorded || !Object.hasOwn(recorded, p)) return undefined
  const r = recorded[p]
  if (r === null) return null
  if (
    typeof r !== 'object' ||
    !/^[0-7]{3,4}$/.test(String(r.mode)) ||
    !Number.isInteger(r.uid) ||
    !Number.isInteger(r.gid)
  )
    return undefined
  return {mode: parseInt(r.mode, 8), uid: r.uid, gid: r.gid, isDir: true}
}

/** Mode bits and owner of a host path, or null when absent. */
export async function statPath(host: Host, path: string): Promise<PathAttrs | null> {
  try {
    const st = lstatSync(host.path(path, {followLast: false}))
    return {mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, isDir: st.isDirectory()}
  } catch {
    return null
  }
}
