// Confidential guests (AMD SEV, SEV-ES, SEV-SNP; Intel TDX): the facts gathered beside the others
// (the misc cgroup's ASID capacity, CPU 0's MSRs), the decoding of raw CPUID leaf 0x8000001F and
// the kernel-log messages of every era. What they mean together is derived in confidential-levels.ts.
import {matchLines} from '../lib/required-text.js'
import type {CpuidRegisters} from '../native.js'
import type {Host} from './host.js'
import {readMsrs, type MsrName, type MsrProbe} from './msr.js'
import {MISC_CAPACITY, MSR_DEVICE} from './paths.js'

/** CPUID Fn8000_001F decoded (AMD64 APM vol. 2, 15.34.1 and 7.10.1). */
export interface MemEncryptCpu {
  sme: boolean
  sev: boolean
  sevEs: boolean
  sevSnp: boolean
  /** Page-table bit that marks a page encrypted (EBX[5:0]). */
  cBit: number
  /** Physical address bits lost to encryption (EBX[11:6]). */
  physAddrReduction: number
  /** Encrypted guests the CPU runs at once: the highest SEV ASID (ECX). */
  encryptedGuests: number
  /** Lowest ASID for an SEV guest without ES (EDX); ASIDs below it are SEV-ES/SNP ones. */
  minSevAsid: number
}

export function decodeMemEncrypt(r: CpuidRegisters): MemEncryptCpu {
  const bit = (n: number) => ((r.eax >>> n) & 1) === 1
  return {
    sme: bit(0),
    sev: bit(1),
    sevEs: bit(3),
    sevSnp: bit(4),
    cBit: r.ebx & 0x3f,
    physAddrReduction: (r.ebx >>> 6) & 0x3f,
    encryptedGuests: r.ecx >>> 0,
    minSevAsid: r.edx >>> 0,
  }
}

/** Kernel-log messages about confidential guests, of every era the issue lists. */
export const CONFIDENTIAL_LOG = {
  // 6.9+: one line per level from kvm_amd.
  'kvm-sev': /kvm_amd: SEV (enabled|disabled|unusable) \(ASIDs (\d+) ?- ?(\d+)\)/,
  'kvm-sev-es': /kvm_amd: SEV-ES (enabled|disabled|unusable) \(ASIDs (\d+) ?- ?(\d+)\)/,
  'kvm-sev-snp': /kvm_amd: SEV-SNP (enabled|disabled|unusable) \(ASIDs (\d+) ?- ?(\d+)\)/,
  // Before 6.9.
  'sev-supported': /\bSEV supported: (\d+) ASIDs/,
  'sev-es-supported': /SEV-ES (?:and SEV-SNP )?supported: (\d+) ASIDs/,
  'sev-snp-supported': /SEV-SNP supported: (\d+) ASIDs/,
  // The PSP driver (ccp): firmware left memory encryption off (SYSCFG MemEncryptionModEn).
  'sev-bios-off': /SEV: memory encryption not enabled by BIOS/,
  'sev-api': /\bSEV API:(\d+\.\d+)/,
  'snp-api': /SEV-SNP API:(\d+\.\d+)/,
  'snp-iommu-off': /SNP: IOMMU (?:is )?(?:either )?disabled or configured in passthrough mode/,
  'snp-rmp-unreserved': /RMP table has not been reserved by BIOS/,
  'snp-rmp-failed': /RMP initiali[sz]ation failed/,
  'tdx-bios': /tdx: BIOS enabled: private KeyID range \[(\d+), (\d+)\)/,
  'tdx-initialized': /tdx: module initialized|TDX-Module initialized/,
  'tdx-not-loaded': /tdx: module not loaded/,
  'tdx-hibernation': /tdx: initialization failed: Hibernation support is enabled/,
  'tdx-init-failed': /tdx: (?:TDX module )?initialization failed/,
  'tdx-bios-off': /tdx: not enabled by BIOS/,
  'tme-on': /x86\/tme: enabled by BIOS/,
  'tme-off': /x86\/tme: not enabled by BIOS/,
} as const satisfies Record<string, RegExp>

export type ConfidentialLogId = keyof typeof CONFIDENTIAL_LOG

export interface LogHit {
  /** The line without its timestamp. */
  line: string
  groups: string[]
}

/** The first line matching each pattern. */
export function scanLog<Id extends string>(
  dmesg: string | null,
  patterns: Record<Id, RegExp>,
): Partial<Record<Id, LogHit>> {
  const hits: Partial<Record<Id, LogHit>> = {}
  if (!dmesg) return hits
  for (const [id, re] of Object.entries(patterns) as Array<[Id, RegExp]>) {
    const [first] = matchLines(dmesg, re, 1)
    if (first) hits[id] = {line: withoutTimestamp(first.line), groups: first.match.slice(1)}
  }
  return hits
}

/** A dmesg line without its "[    0.357779] " timestamp. */
export function withoutTimestamp(line: string): string {
  return line.replace(/^\[[^\]]*\]\s*/, '')
}

export interface ConfidentialFacts {
  /** misc.capacity of the root cgroup ("sev 410" -> {sev: 410}); null when absent; undefined when not captured. */
  miscCapacity?: Record<string, number> | null
  /** CPU 0's MSRs; undefined when not recorded. */
  msr?: MsrProbe
}

/** The registers worth reading for each CPU vendor. */
const VENDOR_MSRS: Record<string, MsrName[]> = {
  GenuineIntel: ['featureControl'],
  AuthenticAMD: ['vmCr', 'syscfg'],
  HygonGenuine: ['vmCr', 'syscfg'],
}

export async function gatherConfidential(host: Host): Promise<ConfidentialFacts> {
  const [json, capacity] = await Promise.all([host.facts(), host.read(MISC_CAPACITY)])
  let msr = validMsrProbe(json.msr)
  if (host.live) {
    const names = VENDOR_MSRS[json.cpuid?.vendor ?? ''] ?? []
    msr = names.length > 0 ? readMsrs(names) : undefined
  } else if (!host.covers(MSR_DEVICE)) {
    msr = undefined
  }
  const miscCapacity =
    capacity === undefined ? (host.covers(MISC_CAPACITY) ? null : undefined) : parseMiscCapacity(capacity)
  return {...(miscCapacity === undefined ? {} : {miscCapacity}), ...(msr ? {msr} : {})}
}

/** host.json msr as recorded, or undefined when it is not {device: string, values: {name: string}}. */
function validMsrProbe(value: unknown): MsrProbe | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const {device, values} = value as Record<string, unknown>
  if (typeof device !== 'string' || typeof values !== 'object' || values === null || Array.isArray(values))
    return undefined
  if (!Object.values(values).every((v) => typeof v === 'string')) return undefined
  return {device, values: values as MsrProbe['values']}
}

/** "sev 410\nsev_es 99\n" -> {sev: 410, sev_es: 99}; lines that are not "name number" are skipped. */
export function parseMiscCapacity(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = /^(\w+) (\d+)$/.exec(line.trim())
    if (m) out[m[1]] = Number(m[2])
  }
  return out
}
