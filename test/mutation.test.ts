// No JS error ever reaches the user, and a replay never leaves its root: every file and folder of
// every fixture and every host.json field corrupted (empty, truncated, binary, huge, wrong JSON
// types, a folder for a file, a symlink out of the root, a FIFO), then check, check --json,
// capture, tune hugepages, tune nested and tune access --dry-run run on it in process. `npm run mutate -- N`
// runs a long random campaign; MUTATE_SEED (and MUTATE_PATH) replay a failing one.
import {expect} from 'chai'
import fc from 'fast-check'
import {cp, mkdir, readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {type CliRun, runCli} from './support/cli.js'
import {
  applyMutation,
  type Corpus,
  describeCase,
  FORBIDDEN,
  loadCorpus,
  type Mutation,
  mutationArb,
  OUTSIDE_MARKER,
  runMutation,
  sweepCases,
  TUNE_ROOT,
} from './support/mutation.js'

/** Generous: a case does about 6 command bodies; the 1 s cap is asserted by the long run. */
const CASE_TIMEOUT_MS = 8000
const RANDOM_CASES = Number(process.env.MUTATE_CASES ?? 100)

describe('mutation test: corrupted captures', function () {
  this.timeout(600_000)
  let corpus: Corpus
  const seed = Number(process.env.MUTATE_SEED ?? Date.now() % 2 ** 31)
  let slowest = {ms: 0, what: ''}
  let cases = 0

  before(async () => {
    corpus = await loadCorpus()
  })
  after(async () => {
    await rm(corpus.work, {recursive: true, force: true})
    console.log(`      ${cases} mutation cases, seed ${seed}; slowest ${slowest.ms.toFixed(0)} ms: ${slowest.what}`)
  })

  const check = async (c: Parameters<typeof runMutation>[1]) => {
    const r = await runMutation(corpus, c)
    cases++
    if (r.ms > slowest.ms) slowest = {ms: r.ms, what: describeCase(c)}
    const problems = [...r.problems, ...(r.ms > CASE_TIMEOUT_MS ? [`took ${r.ms.toFixed(0)} ms`] : [])]
    return problems
  }

  it('passes the uncorrupted fixtures (exit 0 or 1, no JS error text)', async () => {
    for (const fixture of corpus.dirs.keys()) {
      const problems = await check({fixture, target: 'file', m: {kind: 'value', path: '.mutation-none', text: ''}})
      expect(problems, fixture).to.deep.equal([])
    }
  })

  it(`survives every file, folder and host.json field of every fixture corrupted once (seed ${seed})`, async () => {
    const failures: string[] = []
    for (const c of sweepCases(corpus, seed)) {
      const problems = await check(c)
      if (problems.length) failures.push(`${describeCase(c)}\n    ${problems.join('\n    ')}`)
    }
    expect(failures, `MUTATE_SEED=${seed} replays this sweep`).to.deep.equal([])
  })

  it(`survives ${RANDOM_CASES} random corruptions (fast-check, seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(mutationArb(corpus), async (c) => {
        const problems = await check(c)
        if (problems.length) throw new Error(`${describeCase(c)}\n    ${problems.join('\n    ')}`)
      }),
      {numRuns: RANDOM_CASES, seed, path: process.env.MUTATE_PATH, endOnFailure: true},
    )
  })
})

describe('mutation test: the real CLI on corrupted captures', function () {
  this.timeout(120_000)
  let corpus: Corpus
  let n = 0
  before(async () => {
    corpus = await loadCorpus()
  })
  after(() => rm(corpus.work, {recursive: true, force: true}))

  /** A corrupted copy of a fixture, through the same mutations as the in-process cases. */
  const corrupt = async (fixture: string, ...ms: Array<Mutation['m'] & {target?: never}>) => {
    const dir = join(corpus.work, `cli-${n++}`)
    await mkdir(dir)
    const root = join(dir, 'root')
    await cp(corpus.dirs.get(fixture)!, root, {recursive: true, verbatimSymlinks: true})
    for (const m of ms) {
      const c = ('field' in m ? {fixture, target: 'host.json', m} : {fixture, target: 'file', m}) as Mutation
      await applyMutation(root, c, corpus.outside)
    }
    return root
  }
  const clean = (r: CliRun) => {
    expect(r.exitCode).to.be.oneOf([0, 1, 2])
    for (const word of [...FORBIDDEN, OUTSIDE_MARKER]) expect(r.stdout + r.stderr, word).not.to.contain(word)
    if (r.exitCode === 2) expect(r.stderr + r.stdout).to.match(/^(kvmctl: [^\n]*\n|\{\s*"error"[\s\S]*\}\n)$/)
    return r
  }

  it('check and check --json (fast path and oclif) on a 4 MB ksm/run and a hugepage counter that is not a number', async () => {
    const root = await corrupt(
      'pvm-guest',
      {kind: 'huge', path: 'sys/kernel/mm/ksm/run', size: 4_000_000, fill: 'digits'},
      {kind: 'value', path: 'sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages', text: '12abc'},
    )
    for (const env of [{}, {KVMCTL_NO_FAST_PATH: '1'}]) {
      expect(clean(await runCli(['check', '--root', root], {env})).stdout).to.contain('Verdict')
      const json = JSON.parse(clean(await runCli(['check', '--json', '--root', root], {env})).stdout)
      expect(json.schema).to.equal(2)
    }
  })

  it('a host.json uname.release with NUL, newline and invalid UTF-8 bytes: exit 2, one printable line', async () => {
    const root = await corrupt('intel-vtx', {
      kind: 'raw-bytes',
      field: ['uname', 'release'],
      bytes: [0, 10, 0xff, 0x1b],
    })
    const r = clean(await runCli(['check', '--root', root]))
    expect(r.exitCode).to.equal(2)
    expect(r.stderr).to.match(/^kvmctl: --root .*host\.json/)
    expect(r.stderr.slice(0, -1)).not.to.match(/[\u0000-\u001f\ufffd]/)
    const traversal = await corrupt('intel-vtx', {kind: 'field', field: ['uname', 'release'], value: '../..'})
    const t = clean(await runCli(['tune', 'nested', '--dry-run', '--root', traversal]))
    expect(t.exitCode).to.equal(2)
    expect(t.stderr).to.match(/"uname\.release" "\.\.\/\.\.": want a kernel release/)
  })

  it('capture of a capture whose files link out of the root copies nothing from outside', async () => {
    const root = await corrupt(
      'pvm-guest',
      {kind: 'symlink-out', path: 'proc/cpuinfo'},
      {kind: 'symlink-out', path: 'sys/kernel/mm/ksm/run'},
    )
    const out = join(corpus.work, 'cli-capture')
    const r = clean(await runCli(['capture', out, '--root', root]))
    expect(r.exitCode).to.equal(0)
    expect(await readFile(join(out, 'host.json'), 'utf8')).to.contain('"release"')
    await Promise.all(
      ['proc/cpuinfo', 'sys/kernel/mm/ksm/run'].map(async (p) =>
        expect(await readFile(join(out, p), 'utf8').catch(() => 'absent')).to.equal('absent'),
      ),
    )
  })

  it('tune hugepages --dry-run through an /etc/fstab symlinked out of the root: one line, nothing read outside', async () => {
    const root = await corrupt(TUNE_ROOT, {kind: 'symlink-out', path: 'etc/fstab'})
    const r = clean(await runCli(['tune', 'hugepages', '--vm-mem', '1024', '--dry-run', '--root', root]))
    expect(r.exitCode).to.equal(2)
    expect(r.stderr).to.match(/^kvmctl: --root .*: \/etc\/fstab leads outside the root/)
    const nested = await corrupt('intel-vtx', {
      kind: 'binary',
      path: 'sys/module/kvm_intel/parameters/nested',
      bytes: [0, 0xff, 10],
    })
    clean(await runCli(['tune', 'nested', '--dry-run', '--root', nested]))
  })
})
