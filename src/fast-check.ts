// `kvmctl check` without oclif. The main job runs on every host of a fleet, often from a timer or
// an Ansible loop, and oclif's start-up (loading it and its config, about 55 ms here) costs more
// than all the checks. A plain invocation takes this path; anything it does not fully understand
// (help, an unknown, repeated or malformed flag, a bad --format) returns false, and bin/run.js
// hands the argv to the full CLI, so help and usage errors stay oclif's.
// test/fast-check.test.ts keeps the flag table in step with the Check command and compares the
// two paths' output.
import {checkAndReport, type CheckFlagValues} from './report/check-command.js'
import {expectedFailure, writeFailure} from './lib/errors.js'
import {useColor} from './lib/style.js'
import {REPORT_FORMATS} from './report/format.js'

type FlagName = 'root' | 'quiet' | 'json' | 'format' | 'output' | 'expires-in' | 'passthrough'

/** The Check command's flags: long name, short char, whether it takes a value. */
export const CHECK_FLAGS: Record<FlagName, {char?: string; value: boolean}> = {
  root: {value: true},
  quiet: {char: 'q', value: false},
  json: {value: false},
  format: {char: 'f', value: true},
  output: {char: 'o', value: true},
  'expires-in': {value: true},
  passthrough: {value: true},
}

/** The flag values of a plain `check` argv, or undefined when the full CLI should handle it. */
export function parseCheckArgv(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CheckFlagValues | undefined {
  const seen = new Map<FlagName, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const match = /^(?:--([a-z][a-z-]*)(?:=(.*))?|-([a-z]))$/s.exec(argv[i])
    if (!match) return undefined
    const [, long, inline, short] = match
    const name = (long ?? Object.keys(CHECK_FLAGS).find((n) => CHECK_FLAGS[n as FlagName].char === short)) as FlagName | undefined
    if (!name || !Object.hasOwn(CHECK_FLAGS, name) || seen.has(name)) return undefined
    if (!CHECK_FLAGS[name].value) {
      if (inline !== undefined) return undefined
      seen.set(name, true)
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined || value === '' || value.startsWith('-')) return undefined
    seen.set(name, value)
  }
  const format = seen.get('format') as string | undefined
  if (format !== undefined && !(REPORT_FORMATS as readonly string[]).includes(format)) return undefined
  const envRoot = env.KVMCTL_ROOT
  if (envRoot === '') return undefined
  return {
    root: (seen.get('root') as string | undefined) ?? envRoot,
    quiet: seen.has('quiet'),
    json: seen.has('json'),
    format,
    output: seen.get('output') as string | undefined,
    'expires-in': seen.get('expires-in') as string | undefined,
    ...(seen.has('passthrough') ? {passthrough: seen.get('passthrough') as string} : {}),
  }
}

/** Runs `kvmctl check ARGV` and returns true, or returns false (nothing done) to defer to oclif. */
export async function runCheckFast(argv: readonly string[]): Promise<boolean> {
  const flags = parseCheckArgv(argv)
  // oclif colours JSON on a terminal; a person at a terminal does not need the fast path.
  if (!flags || (flags.json && useColor())) return false
  try {
    const report = await checkAndReport(flags, (text) => process.stdout.write(text + '\n'))
    if (flags.json && !flags.output) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
    process.exitCode = report.counts.fail > 0 ? 1 : 0
  } catch (error) {
    const failure = expectedFailure(error)
    if (!failure) throw error
    writeFailure(failure, Boolean(flags.json))
    process.exitCode = failure.exitCode
  }
  return true
}
