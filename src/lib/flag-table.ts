// One flag table per command, made from the command class's own static flags, args and examples
// (flagTableOf), used three ways: the build writes every command's table into dist/flag-table.json
// for the fast entry (src/fast.ts), which parses plain argv with it (parseArgv) without loading
// oclif; and both entries check the parsed input with the same rules (checkGivenValues) and word
// oclif's parse errors the same way (missingFlagMessage, missingArgMessage).
// No oclif here: this module takes the flag objects structurally.
import {UsageError} from './errors.js'

export interface FlagSpec {
  type: 'boolean' | 'option'
  char?: string
  /** option flags: the only values oclif accepts. */
  options?: string[]
  default?: string | boolean
  env?: string
  required?: boolean
  /** boolean flags: --no-NAME sets false. */
  allowNo?: boolean
  /** option flags given more than once (`--node 0 --node 1`), one value each time. */
  multiple?: boolean
}

export interface CommandTable {
  id: string
  flags: Record<string, FlagSpec>
  /** Positional args in order. */
  args: Array<{name: string; required: boolean}>
  /** Examples with the binary's name in place of oclif's template. */
  examples: string[]
  /** Whether every flag is one parseArgv understands; a command with another kind goes to oclif. */
  fast: boolean
}

export interface FlagTables {
  bin: string
  version: string
  commands: Record<string, CommandTable>
}

/** The structural shape of an oclif flag, as much of it as the table needs. */
interface FlagLike {
  type: string
  char?: string
  options?: readonly string[]
  default?: unknown
  env?: string
  required?: boolean
  allowNo?: boolean
  multiple?: boolean
  multipleNonGreedy?: boolean
  parse?: unknown
  [key: string]: unknown
}

interface CommandLike {
  flags?: Record<string, FlagLike>
  args?: Record<string, {required?: boolean; [key: string]: unknown}>
  examples?: ReadonlyArray<string | {command: string}>
  enableJsonFlag?: boolean
  strict?: boolean
}

// Flag properties parseArgv reproduces; any other (aliases, dependsOn, exclusive, a greedy
// multiple, allowStdin, deprecated, ...) is oclif's to handle, so the command is left to oclif.
// A multiple option is plain only when non-greedy: one value per `--flag VALUE`, as oclif then reads it.
const PLAIN_KEYS = new Set([
  'type',
  'name',
  'char',
  'description',
  'summary',
  'helpValue',
  'helpGroup',
  'hidden',
  'options',
  'default',
  'env',
  'required',
  'allowNo',
  'parse',
  'input',
  'multiple',
  'multipleNonGreedy',
])

/**
 * The table of one command class. isDefaultParse tells oclif's own identity parser (a custom
 * parse function changes values in ways the fast path cannot reproduce).
 */
export function flagTableOf(
  id: string,
  command: CommandLike,
  bin: string,
  isDefaultParse: (flag: FlagLike) => boolean,
): CommandTable {
  const flags: Record<string, FlagSpec> = {}
  let fast = command.strict !== false
  const all = {...command.flags, ...(command.enableJsonFlag ? {json: {type: 'boolean'} as FlagLike} : {})}
  for (const [name, flag] of Object.entries(all)) {
    const plain =
      Object.keys(flag).every((k) => PLAIN_KEYS.has(k)) &&
      (!flag.multiple ||
        (flag.multipleNonGreedy === true && flag.type === 'option' && flag.default === undefined && !flag.env)) &&
      typeof flag.default !== 'function' &&
      (flag.parse === undefined || isDefaultParse(flag))
    if (!plain) fast = false
    const spec: FlagSpec = {type: flag.type === 'boolean' ? 'boolean' : 'option'}
    if (flag.char) spec.char = flag.char
    if (flag.options) spec.options = [...flag.options]
    if (typeof flag.default === 'string' || typeof flag.default === 'boolean') spec.default = flag.default
    if (flag.env) spec.env = flag.env
    if (flag.required) spec.required = true
    if (flag.allowNo) spec.allowNo = true
    if (flag.multiple) spec.multiple = true
    flags[name] = spec
  }
  const args = Object.entries(command.args ?? {}).map(([name, arg]) => ({name, required: Boolean(arg.required)}))
  const examples = (command.examples ?? []).map((e) =>
    (typeof e === 'string' ? e : e.command).replaceAll('<%= config.bin %>', bin),
  )
  return {id, flags, args, examples, fast}
}

export interface ParsedInput {
  flags: Record<string, string | boolean | string[]>
  args: Record<string, string>
  /** Option flags given on the command line, with the value given (for checkGivenValues). */
  given: Record<string, string>
}

/**
 * Parses a plain argv as oclif would, or returns undefined for anything that is not plainly
 * right (help, an unknown or repeated flag, a missing value or required flag, a value oclif would
 * reject, `--`, bundled short flags, extra args): oclif then handles it and words the error.
 * Values: the flag, else a non-empty env variable, else the default, as oclif resolves them.
 */
