#!/usr/bin/env node
// Entry point. A plain invocation of a command runs on the fast entry (dist/fast.cjs, one file, no
// oclif, loaded from V8's code cache when the build made one: bin/fast-loader.cjs; see src/fast.ts
// and scripts/bundle.mjs); help, anything the fast entry does not fully understand, and every run
// with KVMCTL_NO_FAST_PATH set go to the bundled oclif CLI (dist/cli.js).
//
// CommonJS (bin/package.json): an ES module entry costs Node's ESM loader and its thread pool,
// about 5 ms of every start here, before any of kvmctl runs.
'use strict'

// oclif's engine check loads semver on every start; npm already enforces package.json "engines"
// at install, so skip it unless the user asked for it.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'

async function main() {
  const {join} = require('node:path')
  const fast = () => require('./fast-loader.cjs').loadFast(join(__dirname, '..', 'dist')).exports
  const done = !process.env.KVMCTL_NO_FAST_PATH && (await fast().runFast(process.argv.slice(2)))
  if (!done) {
    const {run} = await import('../dist/cli.js')
    // The package root, not this file: oclif reads the nearest package.json, and bin/ has its own.
    await run(join(__dirname, '..'))
  }
}

main().catch((error) => {
  // runFast and oclif report every failure themselves; only a bug in this file lands here.
  process.exitCode = 1
  throw error
})
