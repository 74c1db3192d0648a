// Human output for tune commands: the plan (runtime values, then a unified diff per file), then
// what was applied and verified. Colours come from src/lib/style.ts and respect NO_COLOR.

import {formatBytes} from '../lib/size.js'
import type {Status} from '../lib/status.js'
import {statusLabel, type Styles} from '../lib/style.js'
import type {FileChange} from './file-plan.js'
import type {HugepagesPlan, HugepagesResult} from './hugepages.js'
import type {NestedPlan, NestedResult} from './nested.js'
import type {UndoResult} from './undo.js'

function colourDiff(diff: string, c: Styles): string[] {
  return diff
    .replace(/\n$/, '')
    .split('\n')
    .map((l) =>
      l.startsWith('+++') || l.startsWith('---')
        ? c.bold(l)
        : l.startsWith('@@')
          ? c.cyan(l)
          : l.startsWith('+')
            ? c.green(l)
            : l.startsWith('-')
              ? c.red(l)
              : l,
    )
}

export function renderFiles(files: FileChange[], c: Styles): string[] {
  const out: string[] = []
  for (const f of files) {
    if (f.action === 'none') out.push(`  ${f.path}: ${c.dim('unchanged')}`)
    else out.push(...colourDiff(f.diff, c).map((l) => `  ${l}`))
  }
  return out
}

export function renderHugepagesPlan(plan: HugepagesPlan, c: Styles): string[] {
  const out = [
    c.bold('Plan'),
    `  ${plan.pages} pages of ${plan.pageSize} = ${plan.vms} VM(s) × ${plan.pagesPerVm} pages (${formatBytes(plan.vmMemBytes)}) + ${plan.headroomPct} % headroom, rounded up`,
    `  host memory ${formatBytes(plan.memTotalBytes)}; at least ${formatBytes(plan.floorBytes)} stays outside hugepages`,
    c.bold('Runtime'),
  ]
  for (const r of plan.runtime) {
    const arrow = r.before === r.after ? c.dim(`${r.after} (unchanged)`) : `${r.before} -> ${c.bold(String(r.after))}`
    out.push(`  ${r.path}  ${arrow}${r.node === null ? '' : `  (node ${r.node})`}`)
  }
  if (plan.nodes.length > 0)
    out.push(`  now per node: ${plan.nodes.map((n) => `node ${n.node} ${n.count}`).join(', ')}`)
  if (plan.group.create) out.push(`  create group ${plan.group.name} (groupadd --system ${plan.group.name})`)
  const m = plan.mount
  const mount =
    m.action === 'none'
      ? c.dim(`${m.target} is mounted with mode 1770, group ${plan.group.name} (unchanged)`)
      : m.action === 'set-attrs'
        ? `${m.target} is mounted: set mode 1770 and group ${plan.group.name}`
        : `${m.createDir ? `create ${m.target}, ` : ''}mount hugetlbfs on ${m.target} (${m.options.join(',')})`
  out.push(`  ${mount}`)
  if (plan.files.length > 0) out.push(c.bold('Files'), ...renderFiles(plan.files, c))
  for (const w of plan.warnings) out.push(`${statusLabel('warn', c)} ${w}`)
  out.push(`  boot-time alternative: ${plan.kernelCmdline}`)
  return out
}

const HUGEPAGES_STATUS: Record<HugepagesResult['status'], Status> = {
  applied: 'pass',
  unchanged: 'pass',
  partial: 'warn',
  'rolled-back': 'fail',
  failed: 'fail',
}

export function renderHugepagesResult(result: HugepagesResult, c: Styles): string[] {
  const out = [c.bold('Applied')]
  for (const msg of result.messages) out.push(`  ${msg}`)
  for (const p of result.rollbackProblems) out.push(`  ${statusLabel('fail', c)} ${p}`)
  out.push(
    `${statusLabel(HUGEPAGES_STATUS[result.status], c)} ${result.status}${result.journalId ? ` (journal ${result.journalId}; revert with \`kvmctl tune undo\`)` : ''}`,
  )
  return out
}

export function renderNestedPlan(plan: NestedPlan, c: Styles): string[] {
  const out = [c.bold('Plan')]
  const how = plan.builtin ? ' (built in)' : plan.loaded ? ' (loaded)' : ' (not loaded)'
  const state = plan.module === null ? 'none serves /dev/kvm' : `${plan.module}${how}`
  out.push(`  module: ${state}; nested now: ${plan.current ?? '-'}; wanted: ${plan.wantEnabled ? 'on' : 'off'}`)
  for (const cmd of plan.commands) out.push(`  run: ${cmd}`)
  if (plan.files.length > 0) out.push(c.bold('Files'), ...renderFiles(plan.files, c))
  for (const w of plan.warnings) out.push(`${statusLabel('warn', c)} ${w}`)
  return out
}

const NESTED_STATUS: Record<NestedResult['status'], Status> = {
  applied: 'pass',
  unchanged: 'pass',
  refused: 'fail',
  'not-possible': 'fail',
  failed: 'fail',
  'rolled-back': 'fail',
}

export function renderNestedResult(plan: NestedPlan, result: NestedResult, c: Styles): string[] {
  const out = [c.bold('Result')]
  for (const msg of result.messages) out.push(`  ${msg}`)
  for (const p of result.rollbackProblems) out.push(`  ${statusLabel('fail', c)} ${p}`)
  if (plan.outcome !== 'pvm' && plan.outcome !== 'no-kvm' && plan.wantEnabled) out.push(`  ${c.dim(plan.guestAdvice)}`)
  out.push(`${statusLabel(NESTED_STATUS[result.status], c)} ${result.status}`)
  return out
}

export function renderUndo(result: UndoResult, c: Styles): string[] {
  if (result.status === 'nothing') return ['nothing to undo: the tune journal is empty']
  const out = [
    `${result.status === 'planned' ? 'Would undo' : 'Undo'} ${c.bold(result.run!.command)} from ${result.run!.startedAt}${result.run!.complete ? '' : ' (interrupted run)'}`,
  ]
  for (const s of result.steps) out.push(`  ${s}`)
  for (const k of result.kept) out.push(`  ${statusLabel('warn', c)} ${k}`)
  for (const p of result.problems) out.push(`  ${statusLabel('fail', c)} ${p}`)
  if (result.status !== 'planned')
    out.push(
      `${statusLabel(result.status === 'restored' ? 'pass' : 'fail', c)} ${result.status}; ${result.remaining} earlier run(s) left in the journal`,
    )
  return out
}
