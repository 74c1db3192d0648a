// The layers of src/, checked by dependency-cruiser in `npm test` (test/layers.test.ts):
//
//   lib (+ native.ts, types/)  ->  host  ->  plan  ->  checks | tune | vmm  ->  report  ->  commands
//
// A layer imports only the layers left of it, never one to its right and never a sibling:
// - lib: plain helpers (errors, sizes, styles, atomic writes, the Status word) and the native
//   addon's loader. Nothing of ours.
// - host: reads the machine (or a capture) once and derives facts from it. Imports lib only.
// - plan: pure functions of (facts, request) and the constants tune writes (file names, mount
//   options, group), shared by tune, which applies them, and checks, whose remedies name the same
//   change. Imports lib and host.
// - checks, tune, vmm: judge, change, prove. Each imports lib, host and plan, not each other, so
//   a check's remedy can never reach into tune's apply code and selftest gets check's /dev/kvm
//   advice passed in by its command.
// - report: output formats and the shared command bodies that write them. Not commands.
// - commands: the oclif command classes and the entry points (cli.ts, fast.ts): anything.
// And no cycles anywhere.
const LIB = '^src/(lib/|native\\.ts$|types/)'
const HOST = '^src/host/'
const PLAN = '^src/plan/'
const CHECKS = '^src/checks/'
const TUNE = '^src/tune/'
const VMM = '^src/vmm/'
const REPORT = '^src/report/'
const COMMANDS = '^src/(commands/|cli\\.ts$|fast\\.ts$)'

/** A rule: files matching `from` may import, of our src/, only files matching one of `allowed`. */
function layer(name, from, allowed, comment) {
  return {
    name,
    comment,
    severity: 'error',
    from: {path: from},
    to: {path: '^src/', pathNot: allowed.join('|')},
  }
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {name: 'no-cycles', comment: 'modules must not import each other in a circle', severity: 'error', from: {}, to: {circular: true}},
    {
      name: 'no-unknown-layer',
      comment: 'every file under src/ belongs to a layer; add a new folder to .dependency-cruiser.cjs with its place',
      severity: 'error',
      from: {path: '^src/', pathNot: [LIB, HOST, PLAN, CHECKS, TUNE, VMM, REPORT, COMMANDS].join('|')},
      to: {},
    },
    layer('lib-imports-only-lib', LIB, [LIB], 'lib is the bottom layer: it imports nothing of ours above it'),
    layer('host-imports-only-lib', HOST, [LIB, HOST], 'the host layer reads the machine; it may not know about checks, tune, vmm or reports'),
    layer('plan-imports-lib-host', PLAN, [LIB, HOST, PLAN], 'plans are pure functions of host facts'),
    layer('checks-import-lib-host-plan', CHECKS, [LIB, HOST, PLAN, CHECKS], 'checks judge facts; remedies come from plan, never from tune'),
    layer('tune-imports-lib-host-plan', TUNE, [LIB, HOST, PLAN, TUNE], 'tune applies plans; it does not import checks or the VMM'),
    layer('vmm-imports-lib-host-plan', VMM, [LIB, HOST, PLAN, VMM], 'the VMM proves KVM works; check\'s advice is passed in by the command'),
    layer('report-not-commands', REPORT, [LIB, HOST, PLAN, CHECKS, TUNE, VMM, REPORT], 'reports format what the layers below found; commands use them, not the reverse'),
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    exclude: {path: '\\.d\\.ts$'},
    // Type-only imports count: a type from a higher layer couples the layers just the same.
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
  },
}
