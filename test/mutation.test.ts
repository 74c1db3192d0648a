// No JS error ever reaches the user, and a replay never leaves its root: every file and folder of
// every fixture and every host.json field corrupted (empty, truncated, binary, huge, wrong JSON
// types, a folder for a file, a symlink out of the root, a FIFO), then check, check --json,
// capture, tune hugepages and tune nested --dry-run run on it in process. `npm run mutate -- N`
// runs a long random campaign; MUTATE_SEED (and MUTATE_PATH) replay a failing one.
import {expect} from 'chai'
import fc from 'fast-check'
import {rm} from 'node:fs/promises'

import {type Corpus, describeCase, loadCorpus, mutationArb, runMutation, sweepCases} from './support/mutation.js'

/** Generous: a case does about 6 command bodies; the 1 s cap is asserted by the long run. */
const CASE_TIMEOUT_MS = 8000
const RANDOM_CASES = Number(process.env.MUTATE_CASES ?? 150)

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
