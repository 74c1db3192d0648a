// Confidential guests and the IOMMU in the fleet formats: node-feature-discovery labels under the
// names NFD's own cpu and iommu sources use (cpu-security.sev.enabled, ..., iommu.enabled), and
// Prometheus gauges. Like NFD, a feature label appears only when the feature is on.
import type {CheckHost} from './types.js'

const NFD_NAMES = {
  sev: 'cpu-security.sev.enabled',
  'sev-es': 'cpu-security.sev.es.enabled',
  'sev-snp': 'cpu-security.sev.snp.enabled',
  tdx: 'cpu-security.tdx.enabled',
} as const

export function platformLabels(host: CheckHost): Array<[string, string]> {
  const labels: Array<[string, string]> = []
  for (const [id, name] of Object.entries(NFD_NAMES) as Array<[keyof typeof NFD_NAMES, string]>) {
    if (host.confidential?.[id]?.state === 'usable') labels.push([name, 'true'])
  }
  if (host.iommu?.enabled) labels.push(['iommu.enabled', 'true'])
  return labels
}

export interface MetricFamily {
  name: string
  help: string
  samples: Array<{labels?: Record<string, string>; value: number}>
}

/** Gauges for what is known; a fact the run could not establish has no sample. */
export function platformSamples(host: CheckHost): MetricFamily[] {
  const levels = Object.entries(host.confidential ?? {}).filter(([, l]) => l.state !== 'unknown')
  const type = (id: string) => id.replace(/-/g, '_')
  const out: MetricFamily[] = []
  if (levels.length > 0) {
    out.push({
      name: 'kvmctl_confidential_guests_usable',
      help: 'Whether KVM on this host runs confidential guests of each type (sev, sev_es, sev_snp, tdx): 1 usable, 0 not.',
      samples: levels.map(([id, l]) => ({
        labels: {type: type(id), state: l.state},
        value: l.state === 'usable' ? 1 : 0,
      })),
    })
    const sized = levels.filter(([, l]) => l.capacity !== null)
    if (sized.length > 0) {
      out.push({
        name: 'kvmctl_confidential_guests_capacity',
        help: 'How many confidential guests of each type can run at once (SEV ASIDs, TDX private KeyIDs).',
        samples: sized.map(([id, l]) => ({labels: {type: type(id)}, value: l.capacity!})),
      })
    }
  }
  const io = host.iommu
  const gauge = (name: string, help: string, value: boolean | number | null | undefined) =>
    value === null || value === undefined
      ? []
      : [{name, help, samples: [{value: typeof value === 'boolean' ? Number(value) : value}]}]
  out.push(
    ...gauge(
      'kvmctl_iommu_enabled',
      'Whether the IOMMU is on (the kernel made IOMMU groups), so PCI devices can be passed through.',
      io?.enabled,
    ),
    ...gauge('kvmctl_iommu_groups', 'Number of IOMMU groups.', io?.groups),
    ...gauge(
      'kvmctl_iommu_interrupt_remapping',
      'Whether the IOMMU remaps interrupts (VFIO needs it to assign devices safely).',
      io?.interruptRemapping,
    ),
  )
  return out
}
