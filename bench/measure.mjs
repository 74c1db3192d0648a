// Measurement helpers for `npm run bench`: whole-process timing with contenders interleaved
// (A B C A B C ...) so machine drift hits all of them alike, and peak RSS through GNU time.
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'

export function median(values) {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

/** Runs once; returns wall ms, exit code and output. */
export function runOnce(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {encoding: 'utf8', env: {...process.env, NO_COLOR: '1', ...opts.env}, cwd: opts.cwd})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  return {ms, code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error}
}

/**
 * Times every contender `runs` times, interleaved, after one warm-up each.
 * contenders: [{name, cmd, args, env?, keepOutput?}] -> {name: {samples, outputs, median, p90, code, stdout, stderr}}
 */
export function interleave(contenders, runs) {
  const out = {}
  for (const c of contenders) {
    const warm = runOnce(c.cmd, c.args, c)
    const {code, stdout, stderr} = warm
    out[c.name] = {samples: [], outputs: [], code, stdout, stderr, error: warm.error?.message}
  }
  for (let i = 0; i < runs; i++) {
    for (const c of contenders) {
      if (out[c.name].error) continue
      const run = runOnce(c.cmd, c.args, c)
      out[c.name].samples.push(run.ms)
      // keepOutput: each run's stdout, in the order of samples (a figure the process reports itself).
      if (c.keepOutput) out[c.name].outputs.push(run.stdout)
    }
  }
  for (const c of contenders) {
    const r = out[c.name]
    if (r.samples.length) Object.assign(r, {median: median(r.samples), p90: quantile(r.samples, 0.9)})
  }
  return out
}

/** Peak resident set size in MB of one run, from GNU time's %M (KiB). */
export function peakRssMb(cmd, args, opts = {}) {
  if (!existsSync('/usr/bin/time')) return undefined
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], {
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', ...opts.env},
  })
  const kib = Number(r.stderr.trim().split('\n').pop())
  return Number.isFinite(kib) ? kib / 1024 : undefined
}

export const fmtMs = (v) => (v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1))
export const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '-' : (a / b).toFixed(2) + 'x')
