// What the facts say about each confidential guest type, derived once: usable, disabled in
// firmware, disabled by a KVM module parameter, blocked by another setting, not offered by the
// CPU, or unknown, with the evidence and the exact cause that picks the fix. Raw CPUID says what
// the CPU offers, the kernel log and the MSRs what firmware allowed, the module parameters, /dev/sev
// and the misc cgroup's ASID capacity what KVM enabled.
import {
  CONFIDENTIAL_LOG,
  decodeMemEncrypt,
  scanLog,
  type ConfidentialLogId,
  type LogHit,
  type MemEncryptCpu,
} from './confidential.js'
import {isUnknown, type HostFacts} from './facts.js'
import {msrBit} from './msr.js'

export type LevelId = 'sev' | 'sev-es' | 'sev-snp' | 'tdx'

/**
 * usable: KVM runs such guests; firmware-disabled: the firmware setup leaves it off;
 * module-disabled: the KVM module's parameter is off; blocked: another setting prevents it;
 * unsupported: the CPU (or platform) does not offer it; unknown: the facts do not tell.
 */
export type LevelState = 'usable' | 'firmware-disabled' | 'module-disabled' | 'blocked' | 'unsupported' | 'unknown'

export interface Level {
  id: LevelId
  state: LevelState
  /** Guests of this kind that can run at once (ASIDs, or TDX private KeyIDs); null when unknown. */
  capacity: number | null
  /** What the state rests on, each short ("kernel log: ...", "CPUID 0x8000001F: ..."). */
  evidence: string[]
  /** For firmware-disabled and blocked: the exact cause, which picks the fix. */
  cause?: LevelCause
}

export type LevelCause =
  | 'memory-encryption-off'
  | 'no-es-asids'
  | 'no-sev-asids'
  | 'rmp-unreserved'
  | 'rmp-failed'
  | 'iommu-passthrough'
  | 'kvm-module-missing'
  | 'tdx-module-not-loaded'
  | 'tdx-hibernation'
  | 'tdx-init-failed'
  | 'tdx-bios-off'
  | 'tdx-param-off'
  | 'param-off'

export const LEVEL_NAMES: Record<LevelId, string> = {sev: 'SEV', 'sev-es': 'SEV-ES', 'sev-snp': 'SEV-SNP', tdx: 'TDX'}

/** The module parameter that switches each level on in KVM. */
export const LEVEL_PARAMS: Record<LevelId, readonly [module: string, param: string]> = {
  sev: ['kvm_amd', 'sev'],
  'sev-es': ['kvm_amd', 'sev_es'],
  'sev-snp': ['kvm_amd', 'sev_snp'],
  tdx: ['kvm_intel', 'tdx'],
}

/** "Y"/"1" on, "N"/"0" off, undefined when absent or another value. */
export function paramOn(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined
  if (/^(Y|1|on)$/i.test(value)) return true
  if (/^(N|0|off)$/i.test(value)) return false
  return undefined
}

/** CPUID 0x8000001F decoded: null when the CPU has no such leaf, undefined when not recorded. */
export function memEncryptCpu(f: HostFacts): MemEncryptCpu | null | undefined {
  const regs = f.host.cpuid?.memEncrypt
  if (regs === null) return null
  // A capture's value is checked where it enters: anything but four 32-bit registers is unknown.
  const valid = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff
  if (typeof regs !== 'object' || !(['eax', 'ebx', 'ecx', 'edx'] as const).every((r) => valid(regs[r])))
    return undefined
  return decodeMemEncrypt(regs)
}

export function cpuVendor(f: HostFacts): 'amd' | 'intel' | undefined {
  const vendor = f.host.cpuid?.vendor ?? f.cpu?.vendor
  if (vendor === 'AuthenticAMD' || vendor === 'HygonGenuine') return 'amd'
  if (vendor === 'GenuineIntel') return 'intel'
  return undefined
}

const span = (hit: LogHit | undefined) => (hit ? Math.max(0, Number(hit.groups[2]) - Number(hit.groups[1]) + 1) : null)

