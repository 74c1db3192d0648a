// Spawns kvmctl commands from src through execa, for exit-code and --json tests.
import {execa} from 'execa'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
export const PROJECT = join(HERE, '../..')

export async function kvmctl(args: string[], opts: {env?: Record<string, string>; asUser?: number} = {}) {
  const node = [process.execPath, '--import', 'tsx', join(HERE, 'run-command.ts'), ...args]
  const [file, ...rest] = opts.asUser === undefined ? node : ['setpriv', `--reuid=${opts.asUser}`, `--regid=${opts.asUser}`, '--clear-groups', ...node]
  const r = await execa(file, rest, {reject: false, cwd: PROJECT, env: {NO_COLOR: '1', ...(opts.asUser === undefined ? {} : {HOME: '/nonexistent'}), ...opts.env}})
  return {exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr)}
}
