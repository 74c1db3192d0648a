#!/usr/bin/env node
// `npm run bench`: kvmctl measured side by side with what admins would run instead, in one run,
// on this machine. Prints a table of medians and ratios and writes bench/results.json.
// Targets are reported here, never asserted in tests.
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {fmtMs, interleave, median, peakRssMb, ratio} from './measure.mjs'
// Run under tsx (see package.json "bench"), so the addon is measured through the same TypeScript
// module the selftest uses.
import {nativeArtifact} from '../src/native.ts'
import {measureProbeLife} from '../src/vmm/bench.ts'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const kvmctl = join(root, 'bin', 'run.js')
const runs = Number(process.env.BENCH_RUNS ?? 30)
const results = {machine: machineSummary(), runs, sections: {}}
/** BENCH_ONLY=targets runs the first section only (the targets table). */
const only = process.env.BENCH_ONLY === 'targets' ? 1 : Infinity
let sections = 0

ensureComparisonTools()

// The targets: each command's whole process against `node -e 0` in the same interleaved run.
const CHECK = {name: 'kvmctl check', cmd: process.execPath, args: [kvmctl, 'check']}
const TUNE = {
  name: 'kvmctl tune hugepages --vm-mem 1024 --dry-run',
  cmd: process.execPath,
  args: [kvmctl, 'tune', 'hugepages', '--vm-mem', '1024', '--dry-run'],
}
// --json carries the in-process total (phases.totalNs, or error.totalNs when it stopped early).
const SELFTEST = {
  name: 'kvmctl selftest --json',
  cmd: process.execPath,
  args: [kvmctl, 'selftest', '--json'],
  keepOutput: true,
}
const NODE = {name: 'node -e 0', cmd: process.execPath, args: ['-e', '0']}

section('The targets: each command against `node -e 0`, interleaved in one run', () => {
  const contenders = [NODE, CHECK, TUNE, SELFTEST]
  const r = interleave(contenders, runs)
  const floor = r[NODE.name].median
  // selftest: what is left of each run once its own work (booting and judging guests) is taken out.
  const reports = r[SELFTEST.name].outputs.map((out) => parseJson(out))
  const totalsMs = reports.map((j) => (j?.phases?.totalNs ?? j?.error?.totalNs ?? NaN) / 1e6)
  const rest = r[SELFTEST.name].samples.map((ms, i) => ms - totalsMs[i]).filter(Number.isFinite)
  const stopped = reports.find((j) => j?.error)?.error?.message
  const rows = [
    {command: CHECK.name, ms: r[CHECK.name].median, limit: 1.5},
    {command: TUNE.name, ms: r[TUNE.name].median, limit: 2},
    {
      command: 'kvmctl selftest: whole process minus its in-process total',
      ms: rest.length ? median(rest) : undefined,
      limit: 1.5,
    },
  ]
  const met = (row) => (row.ms === undefined ? null : row.ms / floor <= row.limit)
  const said = {true: 'yes', false: 'NO', null: 'n/a'}
  table(
    ['command', 'median ms', 'node -e 0 median ms', 'ratio', 'target', 'met'],
    rows.map((row) => [
      row.command,
      fmtMs(row.ms),
      fmtMs(floor),
      ratio(row.ms, floor),
      `<= ${row.limit}x`,
      said[met(row)],
    ]),
  )
  const load = loadAverage()
  console.log(
    `\n  ${runs} runs each (BENCH_RUNS), interleaved; load average ${load.join(' ')} (1, 5, 15 min);` +
      ` exits: check ${r[CHECK.name].code}, tune ${r[TUNE.name].code}, selftest ${r[SELFTEST.name].code}`,
  )
  const selftestTotal = median(totalsMs.filter(Number.isFinite))
  if (stopped) {
    // No guest ran (no usable /dev/kvm): the in-process total is the device check and its advice.
    console.log(`  selftest ran no guest here: it stopped at the device (${stopped.slice(0, 70)}...);`)
    console.log(
      `  its in-process total (device check and advice) was ${fmtMs(selftestTotal)} ms,` +
        ` the whole process ${fmtMs(r[SELFTEST.name].median)} ms`,
    )
  } else {
    console.log(`  selftest: whole ${fmtMs(r[SELFTEST.name].median)} ms, in-process total ${fmtMs(selftestTotal)} ms`)
  }
  for (const row of rows) {
    target(`\`${row.command}\` at most ${row.limit}x \`node -e 0\``, met(row), ratio(row.ms, floor))
  }
  return {
    load,
    nodeMs: floor,
    rows: rows.map((row) => ({...row, ratio: row.ms === undefined ? null : row.ms / floor})),
    selftest: {
      wholeMs: r[SELFTEST.name].median,
      inProcessMs: selftestTotal,
      ranGuests: !stopped,
      ...(stopped ? {stoppedAt: stopped} : {}),
    },
  }
})

