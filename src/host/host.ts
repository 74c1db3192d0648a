// The host layer: the only code that reads the machine. Every path is resolved through
// Host.path(), so `--root DIR` (or KVMCTL_ROOT) replays a captured host: file X is read from
// DIR/X, and the facts that are not files come from DIR/host.json. With a root, nothing live
// is consulted.
// Reads are synchronous on purpose: the files are procfs, sysfs and small /etc files (or their
// copies in a capture), each read in microseconds, and a hundred of them through the thread pool
// cost `kvmctl check` more in promise and thread hand-offs than the reads themselves.
import {
  accessSync,
  closeSync,
  constants as fsc,
  existsSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs'
import {machine, release, userInfo} from 'node:os'
import {basename, dirname, isAbsolute, join, relative, resolve, sep} from 'node:path'

import {UsageError} from '../lib/errors.js'
import {gunzip} from '../lib/gunzip.js'
import {nativeIfBuilt} from '../native.js'
import {describeValue, printable} from '../lib/printable.js'
import {CONTAINER_MARKERS, CPUINFO, MOUNTS} from './paths.js'
import {DEVICE_PATHS, type DeviceNode, type HostJson} from './types.js'

/** A bad --root: the one-line message names the value and the fix. Commands exit 2 on it. */
export class HostRootError extends UsageError {}

/**
 * A host path that would leave the replay root: through "..", or a symlink in the capture that
 * points outside it. A replay never reads or writes outside --root.
 */
export class RootEscapeError extends UsageError {}

const KiB = 1024
const MiB = 1024 * KiB

/** How much of a file kvmctl reads at most: bytes (decompressed for .gz) and lines. */
export interface ReadCap {
  bytes: number
  lines: number
}

/**
 * Read caps per kind of file. A file over its cap is unreadable, never cut into a wrong value,
 * and no parser ever sees millions of lines. sysfs attributes are at most one page (4 KiB, 64 KiB
 * on 64K-page arm64), procfs values as small; the text files get room for the biggest real hosts
 * (cpuinfo: about 1.3 KiB and 27 lines per CPU, so about 3000 CPUs; mounts: tens of thousands).
 */
export const READ_CAPS = {
  /** readValue(): a single sysfs/procfs value. */
  value: {bytes: 64 * KiB, lines: 64},
  cpuinfo: {bytes: 4 * MiB, lines: 128 * 1024},
  mounts: {bytes: 4 * MiB, lines: 64 * 1024},
  /** Any other text file: a kernel config (about 10000 lines), modules.builtin, /etc files. */
  text: {bytes: 1 * MiB, lines: 32 * 1024},
  /** host.json, whose kernel log a capture keeps only the matching lines of. */
  hostJson: {bytes: 4 * MiB, lines: 256 * 1024},
} as const satisfies Record<string, ReadCap>

/** Why a file could not be used, for the facts and messages. */
export type ReadResult = {ok: true; text: string} | {ok: false; absent: boolean; reason: string}

export class Host {
  /** Host paths that exist but could not be used (too large, binary, a folder, ...), with why. */
  readonly unreadable = new Map<string, string>()
  private readonly realRoot: string | undefined

  private constructor(
    /** Absolute replay root, or undefined for the live machine. */
    readonly root: string | undefined,
    private readonly replayJson: HostJson | undefined,
  ) {
    this.realRoot = root === undefined ? undefined : realpathSync.native(root)
  }

  get live(): boolean {
    return this.root === undefined
  }

  /** Opens the live host, or validates and loads a replay root. */
  static async open(root?: string): Promise<Host> {
    const dir = root ?? process.env.KVMCTL_ROOT
    if (dir === undefined || dir === '') return new Host(undefined, undefined)
    const abs = resolve(dir)
    if (!isDirectory(abs)) {
      throw new HostRootError(
        `--root ${printable(dir)}: no such directory; pass a folder written by \`kvmctl capture DIR\``,
      )
    }
    return new Host(abs, readHostJson(abs, dir))
  }

  /** The live machine, whatever KVMCTL_ROOT says: for what acts on this machine (selftest). */
  static openLive(): Host {
    return new Host(undefined, undefined)
  }

  /**
   * Where host path p really is: p itself live, ROOT/p in replay. In replay, a path that leads
   * outside the root, lexically or through a symlink anywhere on the way, throws RootEscapeError.
   */
  path(p: string, options: {followLast?: boolean} = {}): string {
    if (this.root === undefined) return p
    const full = join(this.root, p)
    // lstat and readlink look at a final symlink itself, so only its folder must stay inside.
    const resolved =
      options.followLast === false ? join(resolveExisting(dirname(full)), basename(full)) : resolveExisting(full)
    if (!inside(this.root, full) || !inside(this.realRoot!, resolved)) {
      throw new RootEscapeError(
        `--root ${printable(this.root)}: ${printable(p)} leads outside the root (".." or a symlink out of it); a replay reads and writes only inside its folder: capture again with \`kvmctl capture DIR\``,
      )
    }
    return full
  }

  /** File text, or undefined when the file is absent or unreadable (see readResult). */
  async read(p: string, cap?: ReadCap): Promise<string | undefined> {
    const r = await this.readResult(p, cap)
    return r.ok ? r.text : undefined
  }

  /**
   * A file's text with its size capped (by kind, see READ_CAPS) and checked: a file over its cap,
   * a folder or device, a path leaving the replay root, NUL bytes or a bad .gz are unreadable
   * (recorded in `unreadable`), never a silently wrong value. ".gz" files are decompressed.
   */
  async readResult(p: string, cap: ReadCap = capFor(p)): Promise<ReadResult> {
    const gz = p.endsWith('.gz')
    // The live host's files in one native call each (a check reads over a hundred); a replay's,
    // which may be anything a capture was corrupted into, take readCapped.
    const result = (this.root === undefined && readLiveText(p, cap, gz)) || readCapped(() => this.path(p), gz, cap)
    if (!result.ok && !result.absent) this.unreadable.set(p, result.reason)
    return result
  }

  /** A single-line file (sysfs, procfs), trimmed; capped at READ_CAPS.value. */
  async readValue(p: string): Promise<string | undefined> {
    return (await this.read(p, READ_CAPS.value))?.trim()
  }

  /**
   * A number file (a page count, a refcount), through parse (for example parseCounter from
   * src/lib/parse.ts); undefined when absent, and recorded as unreadable when it is not one.
   */
  async readNumber(p: string, parse: (text: string) => number | undefined): Promise<number | undefined> {
    const text = await this.readValue(p)
    if (text === undefined) return undefined
    const n = parse(text)
    if (n === undefined) this.unreadable.set(p, `not a number: "${printable(text, 20)}"`)
    return n
  }

  /** Where symlink p points (as written in it), or undefined; a replay's /proc/PID/fd/N name /dev/kvm. */
  async readLink(p: string): Promise<string | undefined> {
    try {
      return readlinkSync(this.path(p, {followLast: false}))
    } catch {
      return undefined
    }
  }

  /**
   * Whether the capture covered host path p, so that its absence means absent on that host.
   * Always true live, and for a capture without a `captured` list (`kvmctl capture` covers all).
   */
  covers(p: string): boolean {
    return pathCovered(this.replayJson?.captured, p)
  }

  async exists(p: string): Promise<boolean> {
    try {
      accessSync(this.path(p), fsc.F_OK)
      return true
    } catch {
      return false
    }
  }

  /** Directory entries, sorted; undefined when the directory is absent (or not a directory). */
  async list(p: string): Promise<string[] | undefined> {
    try {
      return readdirSync(this.path(p)).sort()
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

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}

function capFor(p: string): ReadCap {
  return p === CPUINFO ? READ_CAPS.cpuinfo : p === MOUNTS ? READ_CAPS.mounts : READ_CAPS.text
}

/** Whether path is root or below it (both absolute). */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

/**
 * Where path leads once every symlink on it is followed; the part that does not exist yet is
 * kept as written (a file about to be created), and a dangling symlink is followed to its target.
 * A loop or an unreadable link yields a path that is never inside a root.
 */
function resolveExisting(path: string, depth = 0): string {
  if (depth > 40) return '/\0loop'
  try {
    return realpathSync.native(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return '/\0unresolvable'
  }
  const parent = dirname(path)
  try {
    if (lstatSync(path).isSymbolicLink()) return resolveExisting(resolve(dirname(path), readlinkSync(path)), depth + 1)
  } catch {
    // Absent: resolve the folder it would be created in.
  }
  if (parent === path) return path
  return join(resolveExisting(parent, depth + 1), basename(path))
}

/** A live file read by the native addon, with readCapped's outcomes; undefined without the addon. */
export function readLiveText(p: string, cap: ReadCap, gz = false): ReadResult | undefined {
  const native = nativeIfBuilt()
  if (!native) return undefined
  const r = native.readTextFile(p, cap.bytes, cap.lines, gz)
  if (typeof r === 'string') return {ok: true, text: r}
  if ('tooManyLines' in r) return {ok: false, absent: false, reason: `more than ${cap.lines} lines`}
  if ('gzip' in r)
    return {ok: false, absent: false, reason: `not gzip data, or larger than ${cap.bytes} bytes once decompressed`}
  if ('code' in r) return {ok: false, absent: r.code === 'ENOENT' || r.code === 'ENOTDIR', reason: r.code}
  if ('readCode' in r) return {ok: false, absent: false, reason: r.readCode}
  if ('notFile' in r)
    return {ok: false, absent: false, reason: r.notFile === 'folder' ? 'a folder, not a file' : 'not a regular file'}
  if ('tooLarge' in r) return {ok: false, absent: false, reason: `larger than ${cap.bytes} bytes`}
  return {ok: false, absent: false, reason: 'binary content (NUL bytes)'}
}

/** The read buffer readCapped reuses, grown to the largest file read, up to SCRATCH_MAX. */
let scratch = Buffer.allocUnsafe(64 * KiB)
const SCRATCH_MAX = 4 * MiB

/** Reads at most cap bytes (decompressed); anything else about the file makes it unreadable. */
export function readCapped(where: () => string, gz: boolean, cap: ReadCap): ReadResult {
  let fd
  try {
    // O_NONBLOCK: a FIFO planted in a capture must not hang the read.
    fd = openSync(where(), fsc.O_RDONLY | fsc.O_NONBLOCK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (error instanceof RootEscapeError) return {ok: false, absent: false, reason: 'leads outside the replay root'}
    return {ok: false, absent: code === 'ENOENT' || code === 'ENOTDIR', reason: code ?? 'cannot open'}
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile())
      return {ok: false, absent: false, reason: st.isDirectory() ? 'a folder, not a file' : 'not a regular file'}
    // procfs reports size 0 and sysfs 4096 whatever the content: read up to cap + 1 to know.
    const limit = gz ? cap.bytes : cap.bytes + 1
    const tooLarge = {ok: false, absent: false, reason: `larger than ${cap.bytes} bytes`} as const
    if (st.size > limit) return tooLarge
    // One buffer for every read (a check reads over a hundred files, nearly all under a page).
    let buf = scratch.length > st.size ? scratch : Buffer.allocUnsafe(Math.min(limit, st.size + 1))
    let length = 0
    for (;;) {
      if (length === Math.min(buf.length, limit)) {
        // A procfs file (size 0) longer than the first guess: grow up to the cap, never cut it.
        if (length === limit) break
        buf = Buffer.concat([buf.subarray(0, length), Buffer.allocUnsafe(Math.min(limit, 2 * length) - length)])
      }
      const bytesRead = readSync(fd, buf, length, Math.min(buf.length, limit) - length, null)
      if (bytesRead === 0) break
      length += bytesRead
    }
    if (buf.length > scratch.length && buf.length <= SCRATCH_MAX) scratch = buf
    let data: Buffer = buf.subarray(0, length)
    if (length > cap.bytes && !gz) return tooLarge
    if (gz) {
      try {
        data = gunzip(data, cap.bytes)
      } catch {
        return {ok: false, absent: false, reason: `not gzip data, or larger than ${cap.bytes} bytes once decompressed`}
      }
    }
    if (data.includes(0)) return {ok: false, absent: false, reason: 'binary content (NUL bytes)'}
    const text = data.toString('utf8')
    if (hasMoreLines(text, cap.lines)) return {ok: false, absent: false, reason: `more than ${cap.lines} lines`}
    return {ok: true, text}
  } catch (error) {
    return {ok: false, absent: false, reason: (error as NodeJS.ErrnoException).code ?? 'read error'}
  } finally {
    closeSync(fd)
  }
}

/** Whether text has more than max newlines (String#indexOf, unlike Buffer#indexOf, is no call into C++). */
function hasMoreLines(text: string, max: number): boolean {
  if (text.length <= max) return false
  let n = 0
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) if (++n > max) return true
  return false
}

/** p is in the list itself, or under one of its folders ("/sys/module/" covers /sys/module/kvm). */
export function pathCovered(captured: readonly string[] | undefined, p: string): boolean {
  if (captured === undefined) return true
  return captured.some((c) => c === p || (c.endsWith('/') && (p.startsWith(c) || p === c.slice(0, -1))))
}

function readHostJson(abs: string, given: string): HostJson {
  const name = `--root ${printable(given)}: host.json`
  const read = readCapped(() => join(abs, 'host.json'), false, READ_CAPS.hostJson)
  if (!read.ok && read.absent)
    throw new HostRootError(
      `--root ${printable(given)}: no host.json in it; write the folder with \`kvmctl capture DIR\``,
    )
  if (!read.ok)
    throw new HostRootError(`${name} is unreadable (${read.reason}); capture again with \`kvmctl capture DIR\``)
  let data: unknown
  try {
    data = JSON.parse(read.text)
  } catch (error) {
    const at = /position (\d+)/.exec((error as Error).message)?.[1]
    throw new HostRootError(
      `${name} is not valid JSON${at ? ` (at character ${at})` : ''}; capture again with \`kvmctl capture DIR\``,
    )
  }
  const problem = validateHostJson(data)
  if (problem) throw new HostRootError(`${name} ${problem}; see fixtures/README.md for its fields`)
  const json = data as HostJson
  return json.dmesg ? {...json, dmesg: withoutOverlongLines(json.dmesg)} : json
}

/**
 * A kernel release as `uname -r` prints it, usable as one path segment (/boot/config-RELEASE,
 * /lib/modules/RELEASE/): letters, digits and . _ + ~ -, not starting with a dot. Empty means
 * "not shown by the source" (fixtures/README.md).
 */
const RELEASE = /^(?:[A-Za-z0-9][A-Za-z0-9._+~-]{0,63})?$/
/** uname -m: x86_64, aarch64, ... */
const MACHINE = /^[A-Za-z0-9_-]{0,32}$/
/** An errno name or "ok", as the KVM probe records each step. */
const STEP = /^(?:ok|E[A-Z0-9]{1,15})$/
/** The UNIX ids host.json holds: -1 means "not captured". */
const isId = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= -1 && (v as number) <= 0xffffffff
const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isShortText = (v: unknown, max = 256) => typeof v === 'string' && v.length <= max && printable(v, max + 1) === v

/** Returns what is wrong with a parsed host.json, or undefined when its shape is right. */
export function validateHostJson(data: unknown): string | undefined {
  if (!isObj(data)) return 'is not an object'
  const d = data
  if (d.schema !== undefined && d.schema !== 1)
    return `has "schema" ${describeValue(d.schema)}: this kvmctl reads schema 1`
  if (!isObj(d.uname) || typeof d.uname.release !== 'string' || typeof d.uname.machine !== 'string')
    return 'needs "uname": {release, machine} as strings'
  if (!RELEASE.test(d.uname.release))
    return `has a bad "uname.release" ${describeValue(d.uname.release)}: want a kernel release as \`uname -r\` prints it, such as "6.1.0-13-amd64" (one path segment, no "/" or "..")`
  if (!MACHINE.test(d.uname.machine))
    return `has a bad "uname.machine" ${describeValue(d.uname.machine)}: want \`uname -m\` output such as "x86_64"`
  const u = d.user
  if (!isObj(u) || !isId(u.uid) || !isId(u.gid) || !Array.isArray(u.groups) || !u.groups.every(isId))
    return 'needs "user": {uid, gid, groups: number[]} (whole numbers, -1 for not captured)'
  if (u.name !== undefined && !isShortText(u.name)) return 'has a bad "user.name": want a user name or no field'
  if (!isObj(d.devices)) return 'needs "devices": {"/dev/kvm": {...} or null, ...}'
  for (const [name, node] of Object.entries(d.devices)) {
    const bad = `has a bad devices[${describeValue(name)}]: want {mode: "0660", uid, gid, group?} or null`
    if (!isShortText(name)) return bad
    if (node === null) continue
    if (
      !isObj(node) ||
      typeof node.mode !== 'string' ||
      !/^[0-7]{1,4}$/.test(node.mode) ||
      !isId(node.uid) ||
      !isId(node.gid)
    )
      return bad
    if (node.group !== undefined && !isShortText(node.group, 64)) return bad
  }
  const k = d.kvm
  if (!isObj(k) || typeof k.open !== 'string') return 'needs "kvm": {open: "ok" or an errno name, ...}'
  for (const step of ['open', 'createVm', 'vcpu'] as const) {
    const v = k[step]
    if (step !== 'open' && v === undefined) continue
    if (typeof v !== 'string' || !STEP.test(v))
      return `has a bad "kvm.${step}" ${describeValue(v)}: want "ok" or an errno name such as "EACCES"`
  }
  if (k.apiVersion !== undefined && !(Number.isSafeInteger(k.apiVersion) && k.apiVersion >= 0))
    return `has a bad "kvm.apiVersion" ${describeValue(k.apiVersion)}: want a whole number such as 12`
  if (k.apiVersionError !== undefined && !(typeof k.apiVersionError === 'string' && STEP.test(k.apiVersionError)))
    return `has a bad "kvm.apiVersionError" ${describeValue(k.apiVersionError)}: want an errno name`
  const c = d.cpuid
  if (
    c !== null &&
    (!isObj(c) ||
      !isShortText(c.vendor, 12) ||
      typeof c.vmx !== 'boolean' ||
      typeof c.svm !== 'boolean' ||
      typeof c.hypervisor !== 'boolean')
  )
    return 'needs "cpuid": {vendor (12 characters at most), vmx, svm, hypervisor (true or false)} or null'
  if (d.dmesg !== null && typeof d.dmesg !== 'string') return 'needs "dmesg" as a string or null'
  if (d.container !== undefined && d.container !== null && !isShortText(d.container, 64))
    return 'has a bad "container": want a runtime name or null'
  if (d.source !== undefined && typeof d.source !== 'string') return 'has a bad "source": want a note as a string'
  if (d.paths !== undefined) {
    if (!isObj(d.paths)) return 'has a bad "paths": want {"/dev/hugepages": {mode: "1770", uid, gid} or null, ...}'
    for (const [path, attrs] of Object.entries(d.paths)) {
      const attrsOk =
        attrs === null ||
        (isObj(attrs) &&
          typeof attrs.mode === 'string' &&
          /^[0-7]{3,4}$/.test(attrs.mode) &&
          isId(attrs.uid) &&
          isId(attrs.gid))
      if (!isShortText(path, 4096) || !path.startsWith('/') || !attrsOk)
        return `has a bad paths[${describeValue(path)}]: want {mode: "1770", uid, gid} or null for an absolute host path`
    }
  }
  if (d.captured !== undefined) {
    if (!Array.isArray(d.captured)) return 'has a bad "captured": want an array of absolute host paths'
    const bad = d.captured.find((p) => !isShortText(p, 4096) || !(p as string).startsWith('/'))
    if (bad !== undefined)
      return `has a bad "captured" entry ${describeValue(bad)}: want an absolute host path such as "/proc/cpuinfo" or "/sys/module/"`
  }
  return undefined
}

function statDevice(p: string): DeviceNode | null {
  try {
    const st = statSync(p)
    return {mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), uid: st.uid, gid: st.gid}
  } catch {
    return null
  }
}

/** The kernel log: /dev/kmsg directly (fast), else `dmesg`; null when unreadable. */
async function readKernelLog(): Promise<string | null> {
  const {readKmsg} = await import('./kmsg.js')
  try {
    return readKmsg()
  } catch {
    const {runProcess} = await import('../lib/run-process.js')
    const run = await runProcess('dmesg', [], {LC_ALL: 'C'})
    return run.exitCode === 0 ? run.stdout.replace(/\n$/, '') : null
  }
}

/** The container runtime this process runs in, from what runtimes leave behind; null when none. */
function detectContainer(): string | null {
  // systemd-nspawn, LXC and Podman set `container` in PID 1's environment, which shells pass on.
  if (process.env.container) return process.env.container
  if (process.env.KUBERNETES_SERVICE_HOST) return 'kubernetes'
  return CONTAINER_MARKERS.find(([p]) => existsSync(p))?.[1] ?? null
}

async function gatherLiveFacts(): Promise<HostJson> {
  const [{loadNative}, dmesg, container, nodes] = await Promise.all([
    import('../native.js'),
    readKernelLog(),
    detectContainer(),
    DEVICE_PATHS.map(statDevice),
  ])
  const native = loadNative()
  const devices: Record<string, DeviceNode | null> = Object.fromEntries(DEVICE_PATHS.map((dev, i) => [dev, nodes[i]]))
  return {
    schema: 1,
    uname: {release: release(), machine: machine()},
    user: {
      uid: process.getuid?.() ?? -1,
      gid: process.getgid?.() ?? -1,
      groups: process.getgroups?.() ?? [],
      name: userInfo().username,
    },
    devices,
    kvm: native.probeKvm('/dev/kvm'),
    cpuid: native.cpuid(),
    dmesg,
    container,
  }
}

/**
 * The kernel never logs a record longer than 1024 bytes (plus the timestamp dmesg adds), so a
 * line over 2048 characters in a capture is corruption; dropping it keeps every log pattern linear in time
 * (a 100,000-character line made the scan take 50 s).
 */
export function withoutOverlongLines(dmesg: string): string {
  return dmesg
    .split('\n')
    .filter((line) => line.length <= 2048)
    .join('\n')
}
