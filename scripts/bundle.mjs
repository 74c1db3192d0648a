// Bundles src/cli.ts (oclif + every command) and src/fast-check.ts into dist/ with esbuild. Lazy
// imports stay lazy (code splitting), so a command only pays for the modules it really loads.
import {build} from 'esbuild'

await build({
  // check-fast: `kvmctl check` without oclif (src/fast-check.ts); shared code lands in chunks.
  entryPoints: {cli: 'src/cli.ts', 'check-fast': 'src/fast-check.ts'},
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: process.env.KVMCTL_BUNDLE_DEBUG ? false : true,
  chunkNames: 'chunks/[name]-[hash]',
  // Dev-time loaders oclif only reaches for with TypeScript sources; systeminformation is lazy
  // and live-only, and its CommonJS modules are loaded as they are.
  external: ['typescript', 'ts-node', 'tsx', 'systeminformation', 'systeminformation/*'],
  // Bundled CommonJS code still calls require(); give ESM output a real one.
  banner: {js: "import {createRequire as __kvmctlRequire} from 'node:module';const require=__kvmctlRequire(import.meta.url);"},
  logLevel: 'warning',
})
