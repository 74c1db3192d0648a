// Shared command behaviour: the exit-code policy (0 ok, 1 a check/stage failed, 2 usage error),
// one-line errors instead of stack traces, and the run of a command's body (src/report/bodies)
// after the same input rules the fast entry applies (src/lib/flag-table.ts).
import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'

import {type CommandBody, writeJson} from './command-body.js'
import {expectedFailure, type Failure, unexpectedFailure, writeFailure} from './errors.js'
import {checkGivenValues, type CommandTable, flagTableOf, missingArgMessage, missingFlagMessage} from './flag-table.js'
import {useColor} from './color.js'

const DEFAULT_PARSE = new Set([String(Flags.string().parse), String(Flags.boolean().parse)])

/** Whether a flag parses its input with oclif's own identity parser (the fast entry can then parse it). */
export function isDefaultParse(flag: {parse?: unknown}): boolean {
  return DEFAULT_PARSE.has(String(flag.parse))
}

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** Set by run() when a check or stage failed; applied after the output is written. */
  protected failed = false

  /** Parses argv for the command class, checks it as the fast entry does, and runs the body. */
  protected async runBody<F, R>(body: CommandBody<F, R>): Promise<R> {
    const {flags, args, raw} = await this.parse()
    const given = Object.fromEntries(
      raw.flatMap((t) =>
        t.type === 'flag' && this.table().flags[t.flag]?.type === 'option' ? [[t.flag, t.input]] : [],
      ),
    )
    checkGivenValues(this.table(), given, process.env)
    const io = {
      json: this.jsonEnabled(),
      bin: this.config.bin,
      version: this.config.version,
      log: (text: string) => this.log(text),
    }
    const {result, failed} = await body(
      {flags: {...flags, json: io.json} as F, args: args as Record<string, string | undefined>},
      io,
    )
    this.failed = failed
    return result
  }

  /** Colourised JSON only on a colour terminal; piped JSON is printed as is (and faster). */
  protected override logJson(json: unknown): void {
    if (useColor()) super.logJson(json)
    else writeJson(json)
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    const failure = expectedFailure(err)
    if (failure) return this.exitWith(failure)
    // oclif's own parse errors (unknown flag, bad option, missing value) are usage errors: exit 2,
    // one line; a missing flag or argument names itself and an example instead of oclif's list.
    if (err instanceof Errors.CLIError && (err.oclif?.exit === 2 || /flag|argument|arg/i.test(err.constructor.name))) {
      // eslint-disable-next-line no-control-regex
      const text = err.message.replace(/\u001b\[[0-9;]*m/g, '')
      const flag = /Missing required flag (\S+)/.exec(text)?.[1]
      if (flag) return this.exitWith({message: missingFlagMessage(this.table(), flag), exitCode: 2})
      const arg = this.table().args.find(
        (a) => a.required && new RegExp(`^Missing \\d+ required args?:\\n\\s*${a.name}\\b`, 'm').test(text),
      )
      if (arg) return this.exitWith({message: missingArgMessage(this.table(), arg.name), exitCode: 2})
      return this.exitWith({message: text.split('\n')[0], exitCode: 2})
    }
    // oclif's own control flow (this.exit) keeps its meaning; anything else is a bug, said in one line.
    const bug = err.oclif?.exit === undefined ? unexpectedFailure(err) : undefined
    if (bug) return this.exitWith(bug)
    return super.catch(err)
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    const result = await super.finally(err)
    if (!err && this.failed) process.exitCode = 1
    return result
  }

  private table(): CommandTable {
    return flagTableOf(
      this.id ?? '',
      this.ctor as unknown as Parameters<typeof flagTableOf>[1],
      this.config.bin,
      isDefaultParse,
    )
  }

  private exitWith(failure: Failure): never {
    writeFailure(failure, this.jsonEnabled())
    return this.exit(failure.exitCode)
  }
}
