// Temporary host roots for tune tests: a realistic /proc, /sys and /etc layout, a stand-in
// kernel for the hugepage pool, and the stand-in tools in test/bin.
import type {Stats} from 'node:fs'
import {mkdir, readFile, readdir, lstat, readlink, symlink, writeFile} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {Host} from '../../src/host/host.js'
import type {TuneContext} from '../../src/tune/context.js'
import {poolPath} from '../../src/plan/hugepages.js'
import {SysfsPool} from '../../src/tune/pool.js'
import {tempDir} from './temp.js'

export const TEST_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin')
const MIB = 2 ** 20
const SIZES_KB = [2048, 1048576]

export interface RootOptions {
  memTotalMiB?: number
  /** gid of the kvm group; null: no kvm group. */
  kvmGid?: number | null
  nodes?: number
  fstab?: string
  sysctlConf?: string
  sysctlD?: Record<string, string>
  mounts?: string
}

async function put(root: string, path: string, text: string): Promise<void> {
  await mkdir(dirname(join(root, path)), {recursive: true})
  await writeFile(join(root, path), text)
}

export const FSTAB =
  '# /etc/fstab: static file system information.\n' +
  '#\n' +
  '# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n' +
  'UUID=0a1b2c3d-1111-2222-3333-444455556666 /               ext4    errors=remount-ro 0       1\n' +
  'UUID=9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff none            swap    sw              0       0\n' +
  '/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0\n'

/** Builds a root shaped like a Debian host with 2 MiB default hugepages. */
export async function makeHugepageRoot(opts: RootOptions = {}): Promise<string> {
  const root = await tempDir('kvmctl-tune-')
  const memKb = (opts.memTotalMiB ?? 8192) * 1024
  await put(
    root,
    'host.json',
    JSON.stringify({
      schema: 1,
      uname: {release: '6.1.0-test-amd64', machine: 'x86_64'},
      user: {uid: 0, gid: 0, groups: [0]},
      devices: {'/dev/kvm': {mode: '0660', uid: 0, gid: opts.kvmGid ?? 0}},
      kvm: {open: 'ok'},
      cpuid: null,
      dmesg: null,
      captured: ['/'],
      source: 'kvmctl test root',
    }),
  )
  await put(root, 'proc/meminfo', meminfo(memKb, 0))
  await put(root, 'proc/sys/vm/nr_hugepages', '0\n')
  await put(root, 'proc/sys/vm/compact_memory', '')
  await put(root, 'proc/sys/kernel/osrelease', '6.1.0-test-amd64\n')
  await put(
    root,
    'proc/mounts',
    opts.mounts ??
      'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\nudev /dev devtmpfs rw,nosuid,relatime,mode=755 0 0\n/dev/vda1 / ext4 rw,relatime 0 0\n',
  )
  for (const kb of SIZES_KB) {
    for (const f of [
      'nr_hugepages',
      'free_hugepages',
      'surplus_hugepages',
      'resv_hugepages',
      'nr_overcommit_hugepages',
    ]) {
      await put(root, `sys/kernel/mm/hugepages/hugepages-${kb}kB/${f}`, '0\n')
    }
    for (let n = 0; n < (opts.nodes ?? 1); n++) {
      for (const f of ['nr_hugepages', 'free_hugepages', 'surplus_hugepages']) {
        await put(root, `sys/devices/system/node/node${n}/hugepages/hugepages-${kb}kB/${f}`, '0\n')
      }
    }
  }
  await put(root, 'etc/fstab', opts.fstab ?? FSTAB)
  const kvm = opts.kvmGid === null ? '' : `kvm:x:${opts.kvmGid ?? 994}:\n`
  await put(root, 'etc/group', `root:x:0:\ndaemon:x:1:\nusers:x:100:\n${kvm}`)
  await put(root, 'etc/gshadow', `root:*::\ndaemon:*::\nusers:*::\n${opts.kvmGid === null ? '' : 'kvm:!::\n'}`)
  await put(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/bash\n')
  await put(
    root,
    'etc/sysctl.conf',
    opts.sysctlConf ?? '# /etc/sysctl.conf - Configuration file for setting system variables\n#net.ipv4.ip_forward=1\n',
  )
  await mkdir(join(root, 'etc/sysctl.d'), {recursive: true})
  await symlink('../sysctl.conf', join(root, 'etc/sysctl.d/99-sysctl.conf'))
  for (const [name, text] of Object.entries(opts.sysctlD ?? {})) await put(root, `etc/sysctl.d/${name}`, text)
  await mkdir(join(root, 'dev'), {recursive: true})
  return root
}

function meminfo(memKb: number, hugeTotal: number): string {
  return (
    `MemTotal:       ${memKb} kB\nMemFree:        ${Math.floor(memKb * 0.9)} kB\nMemAvailable:   ${Math.floor(memKb * 0.92)} kB\n` +
    `HugePages_Total:   ${hugeTotal}\nHugePages_Free:    ${hugeTotal}\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB\nHugetlb:        ${hugeTotal * 2048} kB\n`
  )
}

/**
 * A stand-in kernel: grants at most `capacity` pages per size; each compaction frees
 * `compactionGain` more, up to `compactionLimit` times. Every write keeps the per-size, per-node,
 * procfs and meminfo views consistent, as the kernel does. Pages go to node 0 first.
 */
export class FakeKernelPool extends SysfsPool {
  compactions = 0
  /** At most this many pages on a node, whatever is asked (a node short of memory). */
  readonly nodeCapacity = new Map<number, number>()
  constructor(
    private readonly root: string,
    host: Host,
    public capacity = Number.POSITIVE_INFINITY,
    private readonly compactionGain = 0,
    private readonly compactionLimit = 0,
  ) {
    super(host)
  }

  override async write(path: string, count: number): Promise<void> {
    const kb = Number(/hugepages-(\d+)kB/.exec(path)![1])
    const nodes = (await readdir(join(this.root, 'sys/devices/system/node')))
      .filter((d) => /^node\d+$/.test(d))
      .map((d) => Number(d.slice(4)))
    const size = kb * 1024
    const nodeMatch = /node(\d+)\/hugepages/.exec(path)
    const perNode = new Map<number, number>()
    for (const n of nodes) perNode.set(n, Number((await this.host.readValue(poolPath(size, n))) ?? 0))
    const granted = Math.min(count, this.capacity)
    if (nodeMatch) {
      const n = Number(nodeMatch[1])
      perNode.set(n, Math.min(granted, this.nodeCapacity.get(n) ?? granted))
    } else {
      let left = granted
      for (const n of nodes) {
        perNode.set(n, Math.min(left, n === nodes.at(-1) ? left : Math.ceil(granted / nodes.length)))
        left -= perNode.get(n)!
      }
    }
    let total = 0
    for (const [n, c] of perNode) {
      await super.write(poolPath(size, n), c)
      total += c
    }
    await super.write(poolPath(size, null), total)
    if (kb === 2048) {
      await super.write('/proc/sys/vm/nr_hugepages', total)
      const text = await readFile(join(this.root, 'proc/meminfo'), 'utf8')
      const memKb = Number(/MemTotal:\s+(\d+)/.exec(text)![1])
      await writeFile(join(this.root, 'proc/meminfo'), meminfo(memKb, total))
    }
  }

  override async compact(): Promise<void> {
    await super.compact()
    if (this.compactions < this.compactionLimit) this.capacity += this.compactionGain
    this.compactions++
  }
}

export async function testContext(root: string, pool?: (host: Host) => SysfsPool, uid = 0): Promise<TuneContext> {
  const host = await Host.open(root)
  return {host, pool: pool ? pool(host) : new FakeKernelPool(root, host), uid}
}

/** Walks a tree in name order, giving each entry's path relative to root and its lstat. */
async function walkTree(root: string, visit: (rel: string, full: string, st: Stats) => Promise<void>): Promise<void> {
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name)
      const st = await lstat(p)
      await visit(p.slice(root.length), p, st)
      if (st.isDirectory()) await walk(p)
    }
  }
  await walk(root)
}

