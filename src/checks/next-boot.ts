// What the next boot will do, against what runs now: the hugepage pool, nested virtualization,
// hugetlbfs mounts, THP and KSM. A difference is a warning naming its exact cause, for example
// "550 pages now, 0 after a reboot: nothing persists them". Checks appear only where the boot
// configuration is known (live, or a capture that holds it) and there is something to compare.
import type {BootConfig, Setter} from '../host/boot-config.js'
import {configValue, type HostFacts, type Mount} from '../host/facts.js'
import {KSM_RUN, THP_ENABLED} from '../host/paths.js'
import {formatFstabEntry} from '../lib/fstab.js'
import {cmdlineDefaultPages, valuesOf} from '../host/cmdline.js'
import {manual} from '../lib/remedy.js'
import {keepPoolRemedy} from '../plan/remedies.js'
import {tmpfilesWriteLine} from '../plan/settings.js'
import {FSTAB, hugetlbfsFstabEntry, KSM_TMPFILES, SYSCTL_KEY} from '../plan/targets.js'
import type {Check} from './types.js'

const where = (s: Setter) => s.file
const onCmdline = (boot: BootConfig) => `the kernel command line (${boot.cmdline!.loader})`
/** The fstab line that keeps a hugetlbfs mount: its mode, owner and page size options, and nofail. */
const fstabLine = (m: Mount) => {
  const kept = m.options.split(',').filter((o) => /^(mode|gid|uid|pagesize)=/.test(o))
  return formatFstabEntry(hugetlbfsFstabEntry(m.target, kept.length > 0 ? kept : ['defaults']))
}
const on = (v: string | undefined | null) => (v == null ? null : /^(y|1|on)$/i.test(v.trim()))

function poolCheck(f: HostFacts): Check[] {
  const boot = f.boot
  const defaultKb = f.meminfo.Hugepagesize
  const pool = f.hugepages.find((p) => p.sizeKb === defaultKb)
  if (!boot || !pool || boot.nrHugepages === undefined) return []
  const fromCmdline = boot.cmdline ? cmdlineDefaultPages(boot.cmdline.text, defaultKb) : null
  // Order of application at boot: the command line, then sysctl.d, then tuned's [sysctl].
  let after = fromCmdline ?? 0
  let cause = fromCmdline === null ? 'nothing persists them' : `${onCmdline(boot)} has hugepages=${fromCmdline}`
  let source: string | null = fromCmdline === null ? null : `the kernel command line`
  if (boot.nrHugepages) {
    after = Number(boot.nrHugepages.value)
    const {value} = boot.nrHugepages
    cause = `${where(boot.nrHugepages)} sets ${SYSCTL_KEY} = ${value} and is applied last of the sysctl files`
    source = where(boot.nrHugepages)
  }
  if (boot.tuned?.nrHugepages) {
    after = Number(boot.tuned.nrHugepages.value)
    const {value} = boot.tuned.nrHugepages
    const file = where(boot.tuned.nrHugepages)
    cause = `the tuned profile ${boot.tuned.name} sets ${SYSCTL_KEY} = ${value} (${file}) after sysctl.d`
    source = `tuned profile ${boot.tuned.name}`
  }
  if (pool.total === 0 && after === 0) return []
  const base = {id: 'hugepages.next-boot', area: 'hugepages' as const, title: 'hugepages after a reboot'}
  const detail = `${pool.total} pages now and after a reboot (${source})`
  if (after === pool.total) return [{...base, status: 'pass', detail}]
  return [
    {
      ...base,
      status: 'warn',
      detail: `${pool.total} pages now, ${after} after a reboot: ${cause}`,
      // The file and key `kvmctl tune hugepages` persists the pool with.
      remedy: keepPoolRemedy(f, pool),
    },
  ]
}

function nestedCheck(f: HostFacts): Check[] {
  const boot = f.boot
  if (!boot || boot.nested === undefined) return []
  for (const module of ['kvm_intel', 'kvm_amd']) {
    const now = f.moduleParams[`${module}.nested`]
    if (now === undefined) continue
    // modprobe passes the command line's MODULE.param after the modprobe.d options: it wins.
    const fromCmdline = boot.cmdline ? valuesOf(boot.cmdline.text, `${module}.nested`).at(-1) : undefined
    const setter: Setter | undefined =
      fromCmdline != null ? {value: fromCmdline, file: onCmdline(boot)} : boot.nested[module]
    if (!setter) return []
    const base = {id: 'nested.next-boot', area: 'nested' as const, title: 'nested after a reboot'}
    if (on(setter.value) === on(now)) {
      return [{...base, status: 'pass', detail: `nested=${now} now and after a reboot (${setter.file})`}]
    }
    const detail = `nested=${now} now, nested=${setter.value} after the next load of ${module}: ${setter.file} sets it`
    return [{...base, status: 'warn', detail}]
  }
  return []
}

