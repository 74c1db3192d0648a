// The result shapes that `check`, `selftest` and `tune` return with --json, and that every report
// format (JUnit, Prometheus, NFD) is built from. Each carries `schema`, the version of its shape;
// schemas/*.schema.json pin the same shapes for consumers.
import type {Status} from '../lib/status.js'

export type CheckStatus = Status

// The check shapes are the check command's own; re-exported so formatters see one definition.
import type {CheckReport} from '../checks/report.js'
export type {Check} from '../checks/types.js'
export type {CheckReport}
export type {HostSummary as CheckHost} from '../host/summary.js'
export type {Verdict as CheckVerdict} from '../checks/index.js'

// The selftest shapes are the selftest's own (src/vmm), for the same reason.
import type {SelftestReport} from '../vmm/selftest.js'
export type {SelftestReport}
export type {SelftestPhases} from '../vmm/selftest.js'
export type {Execution, SelftestCosts, StageResult as Stage} from '../vmm/stages.js'

/** `tune hugepages|nested|undo --json`: kept open until the tune command's shape is settled. */
export interface TuneReport {
  schema: 1
  plan?: Record<string, unknown>
  result?: Record<string, unknown>
  [key: string]: unknown
}

export type Report = CheckReport | SelftestReport

export function isCheckReport(value: unknown): value is CheckReport {
  const v = value as Partial<CheckReport> | null
  return typeof v === 'object' && v !== null && Array.isArray(v.checks) && typeof v.verdict === 'object'
}
