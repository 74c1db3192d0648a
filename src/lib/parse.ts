// Numbers read from kernel files and captures. A value that is not a clean number is undefined
// ("unreadable"), never NaN, Infinity or a silently truncated prefix ("12abc" is not 12).

/** A decimal integer as procfs/sysfs print it ("550", " 550\n", "-1"); undefined unless exactly that. */
export function parseInteger(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const t = text.trim()
  if (!/^-?\d{1,16}$/.test(t)) return undefined
  const n = Number(t)
  return Number.isSafeInteger(n) ? n : undefined
}

/** A count (0 or more): a page count, a refcount, a group number; undefined otherwise. */
export function parseCounter(text: string | undefined): number | undefined {
  const n = parseInteger(text)
  return n !== undefined && n >= 0 ? n : undefined
}

/** A /proc/meminfo-style amount, "16384 kB" or a bare count, in its own unit; undefined otherwise. */
export function parseKb(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const m = /^\s*(\d{1,16})(?:\s+kB)?\s*$/.exec(text)
  if (!m) return undefined
  const n = Number(m[1])
  return Number.isSafeInteger(n) ? n : undefined
}
