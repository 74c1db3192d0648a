// `kvmctl check` without the CLI: open the host (live or a replay root), gather, check, report.
import {gatherFacts} from '../host/facts.js'
import {Host} from '../host/host.js'
import {hostSummary} from '../host/summary.js'
import {buildReport, type CheckReport} from './report.js'

export async function runCheck(root?: string): Promise<CheckReport> {
  const host = await Host.open(root)
  const facts = await gatherFacts(host)
  return buildReport(facts, await hostSummary(facts))
}
