// Gathers everything the checks need from a Host into one plain, JSON-friendly object, so the
// checks stay pure functions of it. All reads are started together: start-up time matters.
import {type BootConfig, readBootConfig} from './boot-config.js'
import {parseCounter, parseKb} from '../lib/parse.js'
import type {Host} from './host.js'
import {
  CMDLINE,
  CPUINFO,
  FIRMWARE_DIRS,
  HUGEPAGE_COUNTERS,
  HUGEPAGES_DIR,
  IOMMU_GROUPS,
  KMSG,
  KVM_MISC,
  KSM_RUN,
  kernelConfigPaths,
  MEMINFO,
  moduleParamPath,
  modulesBuiltinPath,
  MOUNTS,
  OS_RELEASE,
  DEFAULT_HUGETLBFS_MOUNT,
  FSTAB,
  GROUP_FILE,
  MODPROBE_DIRS,
  KVM_PROCESSES,
  SYSCTL_CONF,
  SYSCTL_DIRS,
  PROC_MODULES,
  SYS_MODULE,
  THP_ENABLED,
  VIRTIO_DEVICES,
  VIRTIO_DRIVERS,
  VENDOR_MODULES,
  WATCHED_MODULES,
  WATCHED_PARAMS,
} from './paths.js'
import {readSystemFacts, type SystemFacts} from './system.js'
import type {HostJson} from './types.js'
import {gatherPlatform, type PlatformFacts} from './platform.js'

/** A kernel config option: built in, a module, or not set (absent counts as not set). */
export type ConfigValue = 'y' | 'm' | 'unset'

export interface KernelConfig {
  /** The host path it was read from, e.g. /proc/config.gz. */
  source: string
  /** CONFIG_ names without the prefix; values as written ("y", "m", a number or quoted text). */
  readonly options: Record<string, string>
  /**
   * One option's value as `options` has it, found without parsing the whole config: the checks ask
   * for a dozen of its thousands (configOption uses it when present).
   */
  value?(name: string): string | undefined
}

/** A kernel config read from text: `options` is parsed on first use, `value` searches the text. */
export function kernelConfigOf(source: string, text: string): KernelConfig {
  let options: Record<string, string> | undefined
  // The checks ask a handful of options again and again (each module's state asks its own).
  const found = new Map<string, string | undefined>()
  const search = (name: string) => {
    if (!found.has(name)) found.set(name, lastConfigValue(text, name))
    return found.get(name)
  }
  return {
    source,
    get options() {
      return (options ??= parseKernelConfig(text))
    },
    value: (name) => (options ? (Object.hasOwn(options, name) ? options[name] : undefined) : search(name)),
  }
}

/** The value of the last line of text that sets CONFIG_name, as parseKernelConfig would keep it. */
function lastConfigValue(text: string, name: string): string | undefined {
  if (!/^\w+$/.test(name)) return undefined
  const key = `CONFIG_${name}=`
  for (let at = text.lastIndexOf(key); at >= 0; at = at === 0 ? -1 : text.lastIndexOf(key, at - 1)) {
    if (at > 0 && text[at - 1] !== '\n') continue
    const newline = text.indexOf('\n', at)
    const value = text.slice(at + key.length, newline < 0 ? text.length : newline)
    if (!/[\r\u2028\u2029]/.test(value)) return value
  }
  return undefined
}

/** One option of a kernel config, as written; undefined when the config does not set it. */
function configOption(config: KernelConfig | null | undefined, name: string): string | undefined {
  if (!config) return undefined
  if (config.value) return config.value(name)
  return Object.hasOwn(config.options, name) ? config.options[name] : undefined
}

export interface HugepagePool {
  sizeKb: number
  total: number
  free: number
  reserved: number
  surplus: number
}

export interface Mount {
  source: string
  target: string
  fstype: string
  options: string
}

export interface CpuInfo {
  /** vendor_id on x86 ("GenuineIntel"), "CPU implementer" on arm64 ("0x41"). */
  vendor?: string
  model?: string
  /** x86 "flags" or arm64 "Features" of the first CPU. */
  flags: string[]
  count: number
}

