// What `kvmctl capture` keeps of the system facts the planners read (tune hugepages, tune nested,
// selftest --hugepages), so a replay plans what the live host would. Like the rest of a capture it
// keeps only what kvmctl reads: the groups kvmctl cares about, fstab's hugetlbfs lines, the
// hugepage and module keys of sysctl.d and modprobe.d, and the names of the processes using KVM.
import type {HostFacts} from './facts.js'
import {
  CHECK_PATHS,
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
import type {HostJson} from './types.js'

/** A file of the capture: text, or a symbolic link (a /proc/PID/fd entry pointing at /dev/kvm). */
export type CaptureEntry = string | Buffer | {link: string}

/** The groups kvmctl names: kvm, libvirt, the /dev/kvm owner and the hugetlbfs mounts' groups. */
const GROUP_NAMES = ['kvm', 'libvirt', 'libvirt-qemu', 'hugetlbfs']
/** sysctl keys the planners read. */
const SYSCTL_KEYS = /^-?vm[./](nr_hugepages|nr_overcommit_hugepages|hugetlb_shm_group)\s*=/
/** modprobe.d lines about the KVM modules. */
const MODPROBE_LINE = /^\s*(options|blacklist|install|softdep)\s+kvm([_-](intel|amd|pvm))?\b/
/** Marks a file the capture cut down, so its presence is kept even when no line remains. */
const CUT = '# kvmctl capture: only the lines kvmctl reads are kept\n'

export function captureSystemFacts(f: HostFacts): {
  files: Map<string, CaptureEntry>
  paths: NonNullable<HostJson['paths']>
} {
  const files = new Map<string, CaptureEntry>()
  const keepDir = (path: string) => files.set(`${path}/.keep`, '')
  if (f.groups) {
    const gids = new Set<number>()
    for (const node of Object.values(f.host.devices)) if (node && node.gid >= 0) gids.add(node.gid)
    for (const m of f.mounts) {
      const gid = /(?:^|,)gid=(\d+)/.exec(m.options)?.[1]
      if (m.fstype === 'hugetlbfs' && gid) gids.add(Number(gid))
    }
    const kept = f.groups.filter((g) => GROUP_NAMES.includes(g.name) || gids.has(g.gid))
    // Members are user names, and /etc/passwd is never kept: a replay cannot tell who is in a group
    // (accounts unknown, see src/host/accounts.ts), so tune access says so instead of "not a member".
    files.set(GROUP_FILE, kept.map((g) => `${g.name}:x:${g.gid}:`).join('\n') + (kept.length ? '\n' : ''))
  }
  if (f.fstab !== null) {
    const lines = f.fstab.split('\n').filter((l) => /^\s*\S+\s+\S+\s+hugetlbfs\s/.test(l))
    files.set(FSTAB, CUT + lines.map((l) => l + '\n').join(''))
  }
  for (const file of f.sysctl) {
    const lines = Object.entries(file.settings)
      .filter(([key, value]) => SYSCTL_KEYS.test(`${key} =${value}`))
      .map(([key, value]) => `${key} = ${value}\n`)
    if (lines.length > 0 || file.path === SYSCTL_CONF) files.set(file.path, CUT + lines.join(''))
  }
  for (const file of f.modprobe) {
    const lines = file.text.split('\n').filter((l) => MODPROBE_LINE.test(l))
    if (lines.length > 0) files.set(file.path, CUT + lines.map((l) => l.trim() + '\n').join(''))
  }
  for (const dir of [...SYSCTL_DIRS, ...MODPROBE_DIRS])
    if (![...files.keys()].some((p) => p.startsWith(`${dir}/`))) keepDir(dir)
  if (f.numaNodes) {
    if (f.numaNodes.length === 0) keepDir(NUMA_NODES)
    for (const node of f.numaNodes) keepDir(`${NUMA_NODES}/node${node}`)
    for (const p of f.nodePools) {
      const dir = `${nodeHugepagesDir(p.node)}/hugepages-${p.sizeKb}kB`
      files.set(`${dir}/nr_hugepages`, `${p.total}\n`)
      files.set(`${dir}/free_hugepages`, `${p.free}\n`)
      files.set(`${dir}/surplus_hugepages`, `${p.surplus}\n`)
    }
  }
  for (const [module, users] of Object.entries(f.moduleUsers)) {
    if (users.refcnt !== null) files.set(`${SYS_MODULE}/${module}/refcnt`, `${users.refcnt}\n`)
    if (users.initstate !== null) files.set(`${SYS_MODULE}/${module}/initstate`, `${users.initstate}\n`)
    for (const h of users.holders) files.set(`${SYS_MODULE}/${module}/holders/${h}`, '')
  }
  for (const p of f.kvmProcesses ?? []) {
    files.set(`/proc/${p.pid}/comm`, `${p.name}\n`)
    files.set(`/proc/${p.pid}/fd/0`, {link: '/dev/kvm'})
  }
  // The services tune ksm names, as files that say only that they are there; PID 1's name.
  if (f.services.ksmtuned) files.set(KSMTUNED_PATHS[1], CUT)
  if (f.services.ksmService) files.set(KSM_SERVICE_PATHS[0], CUT)
  if (f.services.init !== null) files.set(PID1_COMM, `${f.services.init}\n`)
  // The boot configuration as kvmctl read it (boot-config.ts cut it to the lines it reads).
  for (const [path, text] of Object.entries(f.boot.sources)) {
    if (path.endsWith('/')) keepDir(path.slice(0, -1))
    else if (!files.has(path)) files.set(path, text)
  }
  const paths: NonNullable<HostJson['paths']> = {}
  for (const [p, attrs] of Object.entries(f.paths)) {
    paths[p] = attrs === null ? null : {mode: attrs.mode.toString(8).padStart(4, '0'), uid: attrs.uid, gid: attrs.gid}
  }
  return {files, paths}
}

/**
 * The `captured` list a capture writes. Live, everything kvmctl reads ("/"), as the facts were
 * gathered with the process scan. From a replay, what that capture covered: its own list, or for a
 * capture written before the planners' facts were kept, the checks' paths only.
 */
export function capturedList(f: HostFacts): string[] {
  if (f.live) return ['/']
  const source = f.host.captured
  return source === undefined ? [...CHECK_PATHS(f.host.uname.release)] : source
}
