// Runs a program to its end and keeps what it printed. Plain node:child_process, not a package:
// the fast entry runs from a V8 code cache (bin/run.js), where a dynamic import() of an ESM-only
// package has no loader to go to, and a tool run needs nothing more than this.
import {spawn} from 'node:child_process'

export interface ProcessRun {
  /** The exit status; undefined when the program could not start or was killed by a signal. */
  exitCode: number | undefined
  stdout: string
  /** stdout and stderr interleaved as they arrived. */
  all: string
  /** Why it did not start or did not exit, when it did not (ENOENT, a signal). */
  failure?: string
}

/** Runs file with args; env is added to this process's environment. Never rejects. */
export function runProcess(
  file: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = []
    const all: Buffer[] = []
    let failure: string | undefined
    const child = spawn(file, args, {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout.on('data', (chunk: Buffer) => (stdout.push(chunk), all.push(chunk)))
    child.stderr.on('data', (chunk: Buffer) => all.push(chunk))
    // 'error' (it could not start) may come with or without a later 'close'; settle on the first.
    child.on('error', (error: NodeJS.ErrnoException) => {
      failure = `${[file, ...args].join(' ')}: ${error.code ?? error.message}`
      finish(undefined)
    })
    child.on('close', (code, signal) => {
      if (signal) failure = `${file} was killed by ${signal}`
      finish(code ?? undefined)
    })
    let settled = false
    function finish(exitCode: number | undefined) {
      if (settled) return
      settled = true
      const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8')
      resolve({exitCode, stdout: text(stdout), all: text(all), ...(failure ? {failure} : {})})
    }
  })
}