/** One of this host's own virtio devices (it is a guest): `device` is the virtio device id. */
export interface VirtioDevice {
  name: string
  device: number | null
  /** The bound driver, e.g. virtio_net; null when none is bound. */
  driver: string | null
}

export interface FirmwareDir {
  dir: string
  files: string[]
}

/**
 * A fact a replayed capture did not cover (its host.json `captured` list leaves the path out):
 * neither present nor absent on that host, so checks that need only it skip. `module:NAME` is
 * /sys/module/NAME, `param:MODULE.PARAM` its parameter file. Live, nothing is unknown.
 */
export type Fact =
  | 'cpuinfo'
  | 'kernelConfig'
  | 'procModules'
  | 'modulesBuiltin'
  | 'meminfo'
  | 'hugepages'
  | 'mounts'
  | 'thp'
  | 'ksm'
  | 'iommuGroups'
  | 'cmdline'
  | 'firmware'
  | 'dmesg'
  | 'kvm'
  | 'kvmMisc'
  | 'virtio'
  | 'groups'
  /** The /etc/passwd lines of the users a planner named, and so their group memberships. */
  | 'accounts'
  | 'fstab'
  | 'sysctl'
  | 'modprobe'
  | 'numa'
  | 'kvmProcesses'
  | `module:${string}`
  | `param:${string}`
  /** The mode and group of a host path (a hugetlbfs mount point). */
  | `path:${string}`

/** 'unknown' when neither uname nor the CPU facts were captured. */
export type Arch = 'x86' | 'arm64' | 'other' | 'unknown'

export interface HostFacts extends PlatformFacts, SystemFacts {
  /** True on the live machine, false when replaying a capture. */
  live: boolean
  root?: string
  /** Files that were there but unreadable (too large, not a number, out of the root), with why. */
  unreadable: Record<string, string>
  arch: Arch
  /** Facts the capture did not cover; see Fact. Device nodes it did not cover are left out of host.devices. */
  unknown: Fact[]
  /** host.json facts (or the live equivalents): uname, user, devices, kvm, cpuid, dmesg. */
  host: HostJson
  cpu: CpuInfo | null
  kernelConfig: KernelConfig | null
  /** Names from /proc/modules; null when the file is absent (no module support, or not captured). */
  loadedModules: string[] | null
  /** Names from modules.builtin (kvm-intel.ko becomes kvm_intel); null when absent. */
  builtinModules: string[] | null
  /** Entries of /sys/module; null when absent. */
  sysModules: string[] | null
  /** "module.param" to its value, for the parameters the checks read. */
  moduleParams: Record<string, string>
  meminfo: Record<string, number>
  hugepages: HugepagePool[]
  mounts: Mount[]
  /** The selected transparent hugepage mode ("always", "madvise", "never"); null when absent. */
  thp: string | null
  /** /sys/kernel/mm/ksm/run: "0" off, "1" running, "2" unmerging; null when absent. */
  ksm: string | null
  /** Number of IOMMU groups; null when /sys/kernel/iommu_groups is absent. */
  iommuGroups: number | null
  cmdline: string | null
  firmware: FirmwareDir[]
  /** PRETTY_NAME from /etc/os-release. */
  os: string | null
  /** Whether a KVM backend registered the misc device behind /dev/kvm (/sys/class/misc/kvm). */
  kvmMisc: boolean
  /** This host's own virtio devices; null when it has no virtio bus. */
  virtioDevices: VirtioDevice[] | null
  /** What the boot configuration will set up at the next boot (src/host/boot-config.ts). */
  boot: BootConfig
}

export interface GatherOptions {
  /** More host paths whose mode and owner a planner needs (a requested --mount). */
  paths?: string[]
  /** Scan /proc for processes with /dev/kvm open (tune nested); off for check, which never needs it. */
  processes?: boolean
  /** Users whose accounts a planner needs (tune access --user): see SystemFacts.accounts. */
  users?: string[]
}