/** Every file under a root with its bytes, mode and mtime: for "nothing changed" assertions. */
export async function treeSnapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  await walkTree(root, async (rel, p, st) => {
    if (st.isDirectory()) out.set(rel + '/', `dir ${st.mode.toString(8)} ${st.gid}`)
    else if (st.isSymbolicLink()) out.set(rel, `link ${await readlink(p)}`)
    else out.set(rel, `${st.mode.toString(8)} ${st.mtimeMs} ${(await readFile(p)).toString('base64')}`)
  })
  return out
}

const STAND_INS = {
  KVMCTL_MOUNT: 'mount',
  KVMCTL_UMOUNT: 'umount',
  KVMCTL_MODPROBE: 'modprobe',
  KVMCTL_MODINFO: 'modinfo',
} as const

/** Points tuning at the stand-in tools; call restoreTools() in `after` so no other test sees them. */
export function useStandInTools(): void {
  for (const [env, tool] of Object.entries(STAND_INS)) process.env[env] = join(TEST_BIN, tool)
}

export function restoreTools(): void {
  for (const env of Object.keys(STAND_INS)) delete process.env[env]
}

export {MIB}

/**
 * A snapshot without mtimes and without kvmctl's own state (/var/lib/kvmctl, /run/kvmctl):
 * what must match after a rollback or an undo, where files were rewritten with their old bytes.
 */
export function contentView(snapshot: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, v] of snapshot) {
    if (k.startsWith('/var/') || k.startsWith('/run/')) continue
    // compact_memory is a write-only trigger on a real kernel; in a tree it keeps what was written.
    if (k === '/proc/sys/vm/compact_memory') continue
    out.set(k, v.replace(/^(\d+) [\d.]+ /, '$1 '))
  }
  return out
}

/**
 * The whole tree as it must come back after an undo: every directory, file and link with its
 * type, mode, owner, bytes (files) and target (links); no times, which a rewrite changes.
 */
export async function exactTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  await walkTree(root, async (rel, p, st) => {
    const id = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`
    if (st.isDirectory()) out.set(rel + '/', `dir ${id}`)
    else if (st.isSymbolicLink()) out.set(rel, `link -> ${await readlink(p)}`)
    else out.set(rel, `file ${id} ${(await readFile(p)).toString('base64')}`)
  })
  return out
}