export function parseArgv(
  table: CommandTable,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ParsedInput | undefined {
  if (!table.fast) return undefined
  const flags: Record<string, string | boolean | string[]> = {}
  const given: Record<string, string> = {}
  const positional: string[] = []
  const byChar = new Map(Object.entries(table.flags).flatMap(([name, f]) => (f.char ? [[f.char, name] as const] : [])))
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (!token.startsWith('-') || token === '-') {
      positional.push(token)
      continue
    }
    const match = /^(?:--([a-z][a-z0-9-]*)(?:=(.*))?|-([a-zA-Z]))$/s.exec(token)
    if (!match) return undefined
    const [, long, inline, short] = match
    let name = long ?? byChar.get(short)
    let negated = false
    if (
      name !== undefined &&
      !Object.hasOwn(table.flags, name) &&
      name.startsWith('no-') &&
      table.flags[name.slice(3)]?.allowNo
    ) {
      name = name.slice(3)
      negated = true
    }
    if (name === undefined || !Object.hasOwn(table.flags, name)) return undefined
    const spec = table.flags[name]
    if (Object.hasOwn(flags, name) && !spec.multiple) return undefined
    if (spec.type === 'boolean') {
      if (inline !== undefined) return undefined
      flags[name] = !negated
      continue
    }
    if (negated) return undefined
    const value = inline ?? argv[++i]
    if (value === undefined || (inline === undefined && value.startsWith('-'))) return undefined
    if (spec.options && !spec.options.includes(value)) return undefined
    // Given more than once, the last value is the one checked, as for oclif's raw input.
    flags[name] = spec.multiple ? [...((flags[name] as string[] | undefined) ?? []), value] : value
    given[name] = value
  }
  if (positional.length > table.args.length) return undefined
  const args: Record<string, string> = {}
  for (const [i, arg] of table.args.entries()) {
    if (positional[i] !== undefined) args[arg.name] = positional[i]
    else if (arg.required) return undefined
  }
  for (const [name, spec] of Object.entries(table.flags)) {
    if (Object.hasOwn(flags, name)) continue
    const fromEnv = spec.env ? env[spec.env] : undefined
    if (fromEnv && spec.type === 'option') {
      if (spec.options && !spec.options.includes(fromEnv)) return undefined
      flags[name] = fromEnv
    } else if (fromEnv && spec.type === 'boolean') {
      return undefined // oclif's truthiness rules for boolean env flags: leave them to it
    } else if (spec.default !== undefined) {
      flags[name] = spec.default
    } else if (spec.required) {
      return undefined
    }
  }
  return {flags, args, given}
}

/**
 * The rules both entries apply to parsed input before a command runs: an option given an empty
 * value (`--root "$UNSET"`), or an env variable of a flag set but empty, is a usage error, never
 * silently "not given" (an empty --root would read and tune the live host).
 */
export function checkGivenValues(table: CommandTable, given: Record<string, string>, env: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(given)) {
    if (value.trim() === '') {
      throw new UsageError(
        `--${name} is empty (an unset shell variable?); give it a value, e.g. ${exampleFor(table, name)}`,
      )
    }
  }
  for (const [name, spec] of Object.entries(table.flags)) {
    if (spec.env && !Object.hasOwn(given, name) && env[spec.env] !== undefined && env[spec.env]!.trim() === '') {
      throw new UsageError(
        `${spec.env} is set but empty; unset it, or give it a value as --${name} would take, e.g. ${exampleFor(table, name)}`,
      )
    }
  }
}

/** One line naming a missing required flag, with an example that uses it. */
export function missingFlagMessage(table: CommandTable, name: string): string {
  return `missing required flag --${name}; e.g. ${exampleFor(table, name)}`
}

/** One line naming a missing required argument, with an example. */
export function missingArgMessage(table: CommandTable, name: string): string {
  const example = table.examples[0] ?? `${table.id.replaceAll(':', ' ')} ${name.toUpperCase()}`
  return `missing the ${name.toUpperCase()} argument; e.g. ${example}`
}

/** The command's first example that uses --name, or one made from its first example. */
export function exampleFor(table: CommandTable, name: string): string {
  const bin = table.examples[0]?.split(' ')[0] ?? 'kvmctl'
  const command = `${bin} ${table.id.replaceAll(':', ' ')}`
  const uses = new RegExp(`(^| )--${name}([ =]|$)`)
  const found = table.examples.find((e) => e.startsWith(`${command} `) && uses.test(e))
  if (found) return found
  // None uses it: the command's own first example (its required input filled in) plus the flag.
  const base = table.examples.find((e) => e === command || e.startsWith(`${command} `)) ?? command
  const value = table.flags[name]?.type === 'boolean' ? '' : ` ${name.toUpperCase()}`
  return `${base} --${name}${value}`
}
