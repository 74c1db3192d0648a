// Text from outside kvmctl (a capture's host.json, a file name in it) shown in a one-line message:
// control characters, NULs and invalid UTF-8 (decoded as U+FFFD) never reach the terminal raw.

/** s as one printable line: control and non-printable characters escaped, cut at max characters. */
export function printable(s: string, max = 60): string {
  const escaped = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/g, (c) => {
    if (c === '\n') return '\\n'
    if (c === '\t') return '\\t'
    if (c === '\ufffd') return '\\ufffd'
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`
  })
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped
}

/** A value of any JSON type as one short printable token for a message: "abc", 3, an array, an object. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return `"${printable(v, 40)}"`
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object' : typeof v
}
