// What the next boot will do, against what runs now: the hugepage pool, nested virtualization,
// hugetlbfs mounts, THP and KSM. A difference is a warning naming its exact cause, for example
// "550 pages now, 0 after a reboot: nothing persists them". Checks appear only where the boot
// configuration is known (live, or a capture that holds it) and there is something to compare.
import type {Setter} from '../host/boot-config.js'
import type {HostFacts} from '../host/facts.js'
import {cmdlineDefaultPages, valuesOf} from '../host/cmdline.js'
import {manual} from '../lib/remedy.js'
import type {Check} from './types.js'

const where = (s: Setter) => s.file
const on = (v: string | undefined | null) => (v == null ? null : /^(y|1|on)$/i.test(v.trim()))

function poolCheck(f: HostFacts): Check[] {
  const boot = f.boot
  const defaultKb = f.meminfo.Hugepagesize
  const pool = f.hugepages.find((p) => p.sizeKb === defaultKb)
  if (!boot || !pool || boot.nrHugepages === undefined) return []
  const fromCmdline = boot.cmdline ? cmdlineDefaultPages(boot.cmdline.text, defaultKb) : null
  // Order of application at boot: the command line, then sysctl.d, then tuned's [sysctl].
  let after = fromCmdline ?? 0
  let cause = fromCmdline === null ? 'nothing persists them' : `the kernel command line (${boot.cmdline!.loader}) has hugepages=${fromCmdline}`
  let source: string | null = fromCmdline === null ? null : `the kernel command line`
  if (boot.nrHugepages) {
    after = Number(boot.nrHugepages.value)
    cause = `${where(boot.nrHugepages)} sets vm.nr_hugepages = ${boot.nrHugepages.value} and is applied last of the sysctl files`
    source = where(boot.nrHugepages)
  }
  if (boot.tuned?.nrHugepages) {
    after = Number(boot.tuned.nrHugepages.value)
    cause = `the tuned profile ${boot.tuned.name} sets vm.nr_hugepages = ${boot.tuned.nrHugepages.value} (${where(boot.tuned.nrHugepages)}) after sysctl.d`
    source = `tuned profile ${boot.tuned.name}`
  }
  if (pool.total === 0 && after === 0) return []
  const base = {id: 'hugepages.next-boot', area: 'hugepages' as const, title: 'hugepages after a reboot'}
  if (after === pool.total) return [{...base, status: 'pass', detail: `${pool.total} pages now and after a reboot (${source})`}]
  return [
    {
      ...base,
      status: 'warn',
      detail: `${pool.total} pages now, ${after} after a reboot: ${cause}`,
      // The file and key `kvmctl tune hugepages` persists the pool with.
      remedy: manual(`keep ${pool.total} pages: echo "vm.nr_hugepages = ${pool.total}" | sudo tee /etc/sysctl.d/40-hugepage.conf`),
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
    const setter: Setter | undefined = fromCmdline != null ? {value: fromCmdline, file: `the kernel command line (${boot.cmdline!.loader})`} : boot.nested[module]
    if (!setter) return []
    const base = {id: 'nested.next-boot', area: 'nested' as const, title: 'nested after a reboot'}
    if (on(setter.value) === on(now)) return [{...base, status: 'pass', detail: `nested=${now} now and after a reboot (${setter.file})`}]
    return [{...base, status: 'warn', detail: `nested=${now} now, nested=${setter.value} after the next load of ${module}: ${setter.file} sets it`}]
  }
  return []
}

function mountCheck(f: HostFacts): Check[] {
  const boot = f.boot
  if (!boot || boot.fstabHugetlbfs === undefined) return []
  return f.mounts
    .filter((m) => m.fstype === 'hugetlbfs' && !boot.fstabHugetlbfs!.includes(m.target))
    // systemd mounts /dev/hugepages itself at every boot (dev-hugepages.mount).
    .filter((m) => !(m.target === '/dev/hugepages' && boot.init === 'systemd'))
    .map((m) => ({
      id: 'hugepages.mount-next-boot',
      area: 'hugepages' as const,
      title: 'hugetlbfs after a reboot',
      status: 'warn' as const,
      detail: `hugetlbfs is mounted on ${m.target} now, not after a reboot: /etc/fstab has no hugetlbfs line for it`,
      remedy: manual(`echo "hugetlbfs ${m.target} hugetlbfs ${m.options.split(',').filter((o) => /^(mode|gid|uid|pagesize)=/.test(o)).join(',') || 'defaults'},nofail 0 0" | sudo tee -a /etc/fstab`),
    }))
}

function thpCheck(f: HostFacts): Check[] {
  const boot = f.boot
  if (!boot || f.thp === null) return []
  let after: string | null = null
  let cause = ''
  const config = f.kernelConfig?.options
  if (config?.TRANSPARENT_HUGEPAGE_ALWAYS === 'y') [after, cause] = ['always', 'the kernel default (CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS) applies at boot; nothing persists the current mode']
  if (config?.TRANSPARENT_HUGEPAGE_MADVISE === 'y') [after, cause] = ['madvise', 'the kernel default (CONFIG_TRANSPARENT_HUGEPAGE_MADVISE) applies at boot; nothing persists the current mode']
  const fromCmdline = boot.cmdline ? valuesOf(boot.cmdline.text, 'transparent_hugepage').at(-1) : undefined
  if (fromCmdline) [after, cause] = [fromCmdline, `the kernel command line (${boot.cmdline!.loader}) has transparent_hugepage=${fromCmdline}`]
  if (boot.tuned?.thp) [after, cause] = [boot.tuned.thp.value, `the tuned profile ${boot.tuned.name} sets transparent_hugepages=${boot.tuned.thp.value} (${boot.tuned.thp.file})`]
  if (after === null || after === f.thp) return []
  return [{id: 'hugepages.thp-next-boot', area: 'hugepages', title: 'THP after a reboot', status: 'warn', detail: `transparent hugepages ${f.thp} now, ${after} after a reboot: ${cause}`, remedy: {kvmctl: ['tune', 'thp', '--mode', f.thp], steps: [`echo ${f.thp} | sudo tee /sys/kernel/mm/transparent_hugepage/enabled, and transparent_hugepage=${f.thp} on the kernel command line`]}}]
}

function ksmCheck(f: HostFacts): Check[] {
  const boot = f.boot
  if (!boot || boot.ksmRun === undefined || f.ksm === null) return []
  const after = boot.ksmRun?.value ?? '0'
  if (on(after) === on(f.ksm)) return []
  const cause = boot.ksmRun ? `${boot.ksmRun.file} sets it` : 'nothing persists it'
  return [{id: 'hugepages.ksm-next-boot', area: 'hugepages', title: 'KSM after a reboot', status: 'warn', detail: `KSM run=${f.ksm} now, run=${after} after a reboot: ${cause}`, remedy: {kvmctl: ['tune', 'ksm', on(f.ksm) ? '--on' : '--off'], steps: [`echo "w /sys/kernel/mm/ksm/run - - - - ${f.ksm}" | sudo tee /etc/tmpfiles.d/kvmctl-ksm.conf`]}}]
}

export function nextBootChecks(f: HostFacts): Check[] {
  return [...poolCheck(f), ...nestedCheck(f), ...mountCheck(f), ...thpCheck(f), ...ksmCheck(f)]
}
