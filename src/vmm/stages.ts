// The selftest's stage table: which guest segments each stage needs and how their port traffic
// is judged. The guest (native/guest/probe.S) runs its segments in SEGMENTS order and stops after
// each; a stage is judged once all of its segments have run.
import type {CpuidEntry, RunResult, VcpuRun} from '../native.js'
import type {Remedy} from '../lib/remedy.js'
import {formatBytes} from '../lib/size.js'
import type {Status} from '../lib/status.js'
import type {ProbeMachine} from './probe-machine.js'

export type SegmentId = 'ladder' | 'pio' | 'mmio' | 'cpl0-loop' | 'memory' | 'cpuid' | 'smp' | 'cpl3-costs'

export interface Segment {
  id: SegmentId
  /** How the guest ends the segment: HLT in supervisor mode, the YIELD port in user mode. */
  stop: 'hlt' | 'yield'
  /** SMP runs every vCPU (the others start there); the rest run vCPU 0 only. */
  allVcpus?: boolean
}

export const SEGMENTS: Segment[] = [
  {id: 'ladder', stop: 'hlt'},
  {id: 'pio', stop: 'hlt'},
  {id: 'mmio', stop: 'hlt'},
  {id: 'cpl0-loop', stop: 'hlt'},
  {id: 'memory', stop: 'yield'},
  {id: 'cpuid', stop: 'yield'},
  {id: 'smp', stop: 'yield', allVcpus: true},
  {id: 'cpl3-costs', stop: 'yield'},
]

export interface StageResult {
  id: string
  /** What the stage checks, in a few words (the same role as a check's title). */
  title: string
  status: Status
  detail: string
  /** Time the stage took in ns (guest run time of its segments, host checks included). */
  ns: number
  /** What fixes a failure, as a check's remedy: the kvmctl command first, then the steps by hand. */
  remedy?: Remedy
  /** The stage's own measurements (see the README for each stage's keys). */
  data?: Record<string, unknown>
}

/** How supervisor (CPL0) guest code runs here: natively, or emulated by the host (PVM). */
export type Execution = 'hardware-assisted' | 'emulated'

/** Stage h's figures: the platform's costs, reported once at the top of the selftest report. */
export interface SelftestCosts {
  /** Mean round trip of one port-I/O exit, guest to VMM and back, in ns. */
  pioExitNs: number
  /** Port-I/O exits counted; the mean spans the first to the last. */
  pioExits: number
  /** One iteration of the fixed loop in supervisor mode (CPL0), in ns. */
  cpl0NsPerIteration: number
  /** The same loop in user mode (CPL3), in ns. */
  cpl3NsPerIteration: number
  execution: Execution
}

/** A stage's judgement; stage h also hands over its costs, which the report lifts to the top. */
export type StageVerdict = Omit<StageResult, 'id' | 'title' | 'ns'> & {costs?: SelftestCosts}

export interface StageContext {
  machine: ProbeMachine
  abi: Record<string, number>
  runs: Map<SegmentId, RunResult>
}

export interface StageSpec {
  id: string
  title: string
  segments: SegmentId[]
  judge(ctx: StageContext): StageVerdict
}

/** Every report of a vCPU run, key -> value (the last one wins). */
export function reportsOf(run: VcpuRun): Map<number, number> {
  return new Map(run.events.filter((e) => e.kind === 'report').map((e) => [e.address, e.value]))
}

/** Time of the first mark with this code. */
export function markTime(run: VcpuRun, code: number): number | undefined {
  return run.events.find((e) => e.kind === 'mark' && e.value === code)?.t
}

const hex = (n: number) => '0x' + (n >>> 0).toString(16)
const vcpu0 = (ctx: StageContext, seg: SegmentId) => ctx.runs.get(seg)!.vcpus[0]

function ladder(ctx: StageContext): StageVerdict {
  const {abi} = ctx
  const run = vcpu0(ctx, 'ladder')
  const seen = run.events.filter((e) => e.kind === 'mark').map((e) => e.value)
  const want = [abi.MARK_REAL, abi.MARK_PROTECTED, abi.MARK_LONG]
  const names = ['real', 'protected', 'long']
  const reached = want.filter((code, i) => seen[i] === code).length
  if (reached < 3) {
    return {
      status: 'fail',
      detail: `the guest reached ${names.slice(0, reached).join(' → ') || 'nothing'}; ${names[reached]} mode never reported`,
    }
  }
  const longNs = markTime(run, abi.MARK_LONG)! - markTime(run, abi.MARK_REAL)!
  return {status: 'pass', detail: `real → protected → long mode with paging in ${formatNs(longNs)}`}
}

