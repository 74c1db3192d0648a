// `kvmctl selftest`: boots the probe guest on the built-in VMM, runs its segments one by one and
// judges each stage as soon as its segments have run, so a renderer can show them live.
import {gatherFacts, readHugepagePools, type HugepagePool} from '../host/facts.js'
import {Host} from '../host/host.js'
import {isPoolProblem, planSelftestPool, type SelftestPoolPlan} from '../plan/selftest-hugepages.js'
import {OperationError} from '../lib/errors.js'
import {loadNative, type MemoryBacking, type RunResult} from '../native.js'
import {formatBytes} from '../lib/size.js'
import {type DevKvmAdvisor, explainDeviceFailure} from './device-remedy.js'
import {probeAbi, ProbeMachine} from './probe-machine.js'
import {
  describeStop,
  SEGMENTS,
  STAGES,
  type SegmentId,
  type SelftestCosts,
  type StageResult,
  type StageVerdict,
} from './stages.js'
import {judgeVmTypes, VM_TYPES_STAGE} from './vm-types.js'

export interface SelftestOptions {
  device: string
  vcpus: number
  memBytes: number
  hugepages: boolean
  /** Watchdog bound of each guest run (one segment), in ms. */
  timeoutMs: number
  /** PROBE_VARIANT_* other than the stages: the fault guests, for tests. */
  variant?: number
}

export interface SelftestPhases {
  openNs: number
  createVmNs: number
  /** Guest RAM mapped and registered. */
  memoryNs: number
  /** Probe image, parameters and memory pattern written. */
  loadNs: number
  vcpusNs: number
  /** From the first KVM_RUN to the guest's first exit. */
  firstExitNs: number
  teardownNs: number
  /** The whole selftest, open to teardown and the checks after it. */
  totalNs: number
}

/** `kvmctl selftest --json`, pinned by schemas/selftest.schema.json. Times are in ns. */
export interface SelftestReport {
  /** Version of this shape: renames and removals bump it, added fields do not. */
  schema: 2
  /** No stage failed (a warn is not a failure). */
  ok: boolean
  device: string
  vcpus: number
  memBytes: number
  backing: MemoryBacking
  /** The platform's costs from stage h; null when h did not run or could not measure. */
  costs: SelftestCosts | null
  /** Stages a..i, always all of them, in this order. */
  stages: StageResult[]
  phases: SelftestPhases
}

export interface SelftestEvents {
  /** The VM is up (the device opened, RAM and vCPUs created): the stages follow. */
  onBooted?(options: SelftestOptions, backing: MemoryBacking): void
  /** A stage is being worked on (its segments are running). */
  onStageStart?(stage: {id: string; title: string}): void
  onStage?(result: StageResult): void
}

/** /dev/kvm missing, not accessible, or not KVM: one line with the remedy. */
export class KvmDeviceError extends OperationError {}

const HUGEPAGES = {id: 'g', title: 'hugepages'}

interface HugepagePlan {
  need: number
  pool?: SelftestPoolPlan
  during?: HugepagePool
  /** Set when the pool cannot back the guest: the stage fails, the VM runs on plain memory. */
  problem?: StageVerdict
}

/** What the selftest needs from the layers around it. */
export interface SelftestDeps {
  /** Where hugepage pools are read: the live host (never KVMCTL_ROOT: the guest runs here) unless a test gives one. */
  host?: Host
  /** `kvmctl check`'s /dev/kvm advice, for a device that does not open. */
  adviseDevKvm?: DevKvmAdvisor
}