export async function gatherFacts(host: Host, opts: GatherOptions = {}): Promise<HostFacts> {
  // host.json (or the live probe) names the kernel release, which two paths depend on; every
  // other read starts at once beside it.
  const hostJsonRead = host.facts()
  // Its failure (a bad host.json, an addon that is not built) ends the command here, before the
  // reads below that wait on it could fail where nothing is listening for them.
  await hostJsonRead
  const releaseDependent = hostJsonRead.then(async (json) => {
    const release = json.uname.release
    const [configs, builtin] = await Promise.all([
      Promise.all(kernelConfigPaths(release).map(async (p) => [p, await host.read(p)] as const)),
      host.read(modulesBuiltinPath(release)),
    ])
    return {config: configs.find(([, text]) => text !== undefined), builtin}
  })
  const platform = gatherPlatform(host)
  // The mount points to stat come from /proc/mounts: the system facts start on their own read of it.
  // A capture without a `captured` list was written before kvmctl captured what the planners
  // read: it covers the checks' paths only, and the planners' facts are unknown in it.
  const systemRead = Promise.all([host.read(MOUNTS), hostJsonRead]).then(([text, j]) =>
    readSystemFacts(host, {
      covers: (p) => host.live || (j.captured !== undefined && host.covers(p)),
      recorded: j.paths,
      vendorModules: VENDOR_MODULES,
      pathsToStat: [
        DEFAULT_HUGETLBFS_MOUNT,
        ...(opts.paths ?? []),
        ...parseMounts(text ?? '')
          .filter((m) => m.fstype === 'hugetlbfs')
          .map((m) => m.target),
      ],
      withProcesses: opts.processes === true,
      users: opts.users,
    }),
  )
  const bootRead = hostJsonRead.then((j) =>
    readBootConfig(host, systemRead, (p) => host.live || (j.captured !== undefined && host.covers(p))),
  )
  const [
    json,
    dependent,
    cpuinfo,
    modules,
    sysModules,
    params,
    meminfo,
    hugepages,
    mounts,
    thp,
    ksm,
    iommu,
    cmdline,
    firmware,
    osRelease,
    system,
  ] = await Promise.all([
    hostJsonRead,
    releaseDependent,
    host.read(CPUINFO),
    host.read(PROC_MODULES),
    host.list(SYS_MODULE),
    Promise.all(
      WATCHED_PARAMS.map(async ([m, p]): Promise<[string, string | undefined]> => [
        `${m}.${p}`,
        await host.readValue(moduleParamPath(m, p)),
      ]),
    ),
    host.read(MEMINFO),
    readHugepagePools(host),
    host.read(MOUNTS),
    host.readValue(THP_ENABLED),
    host.readValue(KSM_RUN),
    host.list(IOMMU_GROUPS),
    host.readValue(CMDLINE),
    Promise.all(
      FIRMWARE_DIRS.map(async (dir): Promise<{dir: string; files?: string[]}> => ({dir, files: await host.list(dir)})),
    ),
    host.read(OS_RELEASE),
    systemRead,
  ])
  const [kvmMisc, virtioDevices] = await Promise.all([host.exists(KVM_MISC), readVirtioDevices(host)])
  const cpu = cpuinfo === undefined ? null : parseCpuinfo(cpuinfo)
  // A fact is unknown when its file is absent and the capture did not cover the path.
  const release = json.uname.release
  // An unreadable file (too large, not a number, a folder, ...) tells nothing either: unknown too.
  const absentUncovered = (value: unknown, ...paths: string[]) =>
    value === undefined && (!paths.every((p) => host.covers(p)) || paths.some((p) => host.unreadable.has(p)))
  // Files tune plans a diff of (fstab, sysctl.d) are read again by the planner, which names the problem.
  const planned = (p: string) => host.live || (json.captured !== undefined && host.covers(p))
  const absentUnplanned = (value: unknown, p: string) => value === undefined && !planned(p)
  const unknown: Fact[] = []
  const mark = (fact: Fact, uncovered: boolean) => uncovered && unknown.push(fact)
  mark('cpuinfo', absentUncovered(cpuinfo, CPUINFO))
  mark('kernelConfig', absentUncovered(dependent.config, ...kernelConfigPaths(release)))
  mark('procModules', absentUncovered(modules, PROC_MODULES))
  mark('modulesBuiltin', absentUncovered(dependent.builtin, modulesBuiltinPath(release)))
  mark('meminfo', absentUncovered(meminfo, MEMINFO))
  const poolUnreadable = [...host.unreadable.keys()].some((p) => p.startsWith(`${HUGEPAGES_DIR}/`))
  mark('hugepages', (hugepages.length === 0 && !host.covers(HUGEPAGES_DIR)) || poolUnreadable)
  mark('mounts', absentUncovered(mounts, MOUNTS))
  mark('thp', absentUncovered(thp, THP_ENABLED))
  mark('ksm', absentUncovered(ksm, KSM_RUN))
  mark('iommuGroups', absentUncovered(iommu, IOMMU_GROUPS))
  mark('cmdline', absentUncovered(cmdline, CMDLINE))
  mark('firmware', firmware.every((d) => d.files === undefined) && !FIRMWARE_DIRS.every((d) => host.covers(d)))
  mark('dmesg', !host.covers(KMSG))
  mark('kvm', !host.covers('/dev/kvm'))
  mark('kvmMisc', !kvmMisc && !host.covers(KVM_MISC))
  mark('virtio', virtioDevices === null && !host.covers(`${VIRTIO_DEVICES}/`))
  mark('groups', absentUnplanned(system.groups ?? undefined, GROUP_FILE) || host.unreadable.has(GROUP_FILE))
  mark('accounts', system.accounts === null)
  mark('fstab', absentUnplanned(system.fstab ?? undefined, FSTAB))
  mark('sysctl', ![...SYSCTL_DIRS.map((d) => `${d}/`), SYSCTL_CONF].every(planned))
  mark('modprobe', !MODPROBE_DIRS.every((d) => planned(`${d}/`)))
  mark('numa', system.numaNodes === null)
  mark('kvmProcesses', opts.processes === true && !planned(KVM_PROCESSES))
  for (const [p, attrs] of Object.entries(system.paths)) mark(`path:${p}`, attrs === null && !planned(p))
  for (const m of WATCHED_MODULES) mark(`module:${m}`, !host.covers(`${SYS_MODULE}/${m}/`))
  WATCHED_PARAMS.forEach(([m, p], i) => mark(`param:${m}.${p}`, absentUncovered(params[i][1], moduleParamPath(m, p))))
  // Device nodes the capture did not cover are left out: undefined means unknown.
  const devices = Object.fromEntries(Object.entries(json.devices).filter(([dev]) => host.covers(dev)))
  const named = system.groups === null ? devices : nameDeviceGroups(devices, system.groups)
  return {
    live: host.live,
    ...(host.root === undefined ? {} : {root: host.root}),
    unreadable: Object.fromEntries(host.unreadable),
    arch: archOf(json.uname.machine, json.cpuid !== null, cpu),
    unknown,
    // Uncovered facts are dropped, so no check can read them by mistake.
    host: {...json, devices: named, ...(host.covers(KMSG) ? {} : {dmesg: null})},
    cpu,
    kernelConfig: dependent.config ? kernelConfigOf(dependent.config[0], dependent.config[1]!) : null,
    loadedModules: modules === undefined ? null : parseProcModules(modules),
    builtinModules: dependent.builtin === undefined ? null : parseModulesBuiltin(dependent.builtin),
    sysModules: sysModules ?? null,
    moduleParams: Object.fromEntries(params.filter((e): e is [string, string] => e[1] !== undefined)),
    meminfo: meminfo === undefined ? {} : parseMeminfo(meminfo),
    hugepages,
    mounts: mounts === undefined ? [] : parseMounts(mounts),
    thp: thp === undefined ? null : selectedMode(thp),
    ksm: ksm ?? null,
    iommuGroups: iommu === undefined ? null : iommu.filter((e) => /^\d+$/.test(e)).length,
    cmdline: cmdline ?? null,
    firmware: firmware.filter((f): f is FirmwareDir => f.files !== undefined),
    os: osRelease === undefined ? null : (parseOsRelease(osRelease).PRETTY_NAME ?? null),
    ...(await platform),
    kvmMisc,
    virtioDevices,
    ...system,
    boot: await bootRead,
  }
}

