// Bundles src/cli.ts (oclif + every command) and src/fast.ts (the fast entry, no oclif) into dist/
// with esbuild, then writes dist/flag-table.json, every command's flag table made from the bundled
// command classes, for the fast entry. Lazy imports stay lazy (code splitting), so a command only
// pays for the modules it really loads.
import {build} from 'esbuild'
import {readFileSync, writeFileSync} from 'node:fs'

await build({
  // Shared code (the command bodies and everything below them) lands in chunks.
  entryPoints: {cli: 'src/cli.ts', fast: 'src/fast.ts'},
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: process.env.KVMCTL_BUNDLE_DEBUG ? false : true,
  chunkNames: 'chunks/[name]-[hash]',
  // Dev-time loaders oclif only reaches for with TypeScript sources.
  external: ['typescript', 'ts-node', 'tsx'],
  // Bundled CommonJS code still calls require(); give ESM output a real one.
  banner: {js: "import {createRequire as __kvmctlRequire} from 'node:module';const require=__kvmctlRequire(import.meta.url);"},
  logLevel: 'warning',
})

const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const {flagTables} = await import(new URL('../dist/cli.js', import.meta.url).href)
writeFileSync('dist/flag-table.json', JSON.stringify(flagTables(pkg.oclif.bin, pkg.version)) + '\n')
