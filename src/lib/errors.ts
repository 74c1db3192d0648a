// Errors that end a command with a clear one-line message.
// UsageError: a bad flag value or input (exit 2). StageFailure is not an error: commands return
// results and set exit 1 themselves when a check or stage failed.

/** Bad input: the message names the bad value and the fix. Exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2
}

/** An operation that could not be done (permission, a failed write): exit code 1. */
export class OperationError extends Error {
  readonly exitCode = 1
}
