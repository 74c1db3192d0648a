// Memory sizes given by users: "1024" (MiB), "512M", "1G", "1GiB", "2m". Returns bytes.
import {shortValue, UsageError} from './errors.js'

const UNITS: Record<string, number> = {
  '': 2 ** 20,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
}

/**
 * Parses a size; a bare number is MiB. Throws UsageError naming the flag and the bad value.
 */
export function parseSize(value: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(value)
  if (!m) {
    throw new UsageError(
      `${flag} ${shortValue(value)} is not a size; use a number of MiB (1024) or a size with a unit (512M, 1G, 1GiB)`,
    )
  }
  const bytes = Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()])
  if (!(bytes > 0)) throw new UsageError(`${flag} ${value.trim()} must be more than zero; use e.g. 1024 or 1G`)
  // Past 2^53 bytes (8 PiB) a number stops being exact, and 400 digits is Infinity.
  if (!Number.isSafeInteger(bytes))
    throw new UsageError(`${flag} ${shortValue(value)} is too large; use e.g. 1024 or 64G`)
  return bytes
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`
  if (bytes >= 2 ** 20) return `${+(bytes / 2 ** 20).toFixed(1)} MiB`
  if (bytes >= 2 ** 10) return `${+(bytes / 2 ** 10).toFixed(1)} KiB`
  return `${bytes} B`
}
