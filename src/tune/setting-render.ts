// Human output and --json of the smaller tuners (ksm, thp, iommu, access): the plan (values now ->
// wanted, file diffs, command line edits, commands), then what was applied and read back.

import type {Status} from '../lib/status.js'
import {statusLabel, type Styles} from '../lib/style.js'
import type {CmdlinePlan} from './bootloader.js'
import type {FileChange} from './file-plan.js'
import {TUNE_JSON_SCHEMA} from './json.js'
import {renderFiles} from './render.js'
import type {SettingPlan, SettingResult} from './setting.js'

export function renderCmdlinePlan(plan: CmdlinePlan, c: Styles): string[] {
  if (plan.refusal) return []
  const out = [c.bold('Kernel command line (next boot)'), `  boot loader: ${plan.loader}; ${plan.edits.join(', ')}`]
  out.push(`  now:   ${plan.before || c.dim('(empty)')}`, `  after: ${plan.after || c.dim('(empty)')}`)
  for (const cmd of plan.commands) out.push(`  run: ${cmd}`)
  if (plan.files.length > 0) out.push(...renderFiles(plan.files, c))
  return out
}

export function renderSettingPlan(plan: SettingPlan, c: Styles): string[] {
  const out = [c.bold('Plan'), `  ${plan.summary}`]
  if (plan.refusal) return [...out, `${statusLabel('fail', c)} ${plan.refusal}`]
  for (const r of plan.runtime)
    out.push(
      `  ${r.path}  ${r.before === r.after ? c.dim(`${r.after} (unchanged)`) : `${r.before} -> ${c.bold(r.after)}`}`,
    )
  for (const cmd of plan.commands) out.push(`  run: ${cmd}`)
  if (plan.files.length > 0) out.push(c.bold('Files'), ...renderFiles(plan.files, c))
  if (plan.cmdline) out.push(...renderCmdlinePlan(plan.cmdline, c))
  for (const w of plan.warnings) out.push(`${statusLabel('warn', c)} ${w}`)
  return out
}

const STATUS: Record<SettingResult['status'], Status> = {
  applied: 'pass',
  unchanged: 'pass',
  refused: 'fail',
  'rolled-back': 'fail',
}

export function renderSettingResult(result: SettingResult, c: Styles): string[] {
  const out = [c.bold('Result')]
  for (const m of result.messages) out.push(`  ${m}`)
  for (const p of result.rollbackProblems) out.push(`  ${statusLabel('fail', c)} ${p}`)
  out.push(
    `${statusLabel(STATUS[result.status], c)} ${result.status}${result.journalId ? ` (journal ${result.journalId}; revert with \`kvmctl tune undo\`)` : ''}`,
  )
  return out
}

const jsonFiles = (files: FileChange[]) => files.map(({path, action, diff}) => ({path, action, diff}))

export type SettingJson = ReturnType<typeof settingJson>

/** The --json envelope (schemas/tune-setting.schema.json): file contents are left out, diffs kept. */
export function settingJson(dryRun: boolean, plan: SettingPlan, result: SettingResult | null) {
  const cmdline = plan.cmdline ? {...plan.cmdline, files: jsonFiles(plan.cmdline.files)} : null
  return {schema: TUNE_JSON_SCHEMA, dryRun, plan: {...plan, files: jsonFiles(plan.files), cmdline}, result}
}
