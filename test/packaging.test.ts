// `npm pack`, then `npm install -g --prefix TMP ./kvmctl-*.tgz` on a clean prefix: the addon
// builds there from source and the installed kvmctl runs (check, and selftest once it exists).
import {Ajv2020} from 'ajv/dist/2020.js'
import {expect} from 'chai'
import {execa} from 'execa'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {packedTarball, scratchDir} from './support/pack.js'

describe('packaging', () => {
  let tarball: string
  let prefix: string
  const kvmctl = (args: string[]) => execa(join(prefix, 'bin', 'kvmctl'), args, {reject: false, env: {NO_COLOR: '1'}})
  const validator = (name: string) =>
    new Ajv2020({strict: true}).compile(JSON.parse(readFileSync(join('schemas', `${name}.schema.json`), 'utf8')))

  // npm pack builds the bundle and the install compiles the addon: minutes on a busy 2-core machine.
  before(async function () {
    this.timeout(600_000)
    tarball = await packedTarball()
    prefix = scratchDir('kvmctl-prefix-')
  })

  it('packs sources, the built JS, the manifest and schemas, but no binaries', async () => {
    const files = (await execa('tar', ['tzf', tarball])).stdout.split('\n').map((f) => f.replace(/^package\//, ''))
    expect(files).to.include.members([
      'binding.gyp',
      'native/addon.cc',
      'dist/cli.js',
      'oclif.manifest.json',
      'schemas/check.schema.json',
      'bin/run.js',
    ])
    expect(files.filter((f) => /^(build|node_modules|test|src)\//.test(f) || f.endsWith('.node'))).to.deep.equal([])
  })

  it('installs with npm install -g on a clean prefix, building the addon from source', async function () {
    this.timeout(600_000)
    const install = await execa(
      'npm',
      ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball],
      {
        reject: false,
        env: {npm_config_loglevel: 'error'},
      },
    )
    expect(install.exitCode, install.stderr).to.equal(0)
    const pkg = join(prefix, 'lib', 'node_modules', 'kvmctl')
    expect(existsSync(join(pkg, 'build', 'Release', 'kvmctl_native.node')), 'addon built in the install').to.equal(true)
    expect(existsSync(join(prefix, 'bin', 'kvmctl'))).to.equal(true)
  })

  it('runs kvmctl check from the install', async () => {
    const result = await kvmctl(['check', '--json'])
    expect([0, 1], result.stderr).to.include(result.exitCode)
    const report = JSON.parse(result.stdout)
    const validate = validator('check')
    expect(validate(report), JSON.stringify(validate.errors)).to.equal(true)
    const nfd = await kvmctl(['check', '--format', 'nfd'])
    expect(nfd.stdout).to.match(/^kvmctl\.io\/kvm-usable=(true|false)$/m)
  })

  it('runs kvmctl selftest from the install, when this build has it', async function () {
    const help = await kvmctl(['help'])
    expect(help.exitCode).to.equal(0)
    expect(help.stdout).to.match(/^ {2}check /m)
    if (!/^ {2}selftest /m.test(help.stdout)) this.skip()
    const result = await kvmctl(['selftest', '--json'])
    const report = JSON.parse(result.stdout)
    // Without a KVM device (this session's machine has no /dev/kvm) the installed selftest must
    // still answer as documented: the error shape, exit 1, one line that names /dev/kvm.
    if (!existsSync('/dev/kvm')) {
      const validate = validator('error')
      expect(validate(report), JSON.stringify(validate.errors)).to.equal(true)
      expect(report.error.exitCode).to.equal(1)
      expect(result.exitCode, result.stdout).to.equal(1)
      expect(report.error.message).to.match(/^\/dev\/kvm /)
      return
    }
    const validate = validator('selftest')
    expect(validate(report), JSON.stringify(validate.errors)).to.equal(true)
    expect(result.exitCode, result.stdout).to.equal(0)
    expect(report.ok).to.equal(true)
  })
})
