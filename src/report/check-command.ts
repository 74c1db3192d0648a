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
  // The table needs chalk; JSON and the machine formats do not, so it is loaded only for text.
  const wantsText = !flags.json && (flags.format ?? 'text') === 'text'
  const render = wantsText ? await Promise.all([import('../checks/render.js'), import('../lib/style.js')]) : undefined
  await emitReport(report, flags, {
    log,
    renderText: (toTerminal) => {
      if (!render) return ''
      const [{renderReport}, {makeChalk}] = render
      const chalk = makeChalk()
      if (!toTerminal) chalk.level = 0
      return renderReport(report, chalk, {quiet: flags.quiet}).join('\n')
    },
  })
  return report
}
