// The result shapes that `check`, `selftest` and `tune` return with --json, and that every report
// format (JUnit, Prometheus, NFD) is built from. Each carries `schema`, the version of its shape;
// schemas/*.schema.json pin the same shapes for consumers.
import type {Status} from '../lib/style.js'

export type CheckStatus = Status

// The check shapes are the check command's own; re-exported so formatters see one definition.
import type {CheckReport} from '../checks/report.js'
export type {Check} from '../checks/types.js'
export type {CheckReport}
export type {HostSummary as CheckHost} from '../host/summary.js'
export type {Verdict as CheckVerdict} from '../checks/index.js'

/** One step of the self-test, timed. */
export interface Stage {
  id: string
  title: string
  status: CheckStatus
  detail: string
  durationMs: number
}

export interface SelftestPhases {
  openMs: number
  createVmMs: number
  memoryMs: number
  vcpusMs: number
  firstExitMs: number
  totalMs: number
}

export interface SelftestReport {
  schema: 1
  stages: Stage[]
  phases: SelftestPhases
  /** Mean round trip of one port-I/O exit to the VMM and back, in nanoseconds. */
  pioExitNs?: number
  ok: boolean
}

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

export function isSelftestReport(value: unknown): value is SelftestReport {
  const v = value as Partial<SelftestReport> | null
  return typeof v === 'object' && v !== null && Array.isArray(v.stages) && typeof v.phases === 'object'
}
