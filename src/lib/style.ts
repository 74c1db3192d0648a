// Terminal styling: colour only on a TTY and never with NO_COLOR (https://no-color.org), so
// piped output and logs stay plain. Every renderer takes its colours from here.

import {useColor} from './color.js'
import {type Remedy, remedyLines} from './remedy.js'
import type {Status} from './status.js'

export {useColor} from './color.js'

/** The styles the renderers use; a chalk instance is one, and so is PLAIN. */
export interface Styles {
  (text: string): string
  bold: Styles
  dim: Styles
  underline: Styles
  red: Styles
  green: Styles
  yellow: Styles
  cyan: Styles
}

/** No colour: every style returns its text as it is. */
export const PLAIN = ((text: string) => text) as Styles
for (const name of ['bold', 'dim', 'underline', 'red', 'green', 'yellow', 'cyan'] as const)
  Object.defineProperty(PLAIN, name, {value: PLAIN})

/**
 * Styles for output to fd (1 stdout): chalk when useColor says so, else PLAIN. chalk is loaded
 * only then: building its styles costs about 2 ms and 130 KB on every run that prints plain text.
 */
export async function makeStyles(fd = 1): Promise<Styles> {
  if (!useColor(fd)) return PLAIN
  const {Chalk} = await import('chalk')
  return new Chalk({level: 1})
}

const LABEL: Record<Status, string> = {pass: 'PASS', info: 'INFO', warn: 'WARN', fail: 'FAIL', skip: 'SKIP'}

/** A fixed-width status label, coloured when colour is on. */
export function statusLabel(status: Status, c: Styles): string {
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
export function remedyRows(remedy: Remedy | undefined, c: Styles): string[] {
  return remedyLines(remedy).map((step) => `         ${c.cyan('->')} ${step}`)
}
