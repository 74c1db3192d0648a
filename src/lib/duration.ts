// Durations given by users: "500" (ms), "500ms", "2s", "1.5s", "90m", "2h", "1d". Returns milliseconds.
import {shortValue, UsageError} from './errors.js'

// Longer than any run or expiry makes sense for, and far inside a Date's range (10^8 days).
const MAX_DAYS = 100_000
const MAX_MS = MAX_DAYS * 86_400_000

const UNIT_MS: Record<string, number> = {'': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/** Parses a duration; a bare number is ms. Throws UsageError naming the flag and the bad value. */
export function parseDuration(value: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value)
  if (!m) {
    throw new UsageError(
      `${flag} ${shortValue(value)} is not a duration; use a number and a unit: 500ms, 30s, 90m, 2h, 1d`,
    )
  }
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? '').toLowerCase()]
  if (!(ms > 0)) throw new UsageError(`${flag} ${value.trim()} must be more than zero; use e.g. 2000ms or 2s`)
  if (ms > MAX_MS)
    throw new UsageError(`${flag} ${shortValue(value)} is too long; use at most ${MAX_DAYS}d, e.g. 2h or 30d`)
  return ms
}