function mountCheck(f: HostFacts): Check[] {
  const boot = f.boot
  if (!boot || boot.fstabHugetlbfs === undefined) return []
  return (
    f.mounts
      .filter((m) => m.fstype === 'hugetlbfs' && !boot.fstabHugetlbfs!.includes(m.target))
      // systemd mounts /dev/hugepages itself at every boot (dev-hugepages.mount).
      .filter((m) => !(m.target === '/dev/hugepages' && boot.init === 'systemd'))
      .map((m) => ({
        id: 'hugepages.mount-next-boot',
        area: 'hugepages' as const,
        title: 'hugetlbfs after a reboot',
        status: 'warn' as const,
        detail: `hugetlbfs is mounted on ${m.target} now, not after a reboot: /etc/fstab has no hugetlbfs line for it`,
        remedy: manual(`echo "${fstabLine(m)}" | sudo tee -a ${FSTAB}`),
      }))
  )
}

function thpCheck(f: HostFacts): Check[] {
  const boot = f.boot
  if (!boot || f.thp === null) return []
  let after: string | null = null
  let cause = ''
  const byDefault = (mode: string) =>
    `the kernel default (CONFIG_TRANSPARENT_HUGEPAGE_${mode.toUpperCase()}) applies at boot; ` +
    'nothing persists the current mode'
  const set = (name: string) => configValue(f.kernelConfig, `TRANSPARENT_HUGEPAGE_${name}`) === 'y'
  if (set('ALWAYS')) [after, cause] = ['always', byDefault('always')]
  if (set('MADVISE')) [after, cause] = ['madvise', byDefault('madvise')]
  const fromCmdline = boot.cmdline ? valuesOf(boot.cmdline.text, 'transparent_hugepage').at(-1) : undefined
  if (fromCmdline) [after, cause] = [fromCmdline, `${onCmdline(boot)} has transparent_hugepage=${fromCmdline}`]
  const tuned = boot.tuned
  if (tuned?.thp) {
    after = tuned.thp.value
    cause = `the tuned profile ${tuned.name} sets transparent_hugepages=${after} (${tuned.thp.file})`
  }
  if (after === null || after === f.thp) return []
  return [
    {
      id: 'hugepages.thp-next-boot',
      area: 'hugepages',
      title: 'THP after a reboot',
      status: 'warn',
      detail: `transparent hugepages ${f.thp} now, ${after} after a reboot: ${cause}`,
      remedy: {
        kvmctl: ['tune', 'thp', '--mode', f.thp],
        steps: [`echo ${f.thp} | sudo tee ${THP_ENABLED}, and transparent_hugepage=${f.thp} on the command line`],
      },
    },
  ]
}

function ksmCheck(f: HostFacts): Check[] {
  const boot = f.boot
  if (!boot || boot.ksmRun === undefined || f.ksm === null) return []
  const after = boot.ksmRun?.value ?? '0'
  if (on(after) === on(f.ksm)) return []
  const cause = boot.ksmRun ? `${boot.ksmRun.file} sets it` : 'nothing persists it'
  return [
    {
      id: 'hugepages.ksm-next-boot',
      area: 'hugepages',
      title: 'KSM after a reboot',
      status: 'warn',
      detail: `KSM run=${f.ksm} now, run=${after} after a reboot: ${cause}`,
      remedy: {
        kvmctl: ['tune', 'ksm', on(f.ksm) ? '--on' : '--off'],
        steps: [`echo "${tmpfilesWriteLine(KSM_RUN, f.ksm)}" | sudo tee ${KSM_TMPFILES}`],
      },
    },
  ]
}

export function nextBootChecks(f: HostFacts): Check[] {
  return [...poolCheck(f), ...nestedCheck(f), ...mountCheck(f), ...thpCheck(f), ...ksmCheck(f)]
}