function pio(ctx: StageContext): StageVerdict {
  const {abi} = ctx
  const run = vcpu0(ctx, 'pio')
  const r = reportsOf(run)
  const problems: string[] = []
  const echo = [
    {size: 1, key: abi.REPORT_ECHO1, sent: 0x5a},
    {size: 2, key: abi.REPORT_ECHO2, sent: 0x1234},
    {size: 4, key: abi.REPORT_ECHO4, sent: 0xdeadbeef},
  ]
  for (const {size, key, sent} of echo) {
    const want = ~sent & (size === 4 ? 0xffffffff : (1 << (size * 8)) - 1)
    const got = r.get(key)
    if (got !== want >>> 0)
      problems.push(`${size}-byte in returned ${got === undefined ? 'nothing' : hex(got)}, want ${hex(want)}`)
  }
  const text = 'kvmctl string io'
  if (run.stringOut.toString('latin1') !== text)
    problems.push(`rep outsb delivered ${JSON.stringify(run.stringOut.toString('latin1'))}`)
  if (r.get(abi.REPORT_STRING_MATCH) !== text.length)
    problems.push(`rep insb: ${r.get(abi.REPORT_STRING_MATCH) ?? 0}/${text.length} bytes back`)
  if (problems.length > 0) return {status: 'fail', detail: problems.join('; ')}
  const ioExits = run.events.filter((e) => e.kind === 'io').length
  return {
    status: 'pass',
    detail: `out/in of 1, 2 and 4 bytes, ${text.length}-byte rep outsb/insb (${ioExits} I/O exits)`,
  }
}

function mmio(ctx: StageContext): StageVerdict {
  const {abi} = ctx
  const run = vcpu0(ctx, 'mmio')
  const accesses = run.events.filter((e) => e.kind === 'mmio')
  const write = accesses.find((e) => e.write && e.address === abi.PROBE_MMIO_ADDR)
  const read = accesses.find((e) => !e.write && e.address === abi.PROBE_MMIO_ADDR + 4)
  const got = reportsOf(run).get(abi.REPORT_MMIO_READ)
  const want = ~0xcafef00d >>> 0
  if (!write || write.value !== 0xcafef00d)
    return {status: 'fail', detail: `no 4-byte MMIO write exit at ${hex(abi.PROBE_MMIO_ADDR)}`}
  if (!read) return {status: 'fail', detail: `no MMIO read exit at ${hex(abi.PROBE_MMIO_ADDR + 4)}`}
  if (got !== want)
    return {status: 'fail', detail: `the guest read ${got === undefined ? 'nothing' : hex(got)}, want ${hex(want)}`}
  return {
    status: 'pass',
    detail: `write and read at unmapped ${hex(abi.PROBE_MMIO_ADDR)} exit to the VMM; the value read reached the guest`,
  }
}

function memory(ctx: StageContext): StageVerdict {
  const {abi, machine} = ctx
  const r = reportsOf(vcpu0(ctx, 'memory'))
  const checked = r.get(abi.REPORT_MEM_CHECKED) ?? 0
  const guestBad = r.get(abi.REPORT_MEM_BAD)
  const host = machine.checkPattern()
  const bytes = machine.patternQwords * 8
  const data = {bytes, seed: '0x' + machine.config.seed.toString(16), guestBad, hostBad: host.bad}
  if (checked !== machine.patternQwords >>> 0 || guestBad === undefined) {
    return {status: 'fail', detail: `the guest checked ${checked} of ${machine.patternQwords} words`, data}
  }
  if (guestBad > 0) {
    return {
      status: 'fail',
      detail: `the guest found ${guestBad} words differing from the host's pattern (first at ${hex(abi.PROBE_PATTERN_ADDR + (r.get(abi.REPORT_MEM_FIRST_BAD) ?? 0) * 8)})`,
      data,
    }
  }
  if (host.bad > 0) {
    return {
      status: 'fail',
      detail: `the host found ${host.bad} words the guest did not transform (first at ${hex(abi.PROBE_PATTERN_ADDR + host.firstBad * 8)})`,
      data,
    }
  }
  return {
    status: 'pass',
    detail: `${formatBytes(bytes)} seeded pattern verified by the guest, its transform verified by the host`,
    data,
  }
}

