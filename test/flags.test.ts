// Odd flags and environments, through both entries (fast and oclif): each is a usage error of one
// line that names the bad input and a fix (exit 2), never a silent default, a JS error or a stack.
import {expect} from 'chai'

import {parseDuration} from '../src/lib/duration.js'
import {unexpectedFailure, UsageError} from '../src/lib/errors.js'
import {parseSize} from '../src/lib/size.js'
import {fixture, runCli, type CliOptions} from './support/cli.js'

const PATHS: Record<string, CliOptions['env']> = {fast: {}, oclif: {KVMCTL_NO_FAST_PATH: '1'}}
const JS_ERROR = /TypeError|RangeError|SyntaxError|ReferenceError|Cannot read properties|undefined|NaN|\n\s+at /

async function expectUsageError(argv: string[], message: RegExp, options: CliOptions = {}) {
  for (const [path, env] of Object.entries(PATHS)) {
    const run = await runCli(argv, {...options, env: {...options.env, ...env}})
    const context = `${path}: kvmctl ${argv.join(' ')}\n${run.stdout}${run.stderr}`
    expect(run.exitCode, context).to.equal(2)
    expect(run.stdout, context).to.equal('')
    expect(run.stderr, context).to.match(/^kvmctl: [^\n]+\n$/)
    expect(run.stderr, context).to.match(message)
    expect(run.stderr, context).not.to.match(JS_ERROR)
  }
}

describe('odd flags are one-line usage errors on both entries', function () {
  this.timeout(120_000)
  const huge = '9'.repeat(400)

  it('an empty --root (an unset variable) never falls back to the live host', async () => {
    await expectUsageError(['check', '--root', ''], /^kvmctl: --root is empty .*e\.g\. kvmctl check --root \S+/)
    await expectUsageError(['check', '--root=', '--quiet'], /--root is empty/)
    await expectUsageError(['capture', '/tmp/kvmctl-never-written', '--root', ''], /--root is empty/)
    await expectUsageError(['tune', 'nested', '--dry-run', '--root', ''], /--root is empty/)
    // Without --dry-run this would tune the live host; as nobody it cannot, and it must not try.
    await expectUsageError(['tune', 'hugepages', '--vm-mem', '1024', '--root', ''], /--root is empty/, {asUser: 65534})
    await expectUsageError(['tune', 'undo', '--root', ''], /--root is empty/, {asUser: 65534})
  })

  it('an empty KVMCTL_ROOT is an error too, while a set one replays', async () => {
    await expectUsageError(['check'], /^kvmctl: KVMCTL_ROOT is set but empty; unset it/, {env: {KVMCTL_ROOT: ''}})
    await expectUsageError(['tune', 'hugepages', '--vm-mem', '1024'], /KVMCTL_ROOT is set but empty/, {
      env: {KVMCTL_ROOT: ''},
      asUser: 65534,
    })
    const replay = await runCli(['check', '--json'], {env: {KVMCTL_ROOT: fixture('amd-svm')}})
    expect(JSON.parse(replay.stdout).host.source).to.equal(fixture('amd-svm'))
  })

  it('an empty --output, --expires-in or --vm-mem is not ignored', async () => {
    await expectUsageError(['check', '--output', ''], /--output is empty .*e\.g\. kvmctl check --format \S+ --output /)
    await expectUsageError(['check', '-f', 'nfd', '--expires-in', ''], /--expires-in is empty .*--expires-in 2h/)
    await expectUsageError(['selftest', '--output', ''], /--output is empty/)
    await expectUsageError(['tune', 'hugepages', '--vm-mem', '', '--dry-run'], /--vm-mem is empty .*--vm-mem 1024/)
  })

  it('a --vm-mem of 400 digits, and an --expires-in past what a date can hold, are usage errors', async () => {
    await expectUsageError(
      ['tune', 'hugepages', '--vm-mem', huge, '--dry-run'],
      /^kvmctl: --vm-mem "9{40}…" is too large; use e\.g\. 1024 or 64G\n$/,
    )
    await expectUsageError(['selftest', '--mem', huge], /--mem "9{40}…" is too large/)
    await expectUsageError(
      ['check', '-f', 'nfd', '--expires-in', '99999999999999999999d'],
      /--expires-in "99999999999999999999d" is too long; use at most/,
    )
    await expectUsageError(['check', '-f', 'nfd', '--expires-in', `${huge}h`], /--expires-in "9{40}…" is too long/)
    await expectUsageError(['selftest', '--timeout', `${huge}s`], /--timeout "9{40}…" is too long/)
  })

  it('a missing required flag or argument names itself and an example', async () => {
    await expectUsageError(
      ['tune', 'hugepages', '--dry-run'],
      /^kvmctl: missing required flag --vm-mem; e\.g\. kvmctl tune hugepages --vm-mem 1024 --dry-run\n$/,
    )
    await expectUsageError(['capture'], /^kvmctl: missing the DIR argument; e\.g\. kvmctl capture \.\/my-host\n$/)
    const json = await runCli(['tune', 'hugepages', '--json'])
    expect(json.exitCode).to.equal(2)
    expect(JSON.parse(json.stdout)).to.deep.equal({
      error: {
        message: 'missing required flag --vm-mem; e.g. kvmctl tune hugepages --vm-mem 1024 --dry-run',
        exitCode: 2,
      },
    })
  })

  it('size and duration parsers refuse what a number cannot hold exactly', () => {
    expect(() => parseSize(huge, '--vm-mem')).to.throw(UsageError, /too large/)
    expect(() => parseSize('9007199254740993', '--vm-mem')).to.throw(UsageError, /too large/)
    expect(parseSize('8G', '--vm-mem')).to.equal(8 * 2 ** 30)
    expect(() => parseDuration(`${huge}d`, '--expires-in')).to.throw(UsageError, /too long/)
    expect(parseDuration('100000d', '--expires-in')).to.equal(100_000 * 86_400_000)
    expect(() => parseSize(`1\n${huge}`, '--mem')).to.throw(UsageError, /^--mem "1\\n9{38}…" is not a size/)
  })

  it('a bug (any other error) becomes one line that says so, on both entries (one writer)', () => {
    const failure = unexpectedFailure(
      new TypeError("Cannot read properties of undefined (reading 'mode')\n    at plan (x.js:1:2)"),
    )
    expect(failure?.exitCode).to.equal(1)
    expect(failure?.message).to.match(/^internal error, a bug in kvmctl: please report it .*KVMCTL_DEBUG=1/)
    expect(failure?.message).not.to.match(JS_ERROR)
  })
})