section('kvmctl check against what admins run instead', () => {
  const contenders = [
    NODE,
    CHECK,
    {name: 'virt-host-validate qemu', cmd: 'virt-host-validate', args: ['qemu']},
    {name: 'kvm-ok', cmd: 'kvm-ok', args: []},
  ]
  const r = interleave(contenders, runs)
  const floor = r[NODE.name].median
  const rows = contenders.map(({name}) => [
    name,
    fmtMs(r[name].median),
    ratio(r[name].median, floor),
    r[name].code ?? 'n/a',
    conclusion(name, r[name]),
  ])
  table(['contender', 'median ms', 'vs node -e 0', 'exit', 'what it concludes here'], rows)
  return Object.fromEntries(contenders.map(({name}) => [name, r[name].median]))
})

section('Where start-up goes (whole process, differences of medians)', () => {
  // Plain invocations run on the fast entry (dist/fast.cjs, no oclif); the last rows are the same
  // commands through oclif (KVMCTL_NO_FAST_PATH=1), so the cost the fast entry saves stays visible.
  const importFast =
    "require('./bin/fast-loader.cjs').loadFast(require('path').resolve('dist')).exports.loadFlagTables()"
  const steps = [
    {name: 'node', cmd: process.execPath, args: ['-e', '0']},
    {name: '+ load the fast entry and the flag table', cmd: process.execPath, args: ['-e', importFast], cwd: root},
    {
      name: '+ check on a replayed host',
      cmd: process.execPath,
      args: [kvmctl, 'check', '--json', '--root', join(root, 'fixtures', 'pvm-guest')],
    },
    {name: '+ live host reads and native probe', cmd: process.execPath, args: [kvmctl, 'check', '--json']},
  ]
  const oclif = [
    {
      name: 'check through oclif',
      cmd: process.execPath,
      args: [kvmctl, 'check', '--json'],
      env: {KVMCTL_NO_FAST_PATH: '1'},
    },
    {
      name: 'tune hugepages --dry-run through oclif',
      cmd: process.execPath,
      args: TUNE.args,
      env: {KVMCTL_NO_FAST_PATH: '1'},
    },
  ]
  const r = interleave([...steps, TUNE, ...oclif], runs)
  let prev = 0
  const rows = steps.map(({name}) => {
    const m = r[name].median ?? NaN
    const row = [name, fmtMs(m), fmtMs(m - prev)]
    prev = m
    return row
  })
  rows.push([oclif[0].name, fmtMs(r[oclif[0].name].median), `+${fmtMs(r[oclif[0].name].median - prev)} (oclif)`])
  rows.push([TUNE.name, fmtMs(r[TUNE.name].median), ''])
  rows.push([
    oclif[1].name,
    fmtMs(r[oclif[1].name].median),
    `+${fmtMs(r[oclif[1].name].median - r[TUNE.name].median)} (oclif)`,
  ])
  table(['step', 'cumulative ms', 'this step ms'], rows)
  return Object.fromEntries([...steps, TUNE, ...oclif].map(({name}) => [name, r[name].median]))
})

