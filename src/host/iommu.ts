// IOMMU and VFIO readiness: the firmware's ACPI tables (DMAR for VT-d, IVRS for AMD-Vi), the
// IOMMU units and groups the kernel made, each PCI device's driver, class and id (from its
// uevent), RLIMIT_MEMLOCK, and what the kernel log and command line say about remapping and
// passthrough. What they mean together, and the group analysis of `kvmctl check --passthrough`, is
// derived in iommu-state.ts.
import type {Host} from './host.js'
import {
  ACPI_TABLES,
  CLASS_IOMMU,
  IOMMU_ACPI_TABLES,
  IOMMU_GROUPS,
  PCI_DEVICES,
  PCI_DRIVERS,
  PROC_LIMITS,
} from './paths.js'

export interface PciDevice {
  /** Domain:bus:slot.function, e.g. "0000:01:00.0". */
  address: string
  /** "10de:1b80", lower case. */
  id: string
  /** Class and subclass as 4 hex digits ("0300" VGA, "0604" PCI bridge). */
  classCode: string
  /** The bound driver ("vfio-pci", "nvidia"); null when none is bound; undefined when not captured. */
  driver?: string | null
}

/** RLIMIT_MEMLOCK in bytes; null means unlimited. */
export interface Memlock {
  soft: number | null
  hard: number | null
}

/** Each field is undefined when the capture did not cover it. */
export interface IommuFacts {
  /** DMAR / IVRS when the firmware published them. */
  acpiTables?: string[]
  /** /sys/class/iommu entries (dmar0, ivhd0, ...). */
  units?: string[]
  /** IOMMU group number to the PCI addresses in it. */
  groups?: Record<string, string[]>
  pci?: PciDevice[]
  /** pci lists every PCI device of the host (false: a capture holding only some). */
  pciComplete?: boolean
  memlock?: Memlock | null
}

const visible = (names: string[] | undefined) => names?.filter((n) => !n.startsWith('.'))

export async function gatherIommu(host: Host): Promise<IommuFacts> {
  const [tables, units, groupNames, pciNames, limits] = await Promise.all([
    host.list(ACPI_TABLES),
    host.list(CLASS_IOMMU),
    host.list(IOMMU_GROUPS),
    host.list(PCI_DEVICES),
    host.read(PROC_LIMITS),
  ])
  const numbered = (visible(groupNames) ?? []).filter((g) => /^\d+$/.test(g))
  const [members, uevents] = await Promise.all([
    Promise.all(
      numbered.map(async (g) => [g, visible(await host.list(`${IOMMU_GROUPS}/${g}/devices`)) ?? []] as const),
    ),
    Promise.all(
      (visible(pciNames) ?? []).map(async (a) => [a, await host.read(`${PCI_DEVICES}/${a}/uevent`)] as const),
    ),
  ])
  const covered = (value: unknown, dir: string) => value !== undefined || host.covers(`${dir}/`)
  const facts: IommuFacts = {}
  if (covered(tables, ACPI_TABLES))
    facts.acpiTables = (tables ?? []).filter((t) => (IOMMU_ACPI_TABLES as readonly string[]).includes(t))
  if (covered(units, CLASS_IOMMU)) facts.units = visible(units) ?? []
  if (covered(groupNames, IOMMU_GROUPS))
    facts.groups = Object.fromEntries(members.map(([g, devices]) => [g, [...devices].sort()]))
  if (covered(pciNames, PCI_DEVICES)) {
    const all = host.covers(`${PCI_DRIVERS}/`)
    facts.pci = uevents
      .flatMap(([address, text]) => (text === undefined ? [] : [parseUevent(address, text)]))
      .map((d) =>
        all || (d.driver && host.covers(`${PCI_DRIVERS}/${d.driver}/${d.address}`)) ? d : {...d, driver: undefined},
      )
      // By code unit: localeCompare's first call loads ICU's collator, about 15 ms of a check.
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))
    facts.pciComplete = host.covers(`${PCI_DEVICES}/`)
  }
  if (limits !== undefined) facts.memlock = parseMemlock(limits)
  else if (host.covers(PROC_LIMITS)) facts.memlock = null
  return facts
}

/** A PCI device's uevent ("DRIVER=vfio-pci", "PCI_CLASS=30000", "PCI_ID=10DE:1B80"). */
export function parseUevent(address: string, text: string): PciDevice {
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1]?.trim()
  const cls = (field('PCI_CLASS') ?? '').toLowerCase()
  // The kernel writes class, subclass and programming interface (6 hex digits, leading zero dropped).
  const classCode = cls.length > 4 ? cls.padStart(6, '0').slice(0, 4) : cls.padStart(4, '0')
  return {address, id: (field('PCI_ID') ?? '').toLowerCase(), classCode, driver: field('DRIVER') || null}
}

/** The "Max locked memory" line of /proc/PID/limits. */
export function parseMemlock(text: string): Memlock | null {
  const m = /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(text)
  if (!m) return null
  if (![m[1], m[2]].every((v) => v === 'unlimited' || /^\d{1,20}$/.test(v))) return null
  const value = (v: string) => (v === 'unlimited' ? null : Number(v))
  return {soft: value(m[1]), hard: value(m[2])}
}

export const IOMMU_LOG = {
  'dmar-enabled': /DMAR: IOMMU enabled/,
  'dmar-vtd': /DMAR: Intel\(R\) Virtualization Technology for Directed I\/O/,
  'amd-vi-found': /AMD-Vi: Found IOMMU/,
  'dmar-ir': /DMAR-IR: Enabled IRQ remapping in (\S+) mode/,
  'amd-vi-ir': /AMD-Vi: Interrupt remapping enabled/,
  'no-ir': /No interrupt remapping support|IRQ remapping was not enabled|interrupt remapping disabled/i,
  'default-domain': /iommu: Default domain type: (\w+)/,
  rmrr: /(\S+): Device is ineligible for IOMMU domain attach due to platform RMRR requirement/,
} as const satisfies Record<string, RegExp>

export type IommuLogId = keyof typeof IOMMU_LOG

/** "0000:01:00.0", "01:00.0" (domain 0000) or "10de:1b80"; anything else is not a PCI device spec. */
export type PciSpec = {address: string} | {id: string}

export function parsePciSpec(text: string): PciSpec | undefined {
  const t = text.trim().toLowerCase()
  const address = /^(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/.exec(t)
  if (address) return {address: `${address[1] ?? '0000'}:${address[2]}:${address[3]}.${address[4]}`}
  if (/^[0-9a-f]{4}:[0-9a-f]{4}$/.test(t)) return {id: t}
  return undefined
}

/** Class 06xx: host, PCI and other bridges. Sharing a group with one does not block passthrough. */
export function isBridge(d: PciDevice): boolean {
  return d.classCode.startsWith('06')
}

/** Another function of the same physical device ("0000:01:00.1" beside "0000:01:00.0"). */
export function sameSlot(a: PciDevice, b: PciDevice): boolean {
  return a.address.slice(0, -2) === b.address.slice(0, -2)
}
