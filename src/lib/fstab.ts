// /etc/fstab lines (fstab(5)): one type, one formatter and one parser for the planner, the
// remedies and tune's editor, so the line check prints is the line tune writes. Fields are byte
// strings (latin1: one char per byte) once parsed; values from the command line go in as UTF-8.

/** A JS string as the byte string of its UTF-8 encoding. */
export const asBytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1')

export interface FstabEntry {
  spec: string
  file: string
  vfstype: string
  options: string[]
  freq: number
  passno: number
}

/**
 * fstab(5) fields are separated by blanks, so a space, tab or newline inside one is written as an
 * octal escape (\\040, \\011, \\012) and a backslash as \\134; libmount decodes them all.
 */
export function escapeFstabField(field: string): string {
  return asBytes(field).replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`)
}

export function formatFstabEntry(e: FstabEntry): string {
  const f = escapeFstabField
  return `${f(e.spec)} ${f(e.file)} ${f(e.vfstype)} ${e.options.map(f).join(',')} ${e.freq} ${e.passno}`
}

/** Decodes fstab's octal escapes (fstab(5)); the result is a byte string. */
function unescapeField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8) & 0xff))
}

/** One line of fstab, or undefined for a comment, a blank line or a line with too few fields. */
export function parseFstabLine(line: string): FstabEntry | undefined {
  const body = line.trim()
  if (body === '' || body.startsWith('#')) return undefined
  const f = body.split(/\s+/)
  if (f.length < 3) return undefined
  return {
    spec: unescapeField(f[0]),
    file: unescapeField(f[1]),
    vfstype: unescapeField(f[2]),
    options: (f[3] ?? 'defaults').split(',').map(unescapeField),
    freq: Number(f[4] ?? 0),
    passno: Number(f[5] ?? 0),
  }
}
