// `kvmctl tune iommu` as a pure function of the host facts: the kernel command line edits that
// turn the IOMMU on for device assignment (VFIO). Intel needs `intel_iommu=on` (off by default on
// most distributions); AMD's IOMMU is on whenever the firmware describes it (IVRS), so it needs no
// parameter. `iommu=pt` maps host devices 1:1 (less overhead for the host's own DMA). SEV-SNP hosts
// must not use it: the kernel turns SNP off when the IOMMU is in passthrough mode ("SNP: IOMMU
// disabled or configured in passthrough mode, SNP cannot be supported", drivers/iommu/amd/init.c).
import type {ParamEdit} from '../host/cmdline.js'
import {confidentialLevels, cpuVendor} from '../host/confidential-levels.js'
import type {HostFacts} from '../host/facts.js'
import {iommuState} from '../host/iommu-state.js'
import {UsageError} from '../lib/errors.js'

export const PASSTHROUGH_MODES = ['pt', 'dma'] as const

export interface IommuRequest {
  passthroughMode?: string
}

export interface IommuIntent {
  edits: ParamEdit[]
  /** One line: the IOMMU now. */
  summary: string
  /** Set when the request must not be applied here: why. */
  refusal: string | null
  /** Nothing to put on the command line for this CPU vendor: why. */
  nothingToAdd: string | null
  warnings: string[]
}

/** Why this host runs SEV-SNP (so iommu=pt would disable it), or undefined. */
export function sevSnpEvidence(f: HostFacts): string | undefined {
  const snp = confidentialLevels(f).find((l) => l.id === 'sev-snp')
  if (snp?.state !== 'usable') return undefined
  return snp.evidence.length > 0 ? snp.evidence.join('; ') : 'SEV-SNP is usable'
}

export function planIommuIntent(f: HostFacts, req: IommuRequest): IommuIntent {
  const mode = req.passthroughMode
  if (mode !== undefined && !(PASSTHROUGH_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(
      `--passthrough-mode ${JSON.stringify(mode)} is not a mode; use pt (iommu=pt) or dma (translated, the default)`,
    )
  }
  const vendor = cpuVendor(f)
  const edits: ParamEdit[] = []
  if (vendor === 'intel') edits.push({op: 'set', key: 'intel_iommu', value: 'on'})
  if (mode === 'pt') edits.push({op: 'set', key: 'iommu', value: 'pt'})
  if (mode === 'dma') edits.push({op: 'remove', key: 'iommu'})
  const state = iommuState(f)
  const running = state.cmdline.iommu.find((w) => w.startsWith('iommu='))
  const now =
    state.enabled === null
      ? 'unknown (not in this capture)'
      : state.enabled
        ? `active (${state.groups ?? 0} groups${state.firmwareTable ? `, ${state.firmwareTable}` : ''})`
        : 'not active'
  const summary = `IOMMU now: ${now}${running ? `, running with ${running}` : ''}`
  const warnings: string[] = []
  const snp = mode === 'pt' ? sevSnpEvidence(f) : undefined
  if (snp) {
    const refusal = `refusing iommu=pt: this host runs SEV-SNP (${snp}), and the kernel disables SNP when the IOMMU is in passthrough mode; keep the default translated mode (--passthrough-mode dma)`
    return {edits, summary, refusal, nothingToAdd: null, warnings}
  }
  if (edits.length === 0) {
    const nothingToAdd =
      vendor === 'amd'
        ? 'the AMD IOMMU is on by default when the firmware describes it (IVRS): nothing to add'
        : `no IOMMU parameter is known for CPU vendor ${f.cpu?.vendor ?? 'unknown'}`
    if (state.enabled === false)
      warnings.push('no IOMMU is active: enable it in the firmware setup (AMD-Vi / IOMMU), then reboot')
    return {edits, summary, refusal: null, nothingToAdd, warnings}
  }
  if (state.enabled === false && vendor === 'intel')
    warnings.push('if no DMAR unit appears after the reboot, enable VT-d in the firmware setup')
  return {edits, summary, refusal: null, nothingToAdd: null, warnings}
}
