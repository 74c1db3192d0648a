#!/usr/bin/env node
// Entry point. `kvmctl check`, the job fleets run on every host, first tries the fast path
// (dist/check-fast.js, no oclif; see src/fast-check.ts); everything else, and any check argv it
// does not fully understand, goes to the bundled oclif CLI (dist/cli.js).
// oclif's engine check loads semver on every start; npm already enforces package.json "engines"
// at install, so skip it unless the user asked for it.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'

const done = process.argv[2] === 'check' && !process.env.KVMCTL_NO_FAST_PATH && (await (await import('../dist/check-fast.js')).runCheckFast(process.argv.slice(3)))
if (!done) {
  const {run} = await import('../dist/cli.js')
  await run(import.meta.url)
}
