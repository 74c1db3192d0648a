// The result shapes that `check`, `selftest` and `tune` return with --json, and that every report
// format (JUnit, Prometheus, NFD) is built from. Each carries `schema`, the version of its shape;
// schemas/*.schema.json pin the same shapes for consumers.
import type {Status} from '../lib/style.js'

export type CheckStatus = Status

/** One diagnostic: what was checked, how it came out, and what to run when it is not a pass. */
export interface Check {
  /** Stable identifier, e.g. "kvm-device", "hugepages"; used as a metric and label key. */
  id: string
  /** Group the check belongs to, e.g. "kvm", "memory", "cpu". */
  area: string
  title: string
  status: CheckStatus
  detail: string
  /** Commands or steps that fix a non-pass, one per line. */
  remedy?: string[]
}

export interface CheckVerdict {
  kvmUsable: boolean
  /** The KVM implementation found: "intel", "amd", "pvm", ... or null when there is none. */
  backend: string | null
  summary: string
}

/**
 * Facts about the host that reports carry beyond pass/fail. Only the fields listed here are read
 * by the formatters; anything else the check command adds passes through untouched.
 */
export interface CheckHost {
  hostname?: string
  kernel?: string
  arch?: string
  /** Nested virtualization enabled in the KVM module, when known. */
  nested?: boolean | null
  /** Huge page pools by page size, e.g. {"2Mi": {total: 550, free: 550}}. */
  hugepages?: Record<string, {total: number; free: number}>
  [key: string]: unknown
}

export interface CheckReport {
  schema: 1
  host: CheckHost
  verdict: CheckVerdict
  checks: Check[]
  counts: Record<CheckStatus, number>
}

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