/** The virtio devices and, from each driver's folder of bound devices, which driver has each. */
async function readVirtioDevices(host: Host): Promise<VirtioDevice[] | null> {
  const names = await host.list(VIRTIO_DEVICES)
  if (names === undefined) return null
  const drivers = (await host.list(VIRTIO_DRIVERS)) ?? []
  const boundTo = new Map<string, string>()
  for (const [driver, entries] of await Promise.all(
    drivers.map(async (d) => [d, (await host.list(`${VIRTIO_DRIVERS}/${d}`)) ?? []] as const),
  )) {
    for (const entry of entries) if (/^virtio\d+$/.test(entry)) boundTo.set(entry, driver)
  }
  const devices = names.filter((n) => /^virtio\d+$/.test(n))
  const ids = await Promise.all(devices.map((n) => host.readValue(`${VIRTIO_DEVICES}/${n}/device`)))
  return devices.map((name, i) => {
    const id = ids[i] === undefined || !/^0x[\da-f]+$/i.test(ids[i]!) ? null : Number.parseInt(ids[i]!, 16)
    return {name, device: id, driver: boundTo.get(name) ?? null}
  })
}

/** The architecture from uname; when the capture lacks uname, from the CPU facts it has. */
export function archOf(machine: string, hasCpuid: boolean, cpu: CpuInfo | null): Arch {
  if (/^(x86_64|i[3-6]86|amd64)$/.test(machine)) return 'x86'
  if (/^(aarch64|arm64)$/.test(machine)) return 'arm64'
  if (machine !== '') return 'other'
  if (hasCpuid || /^(GenuineIntel|AuthenticAMD|HygonGenuine)$/.test(cpu?.vendor ?? '')) return 'x86'
  // arm64 cpuinfo names the implementer as a hex code ("CPU implementer : 0x41").
  if (/^0x[\da-f]+$/i.test(cpu?.vendor ?? '')) return 'arm64'
  return 'unknown'
}

