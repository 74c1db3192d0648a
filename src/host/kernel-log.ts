// Every kernel-log message kvmctl understands, of every kernel era, in one table. The checks
// match against it and `kvmctl capture` keeps only the lines it matches, so a capture holds what
// a replay needs and nothing else.

import {matchLines} from '../lib/required-text.js'
import {withoutTimestamp} from './confidential.js'
import {platformLogPatterns} from './platform.js'

export type LogKind =
  /** Firmware (BIOS/UEFI) turned hardware virtualization off, or arm64 booted below EL2. */
  | 'firmware-disabled'
  /** The kernel runs under a hypervisor: this host is itself a guest. */
  | 'hypervisor'
  /** Lines of the KVM modules themselves. */
  | 'kvm'
  /** A KVM backend built into the kernel refused to serve /dev/kvm. */
  | 'kvm-unbound'
  | 'hugetlb'
  | 'iommu'
  /** arm64 exception level and KVM mode at boot. */
  | 'hyp'
  | 'secure-boot'
  /** SEV/TDX and IOMMU lines (src/host/confidential.ts, src/host/iommu.ts parse them). */
  | 'platform'

export interface LogPattern {
  id: string
  kind: LogKind
  /** The CPU vendor the message is about, when it tells. */
  vendor?: 'intel' | 'amd' | 'arm64'
  re: RegExp
}

export const LOG_PATTERNS: readonly LogPattern[] = [
  // Before 5.6 (both vendors): the module refused to load.
  {id: 'kvm-disabled-by-bios', kind: 'firmware-disabled', re: /kvm: disabled by bios/i},
  // 5.6+: feature-control MSR locked with VMX off; the vmx flag is then cleared from /proc/cpuinfo.
  {
    id: 'vmx-outside-txt',
    kind: 'firmware-disabled',
    vendor: 'intel',
    re: /VMX \((?:outside|inside) TXT\) disabled by BIOS/,
  },
  {
    id: 'vmx-feat-ctl',
    kind: 'firmware-disabled',
    vendor: 'intel',
    re: /VMX not enabled \(by BIOS\) in MSR_IA32_FEAT_CTL/,
  },
  // 6.7+ for AMD: VM_CR.SVMDIS set; the svm flag is cleared.
  {id: 'svm-vm-cr', kind: 'firmware-disabled', vendor: 'amd', re: /SVM disabled \(by BIOS\) in MSR_VM_CR/},
  {id: 'arm64-hyp-unavailable', kind: 'firmware-disabled', vendor: 'arm64', re: /HYP mode not available/},
  {id: 'hypervisor-detected', kind: 'hypervisor', re: /Hypervisor detected: (\S+)/},
  // kvm_pvm in a kernel that itself runs under PVM: PVM cannot nest, so it registers no /dev/kvm.
  {id: 'kvm-pvm-guest-unbound', kind: 'kvm-unbound', re: /kvm-pvm: this kernel is itself a kvm-pvm guest; not binding/},
  // "kvm: ...", "kvm_intel: ...", "kvm_amd: ...", "kvm-pvm: ...", arm64 "kvm [1]: ...".
  {id: 'kvm-line', kind: 'kvm', re: /\b(?:kvm|kvm_intel|kvm_amd|kvm-pvm)(?: \[\d+\])?: /},
  {id: 'hugetlb-registered', kind: 'hugetlb', re: /HugeTLB: registered/},
  {id: 'iommu-enabled', kind: 'iommu', re: /(?:DMAR|AMD-Vi|IOMMU).*\benabled\b/i},
  {
    id: 'arm64-el',
    kind: 'hyp',
    vendor: 'arm64',
    re: /CPU: All CPU\(s\) started at EL[12]|(?:Hyp|VHE|nVHE|protected) mode initialized successfully/,
  },
  {id: 'secure-boot', kind: 'secure-boot', re: /Secure boot (?:enabled|disabled|could not be determined)/i},
  ...platformLogPatterns().map((re) => ({id: 'platform', kind: 'platform' as const, re})),
]

export interface LogMatch {
  pattern: LogPattern
  /** The whole line, without the timestamp. */
  line: string
  groups: string[]
}

/** The kernel-log lines that match a pattern of this kind, each with the first such pattern it matched. */
export function matchKernelLog(dmesg: string | null, kind: LogKind): LogMatch[] {
  if (!dmesg) return []
  // Many checks ask of the same log (one entry: one host per run): each kind is scanned once, with
  // its own few patterns only (the checks ask for four kinds of the nine).
  if (scanned?.dmesg !== dmesg) scanned = {dmesg, byKind: new Map()}
  let matches = scanned.byKind.get(kind)
  if (!matches) {
    // Each line once, with the first of the kind's patterns that matches it, in log order.
    const byLine = new Map<number, LogMatch>()
    for (const pattern of LOG_PATTERNS.filter((p) => p.kind === kind)) {
      for (const {start, line, match} of matchLines(dmesg, pattern.re)) {
        if (!byLine.has(start)) byLine.set(start, {pattern, line: withoutTimestamp(line), groups: match.slice(1)})
      }
    }
    matches = [...byLine.entries()].sort(([a], [b]) => a - b).map(([, m]) => m)
    scanned.byKind.set(kind, matches)
  }
  return [...matches]
}

let scanned: {dmesg: string; byKind: Map<LogKind, LogMatch[]>} | undefined

/** Only the lines kvmctl understands, as dmesg printed them: what a capture may keep. */
export function filterKernelLog(dmesg: string | null): string | null {
  if (dmesg === null) return null
  const kept = new Map<number, string>()
  for (const p of LOG_PATTERNS) for (const {start, line} of matchLines(dmesg, p.re)) kept.set(start, line)
  return [...kept.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, line]) => line)
    .join('\n')
}
