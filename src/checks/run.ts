// `kvmctl check` without the CLI: open the host (live or a replay root), gather, check, report.
import {gatherFacts} from '../host/facts.js'
import {Host} from '../host/host.js'
import {hostSummary} from '../host/summary.js'
import {remedyLines} from '../lib/remedy.js'
import {devKvmRemedy} from './dev-kvm.js'
import {buildReport, type CheckReport} from './report.js'

export async function runCheck(root?: string, passthrough?: string): Promise<CheckReport> {
  const host = await Host.open(root)
  const facts = await gatherFacts(host)
  return buildReport(facts, await hostSummary(facts), passthrough)
}

/**
 * check's /dev/kvm remedy for an errno, from the facts of `host` (the live machine unless given):
 * what `kvmctl selftest` says when the device does not open, so both commands agree.
 */
export function devKvmAdvisor(host?: Host): (errno: string) => Promise<string[]> {
  return async (errno) => remedyLines(devKvmRemedy(await gatherFacts(host ?? (await Host.open())), errno))
}
