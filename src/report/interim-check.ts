// STAND-IN until `kvmctl check` (issue 2) lands: a minimal CheckReport built from the host layer,
// so --format/--output, the Ansible playbooks and the DaemonSet run end to end today.
// At merge: delete this file and pass the real check result to emitReport() in check.ts.
import type {Host} from '../host/host.js'
import type {Check, CheckHost, CheckReport, CheckStatus} from './types.js'

async function hugepagePools(host: Host): Promise<CheckHost['hugepages']> {
  const pools: NonNullable<CheckHost['hugepages']> = {}
  for (const dir of (await host.list('/sys/kernel/mm/hugepages')) ?? []) {
    const kb = /^hugepages-(\d+)kB$/.exec(dir)?.[1]
    if (!kb) continue
    const total = Number(await host.readValue(`/sys/kernel/mm/hugepages/${dir}/nr_hugepages`))
    const free = Number(await host.readValue(`/sys/kernel/mm/hugepages/${dir}/free_hugepages`))
    const size = Number(kb) >= 1024 * 1024 ? `${Number(kb) / 1024 / 1024}Gi` : `${Number(kb) / 1024}Mi`
    if (Number.isFinite(total) && Number.isFinite(free)) pools[size] = {total, free}
  }
  return pools
}

async function nestedEnabled(host: Host): Promise<boolean | null> {
  for (const mod of ['kvm_intel', 'kvm_amd']) {
    const value = await host.readValue(`/sys/module/${mod}/parameters/nested`)
    if (value !== undefined) return value === 'Y' || value === '1'
  }
  return null
}

export async function interimCheckReport(host: Host): Promise<CheckReport> {
  const facts = await host.facts()
  const backend = facts.cpuid?.vmx ? 'intel' : facts.cpuid?.svm ? 'amd' : (await host.exists('/sys/module/kvm_pvm')) ? 'pvm' : null
  const hugepages = await hugepagePools(host)
  const nested = await nestedEnabled(host)
  const device = facts.devices['/dev/kvm']
  const vmOk = facts.kvm.open === 'ok' && facts.kvm.createVm === 'ok'
  const pool2M = hugepages?.['2Mi']
  const checks: Check[] = [
    device
      ? {id: 'kvm-device', area: 'kvm', title: '/dev/kvm exists', status: 'pass', detail: `mode ${device.mode}`}
      : {id: 'kvm-device', area: 'kvm', title: '/dev/kvm exists', status: 'fail', detail: 'no /dev/kvm', remedy: ['enable KVM in the kernel (CONFIG_KVM) and load kvm_intel or kvm_amd']},
    vmOk
      ? {id: 'kvm-create-vm', area: 'kvm', title: 'a VM can be created', status: 'pass', detail: `KVM API ${facts.kvm.apiVersion}`}
      : {id: 'kvm-create-vm', area: 'kvm', title: 'a VM can be created', status: 'fail', detail: `open: ${facts.kvm.open}, create VM: ${facts.kvm.createVm ?? 'not tried'}`, remedy: ['add your user to the group that owns /dev/kvm']},
    pool2M && pool2M.total > 0
      ? {id: 'hugepages', area: 'memory', title: '2 MiB huge pages reserved', status: 'pass', detail: `${pool2M.free} of ${pool2M.total} free`}
      : {id: 'hugepages', area: 'memory', title: '2 MiB huge pages reserved', status: 'warn', detail: 'no 2 MiB huge pages reserved', remedy: ['kvmctl tune hugepages --vm-mem 1G']},
    nested === null
      ? {id: 'nested', area: 'cpu', title: 'nested virtualization', status: 'skip', detail: 'no kvm_intel or kvm_amd nested parameter'}
      : {id: 'nested', area: 'cpu', title: 'nested virtualization', status: nested ? 'pass' : 'warn', detail: nested ? 'enabled' : 'disabled'},
  ]
  const counts: Record<CheckStatus, number> = {pass: 0, warn: 0, fail: 0, skip: 0}
  for (const c of checks) counts[c.status]++
  const kvmUsable = Boolean(device) && vmOk
  return {
    schema: 1,
    host: {kernel: facts.uname.release, arch: facts.uname.machine, nested, hugepages},
    verdict: {kvmUsable, backend, summary: kvmUsable ? `KVM is usable (${backend ?? 'unknown'} backend)` : 'KVM is not usable on this host'},
    checks,
    counts,
  }
}
