// Terminal styling: colour only on a TTY and never with NO_COLOR (https://no-color.org), so
// piped output and logs stay plain. Every renderer takes its colours from here.
import {Chalk, type ChalkInstance} from 'chalk'

import {useColor} from './color.js'
import {type Remedy, remedyLines} from './remedy.js'
import type {Status} from './status.js'

export {useColor} from './color.js'

/** Styles for output to fd (1 stdout): colour only when useColor says so. */
export function makeChalk(fd = 1): ChalkInstance {
  return new Chalk({level: useColor(fd) ? 1 : 0})
}

const LABEL: Record<Status, string> = {pass: 'PASS', info: 'INFO', warn: 'WARN', fail: 'FAIL', skip: 'SKIP'}

/** A fixed-width status label, coloured when colour is on. */
export function statusLabel(status: Status, c: ChalkInstance): string {
  const text = LABEL[status]
  switch (status) {
    case 'pass':
      return c.green(text)
    case 'info':
      return c.cyan(text)
    case 'warn':
      return c.yellow(text)
    case 'fail':
      return c.red.bold(text)
    default:
      return c.dim(text)
  }
}

/** Pads to a visible width, ignoring ANSI colour codes. */
export function padVisible(text: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const visible = text.replace(/\u001b\[[0-9;]*m/g, '').length
  return visible >= width ? text : text + ' '.repeat(width - visible)
}

/** A remedy under its row, as every text report shows one: "-> sudo kvmctl ...", then by hand. */
export function remedyRows(remedy: Remedy | undefined, c: ChalkInstance): string[] {
  return remedyLines(remedy).map((step) => `         ${c.cyan('->')} ${step}`)
}
