// What the next boot will set up, from the files that configure it: the kernel command line (the
// boot loader's configuration), vm.nr_hugepages from sysctl.d (the last file by name wins),
// `options MODULE nested=` from modprobe.d, hugetlbfs lines in /etc/fstab (those three from the
// system facts, read once in system.ts), the KSM tmpfiles.d line or ksm.service, and the tuned
// profile that applies its own values after all of them. A source whose files a replayed capture
// did not hold is unknown (undefined), never "not set".
import {parseFstabLine} from '../lib/fstab.js'
import {type BootLoader, type BootLoaderKind, detectBootLoader, GRUB_DEFAULT, KERNEL_CMDLINE} from './boot-loader.js'
import type {Host} from './host.js'
import {KSM_RUN} from './paths.js'
import {modprobeOptions, type SystemFacts} from './system.js'

export interface Setter {
  value: string
  /** The host file that sets it. */
  file: string
}

export interface TunedProfile {
  name: string
  /** [vm] transparent_hugepages, [sysctl] vm.nr_hugepages, from the profile and what it includes. */
  thp: Setter | null
  nrHugepages: Setter | null
}

export interface BootConfig {
  /** The next boot's command line and the boot loader it comes from; null when none is found. */
  cmdline: {loader: BootLoaderKind; text: string} | null
  /** vm.nr_hugepages at boot; undefined when the sysctl files are unknown, null when none sets it. */
  nrHugepages: Setter | null | undefined
  /** `options MODULE nested=` per vendor module; undefined when modprobe.d is unknown. */
  nested: Record<string, Setter> | undefined
  /** hugetlbfs mount points in /etc/fstab; undefined when fstab is unknown. */
  fstabHugetlbfs: string[] | undefined
  /** KSM run at boot (tmpfiles.d `w /sys/kernel/mm/ksm/run`, or an enabled ksm.service); undefined when unknown. */
  ksmRun: Setter | null | undefined
  tuned: TunedProfile | null
  /** PID 1's name: systemd mounts /dev/hugepages itself and runs tmpfiles.d. */
  init: string | null
  /**
   * What `kvmctl capture` keeps so a replay reads the same boot configuration: host path to text
   * (cut to the lines kvmctl reads), '' for a file whose presence alone matters (a folder: PATH/).
   */
  sources: Record<string, string>
}

/** A host whose boot configuration is not known at all (a capture without it). */
export const UNKNOWN_BOOT_CONFIG: BootConfig = {
  cmdline: null,
  nrHugepages: undefined,
  nested: undefined,
  fstabHugetlbfs: undefined,
  ksmRun: undefined,
  tuned: null,
  init: null,
  sources: {},
}

const TMPFILES_DIRS = ['/etc/tmpfiles.d', '/run/tmpfiles.d', '/usr/local/lib/tmpfiles.d', '/usr/lib/tmpfiles.d']
export const TUNED_ACTIVE = '/etc/tuned/active_profile'
export const TUNED_DIRS = ['/etc/tuned', '/usr/lib/tuned', '/usr/lib/tuned/profiles']
export const KSM_SERVICE_WANTS = '/etc/systemd/system/multi-user.target.wants/ksm.service'

/** Config files of a drop-in directory set, in the order they apply (name order; earlier dirs shadow). */
async function dropIns(host: Host, dirs: string[], suffix: string): Promise<string[]> {
  const byName = new Map<string, string>()
  for (const dir of dirs) {
    for (const name of (await host.list(dir)) ?? [])
      if (name.endsWith(suffix) && !byName.has(name)) byName.set(name, `${dir}/${name}`)
  }
  return [...byName.keys()].sort().map((n) => byName.get(n)!)
}

/** vm.nr_hugepages at boot from the system facts' sysctl files (boot order: the last setter wins). */
function sysctlSetter(system: SystemFacts, key: string): Setter | null {
  let found: Setter | null = null
  for (const f of system.sysctl) if (f.settings[key] !== undefined) found = {value: f.settings[key], file: f.path}
  return found
}

function nestedSetters(system: SystemFacts): Record<string, Setter> {
  const out: Record<string, Setter> = {}
  for (const module of ['kvm_intel', 'kvm_amd']) {
    const opt = modprobeOptions(system.modprobe, module).nested
    if (opt) out[module] = {value: opt.value, file: opt.path}
  }
  return out
}

/** The hugetlbfs mount points /etc/fstab mounts at boot (fstab(5) escapes undone). */
function fstabHugetlbfs(text: string): string[] {
  return text
    .split('\n')
    .map(parseFstabLine)
    .filter((e) => e?.vfstype === 'hugetlbfs')
    .map((e) => e!.file)
}

async function ksmAtBoot(host: Host, sources: Record<string, string>): Promise<Setter | null> {
  let found: Setter | null = null
  for (const file of await dropIns(host, TMPFILES_DIRS, '.conf')) {
    const text = (await host.read(file)) ?? ''
    // Most systems have dozens of these files and none about KSM: only a file naming it is parsed.
    if (!text.includes(KSM_RUN)) continue
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/)
      if (/^w\+?$/.test(f[0] ?? '') && f[1] === KSM_RUN && f[6] !== undefined) {
        found = {value: f[6], file}
        sources[file] = (sources[file] ?? '') + `${line.trim()}\n`
      }
    }
  }
  // Fedora's qemu-kvm ksm.service starts KSM at boot when enabled.
  if (!found && (await host.exists(KSM_SERVICE_WANTS))) {
    found = {value: '1', file: KSM_SERVICE_WANTS}
    sources[KSM_SERVICE_WANTS] = ''
  }
  return found
}

