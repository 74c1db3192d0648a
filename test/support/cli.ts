// The one way tests run kvmctl as a separate process, without a TTY: the built CLI as installed
// (node bin/run.js over dist/; `npm test` builds first) or, with fromSrc, one command class straight
// from src through tsx. Output is kept as printed (final newline included); colour is off unless a
// test's env turns it on.
import {execa} from 'execa'
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export const fixture = (name: string) => join(repo, 'fixtures', name)

export interface CliOptions {
  /** Merged over the inherited environment; an undefined value removes the variable. */
  env?: Record<string, string | undefined>
  /** Run as this uid/gid with no supplementary groups (setpriv), HOME unset to a missing dir. */
  asUser?: number
  /** Run the command class from src (test/support/run-command.ts) instead of bin/run.js. */
  fromSrc?: boolean
}

export interface CliRun {
  exitCode: number
  stdout: string
  stderr: string
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const entry = options.fromSrc
    ? ['--import', 'tsx', join(repo, 'test', 'support', 'run-command.ts')]
    : [join(repo, 'bin', 'run.js')]
  if (!options.fromSrc && !existsSync(join(repo, 'dist', 'cli.js')))
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)')
  const node = [process.execPath, ...entry, ...args]
  const asUser =
    options.asUser === undefined
      ? []
      : ['setpriv', `--reuid=${options.asUser}`, `--regid=${options.asUser}`, '--clear-groups']
  const [file, ...rest] = [...asUser, ...node]
  const env = {
    KVMCTL_ROOT: undefined,
    FORCE_COLOR: undefined,
    NO_COLOR: '1',
    ...(asUser.length > 0 ? {HOME: '/nonexistent'} : {}),
    ...options.env,
  }
  const result = await execa(file, rest, {cwd: repo, reject: false, stripFinalNewline: false, env})
  return {exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr)}
}

/** Whether the built CLI has this command (its oclif manifest lists it), so tests of commands that
 * land in other branches start running once they exist. */
export function cliHasCommand(id: string): boolean {
  const manifest = JSON.parse(readFileSync(join(repo, 'oclif.manifest.json'), 'utf8')) as {
    commands: Record<string, unknown>
  }
  return id in manifest.commands
}
