// Whether to colour output: only on a TTY and never with NO_COLOR (https://no-color.org). Apart from
// style.ts so the fast entry can ask without loading chalk.
import {isTerminal} from './output.js'

export function useColor(fd = 1): boolean {
  if ('NO_COLOR' in process.env && process.env.NO_COLOR !== '') return false
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true
  return isTerminal(fd)
}
