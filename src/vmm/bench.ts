// The VMM's cost figures, for benchmarks: one probe VM's whole life (open to teardown) and the PIO
// exit round trip, doing the same work as bench/probe-ref.c so the two compare like for like.
import {ProbeMachine} from './probe-machine.js'
import {SEGMENTS} from './stages.js'

export interface ProbeLifeFigures {
  lifeNs: number
  pioExitNs: number
}

/** The parameters bench/probe-ref.c uses: 1 vCPU, 8 MiB, a fixed seed, the default loop sizes. */
export const PROBE_LIFE_CONFIG = {vcpus: 1, memBytes: 8 * 2 ** 20, seed: 0x9e3779b97f4a7c15n}

/** One probe VM, open to teardown: every segment run, the pattern checked. */
export async function measureProbeLife(device = '/dev/kvm'): Promise<ProbeLifeFigures> {
  const t0 = process.hrtime.bigint()
  const machine = ProbeMachine.boot({device, backing: 'anonymous', ...PROBE_LIFE_CONFIG})
  let pioExitNs = 0
  try {
    for (const segment of SEGMENTS) {
      const run = await machine.run([0], 5000)
      const vcpu = run.vcpus[0]
      if (vcpu.exit !== segment.stop) throw new Error(`probe stopped with ${vcpu.exit} in ${segment.id}`)
      const c = vcpu.countPort
      if (c.exits > 1) pioExitNs = (c.lastNs - c.firstNs) / (c.exits - 1)
    }
    if (machine.checkPattern().bad > 0) throw new Error('probe memory pattern not transformed')
  } finally {
    machine.close()
  }
  return {lifeNs: Number(process.hrtime.bigint() - t0), pioExitNs}
}
