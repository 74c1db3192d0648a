// One probe VM on the built-in VMM: guest RAM, the assembled probe image and its parameters
// loaded, vCPUs created in real mode at the image's entry. Stage policy lives in stages.ts.
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'

import {
  loadNative,
  nativeArtifact,
  type CpuidEntry,
  type MemoryBacking,
  type NativeVm,
  type RunResult,
} from '../native.js'

export interface ProbeConfig {
  device: string
  vcpus: number
  memBytes: number
  backing: MemoryBacking
  hugetlbfsDir?: string
  /** PROBE_VARIANT_*: the stages, or one of the fault guests the tests use. */
  variant?: number
  cpl0Iters?: number
  cpl3Iters?: number
  pioIters?: number
  smpAdds?: number
  /** xorshift64 seed of the memory pattern; random when not given. */
  seed?: bigint
}

/** Loop sizes: small enough that emulated supervisor code (about 1M instructions/s) stays quick. */
export const PROBE_WORK = {cpl0Iters: 5000, cpl3Iters: 1_000_000, pioIters: 500, smpAdds: 10_000}

/** A ProbeConfig with every default filled in. */
export type ResolvedProbeConfig = ProbeConfig & typeof PROBE_WORK & {variant: number; seed: bigint}

export interface BootPhases {
  openNs: number
  createVmNs: number
  memoryNs: number
  loadNs: number
  vcpusNs: number
}

export function probeAbi(): Record<string, number> {
  return loadNative().probeAbi
}

let image: Buffer | undefined
/** The probe guest as native/guest/build.sh assembled it next to the addon. */
export function probeImage(): Buffer {
  image ??= readFileSync(nativeArtifact('probe.bin'))
  return image
}

function randomSeed(): bigint {
  const seed = randomBytes(8).readBigUInt64LE()
  return seed === 0n ? 1n : seed
}

export class ProbeMachine {
  private constructor(
    readonly vm: NativeVm,
    readonly config: ResolvedProbeConfig,
    readonly phases: BootPhases,
    /** The table given to KVM_SET_CPUID2 (KVM's supported CPUID). */
    readonly cpuidSet: CpuidEntry[],
    readonly patternQwords: number,
  ) {}

  /** Opens the device, creates the VM and its RAM, loads the probe, creates the vCPUs. */
  static boot(config: ProbeConfig): ProbeMachine {
    const abi = probeAbi()
    const full: ResolvedProbeConfig = {
      ...config,
      variant: config.variant ?? abi.PROBE_VARIANT_PROBE,
      cpl0Iters: config.cpl0Iters ?? PROBE_WORK.cpl0Iters,
      cpl3Iters: config.cpl3Iters ?? PROBE_WORK.cpl3Iters,
      pioIters: config.pioIters ?? PROBE_WORK.pioIters,
      smpAdds: config.smpAdds ?? PROBE_WORK.smpAdds,
      seed: config.seed ?? randomSeed(),
    }
    const vm = loadNative().createVm({
      device: full.device,
      memSize: full.memBytes,
      backing: full.backing,
      hugetlbfsDir: config.hugetlbfsDir,
    })
    try {
      const t0 = process.hrtime.bigint()
      const patternQwords = (full.memBytes - abi.PROBE_PATTERN_ADDR) / 8
      vm.write(abi.PROBE_LOAD_ADDR, probeImage())
      vm.write(abi.PROBE_PARAMS_ADDR, encodeParams(abi, full, patternQwords))
      vm.fillPattern(abi.PROBE_PATTERN_ADDR, patternQwords, full.seed)
      const loadNs = Number(process.hrtime.bigint() - t0)
      const {vcpusNs, cpuid} = vm.createVcpus(full.vcpus, abi.PROBE_LOAD_ADDR)
      return new ProbeMachine(vm, full, {...vm.timings, loadNs, vcpusNs}, cpuid, patternQwords)
    } catch (error) {
      vm.close()
      throw error
    }
  }

  /** Runs the given vCPUs to their next stop (HLT or yield); the watchdog bounds it. */
  run(vcpus: number[], timeoutMs: number): Promise<RunResult> {
    return this.vm.run({vcpus, timeoutMs})
  }

  /** The shared counter the vCPUs lock-add to. */
  counter(): number {
    const abi = probeAbi()
    return this.vm.read(abi.PROBE_PARAMS_ADDR + abi.PARAM_COUNTER, 4).readUInt32LE(0)
  }

  /** The host's check of the guest's transform of the pattern. */
  checkPattern(): {bad: number; firstBad: number} {
    return this.vm.checkPattern(probeAbi().PROBE_PATTERN_ADDR, this.patternQwords, this.config.seed)
  }

  close(): number {
    return this.vm.close()
  }
}

function encodeParams(abi: Record<string, number>, c: ResolvedProbeConfig, patternQwords: number): Buffer {
  const p = Buffer.alloc(abi.PROBE_PARAMS_SIZE)
  p.writeUInt32LE(abi.PROBE_MAGIC, abi.PARAM_MAGIC)
  p.writeUInt32LE(c.vcpus, abi.PARAM_VCPUS)
  p.writeUInt32LE(c.variant, abi.PARAM_VARIANT)
  p.writeUInt32LE(c.cpl0Iters, abi.PARAM_CPL0_ITERS)
  p.writeUInt32LE(c.cpl3Iters, abi.PARAM_CPL3_ITERS)
  p.writeUInt32LE(c.pioIters, abi.PARAM_PIO_ITERS)
  p.writeUInt32LE(c.smpAdds, abi.PARAM_SMP_ADDS)
  p.writeBigUInt64LE(c.seed, abi.PARAM_SEED)
  p.writeBigUInt64LE(BigInt(patternQwords), abi.PARAM_PATTERN_QWORDS)
  return p
}