/** Every level, in order: SEV, SEV-ES, SEV-SNP (AMD) and TDX (Intel). */
export function confidentialLevels(f: HostFacts): Level[] {
  const log = scanLog(f.host.dmesg, CONFIDENTIAL_LOG)
  const logKnown = !isUnknown(f, 'dmesg') && f.host.dmesg !== null
  const vendor = cpuVendor(f)
  const sev = sevLevel(f, log, logKnown, vendor)
  return [
    sev,
    sevEsLevel(f, log, logKnown, vendor, sev),
    sevSnpLevel(f, log, logKnown, vendor, sev),
    tdxLevel(f, log, logKnown, vendor),
  ]
}

type Log = Partial<Record<ConfidentialLogId, LogHit>>

function param(f: HostFacts, id: LevelId): {on: boolean | undefined; unknown: boolean; text?: string} {
  const [module, name] = LEVEL_PARAMS[id]
  const value = f.moduleParams[`${module}.${name}`]
  return {
    on: paramOn(value),
    unknown: isUnknown(f, `param:${module}.${name}`),
    ...(value === undefined ? {} : {text: `${module}.${name}=${value}`}),
  }
}

function logEvidence(hit: LogHit | undefined): string[] {
  return hit ? [`kernel log: "${hit.line}"`] : []
}

/** Evidence that firmware left SME/SEV memory encryption off, from the CPU, the MSR and the log. */
function memoryEncryptionOff(f: HostFacts, log: Log, cpu: MemEncryptCpu | null | undefined): string[] {
  const evidence = logEvidence(log['sev-bios-off'])
  // SYSCFG bit 23 (MemEncryptionModEn) is set by firmware; while clear, no SME or SEV.
  if (msrBit(f.confidential?.msr, 'syscfg', 23) === false)
    evidence.push('MSR SYSCFG (0xC0010010) bit 23 MemEncryptionModEn is 0')
  // The kernel clears the sev flag when firmware left memory encryption off.
  if (cpu?.sev && f.cpu && !isUnknown(f, 'cpuinfo') && !f.cpu.flags.includes('sev') && f.cpu.flags.length > 0) {
    evidence.push('CPUID reports SEV but /proc/cpuinfo has no sev flag')
  }
  return evidence
}

function sevLevel(f: HostFacts, log: Log, logKnown: boolean, vendor: string | undefined): Level {
  const base = {id: 'sev' as const, capacity: null}
  if (vendor !== 'amd')
    return {...base, state: vendor === 'intel' || f.arch !== 'x86' ? 'unsupported' : 'unknown', evidence: []}
  const cpu = memEncryptCpu(f)
  const cpuText = cpu
    ? [`CPUID 0x8000001F: SEV${cpu.sev ? '' : ' not'} offered, ${cpu.encryptedGuests} encrypted guests`]
    : []
  if (cpu === null || (cpu && !cpu.sev))
    return {...base, state: 'unsupported', evidence: cpu ? cpuText : ['CPUID has no leaf 0x8000001F']}
  const off = memoryEncryptionOff(f, log, cpu)
  if (off.length > 0) return {...base, state: 'firmware-disabled', cause: 'memory-encryption-off', evidence: off}
  const kvm = log['kvm-sev']
  const p = param(f, 'sev')
  if (kvm?.groups[0] === 'enabled' || (log['sev-supported'] && p.on !== false)) {
    const capacity = kvm ? span(kvm) : Number(log['sev-supported']!.groups[0])
    return {
      ...base,
      state: 'usable',
      capacity,
      evidence: [...logEvidence(kvm ?? log['sev-supported']), ...(p.text ? [p.text] : [])],
    }
  }
  if (p.on === false)
    return {...base, state: 'module-disabled', cause: 'param-off', evidence: [p.text!, ...logEvidence(kvm)]}
  if (kvm?.groups[0] === 'unusable')
    return {...base, state: 'firmware-disabled', cause: 'no-sev-asids', evidence: logEvidence(kvm)}
  if (p.on === true)
    return {
      ...base,
      state: 'usable',
      capacity: f.confidential?.miscCapacity?.sev ?? null,
      evidence: [p.text!, ...cpuText],
    }
  if (!p.unknown && !f.sysModules?.includes('kvm_amd') && !isUnknown(f, 'module:kvm_amd')) {
    return {...base, state: 'blocked', cause: 'kvm-module-missing', evidence: ['kvm_amd is not loaded', ...cpuText]}
  }
  return {...base, state: 'unknown', evidence: [...cpuText, ...(logKnown ? ['the kernel log has no SEV line'] : [])]}
}