export async function runSelftest(
  options: SelftestOptions,
  events: SelftestEvents = {},
  deps: SelftestDeps = {},
): Promise<SelftestReport> {
  const host = deps.host ?? (options.hugepages ? await Host.openLive() : undefined)
  const t0 = process.hrtime.bigint()
  const order = [...STAGES.slice(0, 6), HUGEPAGES, STAGES[6], VM_TYPES_STAGE]
  const results: StageResult[] = []
  const emit = (result: StageResult) => {
    results.push(result)
    events.onStage?.(result)
  }

  const huge = options.hugepages && host ? await planHugepages(options, host) : undefined
  const backing: MemoryBacking = huge?.pool?.backing ?? 'anonymous'
  const machine = await bootOrExplain(options, backing, huge?.pool?.dir, deps.adviseDevKvm).catch((error: unknown) => {
    // --json reports how long the work ran before it stopped: `npm run bench` tells it from start-up.
    if (error instanceof OperationError) error.totalNs = Number(process.hrtime.bigint() - t0)
    throw error
  })
  events.onBooted?.(options, backing)
  if (huge?.pool && host) huge.during = await poolNow(host, huge.pool)

  const abi = probeAbi()
  const runs = new Map<SegmentId, RunResult>()
  const segmentNs = new Map<SegmentId, number>()
  let stopped: {segment: SegmentId; detail: string} | undefined
  let next = 0
  let announced = -1
  let hugepagesResult: StageResult | undefined // judged after teardown
  let vmTypesResult: StageResult | undefined // tried after teardown, on VMs of its own
  let costs: SelftestCosts | null = null

  // Judges, in order, every stage whose segments have all run (or can no longer run).
  const emitReady = (final: boolean) => {
    while (next < order.length) {
      const spec = order[next]
      if (spec === VM_TYPES_STAGE) {
        if (!vmTypesResult) return
        emit(vmTypesResult)
        next++
        continue
      }
      if (spec === HUGEPAGES) {
        if (!options.hugepages) {
          emit(
            stageResult(
              HUGEPAGES,
              {status: 'skip', detail: 'not asked: --hugepages backs guest RAM with reserved hugepages and checks it'},
              0,
            ),
          )
        } else if (hugepagesResult) {
          emit(hugepagesResult)
        } else {
          return
        }
        next++
        continue
      }
      const stage = STAGES.find((s) => s.id === spec.id)!
      const ns = stage.segments.reduce((sum, seg) => sum + (segmentNs.get(seg) ?? 0), 0)
      if (stopped && stage.segments.includes(stopped.segment)) {
        emit(stageResult(stage, {status: 'fail', detail: stopped.detail}, ns))
      } else if (stage.segments.every((seg) => runs.has(seg))) {
        const t = process.hrtime.bigint()
        const {costs: measured, ...verdict} = judgeSafely(() => stage.judge({machine, abi, runs}))
        if (measured) costs = measured
        emit(stageResult(stage, verdict, ns + Number(process.hrtime.bigint() - t)))
      } else if (stopped || final) {
        emit(
          stageResult(
            stage,
            {status: 'skip', detail: `not run: the guest stopped in ${stopped?.segment ?? 'an earlier stage'}`},
            0,
          ),
        )
      } else {
        return
      }
      next++
    }
  }

  let teardownNs = 0
  try {
    for (const segment of SEGMENTS) {
      if (next !== announced && next < order.length) {
        announced = next
        events.onStageStart?.(order[next])
      }
      const vcpus = segment.allVcpus ? [...Array(options.vcpus).keys()] : [0]
      try {
        const run = await machine.run(vcpus, options.timeoutMs)
        segmentNs.set(segment.id, run.wallNs)
        const bad = run.vcpus.find((v) => v.exit !== segment.stop)
        if (bad) stopped = {segment: segment.id, detail: describeStop(bad)}
        else runs.set(segment.id, run)
      } catch (error) {
        stopped = {segment: segment.id, detail: `KVM_RUN failed: ${(error as Error).message}`}
      }
      emitReady(false)
      if (stopped) break
    }
  } finally {
    teardownNs = machine.close()
  }

  if (huge) {
    const after = huge.pool && host ? await poolNow(host, huge.pool) : undefined
    hugepagesResult = stageResult(HUGEPAGES, judgeHugepages(huge, after), Number(process.hrtime.bigint() - t0))
  }
  const tTypes = process.hrtime.bigint()
  const typesVerdict = judgeSafely(() => judgeVmTypes(loadNative().probeVmTypes(options.device), options.device))
  vmTypesResult = stageResult(VM_TYPES_STAGE, typesVerdict, Number(process.hrtime.bigint() - tTypes))
  emitReady(true)

  const ladder = runs.get('ladder')
  return {
    schema: 2,
    ok: results.every((r) => r.status !== 'fail'),
    device: options.device,
    vcpus: options.vcpus,
    memBytes: options.memBytes,
    backing,
    costs,
    stages: results,
    phases: {
      ...pick(machine.phases),
      firstExitNs: ladder?.vcpus[0].firstExitNs ?? 0,
      teardownNs,
      totalNs: Number(process.hrtime.bigint() - t0),
    },
  }
}

