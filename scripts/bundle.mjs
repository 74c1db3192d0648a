// Bundles src/cli.ts (oclif + every command) and src/fast.ts (the fast entry, no oclif) into dist/
// with esbuild, then writes dist/flag-table.json, every command's flag table made from the bundled
// command classes, for the fast entry.
//
// The fast entry is one CommonJS file, dist/fast.cjs: `kvmctl check` then loads one file instead
// of twenty ESM chunks (each resolved, read, compiled and linked on its own), and the modules a
// command does not run stay uncompiled behind esbuild's lazy wrappers, their node: built-ins
// required only when they run (ESM chunks would hoist them all). It must hold no dynamic import():
// it runs from a V8 code cache (bin/fast-loader.cjs), where import() has no loader to call.
import {build} from 'esbuild'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

// chalk detects colour support on import, through node:tty, which loads Node's stream modules on
// every start; kvmctl decides colour itself (src/lib/color.ts, a level for every Chalk it makes).
const chalkWithoutDetection = {
  name: 'chalk-without-detection',
  setup(b) {
    const stand = fileURLToPath(new URL('chalk-supports-color.mjs', import.meta.url))
    b.onResolve({filter: /^#supports-color$/}, () => ({path: stand}))
  },
}

const common = {
  plugins: [chalkWithoutDetection],
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  minify: process.env.KVMCTL_BUNDLE_DEBUG ? false : true,
  // Dev-time loaders oclif only reaches for with TypeScript sources.
  external: ['typescript', 'ts-node', 'tsx'],
  logLevel: 'warning',
}

await build({
  ...common,
  entryPoints: {cli: 'src/cli.ts'},
  // Lazy imports stay lazy: shared code lands in chunks, loaded when a command needs it.
  splitting: true,
  format: 'esm',
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS code still calls require(); give ESM output a real one.
  banner: {
    js: "import {createRequire as __kvmctlRequire} from 'node:module';const require=__kvmctlRequire(import.meta.url);",
  },
})

await build({
  ...common,
  entryPoints: {fast: 'src/fast.ts'},
  format: 'cjs',
  outExtension: {'.js': '.cjs'},
  // The sources find their files from import.meta.url (the addon, flag-table.json).
  define: {'import.meta.url': '__kvmctlModuleUrl'},
  banner: {js: "const __kvmctlModuleUrl=require('node:url').pathToFileURL(__filename).href;"},
})

const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const {flagTables} = await import(new URL('../dist/cli.js', import.meta.url).href)
writeFileSync('dist/flag-table.json', JSON.stringify(flagTables(pkg.oclif.bin, pkg.version)) + '\n')

// The fast entry's build id, its last line: a hash of its content, which its code cache names
// (bin/fast-loader.cjs), so a cache is only ever used with the bundle it was made from.
const fastSource = readFileSync('dist/fast.cjs', 'utf8')
const dynamicImport = /\bimport\(\s*["'`]/.exec(fastSource)
if (dynamicImport)
  throw new Error(`dist/fast.cjs has a dynamic import() at ${dynamicImport.index}; see src/lib/run-process.ts`)
if (!/^[\x00-\x7f]*$/.test(fastSource))
  throw new Error('dist/fast.cjs is not ASCII; bin/fast-loader.cjs reads it as latin1')
const buildId = createHash('sha256').update(fastSource).digest('hex').slice(0, 32)
// The file is the module function itself, which bin/fast-loader.cjs compiles as it is and calls:
// wrapping 240 KB in Node's module wrapper at run time would copy it on every start.
const wrapped = `(function (exports, require, module, __filename, __dirname) {\n${fastSource.replace(/\n?$/, '\n')}})\n`
writeFileSync('dist/fast.cjs', `${wrapped}//# kvmctl-build=${buildId}\n`)

// The code cache: one `kvmctl check` of this machine, which only reads, with
// KVMCTL_WRITE_CODE_CACHE=1; the cache then holds every function that run compiled.
rmSync('dist/fast.cjs.v8cache', {force: true})
const warm = spawnSync(process.execPath, ['bin/run.js', 'check'], {
  env: {...process.env, KVMCTL_WRITE_CODE_CACHE: '1', NO_COLOR: '1'},
  stdio: 'ignore',
  timeout: 120_000,
})
if (!existsSync('dist/fast.cjs.v8cache'))
  console.warn(
    `bundle: no code cache made (kvmctl check: ${warm.error?.message ?? `exit ${warm.status}`}); the fast entry compiles on each start`,
  )
