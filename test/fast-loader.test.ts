// The fast entry's loader (bin/fast-loader.cjs) runs dist/fast.cjs from V8's code cache. The cache
// may only ever make a start faster: a cache for another build or Node, a truncated one, or one V8
// refuses must all fall back to a normal compile with the same output. And an install whose
// native addon is missing says so in one line (it used to print minified source and a stack).
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {cp, mkdir, readFile, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {FORBIDDEN} from './support/mutation.js'
import {fixture, repo} from './support/cli.js'
import {tempDir} from './support/temp.js'

const DIST_FILES = ['fast.cjs', 'fast.cjs.v8cache', 'flag-table.json']

/** A copy of the built package (bin, dist, package.json; node_modules linked), without build/. */
async function packageCopy(): Promise<string> {
  const dir = await tempDir('kvmctl-loader-')
  await cp(join(repo, 'bin'), join(dir, 'bin'), {recursive: true})
  await mkdir(join(dir, 'dist'))
  for (const f of DIST_FILES) await cp(join(repo, 'dist', f), join(dir, 'dist', f))
  await cp(join(repo, 'package.json'), join(dir, 'package.json'))
  await symlink(join(repo, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

/** How the loader fared on DIST in a fresh node (as bin/run.js runs it), and whether runFast loaded. */
function load(dist: string, nodeFlags: string[] = []): {cache: string; runFast: string} {
  const script =
    `const r = require(${JSON.stringify(join(repo, 'bin', 'fast-loader.cjs'))}).loadFast(${JSON.stringify(dist)});` +
    'process.stdout.write(JSON.stringify({cache: r.cache, runFast: typeof r.exports.runFast}))'
  const run = spawnSync(process.execPath, [...nodeFlags, '-e', script], {encoding: 'utf8'})
  expect(run.status, run.stderr).to.equal(0)
  return JSON.parse(run.stdout) as {cache: string; runFast: string}
}

function check(dir: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [join(dir, 'bin', 'run.js'), 'check', ...args], {
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1'},
  })
  return {exitCode: run.status, stdout: run.stdout, stderr: run.stderr}
}

describe('fast entry loader and its code cache', function () {
  this.timeout(60_000)

  it('the build made a cache that this Node accepts', () => {
    expect(load(join(repo, 'dist'))).to.deep.equal({cache: 'accepted', runFast: 'function'})
  })

  it('V8 refuses the cache under other flags, and the bundle still loads', () => {
    expect(load(join(repo, 'dist'), ['--no-opt'])).to.deep.equal({cache: 'rejected', runFast: 'function'})
  })

  it('a truncated, foreign or empty cache is never used, and check prints the same', async () => {
    const dir = await packageCopy()
    const dist = join(dir, 'dist')
    const cacheFile = join(dist, 'fast.cjs.v8cache')
    const good = await readFile(cacheFile)
    const expected = check(dir, '--root', fixture('intel-vtx'))
    const headerEnd = good.indexOf(10) + 1
    const header = good.subarray(0, headerEnd).toString()
    const variants: Record<string, Buffer> = {
      truncated: good.subarray(0, good.length >> 1),
      'header only': good.subarray(0, headerEnd),
      empty: Buffer.alloc(0),
      'another build': Buffer.concat([
        Buffer.from(header.replace(/ [0-9a-f]{32} /, ` ${'0'.repeat(32)} `)),
        good.subarray(headerEnd),
      ]),
      'another Node': Buffer.concat([Buffer.from(header.replace(/ v[\d.]+ /, ' v0.0.1 ')), good.subarray(headerEnd)]),
    }
    for (const [name, bytes] of Object.entries(variants)) {
      await writeFile(cacheFile, bytes)
      expect(load(dist), name).to.deep.equal({cache: 'absent', runFast: 'function'})
      expect(check(dir, '--root', fixture('intel-vtx')), name).to.deep.equal(expected)
    }
  })

  it('a rebuilt bundle (another build id) does not run from the cache of the old build', async () => {
    const dir = await packageCopy()
    const dist = join(dir, 'dist')
    const source = await readFile(join(dist, 'fast.cjs'), 'utf8')
    expect(source).to.match(/\n\/\/# kvmctl-build=[0-9a-f]{32}\n$/)
    await writeFile(
      join(dist, 'fast.cjs'),
      source.replace(/kvmctl-build=[0-9a-f]{32}/, `kvmctl-build=${'1'.repeat(32)}`),
    )
    expect(load(dist)).to.deep.equal({cache: 'absent', runFast: 'function'})
    // A bundle without a build id (built by hand) runs without a cache.
    await writeFile(join(dist, 'fast.cjs'), source.replace(/\/\/# kvmctl-build=.*\n$/, ''))
    expect(load(dist)).to.deep.equal({cache: 'absent', runFast: 'function'})
  })

  it('output to a reader that stops early ends quietly (EPIPE)', () => {
    const run = spawnSync(
      'sh',
      [
        '-c',
        `"${process.execPath}" "${join(repo, 'bin', 'run.js')}" check --root "${fixture('intel-vtx')}" | head -c 1`,
      ],
      {encoding: 'utf8'},
    )
    expect(run.stdout).to.have.length(1)
    expect(run.stderr).to.equal('')
  })

  it('output to a full non-blocking pipe arrives whole (EAGAIN hands the rest to the stream)', () => {
    // A one-page pipe, non-blocking, read only after the writer has filled it.
    const reader = [
      'import os, fcntl, subprocess, sys, time',
      'r, w = os.pipe()',
      'fcntl.fcntl(w, 1031, 4096)',
      'fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)',
      'p = subprocess.Popen(sys.argv[1:], stdout=w)',
      'os.close(w)',
      'time.sleep(0.5)',
      'out = b""',
      'while True:',
      '    chunk = os.read(r, 65536)',
      '    if not chunk: break',
      '    out += chunk',
      'sys.stdout.buffer.write(out)',
      'sys.exit(p.wait())',
    ].join('\n')
    const args = [join(repo, 'bin', 'run.js'), 'check', '--root', fixture('intel-vtx'), '--json']
    const direct = spawnSync(process.execPath, args, {encoding: 'utf8'})
    expect(direct.stdout.length).to.be.above(4096)
    const piped = spawnSync('python3', ['-c', reader, process.execPath, ...args], {encoding: 'utf8'})
    expect(piped.stderr).to.equal('')
    expect(piped.status).to.equal(direct.status)
    expect(piped.stdout).to.equal(direct.stdout)
  })

  it('without the native addon, live commands say so in one line and exit 1', async () => {
    const dir = await packageCopy()
    for (const args of [[], ['--json']]) {
      const run = check(dir, ...args)
      expect(run.exitCode, run.stderr).to.equal(1)
      const said = args.length ? (JSON.parse(run.stdout) as {error: {message: string}}).error.message : run.stderr
      expect(said).to.match(/native addon is not built .*npm rebuild kvmctl/)
      expect(said.trim().split('\n')).to.have.length(1)
      for (const text of FORBIDDEN) expect(run.stdout + run.stderr, text).not.to.include(text)
    }
    // A replay needs no addon.
    expect(check(dir, '--root', fixture('intel-vtx')).exitCode).to.equal(0)
  })
})
