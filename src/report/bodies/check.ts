// `kvmctl check`: run the checks and write the report; the result is the report (--json).
import {checkAndReport, type CheckFlagValues} from '../check-command.js'
import type {CheckReport} from '../../checks/report.js'
import type {CommandBody} from '../../lib/command-body.js'

export const checkBody: CommandBody<CheckFlagValues, CheckReport> = async ({flags}, io) => {
  const report = await checkAndReport({...flags, json: io.json}, io.log)
  return {result: report, failed: report.counts.fail > 0}
}
