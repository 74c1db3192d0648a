// The one loader of the native addon. It tries each place node-gyp may have put the binary and,
// when none loads, fails naming every path tried and why, so a broken install is easy to diagnose.
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {OperationError} from './lib/errors.js'

export type StepResult = 'ok' | string

/** What really opening the KVM device gave; each step "ok" or an errno name. */
export interface KvmProbe {
  open: StepResult
  apiVersion?: number
  apiVersionError?: string
  createVm?: StepResult
  vcpu?: StepResult
}

/** One CPUID leaf's output registers, unsigned. */
export interface CpuidRegisters {
  eax: number
  ebx: number
  ecx: number
  edx: number
}

/** Raw CPUID bits, read with the instruction itself rather than from /proc/cpuinfo. */
export interface CpuidBits {
  vendor: string
  vmx: boolean
  svm: boolean
  hypervisor: boolean
  /** Leaf 0x8000001F (AMD memory encryption), raw; null without the leaf; absent when not recorded. */
  memEncrypt?: CpuidRegisters | null
  /** Leaf 0x21 carries the "IntelTDX" signature: this host is itself a TDX guest. */
  tdxGuest?: boolean
}

/** The confidential VM types KVM offers (KVM_CAP_VM_TYPES), each tried with KVM_CREATE_VM. */
export interface VmTypesProbe {
  open: StepResult
  apiVersionError?: string
  /** The capability's bitmask (bit n: VM type n), or the errno name of KVM_CHECK_EXTENSION. */
  vmTypes?: number | string
  /** Confidential type number ("2" SEV ... "5" TDX) to "ok" or the errno name of KVM_CREATE_VM. */
  created?: Record<string, StepResult>
}

/** Guest RAM backing: anonymous pages, MAP_HUGETLB, or a file on a hugetlbfs mount. */
export type MemoryBacking = 'anonymous' | 'hugetlb' | 'hugetlbfs'

export interface CreateVmOptions {
  device: string
  memSize: number
  backing: MemoryBacking
  /** A hugetlbfs mount, for backing "hugetlbfs". */
  hugetlbfsDir?: string
}

/** One KVM_GET_SUPPORTED_CPUID entry (what createVcpus() hands to KVM_SET_CPUID2). */
export interface CpuidEntry {
  function: number
  index: number
  eax: number
  ebx: number
  ecx: number
  edx: number
}

/** One exit the probe bus logged; times in ns since the start of the run. */
export interface BusEvent {
  t: number
  kind: 'mark' | 'report' | 'io' | 'mmio'
  /** Port or guest physical address; the key of a report. */
  address: number
  /** The value written or returned; the mark code; the report value. */
  value: number
  size: number
  count: number
  write: boolean
}

/** How a vCPU's run ended: a KVM exit, "yield" (the guest's stop port), or "timeout" (watchdog). */
export type VcpuStop =
  | 'hlt'
  | 'yield'
  | 'timeout'
  | 'shutdown'
  | 'fail-entry'
  | 'internal-error'
  | 'system-event'
  | 'mmio'
  | 'io'
  | 'interrupted'
  | 'other'

export interface VcpuRun {
  index: number
  exit: VcpuStop
  exitReason: number
  exitDetail: number
  exits: number
  firstExitNs: number
  endNs: number
  events: BusEvent[]
  /** OUTs to the COUNT port: only counted, first and last timestamps kept. */
  countPort: {exits: number; firstNs: number; lastNs: number}
  stringOut: Buffer
}

export interface RunResult {
  wallNs: number
  vcpus: VcpuRun[]
}

/** A live VM of the built-in VMM. Methods throw Errors with .syscall and .code on ioctl failures. */
export interface NativeVm {
  readonly timings: {openNs: number; createVmNs: number; memoryNs: number}
  readonly apiVersion: number
  createVcpus(count: number, entry: number): {vcpusNs: number; cpuid: CpuidEntry[]}
  write(gpa: number, bytes: Uint8Array): void
  read(gpa: number, length: number): Buffer
  fillPattern(gpa: number, qwords: number, seed: bigint): void
  checkPattern(gpa: number, qwords: number, seed: bigint): {bad: number; firstBad: number}
  /** Runs the given vCPUs on their own threads until each stops; the watchdog ends it at timeoutMs. */
  run(options: {vcpus: number[]; timeoutMs: number}): Promise<RunResult>
  /** Tears the VM down; returns the ns it took. */
  close(): number
}

/** Why readTextFile gave no text. */
export type NativeReadRefusal =
  | {code: string}
  | {readCode: string}
  | {notFile: 'folder' | 'other'}
  | {tooLarge: true}
  | {gzip: true}
  | {nul: true}
  | {tooManyLines: true}

export interface NativeBinding {
  probeKvm(path?: string): KvmProbe
  cpuid(): CpuidBits | null
  probeVmTypes(path?: string): VmTypesProbe
  /** The kernel log as dmesg prints it (native/host_read.h); throws with .code when it cannot open path. */
  readKernelLog(path?: string): string
  /** The same formatting of raw /dev/kmsg records joined by NUL (for tests against src/host/kmsg.ts). */
  formatKernelLog(records: string): string
  /** gzip data decompressed; throws (.code Z_DATA_ERROR or ERR_BUFFER_TOO_LARGE) past maxBytes or on bad data. */
  gunzip(data: Buffer, maxBytes: number): Buffer
  /** A file's text as readCapped reads it, in one call (native/host_read.h), or why not. */
  readTextFile(path: string, capBytes: number, capLines: number, gz: boolean): string | NativeReadRefusal
  createVm(options: CreateVmOptions): NativeVm
  /** The numbers of native/guest/probe_abi.h (ports, marks, report keys, layout). */
  probeAbi: Record<string, number>
}

// This file runs from src/ (tests), dist/ or a bundle chunk in dist/chunks/: find the package
// root as the nearest folder up that holds binding.gyp.
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const up = dirname(dir)
    if (up === dir) return join(dirname(fileURLToPath(import.meta.url)), '..')
    dir = up
  }
  return dir
}

const packageRoot = findPackageRoot()
const candidates = ['build/Release/kvmctl_native.node', 'build/Debug/kvmctl_native.node']

let cached: NativeBinding | undefined
let loadedFrom: string | undefined

// An install problem, not a bug: one line naming each path tried and the fix, exit 1.
export class NativeLoadError extends OperationError {
  constructor(readonly tried: string[]) {
    super(
      `the native addon is not built (tried ${tried.join('; ')}); ` +
        'run `npm rebuild kvmctl` or `npx node-gyp rebuild` in the package folder (needs g++, make, python3)',
    )
  }
}

/**
 * The addon, or undefined when it is not built: for readers that have a TypeScript way of their
 * own (the kernel log, gunzip, file reads). Asked once per file read, so a failed load is kept.
 */
export function nativeIfBuilt(): NativeBinding | undefined {
  if (cached || notBuilt) return cached
  try {
    return loadNative()
  } catch {
    notBuilt = true
    return undefined
  }
}

let notBuilt = false

export function loadNative(): NativeBinding {
  if (cached) return cached
  const require = createRequire(import.meta.url)
  const tried: string[] = []
  for (const rel of candidates) {
    const file = join(packageRoot, rel)
    try {
      cached = require(file) as NativeBinding
      loadedFrom = dirname(file)
      return cached
    } catch (error) {
      tried.push(`${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
  }
  throw new NativeLoadError(tried)
}

/** A file built next to the addon (e.g. "probe.bin", the assembled probe guest). */
export function nativeArtifact(name: string): string {
  loadNative()
  return join(loadedFrom as string, name)
}
