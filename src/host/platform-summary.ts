// The confidential-guest and IOMMU facts for the report (host.confidential, host.iommu in
// `kvmctl check --json`) and for `kvmctl capture` (one hook in capture.ts), each cut to what the
// checks read.
import {confidentialLevels, type LevelId, type LevelState} from './confidential-levels.js'
import type {HostFacts} from './facts.js'
import type {PciDevice} from './iommu.js'
import {iommuState} from './iommu-state.js'
import type {MsrProbe} from './msr.js'
import {ACPI_TABLES, CLASS_IOMMU, IOMMU_GROUPS, MISC_CAPACITY, PCI_DEVICES, PROC_LIMITS} from './paths.js'

/** host.json fields beyond the shared ones: the MSR values. */
export function platformHostJson(f: HostFacts): {msr?: MsrProbe} {
  return f.confidential?.msr ? {msr: f.confidential.msr} : {}
}

/** The platform facts in `kvmctl check --json` (host.confidential, host.iommu). */
export interface PlatformSummary {
  /** Each confidential guest type: its state and how many such guests can run at once (null: unknown). */
  confidential: Record<LevelId, {state: LevelState; capacity: number | null}>
  iommu: {enabled: boolean | null; groups: number | null; interruptRemapping: boolean | null; vfio: boolean | null}
}

export function platformSummary(f: HostFacts): PlatformSummary {
  const levels = confidentialLevels(f)
  const io = iommuState(f)
  return {
    confidential: Object.fromEntries(
      levels.map((l) => [l.id, {state: l.state, capacity: l.capacity}]),
    ) as PlatformSummary['confidential'],
    iommu: {enabled: io.enabled, groups: io.groups, interruptRemapping: io.interruptRemapping, vfio: io.vfio},
  }
}

const KEEP = '.keep'

/** The files a capture keeps for these facts, path to content; sysfs links become empty files. */
export function platformCaptureFiles(f: HostFacts): Map<string, string> {
  const out = new Map<string, string>()
  const {confidential, iommu} = f
  const capacity = confidential?.miscCapacity
  if (capacity)
    out.set(
      MISC_CAPACITY,
      Object.entries(capacity)
        .map(([k, v]) => `${k} ${v}\n`)
        .join(''),
    )
  if (iommu?.acpiTables) {
    for (const table of iommu.acpiTables) out.set(`${ACPI_TABLES}/${table}`, '')
    if (iommu.acpiTables.length === 0) out.set(`${ACPI_TABLES}/${KEEP}`, '')
  }
  if (iommu?.units) {
    for (const unit of iommu.units) out.set(`${CLASS_IOMMU}/${unit}/${KEEP}`, '')
    if (iommu.units.length === 0) out.set(`${CLASS_IOMMU}/${KEEP}`, '')
  }
  for (const [group, devices] of Object.entries(iommu?.groups ?? {})) {
    for (const address of devices) out.set(`${IOMMU_GROUPS}/${group}/devices/${address}`, '')
  }
  if (iommu?.pci) {
    for (const d of iommu.pci) out.set(`${PCI_DEVICES}/${d.address}/uevent`, uevent(d))
    if (iommu.pci.length === 0) out.set(`${PCI_DEVICES}/${KEEP}`, '')
  }
  const memlock = iommu?.memlock
  if (memlock) {
    const v = (n: number | null) => (n === null ? 'unlimited' : String(n))
    out.set(PROC_LIMITS, `Max locked memory         ${v(memlock.soft)}  ${v(memlock.hard)}  bytes\n`)
  }
  return out
}

/** Only the fields the checks read: driver, class, id and address. */
function uevent(d: PciDevice): string {
  return `${d.driver ? `DRIVER=${d.driver}\n` : ''}PCI_CLASS=${d.classCode}00\nPCI_ID=${d.id.toUpperCase()}\nPCI_SLOT_NAME=${d.address}\n`
}