interface CpuidView {
  vendor: string
  hypervisor: boolean
  vmx: boolean
  svm: boolean
  leaf1Ecx: number
}

function vendorOf(ebx: number, ecx: number, edx: number): string {
  const b = Buffer.alloc(12)
  b.writeUInt32LE(ebx >>> 0, 0)
  b.writeUInt32LE(edx >>> 0, 4)
  b.writeUInt32LE(ecx >>> 0, 8)
  return b.toString('latin1').replace(/\0/g, '')
}

function viewOfTable(table: CpuidEntry[]): CpuidView {
  const leaf = (fn: number) => table.find((e) => e.function === fn && e.index === 0)
  const l0 = leaf(0)
  const l1 = leaf(1)
  const ext1 = leaf(0x80000001)
  return {
    vendor: l0 ? vendorOf(l0.ebx, l0.ecx, l0.edx) : '',
    hypervisor: Boolean(l1 && l1.ecx & (1 << 31)),
    vmx: Boolean(l1 && l1.ecx & (1 << 5)),
    svm: Boolean(ext1 && ext1.ecx & (1 << 2)),
    leaf1Ecx: (l1?.ecx ?? 0) >>> 0,
  }
}

function cpuid(ctx: StageContext): StageVerdict {
  const {abi} = ctx
  const r = reportsOf(vcpu0(ctx, 'cpuid'))
  const get = (k: number) => r.get(k) ?? 0
  const extMax = get(abi.REPORT_CPUID_EXT_MAX)
  const leaf1Ecx = get(abi.REPORT_CPUID1_ECX)
  const seen: CpuidView & {hypervisorSignature: string} = {
    vendor: vendorOf(get(abi.REPORT_CPUID0_EBX), get(abi.REPORT_CPUID0_ECX), get(abi.REPORT_CPUID0_EDX)),
    hypervisor: Boolean(leaf1Ecx & (1 << 31)),
    vmx: Boolean(leaf1Ecx & (1 << 5)),
    svm: extMax >= 0x80000001 && Boolean(get(abi.REPORT_CPUID_EXT1_ECX) & (1 << 2)),
    leaf1Ecx,
    // leaf 0x40000000 spells its signature in EBX, ECX, EDX order (leaf 0 uses EBX, EDX, ECX)
    hypervisorSignature: vendorOf(
      get(abi.REPORT_CPUID_HV_EBX),
      get(abi.REPORT_CPUID_HV_EDX),
      get(abi.REPORT_CPUID_HV_ECX),
    ),
  }
  const set = viewOfTable(ctx.machine.cpuidSet)
  // OSXSAVE (bit 27) follows the guest's CR4, so it may differ from the table legitimately.
  const dynamic = ~(1 << 27) >>> 0
  const applied = (seen.leaf1Ecx & dynamic) >>> 0 === (set.leaf1Ecx & dynamic) >>> 0 && seen.vendor === set.vendor
  const nested = seen.vmx || seen.svm
  const data = {set, seen, applied, nestedVisible: nested}
  if (!seen.vendor) return {status: 'fail', detail: 'the guest reported no CPUID vendor', data}
  const view = `guest sees ${seen.vendor}, hypervisor bit ${seen.hypervisor ? 'on' : 'off'}${seen.hypervisorSignature ? ` (${seen.hypervisorSignature})` : ''}, ${nested ? `${seen.vmx ? 'VMX' : 'SVM'} visible: nested virtualization available to guests` : 'no VMX/SVM: no nested virtualization for guests'}`
  if (!applied) {
    return {
      status: 'warn',
      detail: `${view}; KVM_SET_CPUID2 was accepted but the guest sees the host's CPUID (leaf 1 ECX ${hex(seen.leaf1Ecx)}, set ${hex(set.leaf1Ecx)}): this KVM (e.g. PVM) does not virtualize CPUID`,
      data,
    }
  }
  return {status: 'pass', detail: `${view}; matches the table set with KVM_SET_CPUID2`, data}
}

