// Compares the addon's VMM with the C reference in one run: one probe VM's life (open to
// teardown) and the PIO exit round trip, median over RUNS each.
// Usage: npm run bench:probe [-- RUNS]   (builds bench/bin/probe-ref first)
import {execa} from 'execa'
import {fileURLToPath} from 'node:url'

import {nativeArtifact} from '../src/native.js'
import {measureProbeLife} from '../src/vmm/bench.js'

const runs = Number(process.argv[2] ?? 50)
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const ref = fileURLToPath(new URL('bin/probe-ref', import.meta.url))
const c = JSON.parse((await execa(ref, [nativeArtifact('probe.bin'), String(runs)])).stdout) as {lifeNsMedian: number; pioExitNsMedian: number}

await measureProbeLife() // warm-up: loads the addon and the image once
const life: number[] = []
const pio: number[] = []
for (let i = 0; i < runs; i++) {
  const f = await measureProbeLife()
  life.push(f.lifeNs)
  pio.push(f.pioExitNs)
}
const addon = {lifeNsMedian: median(life), pioExitNsMedian: median(pio)}
console.log(
  JSON.stringify(
    {
      runs,
      addon,
      c: {lifeNsMedian: c.lifeNsMedian, pioExitNsMedian: c.pioExitNsMedian},
      ratio: {life: +(addon.lifeNsMedian / c.lifeNsMedian).toFixed(3), pioExit: +(addon.pioExitNsMedian / c.pioExitNsMedian).toFixed(3)},
    },
    null,
    2,
  ),
)
