#!/usr/bin/env node
// `npm run bench`: kvmctl measured side by side with what admins would run instead, in one run,
// on this machine. Prints a table of medians and ratios and writes bench/results.json.
// Targets are reported here, never asserted in tests.
import {spawnSync} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {fmtMs, interleave, peakRssMb, ratio} from './measure.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const kvmctl = join(root, 'bin', 'run.js')
const runs = Number(process.env.BENCH_RUNS ?? 10)
const results = {machine: machineSummary(), runs, sections: {}}

ensureComparisonTools()

section('Whole process: kvmctl check against what admins run instead', () => {
  const contenders = [
    {name: 'node -e 0', cmd: process.execPath, args: ['-e', '0']},
    {name: 'kvmctl check', cmd: process.execPath, args: [kvmctl, 'check']},
    {name: 'virt-host-validate qemu', cmd: 'virt-host-validate', args: ['qemu']},
    {name: 'kvm-ok', cmd: 'kvm-ok', args: []},
  ]
  const r = interleave(contenders, runs)
  const floor = r['node -e 0'].median
  const rows = contenders.map(({name}) => ({
    name,
    median: r[name].median,
    p90: r[name].p90,
    vsNode: ratio(r[name].median, floor),
    exit: r[name].code,
    says: conclusion(name, r[name]),
  }))
  table(['contender', 'median ms', 'p90 ms', 'vs node -e 0', 'exit', 'what it concludes here'], rows.map((x) => [x.name, fmtMs(x.median), fmtMs(x.p90), x.vsNode, x.exit ?? 'n/a', x.says]))
  target('check at most 2x `node -e 0`', r['kvmctl check'].median / floor <= 2, `${ratio(r['kvmctl check'].median, floor)}`)
  return rows
})

section('Start-up breakdown of kvmctl check (whole process, differences of medians)', () => {
  const steps = [
    {name: 'node', cmd: process.execPath, args: ['-e', '0']},
    {name: '+ import @oclif/core', cmd: process.execPath, args: ['--input-type=module', '-e', "await import('@oclif/core')"], cwd: root},
    {name: '+ oclif config, no command', cmd: process.execPath, args: [kvmctl, '--version']},
    {name: '+ check on a replayed host', cmd: process.execPath, args: [kvmctl, 'check', '--json', '--root', join(root, 'fixtures', 'pvm-guest')]},
    {name: '+ live host reads and native probe', cmd: process.execPath, args: [kvmctl, 'check', '--json']},
  ]
  const r = interleave(steps, runs)
  let prev = 0
  const rows = steps.map(({name}) => {
    const m = r[name].median ?? NaN
    const row = [name, fmtMs(m), fmtMs(m - prev)]
    prev = m
    return row
  })
  table(['step', 'cumulative ms', 'this step ms'], rows)
  return Object.fromEntries(steps.map(({name}) => [name, r[name].median]))
})

section('Peak memory (RSS)', () => {
  const rows = [
    ['node -e 0', peakRssMb(process.execPath, ['-e', '0'])],
    ['kvmctl check', peakRssMb(process.execPath, [kvmctl, 'check', '--json'])],
  ]
  table(['process', 'peak RSS MB'], rows.map(([n, v]) => [n, v?.toFixed(1) ?? '-']))
  target('check peak RSS under 80 MB', rows[1][1] < 80, `${rows[1][1]?.toFixed(1)} MB`)
  return Object.fromEntries(rows)
})

writeFileSync(join(here, 'results.json'), JSON.stringify(results, null, 2) + '\n')
console.log(`\nwrote ${join('bench', 'results.json')}`)

function section(title, fn) {
  console.log(`\n## ${title}\n`)
  try {
    results.sections[title] = fn()
  } catch (error) {
    console.log(`  (not measured: ${error.message})`)
    results.sections[title] = {error: error.message}
  }
}

function table(head, rows) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => '  ' + cells.map((c, i) => String(c).padEnd(widths[i])).join('  ')
  console.log(line(head))
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const r of rows) console.log(line(r))
}

function target(what, met, figure) {
  console.log(`\n  target: ${what}: ${met ? 'met' : 'NOT met'} (${figure})`)
  ;(results.targets ??= []).push({what, met, figure})
}

/** One line saying what a contender concluded on this machine. */
function conclusion(name, r) {
  const text = `${r.stdout}\n${r.stderr}`
  if (r.error) return `not run: ${r.error}`
  if (name === 'kvm-ok') return text.includes('can be used') && !text.includes('NOT') ? 'KVM can be used' : 'KVM can NOT be used'
  if (name.startsWith('virt-host-validate')) {
    const hw = text.split('\n').find((l) => l.includes('hardware virtualization'))
    return hw ? `hardware virtualization: ${hw.split(':').pop().trim().split(' ')[0]}` : `exit ${r.code}`
  }
  if (name === 'kvmctl check') return text.split('\n').find((l) => /verdict|KVM/i.test(l))?.trim().slice(0, 70) ?? `exit ${r.code}`
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
  spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {stdio: 'inherit', env: {...process.env, DEBIAN_FRONTEND: 'noninteractive'}})
}

function machineSummary() {
  const r = spawnSync('uname', ['-rm'], {encoding: 'utf8'})
  return {kernel: r.stdout.trim(), node: process.version, cpus: nproc()}
}

function nproc() {
  return spawnSync('nproc', [], {encoding: 'utf8'}).stdout.trim()
}

