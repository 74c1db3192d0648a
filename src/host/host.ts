// The host layer: the only code that reads the machine. Every path is resolved through
// Host.path(), so `--root DIR` (or KVMCTL_ROOT) replays a captured host: file X is read from
// DIR/X, and the facts that are not files come from DIR/host.json. With a root, nothing live
// is consulted.
import {constants as fsc} from 'node:fs'
import {access, readdir, readFile, stat} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {gunzipSync} from 'node:zlib'

import {UsageError} from '../lib/errors.js'
import {CONTAINER_MARKERS} from './paths.js'
import {DEVICE_PATHS, type DeviceNode, type HostJson} from './types.js'

/** A bad --root: the one-line message names the value and the fix. Commands exit 2 on it. */
export class HostRootError extends UsageError {}

export class Host {
  private constructor(
    /** Absolute replay root, or undefined for the live machine. */
    readonly root: string | undefined,
    private readonly replayJson: HostJson | undefined,
  ) {}

  get live(): boolean {
    return this.root === undefined
  }

  /** Opens the live host, or validates and loads a replay root. */
  static async open(root?: string): Promise<Host> {
    const dir = root ?? process.env.KVMCTL_ROOT
    if (dir === undefined || dir === '') return new Host(undefined, undefined)
    const abs = resolve(dir)
    const st = await stat(abs).catch(() => undefined)
    if (!st?.isDirectory()) {
      throw new HostRootError(`--root ${dir}: no such directory; pass a folder written by \`kvmctl capture DIR\``)
    }
    return new Host(abs, await readHostJson(abs, dir))
  }

  /** Where host path p really is: p itself live, ROOT/p in replay. */
  path(p: string): string {
    return this.root === undefined ? p : join(this.root, p)
  }

  /** File text, or undefined when the file is absent or unreadable. */
  async read(p: string): Promise<string | undefined> {
    try {
      const buf = await readFile(this.path(p))
      return p.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8')
    } catch {
      return undefined
    }
  }

  /** A single-line file (sysfs, procfs), trimmed. */
  async readValue(p: string): Promise<string | undefined> {
    return (await this.read(p))?.trim()
  }

  /**
   * Whether the capture covered host path p, so that its absence means absent on that host.
   * Always true live, and for a capture without a `captured` list (`kvmctl capture` covers all).
   */
  covers(p: string): boolean {
    return pathCovered(this.replayJson?.captured, p)
  }

  async exists(p: string): Promise<boolean> {
    return access(this.path(p), fsc.F_OK).then(
      () => true,
      () => false,
    )
  }

  /** Directory entries, sorted; undefined when the directory is absent. */
  async list(p: string): Promise<string[] | undefined> {
    try {
      return (await readdir(this.path(p))).sort()
    } catch {
      return undefined
    }
  }

  /** The facts that are not plain files: from host.json in replay, gathered live otherwise. */
  async facts(): Promise<HostJson> {
    if (this.replayJson) return this.replayJson
    this.liveFacts ??= gatherLiveFacts()
    return this.liveFacts
  }

  private liveFacts: Promise<HostJson> | undefined
}

/** p is in the list itself, or under one of its folders ("/sys/module/" covers /sys/module/kvm). */
export function pathCovered(captured: readonly string[] | undefined, p: string): boolean {
  if (captured === undefined) return true
  return captured.some((c) => c === p || (c.endsWith('/') && (p.startsWith(c) || p === c.slice(0, -1))))
}

async function readHostJson(abs: string, given: string): Promise<HostJson> {
  const file = join(abs, 'host.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    throw new HostRootError(`--root ${given}: no host.json in it; write the folder with \`kvmctl capture DIR\``)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new HostRootError(`--root ${given}: host.json is not valid JSON (${(error as Error).message}); capture again with \`kvmctl capture DIR\``)
  }
  const problem = validateHostJson(data)
  if (problem) throw new HostRootError(`--root ${given}: host.json ${problem}; see fixtures/README.md for its fields`)
  return data as HostJson
}

