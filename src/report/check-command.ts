// The body of `kvmctl check`, shared by the oclif command and the fast entry (src/fast.ts):
// run the checks, then write the report as the flags ask. With --json and no --output the
// caller prints the returned report.
import type {CheckReport} from '../checks/report.js'
import {runCheck} from '../checks/run.js'
import {emitReport, type ReportFlagValues} from './emit.js'

export interface CheckFlagValues extends ReportFlagValues {
  root?: string
  quiet?: boolean
  /** A PCI address or vendor:device id to check for passthrough. */
  passthrough?: string
}

export async function checkAndReport(flags: CheckFlagValues, log: (text: string) => void): Promise<CheckReport> {
  const report = await runCheck(flags.root, flags.passthrough)
  // The table and its styles are loaded for text only; JSON and the machine formats need neither.
  const wantsText = !flags.json && (flags.format ?? 'text') === 'text'
  const render = wantsText ? await Promise.all([import('../checks/render.js'), import('../lib/style.js')]) : undefined
  const styles = render && (await render[1].makeStyles())
  await emitReport(report, flags, {
    log,
    renderText: (toTerminal) => {
      if (!render || !styles) return ''
      const [{renderReport}, {PLAIN}] = render
      return renderReport(report, toTerminal ? styles : PLAIN, {quiet: flags.quiet}).join('\n')
    },
  })
  return report
}
