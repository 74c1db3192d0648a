// `kvmctl selftest`: boot the probe guest; stages show as they run when text goes to stdout.
import {devKvmAdvisor} from '../../checks/run.js'
import {Host} from '../../host/host.js'
import type {CommandBody} from '../../lib/command-body.js'
import {makeStyles, PLAIN} from '../../lib/style.js'
import {resolveSelftestOptions, type SelftestFlags} from '../../vmm/options.js'
import {renderSelftest, SelftestRenderer} from '../../vmm/render.js'
import {runSelftest, type SelftestReport} from '../../vmm/selftest.js'
import {emitReport, type ReportFlagValues, resolveReportFormat} from '../emit.js'

export const selftestBody: CommandBody<SelftestFlags & ReportFlagValues, SelftestReport> = async ({flags}, io) => {
  const options = resolveSelftestOptions(flags)
  // selftest proves this machine: a replay root cannot stand in for its /dev/kvm or its pool.
  if (process.env.KVMCTL_ROOT)
    process.stderr.write(
      `kvmctl: KVMCTL_ROOT=${process.env.KVMCTL_ROOT} is ignored: selftest runs on this machine's /dev/kvm and hugepage pool\n`,
    )
  const reportFlagValues = {...flags, json: io.json}
  // Stages show as they run only when the text goes to stdout; any other format or a file
  // gets the whole report at the end, so stdout carries nothing else.
  const live = resolveReportFormat(reportFlagValues) === 'text' && !flags.output
  const styles = await makeStyles()
  const renderer = live ? new SelftestRenderer(styles) : undefined
  const report = await runSelftest(options, renderer, {adviseDevKvm: devKvmAdvisor(Host.openLive())})
  if (renderer) {
    renderer.summary(report)
  } else {
    await emitReport(report, reportFlagValues, {
      log: io.log,
      renderText: (toTerminal) => renderSelftest(report, toTerminal ? styles : PLAIN),
    })
  }
  return {result: report, failed: !report.ok}
}
