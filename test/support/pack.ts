// `npm pack` of this checkout, made once per test run and shared by the tests that install it
// (packaging, the Ansible install playbook). Removed when the test process exits.
import {execa} from 'execa'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

let packed: Promise<string> | undefined
let dir: string | undefined

/** A temp folder removed at exit, for installs from the tarball. */
export function scratchDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  process.once('exit', () => rmSync(d, {recursive: true, force: true}))
  return d
}

/** Path of kvmctl-X.Y.Z.tgz; `npm pack` runs the prepare script, so dist/ is built fresh. */
export function packedTarball(): Promise<string> {
  packed ??= (async () => {
    dir = scratchDir('kvmctl-pack-')
    await execa('npm', ['pack', '--pack-destination', dir], {env: {npm_config_loglevel: 'error'}})
    const tgz = readdirSync(dir).find((f) => /^kvmctl-.*\.tgz$/.test(f))
    if (!tgz) throw new Error(`npm pack left no kvmctl-*.tgz in ${dir}`)
    return join(dir, tgz)
  })()
  return packed
}
