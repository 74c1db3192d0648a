// Edits of the kernel command line in the files boot loaders keep it in (/etc/default/grub
// GRUB_CMDLINE_LINUX, BLS entry `options` lines, /etc/kernel/cmdline; parsed by src/host/cmdline.ts).
// Pure functions: each edit changes one parameter and keeps every other byte, so an identical
// second edit returns its input unchanged.
import {
  GRUB_VARS,
  keyOf,
  normKey,
  OPTIONS_RE,
  type ParamEdit,
  shellAssignments,
  type Token,
  tokenize,
  valuesOf,
} from '../host/cmdline.js'
import {UsageError} from '../lib/errors.js'

export type {ParamEdit} from '../host/cmdline.js'
export {blsOptions, cmdlineFromProc, grubCmdline, keyOf, paramsOf, tokenize, valuesOf} from '../host/cmdline.js'

/** The text a set edit puts on the command line. */
export function paramText(edit: ParamEdit): string {
  const text = edit.op === 'set' && edit.value !== undefined ? `${edit.key}=${edit.value}` : edit.key
  return edit.op === 'set' && edit.size ? `hugepagesz=${edit.size} ${text}` : text
}

/** The index of the `hugepagesz=SIZE` token, or -1. */
function sizeIndex(tokens: Token[], size: string): number {
  return tokens.findIndex((t) => t.text.toLowerCase() === `hugepagesz=${size}`.toLowerCase())
}

/** The value of the `KEY=` right after `hugepagesz=SIZE`, or undefined. */
function pairValue(line: string, key: string, size: string): string | undefined {
  const tokens = tokenize(line)
  const next = tokens[sizeIndex(tokens, size) + 1]
  return sizeIndex(tokens, size) >= 0 && next && keyOf(next.text) === key ? next.text.slice(key.length + 1) : undefined
}

/** A per-size pool edit: the count after `hugepagesz=SIZE` is replaced, inserted, or the pair appended. */
function editPair(line: string, edit: ParamEdit & {op: 'set'; size: string}, append: boolean): string {
  const tokens = tokenize(line)
  const at = sizeIndex(tokens, edit.size)
  const wanted = `${edit.key}=${edit.value}`
  if (at < 0)
    return append
      ? editLine(line, {op: 'set', key: `hugepagesz=${edit.size} ${edit.key}`, value: edit.value}, {append})
      : line
  const next = tokens[at + 1]
  if (next && keyOf(next.text) === edit.key)
    return next.text === wanted ? line : line.slice(0, next.start) + wanted + line.slice(next.end)
  return line.slice(0, tokens[at].end) + ` ${wanted}` + line.slice(tokens[at].end)
}

export function describeEdit(edit: ParamEdit): string {
  return edit.op === 'set' ? `set ${paramText(edit)}` : `remove ${edit.key}`
}

// What kvmctl writes must need no quoting in a shell string, a BLS line or the kernel's parser.
const KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/
const VALUE_RE = /^[A-Za-z0-9_.,:+/=-]+$/

/** Throws a one-line usage error for a parameter kvmctl cannot write safely. */
export function validateEdit(edit: ParamEdit): ParamEdit {
  if (!KEY_RE.test(edit.key))
    throw new UsageError(
      `kernel parameter name ${JSON.stringify(edit.key)} is not valid; use letters, digits, '_', '-' and '.' only`,
    )
  if (edit.op === 'set' && edit.size !== undefined && !/^\d+[KMG]$/.test(edit.size))
    throw new UsageError(`hugepage size ${JSON.stringify(edit.size)} is not valid; use 2M or 1G`)
  if (edit.op === 'set' && edit.value !== undefined && !VALUE_RE.test(edit.value)) {
    throw new UsageError(
      `kernel parameter value ${JSON.stringify(edit.value)} for ${edit.key} needs quoting; kvmctl writes only letters, digits and _ . , : + / = -`,
    )
  }
  return edit
}

/** Whether a command line already has what the edit asks for (and nothing contrary to it). */
export function satisfies(line: string, edit: ParamEdit): boolean {
  if (edit.op === 'set' && edit.size) return pairValue(line, edit.key, edit.size) === edit.value
  const values = valuesOf(line, edit.key)
  if (edit.op === 'remove') return values.length === 0
  // The kernel takes the last value; repeats of the wanted one are harmless.
  return values.length > 0 && values.every((v) => v === (edit.value ?? null))
}

