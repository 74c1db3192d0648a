// The long mutation run: `npm run mutate -- N` runs the sweep over every file, folder and
// host.json field of every fixture with every kind of corruption, then N random cases
// (fast-check), all in process, and fails on any case a user must not see or any command body
// that works longer than 1 s (CPU time: on a shared machine the wall clock mostly measures the
// others) or waits longer than 5 s (wall time: a read blocked on a FIFO, a lock).
// MUTATE_SEED=S (and MUTATE_PATH=P from a failure) replays a run.
import fc from 'fast-check'
import {rm} from 'node:fs/promises'

import {
  describeCase,
  fileMutationArb,
  jsonMutationArb,
  loadCorpus,
  mutationArb,
  runMutation,
  type Mutation,
} from '../test/support/mutation.js'

const count = Number(process.argv[2] ?? 2000)
if (!Number.isSafeInteger(count) || count < 0) {
  console.error(`usage: npm run mutate -- [CASES]  (a whole number; got ${process.argv[2]})`)
  process.exit(2)
}
const seed = Number(process.env.MUTATE_SEED ?? Date.now() % 2 ** 31)
/** The cap on one command body's work (check, capture, a tune plan), as the issue asks. */
const COMMAND_CAP_MS = 1000
/** A body waiting this long (wall clock) is blocked on something, whatever its CPU time. */
const BLOCKED_CAP_MS = 5000
const corpus = await loadCorpus()
let cases = 0
let failures = 0
let slowestCase = {ms: 0, what: ''}
let slowestOp = {ms: 0, what: ''}
let busiestOp = {ms: 0, what: ''}

async function run(c: Mutation): Promise<string[]> {
  const r = await runMutation(corpus, c)
  cases++
  if (r.ms > slowestCase.ms) slowestCase = {ms: r.ms, what: describeCase(c)}
  for (const o of r.outputs) {
    if (o.ms > slowestOp.ms) slowestOp = {ms: o.ms, what: `${o.op} on ${describeCase(c)}`}
    if (o.cpuMs > busiestOp.ms) busiestOp = {ms: o.cpuMs, what: `${o.op} on ${describeCase(c)}`}
  }
  const slow = r.outputs.filter((o) => o.cpuMs > COMMAND_CAP_MS || o.ms > BLOCKED_CAP_MS)
  const took = (o: (typeof slow)[number]) => `${o.op} took ${o.cpuMs.toFixed(0)} ms of CPU, ${o.ms.toFixed(0)} ms wall`
  const problems = [...r.problems, ...slow.map(took)]
  if (problems.length) {
    failures++
    console.error(`FAIL ${describeCase(c)}\n    ${problems.join('\n    ')}`)
  }
  if (cases % 100 === 0) {
    const most = `most CPU ${busiestOp.ms.toFixed(0)} ms, slowest ${slowestOp.ms.toFixed(0)} ms wall`
    console.log(`${cases} cases, ${failures} failed, ${most}`)
  }
  return problems
}

// Every entry and field with every kind of corruption.
for (const [fixture, entries] of corpus.entries) {
  for (const e of entries) {
    for (const m of distinctKinds(fileMutationArb(e.path, e.dir))) await run({fixture, target: 'file', m})
  }
  for (const field of corpus.fields.get(fixture)!) {
    for (const m of distinctKinds(jsonMutationArb(field))) await run({fixture, target: 'host.json', m})
  }
}
const swept = cases
// Every random case runs (a failure is printed with how to replay it, and the run goes on).
let index = 0
await fc.assert(
  fc.asyncProperty(mutationArb(corpus), async (c) => {
    const at = index++
    if ((await run(c)).length) console.error(`    replay: MUTATE_SEED=${seed} MUTATE_PATH=${at} npm run mutate -- 1`)
  }),
  {numRuns: count, seed, path: process.env.MUTATE_PATH},
)
await rm(corpus.work, {recursive: true, force: true})
console.log(`mutation run: ${cases} cases (${swept} swept, ${cases - swept} random, seed ${seed}), ${failures} failed`)
console.log(`slowest case ${slowestCase.ms.toFixed(0)} ms (6 command bodies): ${slowestCase.what}`)
console.log(`most CPU in one command ${busiestOp.ms.toFixed(0)} ms (cap ${COMMAND_CAP_MS} ms): ${busiestOp.what}`)
console.log(`slowest command ${slowestOp.ms.toFixed(0)} ms wall (cap ${BLOCKED_CAP_MS} ms): ${slowestOp.what}`)
process.exitCode = failures > 0 ? 1 : 0

/** One sample of each kind of corruption (the random part varies their parameters). */
function distinctKinds<T extends {kind: string}>(arb: fc.Arbitrary<T>): T[] {
  const byKind = new Map<string, T>()
  for (const m of fc.sample(arb, {numRuns: 400, seed})) {
    if (!byKind.has(m.kind)) byKind.set(m.kind, m)
  }
  return [...byKind.values()]
}
