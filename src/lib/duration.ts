// Durations given by users: "500" (ms), "500ms", "2s", "1.5s", "1m". Returns milliseconds.
import {UsageError} from './errors.js'

const UNIT_MS: Record<string, number> = {'': 1, ms: 1, s: 1000, m: 60_000}

/** Parses a duration; a bare number is ms. Throws UsageError naming the flag and the bad value. */
export function parseDuration(value: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/i.exec(value)
  if (!m) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} is not a duration; use milliseconds (500) or a unit (500ms, 2s)`)
  }
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? '').toLowerCase()]
  if (!(ms > 0)) throw new UsageError(`${flag} ${value} must be more than zero; use e.g. 2000 or 2s`)
  return ms
}
