// `kvmctl capture DIR`: writes the host files the checks read, plus host.json, so the host can be
// replayed anywhere with `kvmctl check --root DIR`. Users attach these to bug reports, so every
// file is cut down to what the checks use: no hostnames, serials, MACs, UUIDs, usernames or
// unrelated paths. The folder appears whole or not at all (written aside, then renamed).
import {mkdir, mkdtemp, readdir, rename, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {gzipSync} from 'node:zlib'

import {UsageError} from '../lib/errors.js'
import {captureSystemFacts, capturedList, type CaptureEntry} from './capture-system.js'
import {gatherFacts} from './facts.js'
import type {Host} from './host.js'
import {filterKernelLog} from './kernel-log.js'
import {
  CMDLINE,
  CPUINFO,
  FIRMWARE_IMAGE,
  HUGEPAGE_COUNTERS,
  HUGEPAGES_DIR,
  IOMMU_GROUPS,
  KSM_RUN,
  KVM_MISC,
  kernelConfigPaths,
  MEMINFO,
  moduleParamPath,
  modulesBuiltinPath,
  MOUNTS,
  OS_RELEASE,
  PROC_MODULES,
  SYS_MODULE,
  THP_ENABLED,
  VIRTIO_DEVICES,
  VIRTIO_DRIVERS,
  WATCHED_MODULES,
  WATCHED_PARAMS,
} from './paths.js'
import type {HostJson} from './types.js'
import {platformCaptureFiles, platformHostJson} from './platform-summary.js'

/** An empty file that keeps a directory in git: replay lists the directory, not the marker. */
export const KEEP = '.keep'

export interface CaptureResult {
  dir: string
  /** Captured files, relative to dir, sorted. */
  files: string[]
}

type Sanitiser = (text: string) => string

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi

export const sanitise = {
  /** Drops board serials (arm64 boards print "Serial"). */
  cpuinfo: (text: string) =>
    text
      .split('\n')
      .filter((l) => !/^serial\b/i.test(l))
      .join('\n'),
  /** Kernel addresses (visible to root) are replaced: they defeat KASLR and say nothing here. */
  procModules: (text: string) => text.replace(/ 0x[0-9a-f]+$/gim, ' 0x0000000000000000'),
  meminfo: (text: string) =>
    keepLines(text, (l) => /^(MemTotal|MemAvailable|HugePages_\w+|Hugepagesize|Hugetlb):/.test(l)),
  mounts: (text: string) => keepLines(text, (l) => /^\S+ \S+ (hugetlbfs|cgroup2?) /.test(l)),
  /** What follows " -- " belongs to init; UUIDs identify disks. */
  cmdline: (text: string) => text.split(' -- ')[0].trim().replace(UUID, '00000000-0000-0000-0000-000000000000') + '\n',
  osRelease: (text: string) =>
    keepLines(text, (l) => /^(ID|ID_LIKE|NAME|PRETTY_NAME|VERSION|VERSION_ID|VERSION_CODENAME)=/.test(l)),
  /** The compiled-in default hostname is the only host-identifying option a config can carry. */
  kernelConfig: (text: string) => text.replace(/^CONFIG_DEFAULT_HOSTNAME=.*$/m, 'CONFIG_DEFAULT_HOSTNAME="(none)"'),
} satisfies Record<string, Sanitiser>

function keepLines(text: string, keep: (line: string) => boolean): string {
  // Matching the non-empty lines costs nothing per empty one (a capped file can hold millions).
  const lines = (text.match(/^[^\n]+$/gm) ?? []).filter(keep)
  return lines.length ? lines.join('\n') + '\n' : ''
}

/** host.json as a capture stores it: no user name, only the kernel-log lines the checks use. */
export function sanitiseHostJson(
  json: HostJson,
  source: string,
  extra: Pick<HostJson, 'captured' | 'paths'> = {},
): HostJson {
  const {name: _name, ...user} = json.user
  return {
    schema: 1,
    uname: json.uname,
    user,
    devices: json.devices,
    kvm: json.kvm,
    cpuid: json.cpuid,
    dmesg: filterKernelLog(json.dmesg),
    ...(json.container === undefined ? {} : {container: json.container}),
    ...extra,
    source,
  }
}

/** Every file of a capture, relative path to content, read through the host layer. */
export async function collectCapture(host: Host, source: string): Promise<Map<string, CaptureEntry>> {
  const facts = await gatherFacts(host, {processes: true})
  const release = facts.host.uname.release
  const out = new Map<string, CaptureEntry>()
  const copy = async (path: string, clean: Sanitiser = (t) => t) => {
    const text = await host.read(path)
    if (text !== undefined) out.set(path, path.endsWith('.gz') ? gzipSync(clean(text)) : clean(text))
  }
  const keepDir = (path: string) => out.set(`${path}/${KEEP}`, '')
  const sysModules = new Set(facts.sysModules ?? [])
  const iommu = await host.list(IOMMU_GROUPS)
  await Promise.all([
    copy(CPUINFO, sanitise.cpuinfo),
    copy(PROC_MODULES, sanitise.procModules),
    copy(MEMINFO, sanitise.meminfo),
    copy(MOUNTS, sanitise.mounts),
    copy(THP_ENABLED),
    copy(KSM_RUN),
    copy(CMDLINE, sanitise.cmdline),
    copy(OS_RELEASE, sanitise.osRelease),
    copy(modulesBuiltinPath(release)),
    ...kernelConfigPaths(release).map((p) => copy(p, sanitise.kernelConfig)),
    ...WATCHED_PARAMS.filter(([m]) => sysModules.has(m)).map(([m, p]) => copy(moduleParamPath(m, p))),
    ...facts.hugepages.flatMap((pool) =>
      HUGEPAGE_COUNTERS.map((c) => copy(`${HUGEPAGES_DIR}/hugepages-${pool.sizeKb}kB/${c}`)),
    ),
  ])
  for (const m of WATCHED_MODULES) if (sysModules.has(m)) keepDir(`${SYS_MODULE}/${m}`)
  if (iommu !== undefined) {
    const groups = iommu.filter((e) => /^\d+$/.test(e))
    if (groups.length === 0) keepDir(IOMMU_GROUPS)
    for (const g of groups) keepDir(`${IOMMU_GROUPS}/${g}`)
  }
  if (facts.kvmMisc) keepDir(KVM_MISC)
  // Virtio devices keep their id; a bound driver is an empty file named after the device.
  if (facts.virtioDevices) {
    if (facts.virtioDevices.length === 0) keepDir(VIRTIO_DEVICES)
    for (const d of facts.virtioDevices) {
      out.set(
        `${VIRTIO_DEVICES}/${d.name}/device`,
        d.device === null ? '' : `0x${d.device.toString(16).padStart(4, '0')}\n`,
      )
      if (d.driver) out.set(`${VIRTIO_DRIVERS}/${d.driver}/${d.name}`, '')
    }
  }
  // Firmware images are looked up by name only: empty files stand for them.
  for (const {dir, files} of facts.firmware) {
    const images = files.filter((n) => FIRMWARE_IMAGE.test(n))
    if (images.length === 0) keepDir(dir)
    for (const name of images) out.set(`${dir}/${name}`, '')
  }
  for (const [path, text] of platformCaptureFiles(facts)) out.set(path, text)
  const system = captureSystemFacts(facts)
  for (const [path, entry] of system.files) out.set(path, entry)
  const json = sanitiseHostJson(facts.host, source, {captured: capturedList(facts), paths: system.paths})
  out.set('/host.json', JSON.stringify({...json, ...platformHostJson(facts)}, null, 2) + '\n')
  return out
}

/**
 * Writes a capture of host into dir. Refuses a non-empty dir unless force; the files are written
 * to a sibling temporary folder that is renamed into place, so dir is never left half-written.
 */
export async function captureHost(
  host: Host,
  dir: string,
  options: {force?: boolean; source: string},
): Promise<CaptureResult> {
  const target = resolve(dir)
  const existing = await stat(target).catch(() => undefined)
  if (existing && !existing.isDirectory())
    throw new UsageError(`capture ${dir}: exists and is not a folder; pick a new folder name`)
  if (existing && !options.force && (await readdir(target)).length > 0) {
    throw new UsageError(
      `capture ${dir}: the folder exists and is not empty; pick a new folder, or pass --force to replace it`,
    )
  }
  const files = await collectCapture(host, options.source)
  await mkdir(dirname(target), {recursive: true})
  const staging = await mkdtemp(join(dirname(target), `.${basename(target)}.capture-`))
  try {
    for (const [path, content] of files) {
      const file = join(staging, path)
      await mkdir(dirname(file), {recursive: true})
      if (typeof content === 'object' && 'link' in content) await symlink(content.link, file)
      else await writeFile(file, content)
    }
    if (existing) {
      const old = `${staging}.old`
      await rename(target, old)
      await rename(staging, target)
      await rm(old, {recursive: true, force: true})
    } else {
      await rename(staging, target)
    }
  } catch (error) {
    await rm(staging, {recursive: true, force: true})
    throw error
  }
  return {dir: target, files: [...files.keys()].map((p) => p.replace(/^\//, '')).sort()}
}
