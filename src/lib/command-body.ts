// What a command does once its input is parsed, as a plain function both entries call: the oclif
// command class (src/commands, through BaseCommand.runBody) and the fast entry (src/fast.ts).
// Keeping the body out of the class is what lets the fast entry run it without loading oclif.
import {format} from 'node:util'

import {writeOut} from './output.js'

export interface CommandIO {
  /** --json was given: the caller prints `result` as JSON, and log() prints nothing. */
  json: boolean
  /** The binary's name (`kvmctl`) and the package version, as oclif's config has them. */
  bin: string
  version: string
  /** A line to stdout, as oclif's Command.log writes it. */
  log(text: string): void
}

export interface CommandInput<F> {
  flags: F
  args: Record<string, string | undefined>
}

export interface CommandOutcome<R = unknown> {
  /** Printed as JSON with --json. */
  result: R
  /** A check or stage failed: exit 1 after the output. */
  failed: boolean
}

export type CommandBody<F = never, R = unknown> = (input: CommandInput<F>, io: CommandIO) => Promise<CommandOutcome<R>>

/** stdout lines exactly as oclif's Command.log prints them; nothing with --json. */
export function stdoutLog(json: boolean): (text: string) => void {
  return (text) => {
    if (!json) writeOut(format(text) + '\n')
  }
}

/** A command result as --json prints it when stdout takes no colour (BaseCommand.logJson). */
export function writeJson(result: unknown): void {
  writeOut(JSON.stringify(result, null, 2) + '\n')
}