/** The tuned.conf keys kvmctl reads (a capture keeps only these). */
const TUNED_KEEP: Array<[string, string]> = [
  ['main', 'include'],
  ['vm', 'transparent_hugepages'],
  ['vm', 'transparent_hugepage'],
  ['sysctl', 'vm.nr_hugepages'],
]

/** INI sections of a tuned.conf: section -> key -> value. */
function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>()
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const s = /^\[(.+)\]$/.exec(line)
    if (s) {
      section = s[1]
      continue
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line)
    if (!kv) continue
    if (!out.has(section)) out.set(section, new Map())
    out.get(section)!.set(kv[1], kv[2])
  }
  return out
}

async function tunedProfile(host: Host, sources: Record<string, string>): Promise<TunedProfile | null> {
  const name = (await host.readValue(TUNED_ACTIVE))?.split(/\s+/)[0]
  if (!name) return null
  sources[TUNED_ACTIVE] = `${name}\n`
  const profile: TunedProfile = {name, thp: null, nrHugepages: null}
  // A profile's own values win over those of the profiles it includes: read includes first.
  const visit = async (p: string, depth: number): Promise<void> => {
    if (depth > 5) return
    for (const dir of TUNED_DIRS) {
      const file = `${dir}/${p}/tuned.conf`
      const text = await host.read(file)
      if (text === undefined) continue
      const ini = parseIni(text)
      sources[file] = TUNED_KEEP.map(([section, key]) => {
        const value = ini.get(section)?.get(key)
        return value === undefined ? '' : `[${section}]\n${key}=${value}\n`
      }).join('')
      const includes = (ini.get('main')?.get('include') ?? '').split(',').map((s) => s.trim())
      for (const inc of includes.filter(Boolean)) await visit(inc, depth + 1)
      const thp = ini.get('vm')?.get('transparent_hugepages') ?? ini.get('vm')?.get('transparent_hugepage')
      if (thp) profile.thp = {value: thp, file}
      const nr = ini.get('sysctl')?.get('vm.nr_hugepages')
      if (nr) profile.nrHugepages = {value: nr, file}
      return
    }
  }
  await visit(name, 0)
  return profile
}

/**
 * Reads the boot configuration beside the system facts (sysctl.d, modprobe.d and fstab come from
 * them); `covers` says whether a replayed capture held a path (live: always).
 */
export async function readBootConfig(
  host: Host,
  system: Promise<SystemFacts>,
  covers: (p: string) => boolean,
): Promise<BootConfig> {
  // Known: live, covered by the capture, or present in the tree (a capture with its /etc added).
  const known = async (p: string) => covers(p) || (await host.exists(p))
  const sources: Record<string, string> = {}
  const [loader, tuned, init, sys, sysctlKnown, modprobeKnown, fstabKnown, tmpfilesKnown] = await Promise.all([
    detectBootLoader(host),
    tunedProfile(host, sources),
    host.readValue(INIT_COMM),
    system,
    known('/etc/sysctl.d/'),
    known('/etc/modprobe.d/'),
    known('/etc/fstab'),
    known('/etc/tmpfiles.d/'),
  ])
  if (init !== undefined) sources[INIT_COMM] = `${init}\n`
  if (loader) Object.assign(sources, await loaderSources(host, loader))
  return {
    cmdline: loader ? {loader: loader.kind, text: loader.cmdline} : null,
    nrHugepages: sysctlKnown ? sysctlSetter(sys, 'vm.nr_hugepages') : undefined,
    nested: modprobeKnown ? nestedSetters(sys) : undefined,
    fstabHugetlbfs: sys.fstab !== null ? fstabHugetlbfs(sys.fstab) : fstabKnown ? [] : undefined,
    ksmRun: tmpfilesKnown ? await ksmAtBoot(host, sources) : undefined,
    tuned,
    init: init ?? null,
    sources,
  }
}

const INIT_COMM = '/proc/1/comm'
/** Lines of /etc/default/grub that detection and the command line read. */
const GRUB_LINE = /^\s*(GRUB_CMDLINE_LINUX(_DEFAULT)?|GRUB_ENABLE_BLSCFG)=/
/** Paths whose presence alone tells the boot loader apart (the GRUB flavour, its tool, the ESP); folders end in /. */
const LOADER_MARKERS = [
  '/boot/grub/',
  '/boot/grub2/',
  '/usr/sbin/update-grub',
  '/sys/firmware/efi/',
  ...['/boot', '/efi', '/boot/efi'].map((d) => `${d}/loader/loader.conf`),
]

/** What a capture keeps of the boot loader: its files cut to the lines kvmctl reads, and the markers. */
async function loaderSources(host: Host, loader: BootLoader): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const path of loader.configFiles) {
    const text = (await host.read(path)) ?? ''
    const lines =
      path === GRUB_DEFAULT
        ? text.split('\n').filter((l) => GRUB_LINE.test(l))
        : path === KERNEL_CMDLINE
          ? [text.replace(/\n$/, '')]
          : text.split('\n').filter((l) => /^\s*options\s/.test(l))
    out[path] = lines.map((l) => `${l}\n`).join('')
  }
  for (const marker of LOADER_MARKERS) if (await host.exists(marker.replace(/\/$/, ''))) out[marker] = ''
  if (loader.regenerate?.output && (await host.exists(loader.regenerate.output))) out[loader.regenerate.output] = ''
  return out
}