/** A stage's result with its keys in the documented order. */
function stageResult(
  stage: {id: string; title: string},
  verdict: Omit<StageVerdict, 'costs'>,
  ns: number,
): StageResult {
  const {status, detail, remedy, data} = verdict
  return {id: stage.id, title: stage.title, status, detail, ns, ...(remedy ? {remedy} : {}), ...(data ? {data} : {})}
}

function pick(p: ProbeMachine['phases']) {
  return {openNs: p.openNs, createVmNs: p.createVmNs, memoryNs: p.memoryNs, loadNs: p.loadNs, vcpusNs: p.vcpusNs}
}

/** A judge that throws becomes a failed stage, not a crash of the command. */
function judgeSafely(judge: () => StageVerdict): StageVerdict {
  try {
    return judge()
  } catch (error) {
    return {status: 'fail', detail: `could not judge the stage: ${(error as Error).message}`}
  }
}

async function bootOrExplain(
  options: SelftestOptions,
  backing: MemoryBacking,
  hugetlbfsDir: string | undefined,
  advise: DevKvmAdvisor | undefined,
): Promise<ProbeMachine> {
  try {
    const {device, vcpus, memBytes, variant} = options
    return ProbeMachine.boot({device, vcpus, memBytes, backing, variant, ...(hugetlbfsDir ? {hugetlbfsDir} : {})})
  } catch (error) {
    const e = error as Error & {syscall?: string; code?: string}
    if (e.syscall?.startsWith('open(') || e.syscall === 'ioctl(KVM_GET_API_VERSION)') {
      throw new KvmDeviceError(await explainDeviceFailure(options.device, {syscall: e.syscall, code: e.code}, advise))
    }
    throw new OperationError(`could not set up the probe VM: ${e.message}`)
  }
}

/** The pool the guest uses, read again (its free count moves while the guest runs). */
async function poolNow(host: Host, pool: SelftestPoolPlan): Promise<HugepagePool | undefined> {
  return (await readHugepagePools(host)).find((p) => p.sizeKb === pool.sizeKb)
}

async function planHugepages(options: SelftestOptions, host: Host): Promise<HugepagePlan> {
  const pool = planSelftestPool(await gatherFacts(host), options.memBytes)
  if (isPoolProblem(pool)) {
    const detail = `${pool.detail}; ran on plain memory instead`
    return {need: 0, problem: {status: 'fail', detail, ...(pool.remedy ? {remedy: pool.remedy} : {})}}
  }
  return {need: pool.need, pool}
}

function judgeHugepages(plan: HugepagePlan, after: HugepagePool | undefined): StageVerdict {
  if (plan.problem) return plan.problem
  const {pool, during, need} = plan
  const before = pool ? {free: pool.freeBefore} : undefined
  const size = pool ? formatBytes(pool.sizeKb * 1024) : ''
  const data = {need, freeBefore: before?.free, freeDuring: during?.free, freeAfter: after?.free}
  if (!before || !during || !after)
    return {status: 'fail', detail: 'could not read the hugepage pool around the run', data}
  const dropped = before.free - during.free
  if (dropped !== need) {
    return {
      status: 'fail',
      detail: `free ${size} hugepages dropped by ${dropped} while the guest ran, want ${need}: guest RAM is not on hugepages`,
      data,
    }
  }
  if (after.free !== before.free) {
    return {
      status: 'fail',
      detail: `free ${size} hugepages are ${after.free} after teardown, was ${before.free}: pages were not given back`,
      data,
    }
  }
  return {
    status: 'pass',
    detail: `guest RAM on ${need} hugepages of ${size}${pool?.dir ? ` (hugetlbfs ${pool.dir})` : ''}: free ${before.free} → ${during.free} while running → ${after.free} after`,
    data,
  }
}
