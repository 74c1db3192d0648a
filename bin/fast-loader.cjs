// Loads the fast entry (dist/fast.cjs) with V8's code cache (dist/fast.cjs.v8cache) when the
// build made one for this exact file and this Node. Node 20 has no compile cache of its own
// (module.enableCompileCache is Node 22), and compiling the bundle and then every function it runs,
// on each start, was the largest single cost of `kvmctl check` (about 20 ms of its 220 here).
//
// The cache is only an optimisation, never a source of truth: a missing, unreadable, stale,
// damaged or rejected cache means a normal compile. V8 checks its own version, flags and the source
// length, but not the cached code itself (a flipped byte in it aborts the process), so the header
// holds CRC-32s of both the source and the cached code: a rebuilt bundle of the same length, a
// truncated or damaged file is never run. The build writes the cache (scripts/bundle.mjs) by
// running one command with KVMCTL_WRITE_CODE_CACHE=1: V8 then includes every function it compiled.
'use strict'
const {readFileSync, renameSync, writeFileSync} = require('node:fs')
const {createRequire, wrap} = require('node:module')
const {dirname, join} = require('node:path')
const {Script} = require('node:vm')
const zlib = require('node:zlib')

const MAGIC = 'kvmctl-v8cache-2'

/** The cache's header line: magic, Node version, then CRC-32 and length of the source and of the code. */
function header(source, code) {
  const sum = (bytes) => `${zlib.crc32(bytes)}:${bytes.length}`
  return `${MAGIC} ${process.version} ${sum(source)} ${sum(code)}\n`
}

/** The cached code for this source, or undefined when there is none that fits it whole. */
function readCache(file, source) {
  if (typeof zlib.crc32 !== 'function') return undefined // Node < 20.15: no cheap checksum, no cache
  let data
  try {
    data = readFileSync(file)
  } catch {
    return undefined
  }
  const newline = data.indexOf(10)
  if (newline < 0 || newline > 200) return undefined
  const code = data.subarray(newline + 1)
  return data.subarray(0, newline + 1).equals(Buffer.from(header(source, code))) ? code : undefined
}

/**
 * Runs dist/fast.cjs as Node would run it with require(), from the code cache when it fits.
 * Returns its exports and how the cache fared: 'accepted', 'rejected' (by V8), or 'absent'.
 */
function loadFast(distDir) {
  const file = join(distDir, 'fast.cjs')
  const cacheFile = `${file}.v8cache`
  const source = readFileSync(file)
  const cachedData = readCache(cacheFile, source)
  const script = new Script(wrap(source.toString('utf8')), {filename: file, cachedData})
  const module = {exports: {}}
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file))
  const cache = cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'accepted'
  if (process.env.KVMCTL_WRITE_CODE_CACHE === '1' && typeof zlib.crc32 === 'function') {
    // At exit, so the cache holds every function this run compiled, not only the top level.
    process.once('exit', () => {
      const temp = `${cacheFile}.${process.pid}.tmp`
      const code = script.createCachedData()
      writeFileSync(temp, Buffer.concat([Buffer.from(header(source, code)), code]))
      renameSync(temp, cacheFile)
    })
  }
  return {exports: module.exports, cache}
}

module.exports = {loadFast}
