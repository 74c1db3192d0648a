// Shared command behaviour: the exit-code policy (0 ok, 1 a check/stage failed, 2 usage error)
// and one-line errors instead of stack traces.
import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'

import {expectedFailure, writeFailure} from './errors.js'
import {useColor} from './style.js'

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** Set by run() when a check or stage failed; applied after the output is written. */
  protected failed = false

  /** Colourised JSON only on a colour terminal; piped JSON is printed as is (and faster). */
  protected override logJson(json: unknown): void {
    if (useColor()) super.logJson(json)
    else process.stdout.write(JSON.stringify(json, null, 2) + '\n')
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    const failure = expectedFailure(err)
    if (failure) return this.exitWith(failure.message, failure.exitCode)
    // oclif's own parse errors (unknown flag, bad option) are usage errors: exit 2, one line.
    if (err instanceof Errors.CLIError && (err.oclif?.exit === 2 || /flag|argument/i.test(err.constructor.name))) {
      return this.exitWith(err.message.split('\n')[0], 2)
    }
    return super.catch(err)
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    const result = await super.finally(err)
    if (!err && this.failed) process.exitCode = 1
    return result
  }

  private exitWith(message: string, code: number): never {
    writeFailure({message, exitCode: code}, this.jsonEnabled())
    return this.exit(code)
  }
}
