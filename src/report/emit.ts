// The one place that turns a report plus the report flags into output, so check and selftest
// behave alike. No oclif here: the fast entry (src/fast.ts) uses it too.
import {hostname} from 'node:os'
import {dirname} from 'node:path'

import {parseDuration} from '../lib/duration.js'
import {OperationError, UsageError} from '../lib/errors.js'
import {formatReport, type ReportFormat} from './format.js'
import type {Report} from './types.js'

export interface ReportFlagValues {
  format?: string
  output?: string
  'expires-in'?: string
  json?: boolean
}

/**
 * The format the flags ask for, or a UsageError for a contradiction. Commands whose run takes
 * time call it first, so a bad combination fails before any work.
 */
export function resolveReportFormat(flags: ReportFlagValues): ReportFormat {
  if (flags.json && flags.format !== undefined && flags.format !== 'json') {
    throw new UsageError(`--json and --format ${flags.format} ask for two formats; drop --json, or use --format json`)
  }
  const format = (flags.format ?? (flags.json ? 'json' : 'text')) as ReportFormat
  if (flags['expires-in'] !== undefined && format !== 'nfd') {
    throw new UsageError(`--expires-in applies to --format nfd only; drop it or add --format nfd`)
  }
  return format
}

/**
 * Writes the report as the flags ask: to --output (atomically) or stdout, in --format.
 * With --json and no --output the caller prints the report (oclif from run()'s result, or the
 * fast check path), so nothing is written here.
 */
export async function emitReport(
  report: Report,
  flags: ReportFlagValues,
  io: {log: (text: string) => void; renderText: (toTerminal: boolean) => string},
): Promise<void> {
  const format = resolveReportFormat(flags)
  if (flags.json && !flags.output) return
  const now = new Date()
  const expiresAt = flags['expires-in']
    ? new Date(now.getTime() + parseDuration(flags['expires-in'], '--expires-in'))
    : undefined
  const options = {now, hostname: hostname(), expiresAt}
  if (!flags.output) {
    io.log(formatReport(report, format, {...options, renderText: () => io.renderText(true)}).replace(/\n$/, ''))
    return
  }
  const text = formatReport(report, format, {...options, renderText: () => io.renderText(false) + '\n'})
  // Loaded only here: it brings node:crypto, which printing to stdout never needs.
  const {writeFileAtomic} = await import('../lib/atomic-write.js')
  await writeFileAtomic(flags.output, text).catch((error: NodeJS.ErrnoException) => {
    throw outputError(flags.output!, error)
  })
}

function outputError(file: string, error: NodeJS.ErrnoException): Error {
  if (error.code === 'ENOENT' || error.code === 'ENOTDIR') {
    return new UsageError(`--output ${file}: folder ${dirname(file)} does not exist; create it or choose another path`)
  }
  if (error.code === 'EISDIR')
    return new UsageError(`--output ${file} is a folder; give a file path such as ${file}/kvmctl`)
  return new OperationError(
    `--output ${file}: cannot write it (${error.code ?? error.message}); check the folder's permissions`,
  )
}
