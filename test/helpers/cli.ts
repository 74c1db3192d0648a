// Runs the built CLI as users do (node bin/run.js), without a TTY. `npm test` builds first (pretest).
import {execa} from 'execa'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export async function kvmctl(args: string[], env: Record<string, string | undefined> = {}) {
  if (!existsSync(join(repo, 'dist', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)')
  const result = await execa('node', [join(repo, 'bin', 'run.js'), ...args], {
    cwd: repo,
    reject: false,
    env: {KVMCTL_ROOT: undefined, NO_COLOR: undefined, FORCE_COLOR: undefined, ...env},
  })
  return {code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr)}
}

export const fixture = (name: string) => join(repo, 'fixtures', name)
