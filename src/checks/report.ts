// The `kvmctl check` result and its stable JSON shape (documented in README.md and pinned by
// schemas/check.schema.json). Schema 2 added the info status (and counts.info) and made a remedy
// an object: {kvmctl?: argv, steps: [...]}.
import type {HostFacts} from '../host/facts.js'
import type {HostSummary} from '../host/summary.js'
import {countStatuses, runChecks, verdictOf, type Counts, type Verdict} from './index.js'
import {withDeviceChecks} from './passthrough.js'
import type {Check} from './types.js'

export const REPORT_SCHEMA = 2

export interface CheckReport {
  schema: typeof REPORT_SCHEMA
  host: HostSummary
  verdict: Verdict
  checks: Check[]
  counts: Counts
}

export function buildReport(facts: HostFacts, host: HostSummary, passthrough?: string): CheckReport {
  const checks = passthrough === undefined ? runChecks(facts) : withDeviceChecks(runChecks(facts), facts, passthrough)
  return {schema: REPORT_SCHEMA, host, verdict: verdictOf(facts, checks), checks, counts: countStatuses(checks)}
}
