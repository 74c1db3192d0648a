// Confidential guests: one check per level (SEV, SEV-ES, SEV-SNP on AMD; TDX on Intel), each a
// view of the level derived in src/host/confidential.ts with the exact fix for its cause. None
// of them is needed to run ordinary VMs, so a level that is off is optional, never a warning.
import {
  confidentialLevels,
  cpuVendor,
  LEVEL_NAMES,
  LEVEL_PARAMS,
  memEncryptCpu,
  type Level,
  type LevelCause,
} from '../host/confidential-levels.js'
import {isUnknown, type HostFacts} from '../host/facts.js'
import {moduleState} from '../host/module-state.js'
import {guestOf} from '../host/derived.js'
import {OPTIONAL} from './optional.js'
import {manual, NOT_CAPTURED, type Check} from './types.js'

const GRUB = (what: string) =>
  `${what} GRUB_CMDLINE_LINUX in /etc/default/grub, then sudo update-grub (Fedora/RHEL: sudo grub2-mkconfig -o /boot/grub2/grub.cfg) and reboot`

/** The module parameter turned on: in modprobe.d for a module, on the kernel command line when built in. */
function paramRemedy(f: HostFacts, level: Level): string[] {
  const [module, name] = LEVEL_PARAMS[level.id]
  if (moduleState(f, module) === 'builtin' || level.id === 'tdx') {
    return [GRUB(`add ${module}.${name}=1${level.id === 'tdx' ? ' nohibernate' : ''} to`)]
  }
  return [
    `echo "options ${module} ${name}=1" | sudo tee -a /etc/modprobe.d/${module}.conf`,
    `reload it with no VM running: sudo modprobe -r ${module} && sudo modprobe ${module} (or reboot)`,
  ]
}

const REMEDIES: Record<LevelCause, (f: HostFacts, level: Level) => string[]> = {
  'memory-encryption-off': () => [
    'enable memory encryption in the firmware (BIOS/UEFI) setup: AMD CBS → CPU Common Options → SMEE (Secure Memory Encryption) → Enabled, and SEV Control / SEV ASID Count → Enabled (the names vary by board vendor); save and reboot',
    'check again: the kernel log then says "kvm_amd: SEV enabled (ASIDs …)"',
  ],
  'no-es-asids': () => [
    'in the firmware setup raise "SEV-ES ASID Space Limit" (AMD CBS → CPU Common Options; it is the minimum SEV ASID) above 1, e.g. to 100: the ASIDs below it are the ones SEV-ES and SEV-SNP guests use; save and reboot',
  ],
  'no-sev-asids': (f) => [
    `the firmware gave every ASID to SEV-ES/SEV-SNP: lower "SEV-ES ASID Space Limit" in the firmware setup below ${memEncryptCpu(f)?.encryptedGuests ?? "the CPU's number of encrypted guests"}; save and reboot`,
  ],
  'rmp-unreserved': () => [
    'enable "SEV-SNP Support" and "SNP Memory (RMP Table) Coverage" in the firmware setup (AMD CBS → NBIO Common Options), keep SMEE and the IOMMU enabled; save and reboot',
  ],
  'rmp-failed': () => [
    'update the system firmware (BIOS) and the SEV firmware (linux-firmware amd/amd_sev_*.sbin) to versions that support SEV-SNP, then reboot',
  ],
  'iommu-passthrough': (f) => [
    /(?:^|\s)iommu=pt(?:\s|$)/.test(f.cmdline ?? '')
      ? GRUB('remove iommu=pt (SEV-SNP needs the IOMMU translating, not in passthrough mode) from')
      : 'enable the IOMMU (AMD-Vi) in the firmware setup: SEV-SNP needs it; save and reboot',
  ],
  'kvm-module-missing': (_f, level) => [`sudo modprobe ${LEVEL_PARAMS[level.id][0]}`],
  'tdx-module-not-loaded': () => [
    'enable "TDX Secure Arbitration Mode Loader (SEAM Loader)" in the firmware setup, or update to a BIOS that carries the TDX module (the Intel TDX module can also be installed to /lib/firmware/intel-seam/ where the distribution supports it); save and reboot',
  ],
  'tdx-hibernation': () => [GRUB('add nohibernate to')],
  'tdx-init-failed': () => [
    'update the BIOS and the TDX module to a release your kernel supports (the kernel log line above names the failure), then reboot',
  ],
  'tdx-bios-off': () => [
    'enable in the firmware setup: Memory Encryption (TME), Total Memory Encryption Multi-Tenant (TME-MT), Trust Domain Extension (TDX), the SEAM Loader, and a TME-MT/TDX key split above 0; save and reboot',
  ],
  'tdx-param-off': (f, level) => paramRemedy(f, level),
  'param-off': (f, level) => paramRemedy(f, level),
}

const STATE_TEXT: Record<Level['state'], string> = {
  usable: 'usable',
  'firmware-disabled': 'disabled in firmware',
  'module-disabled': 'disabled by a KVM module parameter',
  blocked: 'blocked by another setting',
  unsupported: 'not offered',
  unknown: 'unknown',
}

export function confidentialChecks(f: HostFacts): Check[] {
  if (f.arch !== 'x86') {
    const base = {id: 'confidential.platform', area: 'confidential' as const, title: 'Confidential guests'}
    return [
      {
        ...base,
        status: 'skip',
        detail:
          f.arch === 'unknown' ? `${NOT_CAPTURED}: uname, CPUID` : 'kvmctl checks AMD SEV and Intel TDX, on x86 hosts',
      },
    ]
  }
  const levels = confidentialLevels(f)
  const vendor = cpuVendor(f)
  const shown = vendor === 'intel' ? levels.slice(3) : vendor === 'amd' ? levels.slice(0, 3) : levels
  return shown.map((level) => levelCheck(f, level))
}

function levelCheck(f: HostFacts, level: Level): Check {
  const name = LEVEL_NAMES[level.id]
  const base = {id: `confidential.${level.id}`, area: 'confidential' as const, title: `${name} guests`}
  const why = level.evidence.length > 0 ? ` (${level.evidence.join('; ')})` : ''
  switch (level.state) {
    case 'usable': {
      const count =
        level.capacity === null ? '' : `: ${level.capacity} ${level.id === 'tdx' ? 'private KeyIDs' : 'ASIDs'}`
      const device =
        level.id !== 'tdx' && f.host.devices['/dev/sev'] === null
          ? '; /dev/sev is missing, so attestation tools cannot reach the PSP'
          : ''
      return {...base, status: 'pass', detail: `${name} guests can run${count}${why}${device}`}
    }
    case 'unsupported': {
      const {guest, hypervisor} = guestOf(f)
      const where = guest
        ? `this host is a VM${hypervisor ? ` (${hypervisor})` : ''}: its virtual CPU offers no ${name}`
        : `this CPU does not offer ${name}`
      return {...base, status: OPTIONAL, detail: `${where}${why}`}
    }
    case 'unknown': {
      const uncaptured = isUnknown(f, 'dmesg') || f.host.cpuid?.memEncrypt === undefined
      return {
        ...base,
        status: 'skip',
        detail: `${uncaptured ? `${NOT_CAPTURED}: ` : ''}cannot tell whether ${name} guests can run${why}`,
      }
    }
    default: {
      const remedy = level.cause ? manual(...REMEDIES[level.cause](f, level)) : undefined
      return {
        ...base,
        status: OPTIONAL,
        detail: `${name} is ${STATE_TEXT[level.state]}${why}`,
        ...(remedy ? {remedy} : {}),
      }
    }
  }
}
