// The human rendering of a `kvmctl check` report: a summary line, a table grouped by area with the
// remedy under every non-pass, and the verdict. Kept apart so --json never loads chalk.

import type {HostSummary} from '../host/summary.js'
import {needsAction} from '../lib/status.js'
import {padVisible, remedyRows, statusLabel, type Styles} from '../lib/style.js'
import type {CheckReport} from './report.js'
import {AREA_TITLES, AREAS} from './types.js'

export function summaryLine(h: HostSummary): string {
  const parts = [
    h.cpu ? `${h.cpu}${h.cpus ? ` x${h.cpus}` : ''}` : undefined,
    h.memoryBytes === null ? undefined : `${(h.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM`,
    h.os ?? undefined,
    // A capture may lack uname: print what it has.
    ['Linux', h.kernel, h.arch].filter(Boolean).join(' '),
    h.virtual ? `virtual machine${h.hypervisor ? ` (${h.hypervisor})` : ''}` : 'bare metal',
  ]
  return `${h.source === 'live' ? 'Host' : `Replay of ${h.source}`}: ${parts.filter(Boolean).join(', ')}`
}

/** Files that could not be used (so their facts are unknown), named once under the summary. */
function unreadableLine(h: HostSummary, c: Styles): string[] {
  const entries = Object.entries(h.unreadable ?? {})
  if (entries.length === 0) return []
  const shown = entries.slice(0, 4).map(([path, why]) => `${path} (${why})`)
  const more = entries.length > 4 ? `, and ${entries.length - 4} more (see --json host.unreadable)` : ''
  return [c.yellow(`Unreadable, so unknown: ${shown.join(', ')}${more}`)]
}

/**
 * The report as text lines. quiet keeps only failures and warnings and the verdict: a healthy
 * host prints its verdict alone.
 */
export function renderReport(report: CheckReport, c: Styles, options: {quiet?: boolean} = {}): string[] {
  const lines = options.quiet ? [] : [c.bold(summaryLine(report.host)), ...unreadableLine(report.host, c), '']
  const shown = options.quiet ? report.checks.filter((x) => needsAction(x.status)) : report.checks
  const titleWidth = Math.min(44, Math.max(...shown.map((x) => x.title.length), 0))
  for (const area of AREAS) {
    const rows = shown.filter((x) => x.area === area)
    if (rows.length === 0) continue
    lines.push(c.bold.underline(AREA_TITLES[area]))
    for (const check of rows) {
      lines.push(
        `  ${padVisible(statusLabel(check.status, c), 5)} ${padVisible(check.title, titleWidth)}  ${c.dim(check.detail)}`,
      )
      if (check.status !== 'pass') lines.push(...remedyRows(check.remedy, c))
    }
    lines.push('')
  }
  const verdictLabel = report.verdict.kvmUsable
    ? report.counts.fail
      ? c.yellow('USABLE')
      : c.green('OK')
    : c.red.bold('NOT USABLE')
  lines.push(`${c.bold('Verdict:')} ${verdictLabel} ${report.verdict.summary}`)
  return lines
}
