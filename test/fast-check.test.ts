// The fast `kvmctl check` path (src/fast-check.ts) must be invisible: same output and exit code as
// the oclif command for every plain invocation, and a hand-off to oclif for anything else.
import {expect} from 'chai'
import {mkdtemp, readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import Check from '../src/commands/check.js'
import {CHECK_FLAGS, parseCheckArgv} from '../src/fast-check.js'
import {fixture, runCli, type CliRun} from './support/cli.js'

const OCLIF = {KVMCTL_NO_FAST_PATH: '1'}

/**
 * Output with the run's clock taken out (nfd "# written", prometheus and junit timestamps). The NFD
 * expiry becomes its distance from the file's own "# written" time, so two runs compare equal
 * whichever second each ran in, and a wrong --expires-in still shows.
 */
function timeless(run: CliRun): CliRun {
  const strip = (s: string) => {
    const written = /^# written (\S+)$/m.exec(s)?.[1]
    return s
      .replace(/^# \+expiry-time=(\S+)$/gm, (_, at: string) => `# +expiry-time=written+${(Date.parse(at) - Date.parse(written ?? 'none')) / 1000}s`)
      .replace(/^# written .*$/gm, '# written T')
      .replace(/^(kvmctl_check_last_run_timestamp_seconds) .*$/gm, '$1 T')
      .replace(/timestamp="[^"]*"/g, 'timestamp="T"')
  }
  return {exitCode: run.exitCode, stdout: strip(run.stdout), stderr: strip(run.stderr)}
}

describe('kvmctl check fast path', () => {
  it('knows exactly the flags of the Check command (names, short chars, which take a value)', () => {
    const commandFlags = {...Check.flags, json: {type: 'boolean', char: undefined}} as Record<string, {type: string; char?: string}>
    expect(Object.keys(CHECK_FLAGS).sort()).to.deep.equal(Object.keys(commandFlags).sort())
    for (const [name, flag] of Object.entries(commandFlags)) {
      expect(CHECK_FLAGS[name as keyof typeof CHECK_FLAGS], name).to.deep.equal({...(flag.char ? {char: flag.char} : {}), value: flag.type === 'option'})
    }
  })

  it('parses plain invocations', () => {
    expect(parseCheckArgv(['--json', '-q', '--root=/r', '-f', 'nfd', '--output', 'out', '--expires-in', '2h'], {})).to.deep.equal({
      root: '/r',
      quiet: true,
      json: true,
      format: 'nfd',
      output: 'out',
      'expires-in': '2h',
    })
    expect(parseCheckArgv([], {KVMCTL_ROOT: '/captured'})).to.include({root: '/captured', json: false, quiet: false})
    expect(parseCheckArgv(['--root', '/flag'], {KVMCTL_ROOT: '/env'})?.root).to.equal('/flag')
  })

  for (const argv of [
    ['--help'],
    ['-h'],
    ['--verbose'],
    ['extra'],
    ['--json', '--json'],
    ['--json=true'],
    ['--format', 'yaml'],
    ['--root'],
    ['--root', '--json'],
    ['--root='],
    ['-qj'],
    ['--', '--json'],
  ]) {
    it(`hands ${JSON.stringify(argv)} to oclif`, () => {
      expect(parseCheckArgv(argv, {})).to.equal(undefined)
    })
  }

  it('hands an empty KVMCTL_ROOT to oclif', () => {
    expect(parseCheckArgv([], {KVMCTL_ROOT: ''})).to.equal(undefined)
  })

  const cases: string[][] = [
    ['check'],
    ['check', '--json'],
    ['check', '-q'],
    ['check', '--format', 'prometheus'],
    ['check', '--format', 'junit'],
    ['check', '-f', 'nfd', '--expires-in', '2h'],
    ['check', '--root', fixture('intel-vtx-disabled')],
    ['check', '--root', fixture('container-no-kvm'), '--json'],
    ['check', '--root', fixture('arm64'), '--format', 'nfd'],
    ['check', '--root', '/nonexistent'],
    ['check', '--root', '/nonexistent', '--json'],
    ['check', '--json', '--format', 'junit'],
    ['check', '--format', 'text', '--expires-in', '2h'],
    ['check', '--format', 'nfd', '--expires-in', 'soon'],
    ['check', '--output', '/nonexistent/kvmctl.prom', '--format', 'prometheus'],
    ['check', '--format', 'yaml'],
    ['check', '--bogus'],
  ]
  for (const args of cases) {
    it(`kvmctl ${args.join(' ').replaceAll(fixture(''), 'fixtures/')}: same output and exit code as oclif`, async () => {
      const [fast, full] = await Promise.all([runCli(args), runCli(args, {env: OCLIF})])
      expect(timeless(fast)).to.deep.equal(timeless(full))
    })
  }

  it('writes --output atomically with the same content as oclif', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kvmctl-fast-'))
    const args = (file: string) => ['check', '--root', fixture('amd-svm'), '--format', 'prometheus', '--output', join(dir, file)]
    const [fast, full] = await Promise.all([runCli(args('fast.prom')), runCli(args('full.prom'), {env: OCLIF})])
    expect([fast.exitCode, fast.stdout, fast.stderr]).to.deep.equal([full.exitCode, full.stdout, full.stderr])
    const [a, b] = await Promise.all([readFile(join(dir, 'fast.prom'), 'utf8'), readFile(join(dir, 'full.prom'), 'utf8')])
    expect(timeless({exitCode: 0, stdout: a, stderr: ''})).to.deep.equal(timeless({exitCode: 0, stdout: b, stderr: ''}))
  })

  it('leaves help to oclif', async () => {
    const run = await runCli(['check', '--help'])
    expect(run.exitCode).to.equal(0)
    expect(run.stdout).to.contain('USAGE').and.to.contain('kvmctl check --format nfd')
  })
})
