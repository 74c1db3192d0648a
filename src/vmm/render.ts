// Human output of the selftest: one line per stage as it finishes (on a terminal, a "running"
// line first that the result replaces), then the per-phase timings.
import type {ChalkInstance} from 'chalk'

import {formatBytes} from '../lib/size.js'
import {makeChalk, padVisible, statusLabel} from '../lib/style.js'
import type {MemoryBacking} from '../native.js'
import type {SelftestEvents, SelftestReport} from './selftest.js'
import {formatNs, type StageResult} from './stages.js'

export class SelftestRenderer implements SelftestEvents {
  private readonly c: ChalkInstance
  private readonly live: boolean
  private pending = false

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.c = makeChalk(out)
    // Cursor movement only on a terminal; piped output gets finished lines only.
    this.live = Boolean(out.isTTY)
  }

  onBooted(options: {device: string; vcpus: number; memBytes: number}, backing: MemoryBacking): void {
    const memory = backing === 'anonymous' ? 'anonymous memory' : 'hugepages'
    this.out.write(
      this.c.bold('kvmctl selftest') +
        this.c.dim(` — probe guest on ${options.device}, ${options.vcpus} vCPU${options.vcpus === 1 ? '' : 's'}, ${formatBytes(options.memBytes)} of ${memory}`) +
        '\n',
    )
  }

  onStageStart(stage: {id: string; name: string}): void {
    if (!this.live) return
    this.out.write(`${this.c.dim('....')}  ${stage.id}  ${padVisible(stage.name, 12)} ${this.c.dim('running')}`)
    this.pending = true
  }

  onStage(result: StageResult): void {
    if (this.pending) {
      this.out.write('\r\u001b[2K')
      this.pending = false
    }
    const time = result.ns > 0 ? this.c.dim(` (${formatNs(result.ns)})`) : ''
    this.out.write(`${statusLabel(result.status, this.c)}  ${result.id}  ${padVisible(result.name, 12)} ${result.detail}${time}\n`)
  }

  summary(report: SelftestReport): void {
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
    this.out.write('\n' + this.c.bold('phases ') + phases.map(([name, ns]) => `${name} ${formatNs(ns)}`).join(this.c.dim(' · ')) + '\n')
    const failed = report.stages.filter((s) => s.status === 'fail').length
    const warned = report.stages.filter((s) => s.status === 'warn').length
    const ran = report.stages.filter((s) => s.status !== 'skip').length
    const verdict =
      failed > 0
        ? this.c.red.bold(`${failed} of ${ran} stages failed`)
        : this.c.green(`all ${ran} stages passed`) + (warned > 0 ? this.c.yellow(` (${warned} with a warning)`) : '')
    this.out.write(this.c.bold('result ') + verdict + '\n')
  }
}