/** True when the replayed capture did not cover this fact (never live). */
export function isUnknown(f: HostFacts, fact: Fact): boolean {
  return f.unknown.includes(fact)
}

/** Adds the group name to each device node from /etc/group, so remedies can name it. */
function nameDeviceGroups(
  devices: HostJson['devices'],
  groups: NonNullable<SystemFacts['groups']>,
): HostJson['devices'] {
  const names = new Map<number, string>()
  for (const {name, gid} of groups) if (!names.has(gid)) names.set(gid, name)
  return Object.fromEntries(
    Object.entries(devices).map(([path, node]) => [
      path,
      node && node.group === undefined && names.has(node.gid) ? {...node, group: names.get(node.gid)} : node,
    ]),
  )
}

export async function readHugepagePools(host: Host): Promise<HugepagePool[]> {
  const sizes = (await host.list(HUGEPAGES_DIR)) ?? []
  const pools = await Promise.all(
    sizes.map(async (entry) => {
      const sizeKb = parseCounter(/^hugepages-(\d+)kB$/.exec(entry)?.[1])
      if (!sizeKb) return undefined
      // An absent counter reads 0 (older kernels lack surplus); one that is not a number makes
      // the pool unreadable (recorded in host.unreadable), never NaN in a report.
      const counts = await Promise.all(
        HUGEPAGE_COUNTERS.map(async (c) => {
          const path = `${HUGEPAGES_DIR}/${entry}/${c}`
          return (await host.readNumber(path, parseCounter)) ?? (host.unreadable.has(path) ? undefined : 0)
        }),
      )
      if (counts.some((n) => n === undefined)) return undefined
      const [total, free, reserved, surplus] = counts as number[]
      return {sizeKb, total, free, reserved, surplus}
    }),
  )
  return pools.filter((p): p is HugepagePool => p !== undefined).sort((a, b) => a.sizeKb - b.sizeKb)
}

