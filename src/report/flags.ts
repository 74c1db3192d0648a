// The report flags every reporting command shares (--format, --output, --expires-in); emit.ts
// turns a report plus their values into output.
import * as Flags from '@oclif/core/flags'

import {REPORT_FORMATS, type ReportFormat} from './format.js'

/** Flag definitions; `formats` narrows --format (selftest has no nfd, so no --expires-in either). */
export function reportFlags(formats: readonly ReportFormat[] = REPORT_FORMATS) {
  const flags = {
    format: Flags.string({
      char: 'f',
      description: `output format: ${formats.map((f) => FORMAT_HELP[f]).join(', ')}`,
      options: [...formats],
      helpValue: formats.join('|'),
    }),
    output: Flags.string({
      char: 'o',
      description:
        'write the report to FILE instead of stdout, atomically (a temp file in the same folder, then rename)',
      helpValue: 'FILE',
    }),
  }
  if (!formats.includes('nfd')) return flags
  return {
    ...flags,
    'expires-in': Flags.string({
      description:
        'with --format nfd: NFD drops the labels this long after the run (e.g. 90m, 2h), so a node whose kvmctl stops loses them',
      helpValue: 'DURATION',
    }),
  }
}

const FORMAT_HELP: Record<ReportFormat, string> = {
  text: 'text (for people)',
  json: 'json (as --json)',
  junit: 'junit (CI)',
  prometheus: 'prometheus (node_exporter textfile)',
  nfd: 'nfd (node-feature-discovery labels)',
}
