// Line editors for the files tuning persists to. Each takes the current text (undefined: no file)
// and returns the new text; every line it does not own is kept byte for byte, so an identical
// second run returns its input unchanged. Texts are byte strings (latin1: one char per byte, see
// file-plan.ts), so a Latin-1 or broken UTF-8 byte anywhere in a file survives every edit; values
// from the command line are turned into their UTF-8 bytes (asBytes) before they go in.

import {asBytes, type FstabEntry, formatFstabEntry, parseFstabLine} from '../lib/fstab.js'
import {tmpfilesWriteLine} from '../plan/settings.js'

/** Splits text into lines that keep their own terminators, so joining them restores the bytes. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? []
}

/** Appends a line, first terminating a last line that lacks its newline. */
function appendLine(text: string, line: string): string {
  return text === '' || text.endsWith('\n') ? `${text}${line}\n` : `${text}\n${line}\n`
}

// ---- /etc/fstab ----

function sameEntry(a: FstabEntry, b: FstabEntry): boolean {
  const opts = (e: FstabEntry) => [...e.options].sort().join(',')
  return (
    a.spec === b.spec &&
    a.file === b.file &&
    a.vfstype === b.vfstype &&
    opts(a) === opts(b) &&
    a.freq === b.freq &&
    a.passno === b.passno
  )
}

/**
 * Makes `entry` the one line for its mount point: an equivalent line is kept as written, a
 * different line for the same mount point is replaced, later duplicates are dropped, and when
 * there is none the line is appended.
 */
export function editFstab(text: string | undefined, entry: FstabEntry): string {
  const wanted = formatFstabEntry(entry)
  // Compare as the parser sees a line: byte strings with the escapes decoded.
  const bytes: FstabEntry = {
    ...entry,
    spec: asBytes(entry.spec),
    file: asBytes(entry.file),
    vfstype: asBytes(entry.vfstype),
    options: entry.options.map(asBytes),
  }
  let seen = false
  let out = ''
  for (const line of linesOf(text ?? '')) {
    const parsed = parseFstabLine(line)
    if (!parsed || parsed.file !== bytes.file) {
      out += line
      continue
    }
    if (seen) continue
    seen = true
    out += sameEntry(parsed, bytes) ? line : wanted + (line.endsWith('\n') ? '\n' : '')
  }
  return seen ? out : appendLine(out, wanted)
}

// ---- sysctl.d ----

const SYSCTL_HEADER =
  '# Hugepage pool for virtual machines. Written by `kvmctl tune hugepages`; revert with `kvmctl tune undo`.\n'

/** Matches a sysctl.d assignment of `key` (dots or slashes; a leading '-' ignores errors). */
function sysctlKeyPattern(key: string): RegExp {
  const k = key
    .split('.')
    .map((p) => p.replace(/[^\w]/g, '\\$&'))
    .join('[./]')
  return new RegExp(`^\\s*-?\\s*${k}\\s*=\\s*(.*?)\\s*$`)
}

/** The value a sysctl.d text gives `key` (the last assignment wins), or undefined. */
export function sysctlValue(text: string, key: string): string | undefined {
  const re = sysctlKeyPattern(key)
  let value: string | undefined
  for (const line of linesOf(text)) {
    const m = re.exec(line.replace(/\n$/, ''))
    if (m) value = m[1]
  }
  return value
}

/** Sets `key = value` in a sysctl.d file: the first assignment is updated, later ones dropped. */
export function editSysctl(text: string | undefined, key: string, value: string): string {
  const re = sysctlKeyPattern(key)
  const wanted = `${key} = ${value}`
  let seen = false
  let out = ''
  for (const line of linesOf(text ?? '')) {
    const m = re.exec(line.replace(/\n$/, ''))
    if (!m) {
      out += line
      continue
    }
    if (seen) continue
    seen = true
    out += m[1] === value ? line : wanted + (line.endsWith('\n') ? '\n' : '')
  }
  if (seen) return out
  return appendLine(text === undefined ? SYSCTL_HEADER : out, wanted)
}

// ---- modprobe.d ----

const sameModule = (a: string, b: string) => a.replace(/-/g, '_') === b.replace(/-/g, '_')

/**
 * Sets `param=value` for `module` in a modprobe.d file, keeping the module's other options:
 * every `options MODULE` line that sets the parameter is updated; if none does, the first
 * `options MODULE` line gets it appended; with no such line a new one is added.
 */
export function editModprobeOptions(text: string | undefined, module: string, param: string, value: string): string {
  const lines = linesOf(text ?? '')
  const isOptionsLine = (line: string) => {
    const f = line.trim().split(/\s+/)
    return f[0] === 'options' && f.length >= 2 && sameModule(f[1], module)
  }
  const paramRe = new RegExp(`(^|\\s)${param}=(\\S*)`)
  let setAny = false
  const edited = lines.map((line) => {
    if (!isOptionsLine(line)) return line
    const m = paramRe.exec(line)
    if (!m) return line
    setAny = true
    return m[2] === value ? line : line.replace(paramRe, `$1${param}=${value}`)
  })
  if (setAny) return edited.join('')
  const first = edited.findIndex(isOptionsLine)
  if (first >= 0) {
    const line = edited[first]
    const eol = line.endsWith('\n') ? '\n' : ''
    edited[first] = `${line.replace(/\s*\n?$/, '')} ${param}=${value}${eol}`
    return edited.join('')
  }
  return appendLine(edited.join(''), `options ${module} ${param}=${value}`)
}

// ---- /etc/tmpfiles.d ----

/**
 * Sets the systemd-tmpfiles `w PATH - - - - VALUE` line for a kernel file, keeping every other
 * line (a second line for the same path goes); a new file starts with `header`.
 */
export function editTmpfilesWrite(text: string | undefined, path: string, value: string, header = ''): string {
  const wanted = tmpfilesWriteLine(path, value)
  let seen = false
  const out = linesOf(text ?? '').flatMap((line) => {
    const f = line.trim().split(/\s+/)
    if (!/^w\+?$/.test(f[0] ?? '') || f[1] !== path) return [line]
    if (seen) return []
    seen = true
    return [f.slice(6).join(' ') === value ? line : wanted + (line.endsWith('\n') ? '\n' : '')]
  })
  if (seen) return out.join('')
  return appendLine(text === undefined ? header : out.join(''), wanted)
}
