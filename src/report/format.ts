// One entry point from a report and a --format to the text that goes to stdout or --output.
import {toJUnit} from './junit.js'
import {toNfd} from './nfd.js'
import {toPrometheus} from './prometheus.js'
import {isCheckReport, type Report} from './types.js'

export const REPORT_FORMATS = ['text', 'json', 'junit', 'prometheus', 'nfd'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

export interface FormatOptions {
  now?: Date
  hostname?: string
  /** NFD only: when the labels expire. */
  expiresAt?: Date
  /** The command's own human rendering, used for "text". */
  renderText: () => string
}

export function formatReport(report: Report, format: ReportFormat, options: FormatOptions): string {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n'
    case 'junit':
      return toJUnit(report, options)
    case 'prometheus':
      return toPrometheus(report, options)
    case 'nfd':
      // Callers offer nfd only for check reports (see reportFlags); a selftest has no node labels.
      if (!isCheckReport(report)) throw new Error('--format nfd applies to check reports only')
      return toNfd(report, options)
    default:
      return options.renderText()
  }
}