await asyncSection('Built-in VMM against a C program doing the same work (in-process, interleaved)', async () => {
  const ref = buildReference()
  const blocks = Number(process.env.BENCH_VMM_BLOCKS ?? 8)
  const perBlock = 5
  const c = {life: [], pio: []}
  const addon = {life: [], pio: []}
  await measureProbeLife() // warm-up: loads the addon and the guest image once
  for (let b = 0; b < blocks; b++) {
    // A block of C runs in one process, then the same number through the addon: A B A B ...
    const out = spawnSync(ref, [nativeArtifact('probe.bin'), String(perBlock), '--samples'], {encoding: 'utf8'})
    if (out.status !== 0) throw new Error(`probe-ref failed: ${out.stderr.trim()}`)
    const r = JSON.parse(out.stdout)
    c.life.push(...r.lifeNs)
    c.pio.push(...r.pioExitNs)
    for (let i = 0; i < perBlock; i++) {
      const f = await measureProbeLife()
      addon.life.push(f.lifeNs)
      addon.pio.push(f.pioExitNs)
    }
  }
  const row = (what, a, b, unit, scale) => [
    what,
    (median(a) / scale).toFixed(unit === 'ms' ? 2 : 0),
    (median(b) / scale).toFixed(unit === 'ms' ? 2 : 0),
    unit,
    ratio(median(a), median(b)),
  ]
  table(
    ['figure (median of ' + c.life.length + ')', 'addon', 'C', 'unit', 'addon / C'],
    [
      row('one probe VM, open to teardown', addon.life, c.life, 'ms', 1e6),
      row('PIO exit round trip', addon.pio, c.pio, 'ns', 1),
    ],
  )
  const lifeRatio = median(addon.life) / median(c.life)
  const pioRatio = median(addon.pio) / median(c.pio)
  target('probe VM life at most 1.2x the C program', lifeRatio <= 1.2, ratio(median(addon.life), median(c.life)))
  target('PIO exit at most 1.1x the C program', pioRatio <= 1.1, ratio(median(addon.pio), median(c.pio)))
  return {
    samples: c.life.length,
    addon: {lifeNs: median(addon.life), pioExitNs: median(addon.pio)},
    c: {lifeNs: median(c.life), pioExitNs: median(c.pio)},
    ratio: {life: lifeRatio, pioExit: pioRatio},
  }
})

section('kvmctl selftest phases (from --json)', () => {
  // The whole process is measured with the targets above; here, where a guest's life goes.
  const phases = {}
  let error
  for (let i = 0; i < runs; i++) {
    const out = spawnSync(process.execPath, [kvmctl, 'selftest', '--json'], {encoding: 'utf8'})
    const report = JSON.parse(out.stdout || '{}')
    error ??= report.error?.message
    for (const [k, v] of Object.entries(report.phases ?? {})) if (typeof v === 'number') (phases[k] ??= []).push(v)
  }
  if (Object.keys(phases).length === 0) throw new Error(`no guest ran: ${error ?? 'no phases in the report'}`)
  table(
    ['phase', 'median'],
    Object.entries(phases).map(([k, v]) => [k, `${(median(v) / 1e6).toFixed(3)} ms`]),
  )
  return Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)]))
})

section('Peak memory (RSS)', () => {
  const rows = [
    ['node -e 0', peakRssMb(process.execPath, ['-e', '0'])],
    ['kvmctl check', peakRssMb(process.execPath, [kvmctl, 'check', '--json'])],
    ['kvmctl selftest', peakRssMb(process.execPath, [kvmctl, 'selftest', '--json'])],
  ]
  table(
    ['process', 'peak RSS MB'],
    rows.map(([n, v]) => [n, v?.toFixed(1) ?? '-']),
  )
  target('check peak RSS under 80 MB', rows[1][1] < 80, `${rows[1][1]?.toFixed(1)} MB`)
  target('selftest peak RSS under 80 MB', rows[2][1] < 80, `${rows[2][1]?.toFixed(1)} MB`)
  return Object.fromEntries(rows)
})

