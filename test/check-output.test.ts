// The report flags through the real CLI: `kvmctl check|selftest --format ... --output FILE`.
import {expect} from 'chai'
import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli as run} from './support/cli.js'
import {runTool} from './support/tools.js'
import {tempDir} from './support/temp.js'

describe('check and selftest --format / --output', () => {
  let dir: string
  before(async () => {
    dir = await tempDir('kvmctl-out-')
  })
  after(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('writes an NFD feature file with an expiry, and nothing else, into the folder', async () => {
    const file = join(dir, 'kvmctl')
    const result = await run(['check', '--format', 'nfd', '--expires-in', '2h', '--output', file])
    expect(result.stdout).to.equal('')
    expect([0, 1]).to.include(result.exitCode)
    const text = await readFile(file, 'utf8')
    expect(text).to.match(/^# \+expiry-time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m)
    expect(text).to.match(/^kvmctl\.io\/kvm-usable=(true|false)$/m)
    expect(await readdir(dir)).to.deep.equal(['kvmctl'])
  })

  it('prints Prometheus text on stdout with --format prometheus', async () => {
    const result = await run(['check', '--format', 'prometheus'])
    expect(result.stdout).to.match(/^# HELP kvmctl_kvm_usable /)
    expect(result.stdout).to.match(/^kvmctl_kvm_usable [01]$/m)
  })

  it('gives promtool-clean metrics and xmllint-clean JUnit from the real check', async () => {
    const prom = await run(['check', '--format', 'prometheus'])
    expect((await runTool('promtool', 'prometheus', ['check', 'metrics'], prom.stdout)).exitCode).to.equal(0)
    const junit = await run(['check', '--format', 'junit'])
    expect((await runTool('xmllint', 'libxml2-utils', ['--noout', '-'], junit.stdout)).exitCode).to.equal(0)
  })

  it('gives promtool-clean metrics and xmllint-clean JUnit from the real selftest, with no live lines', async function () {
    if (!existsSync('/dev/kvm')) this.skip() // no KVM device here: the probe cannot run
    const prom = await run(['selftest', '--format', 'prometheus'])
    expect(prom.exitCode, prom.stderr).to.equal(0)
    expect(prom.stdout).to.match(/^# HELP kvmctl_selftest_ok /)
    expect(prom.stdout).to.match(/^kvmctl_selftest_stage_duration_seconds\{id="[a-h]"\} /m)
    expect(prom.stdout).to.match(/^kvmctl_selftest_pio_exit_seconds \d/m)
    expect((await runTool('promtool', 'prometheus', ['check', 'metrics'], prom.stdout)).exitCode).to.equal(0)
    const junit = await run(['selftest', '--format', 'junit'])
    expect(junit.stdout).to.match(/^<\?xml /)
    expect(junit.stdout.match(/<testcase /g)).to.have.length(8)
    expect((await runTool('xmllint', 'libxml2-utils', ['--noout', '-'], junit.stdout)).exitCode).to.equal(0)
  })

  it('writes the selftest to --output only: the text report without colour, JUnit as a file', async function () {
    if (!existsSync('/dev/kvm')) this.skip() // no KVM device here: the probe cannot run
    const out = await mkdtemp(join(dir, 'selftest-'))
    const text = join(out, 'selftest.txt')
    const result = await run(['selftest', '--vcpus', '1', '--output', text], {env: {FORCE_COLOR: '1'}})
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stdout).to.equal('')
    const written = await readFile(text, 'utf8')
    expect(written).to.match(/^kvmctl selftest — probe guest on \/dev\/kvm, 1 vCPU, /)
    expect(written).to.match(/^PASS {2}a {2}mode ladder/m)
    expect(written).to.match(/^result all \d stages passed/m)
    expect(written).not.to.contain('\u001b')
    const xml = join(out, 'selftest.xml')
    const junit = await run(['selftest', '--vcpus', '1', '--format', 'junit', '--output', xml])
    expect(junit.stdout).to.equal('')
    expect(await readFile(xml, 'utf8')).to.contain('<testsuite name="kvmctl selftest" tests="8" failures="0"')
  })

  it('offers selftest no nfd format and no --expires-in (exit 2, before any guest runs)', async () => {
    const nfd = await run(['selftest', '--format', 'nfd'])
    expect(nfd.exitCode).to.equal(2)
    expect(nfd.stderr).to.contain('--format=nfd to be one of: text, json, junit, prometheus')
    const ttl = await run(['selftest', '--expires-in', '2h'])
    expect(ttl.exitCode).to.equal(2)
    const both = await run(['selftest', '--json', '--format', 'junit'])
    expect(both.exitCode).to.equal(2)
    expect(JSON.parse(both.stdout).error.message).to.contain('--json and --format junit')
  })

  it('exits 2 with one line naming the folder when --output points into a missing folder', async () => {
    const result = await run(['check', '--format', 'junit', '--output', join(dir, 'missing', 'x.xml')])
    expect(result.exitCode).to.equal(2)
    expect(result.stderr.trim().split('\n')).to.have.length(1)
    expect(result.stderr).to.contain(`folder ${join(dir, 'missing')} does not exist`)
  })

  it('exits 2 on --expires-in without --format nfd, and on --json with another --format', async () => {
    const ttl = await run(['check', '--format', 'junit', '--expires-in', '2h'])
    expect(ttl.exitCode).to.equal(2)
    expect(ttl.stderr).to.contain('--expires-in applies to --format nfd only')
    const both = await run(['check', '--json', '--format', 'nfd'])
    expect(both.exitCode).to.equal(2)
    expect(JSON.parse(both.stdout).error.message).to.contain('--json and --format nfd')
  })

  it('exits 2 on a bad --expires-in value, naming it', async () => {
    const result = await run(['check', '--format', 'nfd', '--expires-in', '2 weeks'])
    expect(result.exitCode).to.equal(2)
    expect(result.stderr).to.contain('--expires-in "2 weeks" is not a duration')
  })
})