function smp(ctx: StageContext): StageVerdict {
  const {abi, machine} = ctx
  const run = ctx.runs.get('smp')!
  const n = machine.config.vcpus
  const missing = run.vcpus.filter((v) => reportsOf(v).get(abi.REPORT_SMP_INDEX) !== v.index).map((v) => v.index)
  const counter = machine.counter()
  const want = n * machine.config.smpAdds
  const data = {vcpus: n, counter, expected: want}
  if (missing.length > 0) return {status: 'fail', detail: `vCPU ${missing.join(', ')} did not report its index`, data}
  if (counter !== want)
    return {status: 'fail', detail: `shared counter is ${counter}, want ${want}: locked adds were lost`, data}
  return {
    status: 'pass',
    detail: `${n} vCPU${n === 1 ? '' : 's'} reported their index; ${want} locked adds, none lost`,
    data,
  }
}

/** CPL0 loop slower than this many times the CPL3 loop: supervisor code is emulated. */
export const EMULATED_RATIO = 10

function costs(ctx: StageContext): StageVerdict {
  const {abi, machine} = ctx
  const c0 = vcpu0(ctx, 'cpl0-loop')
  const c3 = vcpu0(ctx, 'cpl3-costs')
  const span = (run: VcpuRun, a: number, b: number) => (markTime(run, b) ?? 0) - (markTime(run, a) ?? 0)
  const cpl0NsPerIteration = span(c0, abi.MARK_LOOP0_BEGIN, abi.MARK_LOOP0_END) / machine.config.cpl0Iters
  const cpl3NsPerIteration = span(c3, abi.MARK_LOOP3_BEGIN, abi.MARK_LOOP3_END) / machine.config.cpl3Iters
  const count = c3.countPort
  const pioExitNs = count.exits > 1 ? (count.lastNs - count.firstNs) / (count.exits - 1) : NaN
  if (!(cpl0NsPerIteration > 0) || !(cpl3NsPerIteration > 0) || Number.isNaN(pioExitNs)) {
    return {
      status: 'fail',
      detail: `the guest did not report its loop marks or PIO exits (${count.exits} counted exits)`,
    }
  }
  const ratio = cpl0NsPerIteration / cpl3NsPerIteration
  const execution: Execution = ratio > EMULATED_RATIO ? 'emulated' : 'hardware-assisted'
  const speed =
    execution === 'emulated'
      ? `supervisor (CPL0) code is emulated, ${Math.round(ratio)}x slower than user (CPL3) code that runs natively`
      : 'supervisor (CPL0) and user (CPL3) code both run natively: hardware-assisted'
  return {
    status: 'pass',
    detail: `PIO exit round trip ${formatNs(pioExitNs)}; loop ${formatNs(cpl0NsPerIteration)}/iteration at CPL0, ${formatNs(cpl3NsPerIteration)} at CPL3: ${speed}`,
    costs: {pioExitNs, pioExits: count.exits, cpl0NsPerIteration, cpl3NsPerIteration, execution},
  }
}

/** The guest stages in report order (g, hugepages, is judged by the selftest around the VM). */
export const STAGES: StageSpec[] = [
  {id: 'a', title: 'mode ladder', segments: ['ladder'], judge: ladder},
  {id: 'b', title: 'PIO', segments: ['pio'], judge: pio},
  {id: 'c', title: 'MMIO', segments: ['mmio'], judge: mmio},
  {id: 'd', title: 'memory', segments: ['memory'], judge: memory},
  {id: 'e', title: 'CPUID', segments: ['cpuid'], judge: cpuid},
  {id: 'f', title: 'SMP', segments: ['smp'], judge: smp},
  {id: 'h', title: 'costs', segments: ['cpl0-loop', 'cpl3-costs'], judge: costs},
]

/** What a stop other than the expected one means, in words. */
export function describeStop(run: VcpuRun): string {
  switch (run.exit) {
    case 'timeout':
      return `vCPU ${run.index} did not stop before the timeout (the watchdog ended it)`
    case 'shutdown':
      return `vCPU ${run.index} triple-faulted (KVM_EXIT_SHUTDOWN)`
    case 'fail-entry':
      return `KVM could not enter vCPU ${run.index} (KVM_EXIT_FAIL_ENTRY, hardware reason ${hex(run.exitDetail)})`
    case 'internal-error':
      return `KVM hit an internal error on vCPU ${run.index} (suberror ${run.exitDetail})`
    default:
      return `vCPU ${run.index} stopped with ${run.exit} (exit reason ${run.exitReason})`
  }
}

export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a'
  if (ns >= 1e6) return `${+(ns / 1e6).toFixed(1)} ms`
  if (ns >= 1e3) return `${+(ns / 1e3).toFixed(1)} µs`
  return `${+ns.toFixed(2)} ns`
}