/** The value of a config option as y / m / unset ("is not set" and absent are both unset). */
export function configValue(config: KernelConfig | null, name: string): ConfigValue | undefined {
  if (!config) return undefined
  const v = configOption(config, name)
  return v === 'y' || v === 'm' ? v : 'unset'
}

/**
 * The CONFIG_NAME=value lines of a kernel config (each line as /^CONFIG_(\w+)=(.*)$/ reads it). A
 * config has thousands of lines: the scan finds each line's start with indexOf and runs an
 * expression on the CONFIG_ lines only (a regex on every line took about 10 ms here).
 */
export function parseKernelConfig(text: string): Record<string, string> {
  const options: Record<string, string> = {}
  // `.` matches no other line terminator, so a value holding one is no match: checked per value
  // only in the rare text that has one.
  const otherTerminators = /[\r\u2028\u2029]/.test(text)
  for (let start = 0; start <= text.length;) {
    const newline = text.indexOf('\n', start)
    const end = newline < 0 ? text.length : newline
    if (text.startsWith('CONFIG_', start)) {
      const equals = text.indexOf('=', start)
      if (equals >= 0 && equals < end) {
        const name = text.slice(start + 7, equals)
        const value = text.slice(equals + 1, end)
        if (/^\w+$/.test(name) && !(otherTerminators && /[\r\u2028\u2029]/.test(value))) options[name] = value
      }
    }
    start = end + 1
  }
  return options
}

/** Fields of the first CPU (up to the first blank line) and the number of CPUs, line by line:
 * the cost stays linear in the lines the read cap allows, whatever one line holds. */
export function parseCpuinfo(text: string): CpuInfo {
  const first = new Map<string, string>()
  let count = 0
  let inFirst = true
  for (const [i, line] of text.split('\n').entries()) {
    if (i > 0 && line.trim() === '') inFirst = false
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const name = line.slice(0, colon).trimEnd()
    if (name === 'processor') count++
    if (inFirst && !first.has(name)) first.set(name, line.slice(colon + 1).trim())
  }
  const field = (name: string) => first.get(name)
  const flags = field('flags') ?? field('Features') ?? ''
  return {
    vendor: field('vendor_id') ?? field('CPU implementer'),
    model: field('model name') ?? field('Hardware'),
    flags: flags.split(/\s+/).filter(Boolean),
    count,
  }
}

export function parseProcModules(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter(Boolean)
}

/** modules.builtin lists paths like kernel/arch/x86/kvm/kvm-intel.ko; module names use "_". */
export function parseModulesBuiltin(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /([^/]+)\.ko(?:\.\w+)?$/.exec(line.trim())?.[1]?.replace(/-/g, '_'))
    .filter((name): name is string => Boolean(name))
}

export function parseMeminfo(text: string): Record<string, number> {
  const values: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line)
    const n = parseKb(m?.[2])
    if (m && n !== undefined) values[m[1]] = n
  }
  return values
}

export function parseMounts(text: string): Mount[] {
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length >= 4)
    .map(([source, target, fstype, options]) => ({source, target: unescapeMount(target), fstype, options}))
}

/** /proc/mounts escapes spaces and the like as octal (\040). */
function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
}

/** "always [madvise] never" -> "madvise". */
export function selectedMode(text: string): string {
  return /\[(\w+)\]/.exec(text)?.[1] ?? text.trim()
}

export function parseOsRelease(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line.trim())
    if (m) values[m[1]] = m[3]
  }
  return values
}