/** SEV-ES and SEV-SNP guests use the ASIDs below the firmware's minimum SEV ASID: none when it is 1. */
function noEsAsids(f: HostFacts, cpu: MemEncryptCpu | null | undefined, log: Log): string[] {
  const evidence: string[] = []
  if (cpu && cpu.minSevAsid <= 1)
    evidence.push(`CPUID 0x8000001F: minimum SEV ASID ${cpu.minSevAsid}, so no ASID is left for SEV-ES/SEV-SNP`)
  const kvm = log['kvm-sev-es']
  if (kvm && span(kvm) === 0) evidence.push(`kernel log: "${kvm.line}"`)
  if (f.confidential?.miscCapacity?.sev_es === 0) evidence.push('misc.capacity: sev_es 0')
  return evidence
}

function sevEsLevel(f: HostFacts, log: Log, logKnown: boolean, vendor: string | undefined, sev: Level): Level {
  const base = {id: 'sev-es' as const, capacity: null}
  if (vendor !== 'amd') return {...base, state: sev.state, evidence: []}
  const cpu = memEncryptCpu(f)
  if (cpu === null || (cpu && !cpu.sevEs) || sev.state === 'unsupported')
    return {...base, state: 'unsupported', evidence: cpu ? ['CPUID 0x8000001F: SEV-ES not offered'] : sev.evidence}
  if (sev.state === 'firmware-disabled')
    return {...base, state: 'firmware-disabled', cause: sev.cause, evidence: sev.evidence}
  const kvm = log['kvm-sev-es']
  const p = param(f, 'sev-es')
  if (kvm?.groups[0] === 'enabled' || log['sev-es-supported']) {
    const capacity = kvm ? span(kvm) : Number(log['sev-es-supported']!.groups[0])
    if (capacity !== 0 && p.on !== false)
      return {...base, state: 'usable', capacity, evidence: logEvidence(kvm ?? log['sev-es-supported'])}
  }
  const split = noEsAsids(f, cpu, log)
  if (split.length > 0) return {...base, state: 'firmware-disabled', cause: 'no-es-asids', evidence: split}
  if (p.on === false)
    return {...base, state: 'module-disabled', cause: 'param-off', evidence: [p.text!, ...logEvidence(kvm)]}
  if (sev.state !== 'usable') return {...base, state: sev.state, cause: sev.cause, evidence: sev.evidence}
  if (p.on === true)
    return {...base, state: 'usable', capacity: f.confidential?.miscCapacity?.sev_es ?? null, evidence: [p.text!]}
  return {...base, state: 'unknown', evidence: logKnown ? ['the kernel log has no SEV-ES line'] : []}
}