writeFileSync(join(here, 'results.json'), JSON.stringify(results, null, 2) + '\n')
console.log(`\nwrote ${join('bench', 'results.json')}`)

function section(title, fn) {
  if (++sections > only) return
  console.log(`\n## ${title}\n`)
  try {
    results.sections[title] = fn()
  } catch (error) {
    console.log(`  (not measured: ${error.message})`)
    results.sections[title] = {error: error.message}
  }
}

async function asyncSection(title, fn) {
  if (++sections > only) return
  console.log(`\n## ${title}\n`)
  try {
    results.sections[title] = await fn()
  } catch (error) {
    console.log(`  (not measured: ${error.message})`)
    results.sections[title] = {error: error.message}
  }
}

/** Builds bench/bin/probe-ref (the C reference) and returns its path. */
function buildReference() {
  const built = spawnSync('sh', [join(here, 'build-ref.sh')], {encoding: 'utf8'})
  if (built.status !== 0) throw new Error(`building the C reference failed: ${built.stderr.trim()}`)
  return join(here, 'bin', 'probe-ref')
}

function table(head, rows) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => '  ' + cells.map((c, i) => String(c).padEnd(widths[i])).join('  ')
  console.log(line(head))
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const r of rows) console.log(line(r))
}

/** met: true, false, or null when it cannot be measured on this machine. */
function target(what, met, figure) {
  console.log(`\n  target: ${what}: ${met === null ? 'not measured' : met ? 'met' : 'NOT met'} (${figure})`)
  ;(results.targets ??= []).push({what, met, figure})
}

/** One line saying what a contender concluded on this machine. */
function conclusion(name, r) {
  const text = `${r.stdout}\n${r.stderr}`
  if (r.error) return `not run: ${r.error}`
  if (name === 'kvm-ok')
    return text.includes('can be used') && !text.includes('NOT') ? 'KVM can be used' : 'KVM can NOT be used'
  if (name.startsWith('virt-host-validate')) {
    const hw = text.split('\n').find((l) => l.includes('hardware virtualization'))
    return hw ? `hardware virtualization: ${hw.split(':').pop().trim().split(' ')[0]}` : `exit ${r.code}`
  }
  if (name === 'kvmctl check')
    return (
      text
        .split('\n')
        .find((l) => /verdict|KVM/i.test(l))
        ?.trim()
        .slice(0, 70) ?? `exit ${r.code}`
    )
  return ''
}

function ensureComparisonTools() {
  const want = {'kvm-ok': 'cpu-checker', 'virt-host-validate': 'libvirt-clients', '/usr/bin/time': 'time'}
  const missing = Object.entries(want).filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0)
  if (missing.length === 0) return
  const pkgs = missing.map(([, pkg]) => pkg)
  if (process.getuid?.() !== 0) {
    console.log(`missing ${pkgs.join(', ')}: install them (apt-get install ${pkgs.join(' ')}) to compare against them`)
    return
  }
  console.log(`installing ${pkgs.join(' ')} (Debian packages) to compare against them...`)
  spawnSync('apt-get', ['update', '-qq'], {stdio: 'inherit'})
  spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
    stdio: 'inherit',
    env: {...process.env, DEBIAN_FRONTEND: 'noninteractive'},
  })
}

function parseJson(text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3)
}

function machineSummary() {
  const r = spawnSync('uname', ['-rm'], {encoding: 'utf8'})
  return {kernel: r.stdout.trim(), node: process.version, cpus: nproc()}
}

function nproc() {
  return spawnSync('nproc', [], {encoding: 'utf8'}).stdout.trim()
}
