// The `kvmctl check` result: its stable JSON shape (documented in README.md) and its human rendering.
import type {ChalkInstance} from 'chalk'

import type {HostFacts} from '../host/facts.js'
import type {HostSummary} from '../host/summary.js'
import {padVisible, statusLabel} from '../lib/style.js'
import {countStatuses, runChecks, verdictOf, type Counts, type Verdict} from './index.js'
import {AREA_TITLES, AREAS, type Check} from './types.js'

export const REPORT_SCHEMA = 1

export interface CheckReport {
  schema: typeof REPORT_SCHEMA
  host: HostSummary
  verdict: Verdict
  checks: Check[]
  counts: Counts
}

export function buildReport(facts: HostFacts, host: HostSummary): CheckReport {
  const checks = runChecks(facts)
  return {schema: REPORT_SCHEMA, host, verdict: verdictOf(facts, checks), checks, counts: countStatuses(checks)}
}

export function summaryLine(h: HostSummary): string {
  const parts = [
    h.cpu ? `${h.cpu}${h.cpus ? ` x${h.cpus}` : ''}` : undefined,
    h.memoryBytes === null ? undefined : `${(h.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM`,
    h.os ?? undefined,
    `Linux ${h.kernel} ${h.arch}`,
    h.virtual ? `virtual machine${h.hypervisor ? ` (${h.hypervisor})` : ''}` : 'bare metal',
  ]
  return `${h.source === 'live' ? 'Host' : `Replay of ${h.source}`}: ${parts.filter(Boolean).join(', ')}`
}

/** The report as text lines. quiet keeps failures and warnings (and always the verdict). */
export function renderReport(report: CheckReport, c: ChalkInstance, options: {quiet?: boolean} = {}): string[] {
  const lines = [c.bold(summaryLine(report.host)), '']
  const shown = options.quiet ? report.checks.filter((x) => x.status === 'fail' || x.status === 'warn') : report.checks
  const titleWidth = Math.min(44, Math.max(...shown.map((x) => x.title.length), 0))
  for (const area of AREAS) {
    const rows = shown.filter((x) => x.area === area)
    if (rows.length === 0) continue
    lines.push(c.bold.underline(AREA_TITLES[area]))
    for (const check of rows) {
      lines.push(`  ${padVisible(statusLabel(check.status, c), 5)} ${padVisible(check.title, titleWidth)}  ${c.dim(check.detail)}`)
      if (check.status !== 'pass') for (const step of check.remedy ?? []) lines.push(`         ${c.cyan('->')} ${step}`)
    }
    lines.push('')
  }
  if (options.quiet && shown.length === 0) lines.push('No failures or warnings.', '')
  const verdictLabel = report.verdict.kvmUsable ? (report.counts.fail ? c.yellow('USABLE') : c.green('OK')) : c.red.bold('NOT USABLE')
  lines.push(`${c.bold('Verdict:')} ${verdictLabel} ${report.verdict.summary}`)
  return lines
}
