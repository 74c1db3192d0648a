// Human output of the selftest: a header, one line per stage, then the per-phase timings and the
// result. Live on a terminal (a "running" line that the stage's result replaces); the same lines
// after the fact for a file or a pipe (renderSelftest).

import {formatBytes} from '../lib/size.js'
import {padVisible, remedyRows, statusLabel, type Styles} from '../lib/style.js'
import type {MemoryBacking} from '../native.js'
import type {SelftestEvents, SelftestReport} from './selftest.js'
import {formatNs, type StageResult} from './stages.js'

function headerLine(run: {device: string; vcpus: number; memBytes: number}, backing: MemoryBacking, c: Styles): string {
  const memory = backing === 'anonymous' ? 'anonymous memory' : 'hugepages'
  const vcpus = `${run.vcpus} vCPU${run.vcpus === 1 ? '' : 's'}`
  return (
    c.bold('kvmctl selftest') +
    c.dim(` — probe guest on ${run.device}, ${vcpus}, ${formatBytes(run.memBytes)} of ${memory}`)
  )
}

/** A stage's line, and its remedy under it as check shows one (a failed stage's only). */
function stageLine(result: StageResult, c: Styles): string {
  const time = result.ns > 0 ? c.dim(` (${formatNs(result.ns)})`) : ''
  const line = `${statusLabel(result.status, c)}  ${result.id}  ${padVisible(result.title, 12)} ${result.detail}${time}`
  return [line, ...(result.status === 'pass' ? [] : remedyRows(result.remedy, c))].join('\n')
}

function summaryLines(report: SelftestReport, c: Styles): string[] {
  const p = report.phases
  const phases = [
    ['open', p.openNs],
    ['create VM', p.createVmNs],
    ['memory', p.memoryNs],
    ['load', p.loadNs],
    ['vCPUs', p.vcpusNs],
    ['first exit', p.firstExitNs],
    ['teardown', p.teardownNs],
    ['total', p.totalNs],
  ] as const
  const failed = report.stages.filter((s) => s.status === 'fail').length
  const warned = report.stages.filter((s) => s.status === 'warn').length
  const ran = report.stages.filter((s) => s.status !== 'skip').length
  const verdict =
    failed > 0
      ? c.red.bold(`${failed} of ${ran} stages failed`)
      : c.green(`all ${ran} stages passed`) + (warned > 0 ? c.yellow(` (${warned} with a warning)`) : '')
  return [
    '',
    c.bold('phases ') + phases.map(([name, ns]) => `${name} ${formatNs(ns)}`).join(c.dim(' · ')),
    c.bold('result ') + verdict,
  ]
}

/** The whole human report at once, lines joined with newlines (no trailing one). */
export function renderSelftest(report: SelftestReport, c: Styles): string {
  return [
    headerLine(report, report.backing, c),
    ...report.stages.map((s) => stageLine(s, c)),
    ...summaryLines(report, c),
  ].join('\n')
}

/** Prints the stages as they finish; summary() ends it. */
export class SelftestRenderer implements SelftestEvents {
  private readonly c: Styles
  private readonly live: boolean
  private pending = false

  constructor(
    styles: Styles,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.c = styles
    // Cursor movement only on a terminal; piped output gets finished lines only.
    this.live = Boolean(out.isTTY)
  }

  onBooted(options: {device: string; vcpus: number; memBytes: number}, backing: MemoryBacking): void {
    this.out.write(headerLine(options, backing, this.c) + '\n')
  }

  onStageStart(stage: {id: string; title: string}): void {
    if (!this.live) return
    this.out.write(`${this.c.dim('....')}  ${stage.id}  ${padVisible(stage.title, 12)} ${this.c.dim('running')}`)
    this.pending = true
  }

  onStage(result: StageResult): void {
    if (this.pending) {
      this.out.write('\r\u001b[2K')
      this.pending = false
    }
    this.out.write(stageLine(result, this.c) + '\n')
  }

  summary(report: SelftestReport): void {
    this.out.write(summaryLines(report, this.c).join('\n') + '\n')
  }
}
