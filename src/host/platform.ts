// The confidential-guest and IOMMU facts as one unit, gathered beside the others (one hook in
// facts.ts). platform-summary.ts gives them to capture and to the report.
import {CONFIDENTIAL_LOG, gatherConfidential, type ConfidentialFacts} from './confidential.js'
import type {Host} from './host.js'
import {gatherIommu, IOMMU_LOG, type IommuFacts} from './iommu.js'

export interface PlatformFacts {
  /** SEV/TDX facts; absent when not gathered. */
  confidential?: ConfidentialFacts
  /** IOMMU and PCI facts; absent when not gathered. */
  iommu?: IommuFacts
}

export async function gatherPlatform(host: Host): Promise<PlatformFacts> {
  const [confidential, iommu] = await Promise.all([gatherConfidential(host), gatherIommu(host)])
  return {confidential, iommu}
}

/** Kernel-log lines the platform checks read, for the capture's log filter. */
export function platformLogPatterns(): RegExp[] {
  return [...Object.values(CONFIDENTIAL_LOG), ...Object.values(IOMMU_LOG)]
}
