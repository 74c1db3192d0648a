// The fast entry (src/fast.ts) must be invisible: for every command, the same output bytes and exit
// code as the oclif command for every invocation, plain ones run without oclif and anything else
// handed to oclif. Its flag table is made from the command classes (src/lib/flag-table.ts), so the
// table here is checked against the classes, and the built dist/flag-table.json against both.
import {expect} from 'chai'
import {cp, readdir, readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {COMMANDS, flagTables} from '../src/cli.js'
import {commandOf, FAST_COMMANDS, loadFlagTables} from '../src/fast.js'
import {type CommandTable, parseArgv} from '../src/lib/flag-table.js'
import {fixture, repo, runCli, type CliRun} from './support/cli.js'
import {takeMachineLock} from './support/machine-lock.js'
import {tempDir} from './support/temp.js'

const OCLIF = {KVMCTL_NO_FAST_PATH: '1'}
const tables = flagTables('kvmctl', '0.1.0')

/**
 * Output with the run's clock taken out (nfd "# written", prometheus and junit timestamps, selftest's
 * times in ns). The NFD expiry becomes its distance from the file's own "# written" time, so two
 * runs compare equal whichever second each ran in, and a wrong --expires-in still shows.
 */
function timeless(run: CliRun): CliRun {
  const strip = (s: string) => {
    const written = /^# written (\S+)$/m.exec(s)?.[1]
    return (
      s
        .replace(
          /^# \+expiry-time=(\S+)$/gm,
          (_, at: string) => `# +expiry-time=written+${(Date.parse(at) - Date.parse(written ?? 'none')) / 1000}s`,
        )
        .replace(/^# written .*$/gm, '# written T')
        .replace(/^(kvmctl_(?:check|selftest)_last_run_timestamp_seconds) .*$/gm, '$1 T')
        .replace(/timestamp="[^"]*"/g, 'timestamp="T"')
        // selftest --json times its work (phases, stages, error.totalNs) in ns.
        .replace(/"(\w*Ns|ns)": \d+/g, '"$1": T')
    )
  }
  return {exitCode: run.exitCode, stdout: strip(run.stdout), stderr: strip(run.stderr)}
}

/** Runs argv through the fast entry, then through oclif, and expects the same bytes and exit code. */
async function expectSameOnBothPaths(
  argv: string[],
  options: {env?: Record<string, string | undefined>; between?: () => Promise<void>} = {},
) {
  // Both runs read the live machine: tests that change it (hugepage pools, mounts) wait meanwhile.
  const lock = await takeMachineLock({shared: true})
  try {
    const fast = await runCli(argv, {env: options.env})
    await options.between?.()
    const full = await runCli(argv, {env: {...options.env, ...OCLIF}})
    expect(timeless(fast), 'fast entry vs oclif').to.deep.equal(timeless(full))
    return fast
  } finally {
    await lock.release()
  }
}

describe('one flag table per command, made from the command classes', () => {
  it('covers every command, and the fast entry runs each command that has a plain body', () => {
    expect(Object.keys(tables.commands).sort()).to.deep.equal(Object.keys(COMMANDS).sort())
    // A command added without a body in src/report/bodies still works: the fast entry leaves it to oclif.
    expect(Object.keys(COMMANDS)).to.include.members([...FAST_COMMANDS])
    expect(FAST_COMMANDS).to.include.members([
      'capture',
      'check',
      'selftest',
      'tune:access',
      'tune:hugepages',
      'tune:iommu',
      'tune:ksm',
      'tune:nested',
      'tune:thp',
      'tune:undo',
    ])
    for (const id of FAST_COMMANDS) expect(tables.commands[id].fast, id).to.equal(true)
  })

  for (const [id, command] of Object.entries(COMMANDS)) {
    it(`${id}: the table holds exactly the class's flags and args`, () => {
      const table = tables.commands[id]
      const classFlags = {...command.flags, json: {type: 'boolean'}} as Record<string, Record<string, unknown>>
      expect(Object.keys(table.flags).sort()).to.deep.equal(Object.keys(classFlags).sort())
      for (const [name, flag] of Object.entries(classFlags)) {
        const spec = table.flags[name]
        expect(spec.type, name).to.equal(flag.type)
        expect(spec.char, name).to.equal(flag.char)
        expect(spec.options, name).to.deep.equal(flag.options)
        expect(spec.default, name).to.equal(flag.default)
        expect(spec.env, name).to.equal(flag.env)
        expect(Boolean(spec.required), name).to.equal(Boolean(flag.required))
        expect(Boolean(spec.allowNo), name).to.equal(Boolean(flag.allowNo))
      }
      const classArgs = Object.entries((command as {args?: Record<string, {required?: boolean}>}).args ?? {})
      expect(table.args).to.deep.equal(classArgs.map(([name, arg]) => ({name, required: Boolean(arg.required)})))
      expect(table.examples).to.deep.equal(
        command.examples.map((e) => String(e).replaceAll('<%= config.bin %>', 'kvmctl')),
      )
    })
  }

  it('is what the build wrote to dist/flag-table.json', () => {
    const built = loadFlagTables(new URL('../dist/flag-table.json', import.meta.url))
    const pkg = {bin: 'kvmctl', version: ''}
    expect(built, 'dist/flag-table.json is missing: run npm run build').not.to.equal(undefined)
    expect(built!.commands).to.deep.equal(tables.commands)
    expect(built!.bin).to.equal(pkg.bin)
  })

  it('picks up a flag added to a command class, and leaves a command with a flag kind it cannot parse to oclif', async () => {
    const {flagTableOf} = await import('../src/lib/flag-table.js')
    const {isDefaultParse} = await import('../src/lib/base-command.js')
    const Flags = await import('@oclif/core/flags')
    const extended = {
      ...COMMANDS.check,
      flags: {...COMMANDS.check.flags, passthrough: Flags.string({description: 'x'})},
    }
    const table = flagTableOf('check', extended, 'kvmctl', isDefaultParse)
    expect(table.flags.passthrough).to.deep.equal({type: 'option'})
    expect(parseArgv(table, ['--passthrough', '0000:01:00.0'], {})?.flags.passthrough).to.equal('0000:01:00.0')
    const custom = {...COMMANDS.check, flags: {...COMMANDS.check.flags, count: Flags.integer({description: 'x'})}}
    expect(flagTableOf('check', custom, 'kvmctl', isDefaultParse).fast).to.equal(false)
    const many = {
      ...COMMANDS.check,
      flags: {...COMMANDS.check.flags, dev: Flags.string({description: 'x', multiple: true})},
    }
    expect(flagTableOf('check', many, 'kvmctl', isDefaultParse).fast).to.equal(false)
  })
})

describe('the fast parser', () => {
  const check = tables.commands.check as CommandTable
  const hugepages = tables.commands['tune:hugepages'] as CommandTable

  it('parses plain invocations as oclif resolves them: flag, else env, else default', () => {
    expect(
      parseArgv(check, ['--json', '-q', '--root=/r', '-f', 'nfd', '--output', 'out', '--expires-in', '2h'], {})?.flags,
    ).to.deep.equal({
      json: true,
      quiet: true,
      root: '/r',
      format: 'nfd',
      output: 'out',
      'expires-in': '2h',
    })
    expect(parseArgv(check, [], {KVMCTL_ROOT: '/captured'})?.flags).to.deep.equal({root: '/captured'})
    expect(parseArgv(check, ['--root', '/flag'], {KVMCTL_ROOT: '/env'})?.flags.root).to.equal('/flag')
    expect(parseArgv(hugepages, ['--vm-mem', '1G', '--no-persist'], {})?.flags).to.deep.equal({
      'vm-mem': '1G',
      persist: false,
      vms: '1',
      mount: '/dev/hugepages',
      'dry-run': false,
    })
    expect(parseArgv(tables.commands.capture, ['./dir', '--force'], {})).to.deep.equal({
      flags: {force: true},
      args: {dir: './dir'},
      given: {},
    })
    expect(commandOf(tables, ['tune', 'nested', '--dry-run'])).to.deep.equal({id: 'tune:nested', rest: ['--dry-run']})
    expect(commandOf(tables, ['tune:undo'])).to.deep.equal({id: 'tune:undo', rest: []})
    expect(commandOf(tables, ['tune'])).to.equal(undefined)
    expect(commandOf(tables, ['help', 'check'])).to.equal(undefined)
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
    ['-qj'],
    ['-fnfd'],
    ['--', '--json'],
    ['--no-quiet'],
  ]) {
    it(`hands check ${JSON.stringify(argv)} to oclif`, () => {
      expect(parseArgv(check, argv, {})).to.equal(undefined)
    })
  }

  it('hands a missing required flag or argument to oclif', () => {
    expect(parseArgv(hugepages, ['--dry-run'], {})).to.equal(undefined)
    expect(parseArgv(tables.commands.capture, [], {})).to.equal(undefined)
    expect(parseArgv(tables.commands.capture, ['a', 'b'], {})).to.equal(undefined)
  })
})

describe('the fast entry and oclif print the same bytes and exit codes', function () {
  this.timeout(300_000)
  let scratch: string
  before(async () => {
    scratch = await tempDir('kvmctl-fast-')
  })
  after(async () => {
    await rm(scratch, {recursive: true, force: true})
  })

  const huge = '9'.repeat(400)
  const cases: Record<string, string[][]> = {
    check: [
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
      ['check', '--root', ''],
      ['check', '--root=', '--json'],
      ['check', '--output', ''],
      ['check', '-f', 'nfd', '--expires-in', ''],
      ['check', '-f', 'nfd', '--expires-in', '99999999999999999999d'],
      ['check', '--json', '--format', 'junit'],
      ['check', '--format', 'text', '--expires-in', '2h'],
      ['check', '--format', 'nfd', '--expires-in', 'soon'],
      ['check', '--output', '/nonexistent/kvmctl.prom', '--format', 'prometheus'],
      ['check', '--format', 'yaml'],
      ['check', '--bogus'],
      ['check', '--help'],
    ],
    selftest: [
      ['selftest'],
      ['selftest', '--json'],
      ['selftest', '--format', 'junit'],
      ['selftest', '--vcpus', '0'],
      ['selftest', '--mem', '3M'],
      ['selftest', '--mem', huge],
      ['selftest', '--timeout', 'soon'],
      ['selftest', '--device', '/nonexistent'],
      ['selftest', '--device', '/dev/null', '--json'],
      ['selftest', '--output', ''],
      ['selftest', '--format', 'nfd'],
      ['selftest', '--json', '--format', 'prometheus'],
    ],
    'tune hugepages': [
      ['tune', 'hugepages', '--vm-mem', '1024', '--dry-run'],
      ['tune', 'hugepages', '--vm-mem', '1024', '--dry-run', '--json'],
      ['tune', 'hugepages', '--vm-mem', '2G', '--vms', '2', '--dry-run', '--root', fixture('pvm-guest')],
      ['tune', 'hugepages', '--vm-mem', '1G', '--no-persist', '--dry-run', '--root', fixture('intel-vtx')],
      ['tune', 'hugepages', '--vm-mem', '1024', '--page-size', '1G', '--dry-run'],
      ['tune', 'hugepages', '--vm-mem', '1024', '--headroom', 'lots', '--dry-run'],
      ['tune', 'hugepages', '--vm-mem', huge, '--dry-run'],
      ['tune', 'hugepages', '--vm-mem', '', '--dry-run'],
      ['tune', 'hugepages', '--vm-mem', '1024', '--dry-run', '--root', ''],
      ['tune', 'hugepages', '--dry-run'],
      ['tune', 'hugepages', '--dry-run', '--json'],
      ['tune', 'hugepages', '--vm-mem'],
      ['tune:hugepages', '--vm-mem', '1024', '--dry-run'],
    ],
    'tune nested': [
      ['tune', 'nested', '--dry-run'],
      ['tune', 'nested', '--dry-run', '--json'],
      ['tune', 'nested', '--dry-run', '--root', fixture('intel-vtx')],
      ['tune', 'nested', '--dry-run', '--disable', '--root', fixture('amd-svm')],
      ['tune', 'nested', '--dry-run', '--root', ''],
      ['tune', 'nested', '--bogus'],
    ],
    'tune ksm': [
      ['tune', 'ksm', '--on', '--dry-run'],
      ['tune', 'ksm', '--off', '--dry-run', '--json'],
      ['tune', 'ksm', '--dry-run'],
      ['tune', 'ksm', '--on', '--off', '--dry-run'],
      ['tune', 'ksm', '--on', '--dry-run', '--root', fixture('pvm-guest')],
      ['tune', 'ksm', '--on', '--dry-run', '--root', ''],
    ],
    'tune thp': [
      ['tune', 'thp', '--mode', 'never', '--dry-run'],
      ['tune', 'thp', '--mode', 'always', '--dry-run', '--json'],
      ['tune', 'thp', '--mode', 'sometimes', '--dry-run'],
      ['tune', 'thp', '--dry-run'],
      ['tune', 'thp', '--mode', 'madvise', '--no-persist', '--dry-run', '--root', fixture('intel-vtx')],
    ],
    'tune iommu': [
      ['tune', 'iommu', '--dry-run'],
      ['tune', 'iommu', '--dry-run', '--json'],
      ['tune', 'iommu', '--passthrough-mode', 'pt', '--dry-run', '--root', fixture('sev-snp')],
      ['tune', 'iommu', '--passthrough-mode', 'fast', '--dry-run'],
      ['tune', 'iommu', '--dry-run', '--root', fixture('intel-vtx')],
    ],
    'tune access': [
      ['tune', 'access', '--user', 'root', '--dry-run'],
      ['tune', 'access', '--user', 'no-such-user-kvmctl', '--dry-run'],
      ['tune', 'access', '--user', 'bad name', '--dry-run', '--json'],
      ['tune', 'access', '--dry-run', '--root', fixture('intel-vtx')],
    ],
    'tune undo': [
      ['tune', 'undo', '--dry-run'],
      ['tune', 'undo', '--dry-run', '--json'],
      ['tune', 'undo', '--dry-run', '--root', fixture('pvm-guest')],
      ['tune', 'undo', '--dry-run', '--root', ''],
    ],
  }
  for (const [command, list] of Object.entries(cases)) {
    for (const argv of list) {
      it(`kvmctl ${argv
        .map((a) => (a.length > 20 ? a.slice(0, 8) + '…' : a === '' ? "''" : a))
        .join(' ')
        .replaceAll(fixture(''), 'fixtures/')} (${command})`, async () => {
        await expectSameOnBothPaths(argv)
      })
    }
  }

  for (const [name, env] of Object.entries({
    'KVMCTL_ROOT=fixtures/amd-svm': {KVMCTL_ROOT: fixture('amd-svm')},
    "KVMCTL_ROOT=''": {KVMCTL_ROOT: ''},
  })) {
    for (const argv of [
      ['check'],
      ['check', '--json'],
      ['tune', 'hugepages', '--vm-mem', '1024', '--dry-run'],
      ['tune', 'nested', '--dry-run'],
    ]) {
      it(`${name} kvmctl ${argv.join(' ')}`, async () => {
        await expectSameOnBothPaths(argv, {env})
      })
    }
  }

  it('kvmctl capture: the same files and words on both paths, and the same errors', async () => {
    const dir = join(scratch, 'capture')
    const removeDir = () => rm(dir, {recursive: true, force: true})
    for (const argv of [
      ['capture', dir],
      ['capture', dir, '--json'],
      ['capture', dir, '--root', fixture('intel-vtx')],
    ]) {
      await expectSameOnBothPaths(argv, {between: async () => removeDir()})
      await removeDir()
    }
    const copy = join(scratch, 'copy')
    await cp(fixture('amd-svm'), copy, {recursive: true})
    for (const argv of [
      ['capture'],
      ['capture', dir, 'extra'],
      ['capture', copy],
      ['capture', copy, '--json'],
      ['capture', dir, '--root', ''],
      ['capture', dir, '--root', '/nonexistent'],
    ]) {
      await expectSameOnBothPaths(argv)
    }
    expect(await readdir(copy)).to.include('host.json')
    await expectSameOnBothPaths(['capture', dir, '--root', fixture('pvm-guest')], {between: removeDir})
    const written = JSON.parse(await readFile(join(dir, 'host.json'), 'utf8')) as {source?: string}
    const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as {version: string}
    expect(JSON.stringify(written)).to.contain(`kvmctl capture ${pkg.version}`)
  })

  it('writes --output atomically with the same content as oclif', async () => {
    const args = (file: string) => [
      'check',
      '--root',
      fixture('amd-svm'),
      '--format',
      'prometheus',
      '--output',
      join(scratch, file),
    ]
    const [fast, full] = await Promise.all([runCli(args('fast.prom')), runCli(args('full.prom'), {env: OCLIF})])
    expect([fast.exitCode, fast.stdout, fast.stderr]).to.deep.equal([full.exitCode, full.stdout, full.stderr])
    const [a, b] = await Promise.all([
      readFile(join(scratch, 'fast.prom'), 'utf8'),
      readFile(join(scratch, 'full.prom'), 'utf8'),
    ])
    expect(timeless({exitCode: 0, stdout: a, stderr: ''})).to.deep.equal(timeless({exitCode: 0, stdout: b, stderr: ''}))
  })

  it('leaves help to oclif', async () => {
    const run = await runCli(['check', '--help'])
    expect(run.exitCode).to.equal(0)
    expect(run.stdout).to.contain('USAGE').and.to.contain('kvmctl check --format nfd')
  })
})