function sevSnpLevel(f: HostFacts, log: Log, logKnown: boolean, vendor: string | undefined, sev: Level): Level {
  const base = {id: 'sev-snp' as const, capacity: null}
  if (vendor !== 'amd') return {...base, state: sev.state, evidence: []}
  const cpu = memEncryptCpu(f)
  if (cpu === null || (cpu && !cpu.sevSnp) || sev.state === 'unsupported')
    return {...base, state: 'unsupported', evidence: cpu ? ['CPUID 0x8000001F: SEV-SNP not offered'] : sev.evidence}
  if (sev.state === 'firmware-disabled')
    return {...base, state: 'firmware-disabled', cause: sev.cause, evidence: sev.evidence}
  const kvm = log['kvm-sev-snp']
  const p = param(f, 'sev-snp')
  if ((kvm?.groups[0] === 'enabled' || log['sev-snp-supported']) && p.on !== false) {
    const capacity = kvm ? span(kvm) : Number(log['sev-snp-supported']!.groups[0])
    if (capacity !== 0)
      return {
        ...base,
        state: 'usable',
        capacity,
        evidence: [...logEvidence(kvm ?? log['sev-snp-supported']), ...logEvidence(log['snp-api'])],
      }
  }
  if (log['snp-rmp-unreserved'])
    return {
      ...base,
      state: 'firmware-disabled',
      cause: 'rmp-unreserved',
      evidence: logEvidence(log['snp-rmp-unreserved']),
    }
  const passthrough = /(?:^|\s)iommu=pt(?:\s|$)/.test(f.cmdline ?? '')
  if (log['snp-iommu-off'] || passthrough) {
    const evidence = [
      ...logEvidence(log['snp-iommu-off']),
      ...(passthrough ? ['kernel command line has iommu=pt'] : []),
    ]
    return {...base, state: 'blocked', cause: 'iommu-passthrough', evidence}
  }
  if (log['snp-rmp-failed'])
    return {...base, state: 'blocked', cause: 'rmp-failed', evidence: logEvidence(log['snp-rmp-failed'])}
  const split = noEsAsids(f, cpu, log)
  if (split.length > 0) return {...base, state: 'firmware-disabled', cause: 'no-es-asids', evidence: split}
  if (p.on === false)
    return {...base, state: 'module-disabled', cause: 'param-off', evidence: [p.text!, ...logEvidence(kvm)]}
  if (sev.state !== 'usable') return {...base, state: sev.state, cause: sev.cause, evidence: sev.evidence}
  if (p.on === true) return {...base, state: 'usable', capacity: null, evidence: [p.text!]}
  return {...base, state: 'unknown', evidence: logKnown ? ['the kernel log has no SEV-SNP line'] : []}
}

function tdxLevel(f: HostFacts, log: Log, logKnown: boolean, vendor: string | undefined): Level {
  const base = {id: 'tdx' as const, capacity: null}
  if (vendor !== 'intel')
    return {...base, state: vendor === 'amd' || f.arch !== 'x86' ? 'unsupported' : 'unknown', evidence: []}
  const bios = log['tdx-bios']
  const keyIds = bios ? Math.max(0, Number(bios.groups[1]) - Number(bios.groups[0])) : null
  const p = param(f, 'tdx')
  if (log['tdx-initialized']) {
    if (p.on === false)
      return {
        ...base,
        state: 'module-disabled',
        cause: 'tdx-param-off',
        capacity: keyIds,
        evidence: [p.text!, ...logEvidence(log['tdx-initialized'])],
      }
    return {
      ...base,
      state: 'usable',
      capacity: keyIds,
      evidence: [...logEvidence(bios), ...logEvidence(log['tdx-initialized']), ...(p.text ? [p.text] : [])],
    }
  }
  if (log['tdx-hibernation'])
    return {
      ...base,
      state: 'blocked',
      cause: 'tdx-hibernation',
      capacity: keyIds,
      evidence: logEvidence(log['tdx-hibernation']),
    }
  if (log['tdx-not-loaded'])
    return {
      ...base,
      state: 'firmware-disabled',
      cause: 'tdx-module-not-loaded',
      capacity: keyIds,
      evidence: [...logEvidence(bios), ...logEvidence(log['tdx-not-loaded'])],
    }
  if (log['tdx-init-failed'])
    return {
      ...base,
      state: 'blocked',
      cause: 'tdx-init-failed',
      capacity: keyIds,
      evidence: logEvidence(log['tdx-init-failed']),
    }
  if (log['tdx-bios-off'])
    return {
      ...base,
      state: 'firmware-disabled',
      cause: 'tdx-bios-off',
      capacity: keyIds,
      evidence: [...logEvidence(bios), ...logEvidence(log['tdx-bios-off'])],
    }
  if (bios || f.cpu?.flags.includes('tdx_host_platform')) {
    // Firmware enabled TDX, the kernel did not initialise it: kvm_intel.tdx is off (the default).
    const evidence = [...logEvidence(bios), ...(p.text ? [p.text] : ['kvm_intel.tdx is not set'])]
    return {...base, state: 'module-disabled', cause: 'tdx-param-off', capacity: keyIds, evidence}
  }
  if (!logKnown) return {...base, state: 'unknown', evidence: []}
  return {
    ...base,
    state: 'unsupported',
    evidence: ['the kernel log has no virt/tdx line', ...logEvidence(log['tme-off'])],
  }
}
