// The IOMMU's state derived once from the gathered facts (groups, firmware table, interrupt
// remapping, default domain, vfio-pci, the kernel command line), and the IOMMU group analysis
// behind `kvmctl check --passthrough DEVICE`: pure functions of the facts.
import {scanLog, type LogHit} from './confidential.js'
import {isUnknown, type HostFacts} from './facts.js'
import {IOMMU_LOG, isBridge, sameSlot, type IommuLogId, type PciDevice, type PciSpec} from './iommu.js'

/** What the facts say about the IOMMU, derived once. Each field is null when unknown. */
export interface IommuState {
  /** The kernel made IOMMU groups (the IOMMU is on); null when not captured. */
  enabled: boolean | null
  groups: number | null
  /** The firmware published DMAR or IVRS. */
  firmwareTable: string | null
  interruptRemapping: boolean | null
  /** "Translated", "Passthrough" or "Lazy" from the kernel log; iommu=pt counts as Passthrough. */
  defaultDomain: string | null
  /** vfio-pci is loaded or built in. */
  vfio: boolean | null
  /** The kernel command line's IOMMU and VFIO settings. */
  cmdline: {iommu: string[]; vfioIds: string[]; acsOverride: string | null}
  log: Partial<Record<IommuLogId, LogHit>>
}

export function iommuState(f: HostFacts): IommuState {
  const io = f.iommu
  const log = scanLog(f.host.dmesg, IOMMU_LOG)
  const groups = io?.groups ? Object.keys(io.groups).length : isUnknown(f, 'iommuGroups') ? null : (f.iommuGroups ?? 0)
  const cmdline = f.cmdline ?? ''
  const words = cmdline.split(/\s+/)
  const iommu = words.filter((w) => /^(intel_iommu|amd_iommu|iommu)=/.test(w))
  const vfioIds = words.flatMap((w) => /^vfio[-_]pci\.ids=(.*)$/.exec(w)?.[1]?.split(',') ?? []).filter(Boolean)
  const acsOverride = words.find((w) => w.startsWith('pcie_acs_override=')) ?? null
  let interruptRemapping: boolean | null = null
  if (log['dmar-ir'] || log['amd-vi-ir']) interruptRemapping = true
  else if (log['no-ir']) interruptRemapping = false
  const passthrough = iommu.includes('iommu=pt') ? 'Passthrough' : null
  const vfioKnown = !isUnknown(f, 'module:vfio_pci')
  return {
    enabled: groups === null ? null : groups > 0,
    groups,
    firmwareTable: io?.acpiTables?.[0] ?? null,
    interruptRemapping,
    defaultDomain: log['default-domain']?.groups[0] ?? passthrough,
    vfio: vfioKnown ? Boolean(f.sysModules?.includes('vfio_pci') || f.loadedModules?.includes('vfio_pci')) : null,
    cmdline: {iommu, vfioIds, acsOverride},
    log,
  }
}

/** The PCI devices a spec names, by address order. */
export function findPciDevices(f: HostFacts, spec: PciSpec): PciDevice[] {
  return (f.iommu?.pci ?? []).filter((d) => ('address' in spec ? d.address === spec.address : d.id === spec.id))
}

export interface GroupAnalysis {
  /** The device's IOMMU group number; null when it is in none. */
  group: string | null
  bridges: PciDevice[]
  /** The device's other functions (its audio function beside a GPU): they go to the guest with it. */
  functions: PciDevice[]
  /** Other endpoints: these must go to the guest too, which is rarely wanted. */
  endpoints: PciDevice[]
}

export function analyseGroup(f: HostFacts, device: PciDevice): GroupAnalysis {
  const groups = f.iommu?.groups ?? {}
  const group = Object.keys(groups).find((g) => groups[g].includes(device.address)) ?? null
  const byAddress = new Map((f.iommu?.pci ?? []).map((d) => [d.address, d]))
  const others = (group === null ? [] : groups[group])
    .filter((a) => a !== device.address)
    .map((a) => byAddress.get(a) ?? {address: a, id: '', classCode: ''})
  return {
    group,
    bridges: others.filter(isBridge),
    functions: others.filter((d) => !isBridge(d) && sameSlot(d, device)),
    endpoints: others.filter((d) => !isBridge(d) && !sameSlot(d, device)),
  }
}

/** Groups that hold more than one endpoint device (bridges and a device's own functions aside). */
export function sharedGroups(f: HostFacts): Array<{group: string; devices: string[]}> {
  const byAddress = new Map((f.iommu?.pci ?? []).map((d) => [d.address, d]))
  return Object.entries(f.iommu?.groups ?? {}).flatMap(([group, addresses]) => {
    const endpoints = addresses
      .map((a) => byAddress.get(a))
      .filter((d): d is PciDevice => d !== undefined && !isBridge(d))
    const slots = new Set(endpoints.map((d) => d.address.slice(0, -2)))
    return slots.size > 1 ? [{group, devices: endpoints.map((d) => d.address)}] : []
  })
}
