// Errors that end a command with a clear one-line message.
// UsageError: a bad flag value or input (exit 2). StageFailure is not an error: commands return
// results and set exit 1 themselves when a check or stage failed.

import {writeOut} from './output.js'

/** Bad input: the message names the bad value and the fix. Exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2
}

/** An operation that could not be done (permission, a failed write): exit code 1. */
export class OperationError extends Error {
  readonly exitCode = 1
  /** How long the command's own work ran before it failed (selftest), in ns; --json reports it. */
  totalNs?: number
}

/** How a command that could not run ends: its one line, its exit code, and totalNs when known. */
export interface Failure {
  message: string
  exitCode: number
  totalNs?: number
}

/** An error kvmctl expects, as its one-line message and exit code; undefined for anything else (a bug). */
export function expectedFailure(error: unknown): Failure | undefined {
  if (error instanceof UsageError) return {message: error.message, exitCode: error.exitCode}
  if (error instanceof OperationError) {
    const {message, exitCode, totalNs} = error
    return {message, exitCode, ...(totalNs === undefined ? {} : {totalNs})}
  }
  return undefined
}

/**
 * Any other error is a bug in kvmctl: one line that says so (exit 1), with no JS error text or
 * stack, unless KVMCTL_DEBUG is set (then undefined: the caller rethrows and Node prints it all).
 */
export function unexpectedFailure(error: unknown): {message: string; exitCode: 1} | undefined {
  if (process.env.KVMCTL_DEBUG || error === undefined) return undefined
  return {
    message:
      'internal error, a bug in kvmctl: please report it with the command you ran; KVMCTL_DEBUG=1 shows the details',
    exitCode: 1,
  }
}

/** Writes a failure as every command does: an `{error}` object on stdout with --json, else one line on stderr. */
export function writeFailure(failure: Failure, json: boolean, write: typeof writeOut = writeOut): void {
  if (json) write(JSON.stringify({error: failure}, null, 2) + '\n', 1)
  else write(`kvmctl: ${failure.message}\n`, 2)
}

/** A value from the user, quoted for a one-line message: control characters escaped, long ones cut. */
export function shortValue(value: string, max = 40): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value)
}