/** Returns what is wrong with a parsed host.json, or undefined when its shape is right. */
export function validateHostJson(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'is not an object'
  const d = data as Record<string, unknown>
  const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (!isObj(d.uname) || typeof (d.uname as any).release !== 'string' || typeof (d.uname as any).machine !== 'string')
    return 'needs "uname": {release, machine} as strings'
  const u = d.user as any
  if (!isObj(u) || typeof u.uid !== 'number' || typeof u.gid !== 'number' || !Array.isArray(u.groups))
    return 'needs "user": {uid, gid, groups: number[]}'
  if (!isObj(d.devices)) return 'needs "devices": {"/dev/kvm": {...} or null, ...}'
  for (const [name, node] of Object.entries(d.devices as object)) {
    if (node !== null && (!isObj(node) || typeof node.mode !== 'string' || typeof node.uid !== 'number' || typeof node.gid !== 'number'))
      return `has a bad devices["${name}"]: want {mode: "0660", uid, gid} or null`
  }
  if (!isObj(d.kvm) || typeof (d.kvm as any).open !== 'string') return 'needs "kvm": {open: "ok" or an errno name, ...}'
  if (d.cpuid !== null && (!isObj(d.cpuid) || typeof (d.cpuid as any).vendor !== 'string'))
    return 'needs "cpuid": {vendor, vmx, svm, hypervisor} or null'
  if (d.dmesg !== null && typeof d.dmesg !== 'string') return 'needs "dmesg" as a string or null'
  if (d.container !== undefined && d.container !== null && typeof d.container !== 'string') return 'has a bad "container": want a runtime name or null'
  if (d.captured !== undefined) {
    if (!Array.isArray(d.captured)) return 'has a bad "captured": want an array of absolute host paths'
    const bad = d.captured.find((p) => typeof p !== 'string' || !p.startsWith('/'))
    if (bad !== undefined) return `has a bad "captured" entry ${JSON.stringify(bad)}: want an absolute host path such as "/proc/cpuinfo" or "/sys/module/"`
  }
  return undefined
}

async function statDevice(p: string): Promise<DeviceNode | null> {
  try {
    const st = await stat(p)
    return {mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), uid: st.uid, gid: st.gid}
  } catch {
    return null
  }
}

/** The kernel log: /dev/kmsg directly (fast), else `dmesg` through execa; null when unreadable. */
async function readKernelLog(): Promise<string | null> {
  const {readKmsg} = await import('./kmsg.js')
  try {
    return readKmsg()
  } catch {
    const {execa} = await import('execa')
    const run = await execa('dmesg', [], {reject: false, env: {LC_ALL: 'C'}}).catch(() => undefined)
    return run && run.exitCode === 0 ? String(run.stdout) : null
  }
}

/** The container runtime this process runs in, from what runtimes leave behind; null when none. */
async function detectContainer(): Promise<string | null> {
  // systemd-nspawn, LXC and Podman set `container` in PID 1's environment, which shells pass on.
  if (process.env.container) return process.env.container
  if (process.env.KUBERNETES_SERVICE_HOST) return 'kubernetes'
  const found = await Promise.all(CONTAINER_MARKERS.map(([p]) => access(p, fsc.F_OK).then(() => true, () => false)))
  return CONTAINER_MARKERS.find((_, i) => found[i])?.[1] ?? null
}

async function gatherLiveFacts(): Promise<HostJson> {
  const os = await import('node:os')
  const [{loadNative}, dmesg, container, nodes] = await Promise.all([
    import('../native.js'),
    readKernelLog(),
    detectContainer(),
    Promise.all(DEVICE_PATHS.map(statDevice)),
  ])
  const native = loadNative()
  const devices: Record<string, DeviceNode | null> = Object.fromEntries(DEVICE_PATHS.map((dev, i) => [dev, nodes[i]]))
  return {
    schema: 1,
    uname: {release: os.release(), machine: os.machine()},
    user: {
      uid: process.getuid?.() ?? -1,
      gid: process.getgid?.() ?? -1,
      groups: process.getgroups?.() ?? [],
      name: os.userInfo().username,
    },
    devices,
    kvm: native.probeKvm('/dev/kvm'),
    cpuid: native.cpuid(),
    dmesg,
    container,
  }
}
