#!/usr/bin/env node
// Entry point. A plain invocation of a command runs on the fast entry (dist/fast.cjs, one file, no
// oclif, loaded from V8's code cache when the build made one: bin/fast-loader.cjs; see src/fast.ts
// and scripts/bundle.mjs); help, anything the fast entry does not fully understand, and every run
// with KVMCTL_NO_FAST_PATH set go to the bundled oclif CLI (dist/cli.js).
import {createRequire} from 'node:module'

// oclif's engine check loads semver on every start; npm already enforces package.json "engines"
// at install, so skip it unless the user asked for it.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'

const fast = () =>
  createRequire(import.meta.url)('./fast-loader.cjs').loadFast(new URL('../dist/', import.meta.url).pathname).exports
const done = !process.env.KVMCTL_NO_FAST_PATH && (await fast().runFast(process.argv.slice(2)))
if (!done) {
  const {run} = await import('../dist/cli.js')
  await run(import.meta.url)
}
