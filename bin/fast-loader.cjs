// Loads the fast entry (dist/fast.cjs) with V8's code cache (dist/fast.cjs.v8cache) when the
// build made one for this exact bundle and this Node. Node 20 has no compile cache of its own
// (module.enableCompileCache is Node 22), and compiling the bundle and then every function it runs,
// on each start, was the largest single cost of `kvmctl check` (about 20 ms of its 220 here).
//
// The cache is only an optimisation, never a source of truth: a missing, unreadable, stale or
// rejected cache means a normal compile. V8 checks its own version, its flags, the source's length
// and the cached code's length; the header adds the bundle's build id (a hash of its content that
// the build writes as the bundle's last line), so the cache of another build is never used. Like
// the native addon beside it, the cache is a build output: V8 does not checksum its content.
// The build writes it (scripts/bundle.mjs) by running one command with KVMCTL_WRITE_CODE_CACHE=1:
// V8 then includes every function that command compiled.
'use strict'
const {readFileSync, renameSync, writeFileSync} = require('node:fs')
const {createRequire} = require('node:module')
const {dirname, join} = require('node:path')
const {Script} = require('node:vm')

const MAGIC = 'kvmctl-v8cache-3'
const BUILD_ID = /\n\/\/# kvmctl-build=([0-9a-f]{16,64})\n?$/

/** The cache's header line: magic, Node version, the bundle's build id and the code's length. */
function header(buildId, code) {
  return `${MAGIC} ${process.version} ${buildId} ${code.length}\n`
}

/** The cached code for this build, or undefined when there is none that fits it whole. */
function readCache(file, buildId) {
  if (buildId === undefined) return undefined
  let data
  try {
    data = readFileSync(file)
  } catch {
    return undefined
  }
  const newline = data.indexOf(10)
  if (newline < 0 || newline > 200) return undefined
  const code = data.subarray(newline + 1)
  return data.latin1Slice(0, newline + 1) === header(buildId, code) ? code : undefined
}

/**
 * Runs dist/fast.cjs, the fast entry's module function, as require() runs a module, from the code
 * cache when it fits.
 * Returns its exports and how the cache fared: 'accepted', 'rejected' (by V8), or 'absent'.
 */
function loadFast(distDir) {
  const file = join(distDir, 'fast.cjs')
  const cacheFile = `${file}.v8cache`
  // ASCII (the build checks it): latin1 makes the string without decoding UTF-8.
  const source = readFileSync(file, 'latin1')
  const buildId = BUILD_ID.exec(source.slice(-80))?.[1]
  const cachedData = readCache(cacheFile, buildId)
  // The file is the module function (scripts/bundle.mjs), compiled as it is: no wrapper to copy it into.
  const script = new Script(source, {filename: file, cachedData})
  const module = {exports: {}}
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file))
  const cache = cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'accepted'
  if (process.env.KVMCTL_WRITE_CODE_CACHE === '1' && buildId !== undefined) {
    // At exit, so the cache holds every function this run compiled, not only the top level.
    process.once('exit', () => {
      const temp = `${cacheFile}.${process.pid}.tmp`
      const code = script.createCachedData()
      writeFileSync(temp, Buffer.concat([Buffer.from(header(buildId, code)), code]))
      renameSync(temp, cacheFile)
    })
  }
  return {exports: module.exports, cache}
}

module.exports = {loadFast}