/** Removes tokens by index with the blanks before them; a kept token that becomes first loses its own. */
function dropTokens(line: string, tokens: Token[], drop: Set<number>): string {
  if (tokens.length === 0) return line
  let out = line.slice(0, tokens[0].start)
  let first = true
  tokens.forEach((t, i) => {
    if (drop.has(i)) return
    if (!first) out += line.slice(tokens[i - 1].end, t.start)
    out += t.text
    first = false
  })
  return out + line.slice(tokens.at(-1)!.end)
}

/**
 * Applies one edit to a command line value. `set` replaces the first occurrence of the key in
 * place and drops later ones (the kernel would take the last); with none it appends, separated by
 * one blank. `remove` drops every occurrence. Everything else stays byte for byte.
 */
export function editLine(line: string, edit: ParamEdit, opts: {append?: boolean} = {}): string {
  if (edit.op === 'set' && edit.size) return editPair(line, {...edit, size: edit.size}, opts.append !== false)
  const tokens = tokenize(line)
  const hits = tokens.map((t, i) => [t, i] as const).filter(([t]) => normKey(keyOf(t.text)) === normKey(edit.key))
  if (edit.op === 'remove') return hits.length === 0 ? line : dropTokens(line, tokens, new Set(hits.map(([, i]) => i)))
  const wanted = paramText(edit)
  if (hits.length === 0) {
    if (opts.append === false) return line
    const body = line.replace(/\s+$/, '')
    const tail = line.slice(body.length)
    return `${body}${body === '' ? '' : ' '}${wanted}${tail}`
  }
  const [first] = hits[0]
  const kept = first.text === wanted ? line : line.slice(0, first.start) + wanted + line.slice(first.end)
  if (hits.length === 1) return kept
  return dropTokens(kept, tokenize(kept), new Set(hits.slice(1).map(([, i]) => i)))
}

// ---- /etc/default/grub ----

/**
 * Applies an edit to /etc/default/grub: the key is replaced where it already is (in either
 * GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT), otherwise appended to GRUB_CMDLINE_LINUX,
 * which every menu entry uses, recovery ones included. A file without GRUB_CMDLINE_LINUX gets the
 * line appended. Values are only ever plain words, so the quoting of the line stays valid.
 */
export function editGrubDefault(text: string, edit: ParamEdit): string {
  const assignments = GRUB_VARS.flatMap((v) => shellAssignments(text, v)).sort((a, b) => b.start - a.start)
  const present = assignments.some((a) => valuesOf(text.slice(a.start, a.end), edit.key).length > 0)
  let out = text
  // Right to left, so earlier offsets stay valid.
  for (const a of assignments) {
    const value = out.slice(a.start, a.end)
    if (valuesOf(value, edit.key).length === 0) continue
    out = out.slice(0, a.start) + editLine(value, edit) + out.slice(a.end)
  }
  if (edit.op === 'remove' || present) return out
  const target = shellAssignments(out, 'GRUB_CMDLINE_LINUX').at(-1)
  if (!target) {
    const line = `GRUB_CMDLINE_LINUX="${paramText(edit)}"\n`
    return out === '' || out.endsWith('\n') ? out + line : `${out}\n${line}`
  }
  const value = out.slice(target.start, target.end)
  const edited = editLine(value, edit)
  // An unquoted value gains a blank: quote it so the shell keeps one word.
  const wrapped = target.quote === '' && /\s/.test(edited) ? `"${edited}"` : edited
  return out.slice(0, target.start) + wrapped + out.slice(target.end)
}

// ---- BLS entries (Boot Loader Specification type 1) and /etc/kernel/cmdline ----

/**
 * Applies an edit to a BLS entry's `options` lines: replaced where the key is, otherwise appended
 * to the last `options` line (an entry without one gets `options PARAM`).
 */
export function editBlsEntry(text: string, edit: ParamEdit): string {
  const lines = [...text.matchAll(OPTIONS_RE)]
  const present = lines.some((m) => valuesOf(m[2], edit.key).length > 0)
  let out = text
  for (const m of lines.reverse()) {
    const start = m.index! + m[1].length
    const value = m[2]
    const isLast = m === lines[0]
    if (valuesOf(value, edit.key).length === 0 && !(isLast && !present && edit.op === 'set')) continue
    out = out.slice(0, start) + editLine(value, edit) + out.slice(start + value.length)
  }
  if (lines.length === 0 && edit.op === 'set')
    out = `${out}${out === '' || out.endsWith('\n') ? '' : '\n'}options ${paramText(edit)}\n`
  return out
}

/** /etc/kernel/cmdline: one command line; a trailing newline and other blanks are kept. */
export function editKernelCmdlineFile(text: string, edit: ParamEdit): string {
  return editLine(text, edit)
}
