// The kernel command line as text, and where boot loaders keep it: the parameters of a value
// (`quiet iommu=pt hugepages=0:4`), GRUB_CMDLINE_LINUX in /etc/default/grub, the `options` lines of
// BLS entries, /etc/kernel/cmdline. Pure parsing; src/tune/cmdline.ts edits the same texts.
import {UsageError} from '../lib/errors.js'

/**
 * One change to one parameter: set `key=value` (value undefined: a bare flag) or remove `key`.
 * With `size`, the parameter is the `hugepages=` that follows `hugepagesz=SIZE`: the kernel reads
 * `hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=512` as one count per page size.
 */
export type ParamEdit = {op: 'set'; key: string; value?: string; size?: string} | {op: 'remove'; key: string}

/** The kernel treats '-' and '_' in parameter names alike (kvm-intel.nested is kvm_intel.nested). */
export const normKey = (key: string) => key.replace(/-/g, '_')

export interface Token {
  text: string
  start: number
  end: number
}

/** Splits a command line into parameters as the kernel does: on blanks, a "quoted part" kept whole. */
export function tokenize(line: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++
    if (i >= line.length) break
    const start = i
    let quoted = false
    while (i < line.length && (quoted || !/\s/.test(line[i]))) {
      if (line[i] === '"') quoted = !quoted
      i++
    }
    out.push({text: line.slice(start, i), start, end: i})
  }
  return out
}

export const keyOf = (param: string) => {
  const eq = param.indexOf('=')
  return eq < 0 ? param : param.slice(0, eq)
}

/** The parameters of a command line as written (quotes kept). */
export function paramsOf(line: string): string[] {
  return tokenize(line).map((t) => t.text)
}

/** Every value `key` has on the command line, in order (null for a bare flag). The kernel uses the last. */
export function valuesOf(line: string, key: string): Array<string | null> {
  return paramsOf(line)
    .filter((p) => normKey(keyOf(p)) === normKey(key))
    .map((p) => (p.includes('=') ? p.slice(p.indexOf('=') + 1) : null))
}

/** A shell assignment of a GRUB variable: where its value's text lies and how it is quoted. */
export interface ShellAssignment {
  name: string
  /** Offsets of the value's text, inside the quotes. */
  start: number
  end: number
  quote: '"' | "'" | ''
}

/** The assignments `NAME=...` at the start of a line (comments and other lines are not). */
export function shellAssignments(text: string, name: string): ShellAssignment[] {
  const out: ShellAssignment[] = []
  const re = new RegExp(`^([ \\t]*(?:export[ \\t]+)?${name}=)(.*)$`, 'gm')
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const valueStart = m.index + m[1].length
    const rest = m[2]
    const q = rest[0]
    if (q === '"' || q === "'") {
      // The closing quote: the next unescaped one (a double-quoted value may hold \").
      let i = 1
      while (i < rest.length && rest[i] !== q) i += q === '"' && rest[i] === '\\' ? 2 : 1
      if (i >= rest.length)
        throw new UsageError(`${name} in /etc/default/grub has no closing ${q}; fix the file by hand first`)
      out.push({name, start: valueStart + 1, end: valueStart + i, quote: q})
    } else {
      const end = /^[^\s;#]*/.exec(rest)![0].length
      out.push({name, start: valueStart, end: valueStart + end, quote: ''})
    }
  }
  return out
}

export const GRUB_VARS = ['GRUB_CMDLINE_LINUX', 'GRUB_CMDLINE_LINUX_DEFAULT'] as const

/** The command line GRUB builds for a normal boot: GRUB_CMDLINE_LINUX then _DEFAULT (last assignments). */
export function grubCmdline(text: string): string {
  return GRUB_VARS.map((v) => {
    const last = shellAssignments(text, v).at(-1)
    return last ? text.slice(last.start, last.end) : ''
  })
    .filter((s) => s.trim() !== '')
    .join(' ')
}

export const OPTIONS_RE = /^([ \t]*options[ \t]+)([^\n]*)$/gm

/** The kernel command line of a BLS entry: its `options` lines, joined. */
export function blsOptions(text: string): string {
  return [...text.matchAll(OPTIONS_RE)].map((m) => m[2]).join(' ')
}

/** The parameters kernel-install uses when /etc/kernel/cmdline is missing: /proc/cmdline minus the loader's own. */
export function cmdlineFromProc(proc: string): string {
  return paramsOf(proc.split(' -- ')[0])
    .filter((p) => !/^(BOOT_IMAGE|initrd)=/.test(p))
    .join(' ')
}

const UNIT_KB: Record<string, number> = {K: 1, M: 1024, G: 1024 * 1024}
/** A hugepagesz= value in kB: 2M, 1G, 2048K, or bytes without a unit. */
const sizeKb = (text: string) => {
  const m = /^(\d+)([KMG])?$/i.exec(text.trim())
  if (!m) return Number.NaN
  return m[2] ? Number(m[1]) * UNIT_KB[m[2].toUpperCase()] : Number(m[1]) / 1024
}

/** Pages of the default size the command line reserves: `hugepages=` outside any other `hugepagesz=`. */
export function cmdlineDefaultPages(cmdline: string, defaultKb: number): number | null {
  let size: number | null = null
  let pages: number | null = null
  for (const p of paramsOf(cmdline)) {
    const [key, value = ''] = p.split(/=(.*)/s)
    if (key === 'hugepagesz') size = sizeKb(value)
    if (key === 'hugepages' && (size === null || size === defaultKb)) {
      // Per-node form (Linux 5.16+): hugepages=0:4,1:2 is the sum over nodes.
      pages = value.includes(':')
        ? value.split(',').reduce((n, part) => n + Number(part.split(':')[1] ?? 0), 0)
        : Number(value)
    }
  }
  return pages === null || !Number.isFinite(pages) ? null : pages
}
