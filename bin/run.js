#!/usr/bin/env node
// Entry point: the bundled CLI (dist/cli.js) holds oclif and every command's module graph.
// oclif's engine check loads semver on every start; npm already enforces package.json "engines"
// at install, so skip it unless the user asked for it.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {run} = await import('../dist/cli.js')

await run(import.meta.url)
