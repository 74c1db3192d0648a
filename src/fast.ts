// The fast entry: a plain invocation of any command runs here without oclif. Fleets run kvmctl from
// timers, Ansible loops and node_exporter jobs, and loading oclif and its config (about 55 ms here)
// costs more than the work. The argv is parsed with the command's flag table, which the build
// makes from the command classes themselves (dist/flag-table.json, src/lib/flag-table.ts), then
// checked by the same rules and run by the same body as the oclif command. Anything the table does
// not plainly cover (help, an unknown, repeated or malformed flag, a missing value, a value oclif
// would reject) returns false, and bin/run.js hands the argv to oclif, so help and oclif's usage
// errors stay oclif's. test/fast.test.ts proves both entries print the same bytes and exit codes.
import {readFileSync} from 'node:fs'

import type {CommandBody} from './lib/command-body.js'
import {stdoutLog, writeJson} from './lib/command-body.js'
import {expectedFailure, unexpectedFailure, writeFailure} from './lib/errors.js'
import {checkGivenValues, type FlagTables, parseArgv} from './lib/flag-table.js'
import {useColor} from './lib/color.js'

/** Each command's body, loaded only when that command runs. */
const BODIES: Record<string, () => Promise<CommandBody<never>>> = {
  capture: async () => (await import('./report/bodies/capture.js')).captureBody as CommandBody<never>,
  check: async () => (await import('./report/bodies/check.js')).checkBody as CommandBody<never>,
  selftest: async () => (await import('./report/bodies/selftest.js')).selftestBody as CommandBody<never>,
  'tune:access': async () => (await import('./report/bodies/tune-setting.js')).tuneAccessBody as CommandBody<never>,
  'tune:hugepages': async () =>
    (await import('./report/bodies/tune-hugepages.js')).tuneHugepagesBody as CommandBody<never>,
  'tune:iommu': async () => (await import('./report/bodies/tune-setting.js')).tuneIommuBody as CommandBody<never>,
  'tune:ksm': async () => (await import('./report/bodies/tune-setting.js')).tuneKsmBody as CommandBody<never>,
  'tune:nested': async () => (await import('./report/bodies/tune-nested.js')).tuneNestedBody as CommandBody<never>,
  'tune:thp': async () => (await import('./report/bodies/tune-setting.js')).tuneThpBody as CommandBody<never>,
  'tune:undo': async () => (await import('./report/bodies/tune-undo.js')).tuneUndoBody as CommandBody<never>,
}

export const FAST_COMMANDS = Object.keys(BODIES)

/** The tables the build wrote next to this file, or undefined (then oclif runs everything). */
export function loadFlagTables(file = new URL('flag-table.json', import.meta.url)): FlagTables | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as FlagTables
  } catch {
    return undefined
  }
}

/** The command id and its own argv: `check ...`, `tune hugepages ...` or `tune:hugepages ...`. */
export function commandOf(
  tables: FlagTables,
  argv: readonly string[],
): {id: string; rest: readonly string[]} | undefined {
  if (argv.length > 0 && Object.hasOwn(tables.commands, argv[0])) return {id: argv[0], rest: argv.slice(1)}
  if (argv.length > 1 && Object.hasOwn(tables.commands, `${argv[0]}:${argv[1]}`))
    return {id: `${argv[0]}:${argv[1]}`, rest: argv.slice(2)}
  return undefined
}

/** Runs `kvmctl ARGV` and returns true, or returns false (nothing done) to defer to oclif. */
export async function runFast(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const tables = loadFlagTables()
  const command = tables && commandOf(tables, argv)
  if (!tables || !command || !Object.hasOwn(BODIES, command.id)) return false
  // oclif's own switches: KVMCTL_CONTENT_TYPE=json turns --json on; colour JSON on a terminal.
  if (env.KVMCTL_CONTENT_TYPE !== undefined) return false
  const table = tables.commands[command.id]
  const input = parseArgv(table, command.rest, env)
  if (!input) return false
  const json = input.flags.json === true
  if (json && useColor()) return false
  try {
    checkGivenValues(table, input.given, env)
    const body = await BODIES[command.id]()
    const io = {json, bin: tables.bin, version: tables.version, log: stdoutLog(json)}
    const {result, failed} = await body({flags: input.flags as never, args: input.args}, io)
    if (json && result) writeJson(result)
    process.exitCode = failed ? 1 : 0
  } catch (error) {
    const failure = expectedFailure(error) ?? unexpectedFailure(error)
    if (!failure) throw error
    writeFailure(failure, json)
    process.exitCode = failure.exitCode
  }
  return true
}
