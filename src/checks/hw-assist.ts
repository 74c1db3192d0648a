// The hardware assists KVM uses, from its module parameters (the kernel's nested and tuning
// documents name them): Intel EPT, unrestricted guest, shadow VMCS, APICv; AMD NPT, AVIC. Only
// two-dimensional paging off costs a typical VM much; the others are reported, not warned about.
import type {HostFacts} from '../host/facts.js'
import {paramOn} from '../host/confidential-levels.js'
import {manual, type Check} from './types.js'

const ASSISTS: Record<'kvm_intel' | 'kvm_amd', Array<{param: string; name: string; paging?: boolean}>> = {
  kvm_intel: [
    {param: 'ept', name: 'EPT', paging: true},
    {param: 'unrestricted_guest', name: 'unrestricted guest'},
    {param: 'enable_shadow_vmcs', name: 'shadow VMCS'},
    {param: 'enable_apicv', name: 'APICv'},
  ],
  kvm_amd: [
    {param: 'npt', name: 'NPT', paging: true},
    {param: 'avic', name: 'AVIC'},
  ],
}

export function hwAssistChecks(f: HostFacts): Check[] {
  const base = {id: 'backend.hw-assist', area: 'backend' as const, title: 'Hardware assists'}
  for (const module of ['kvm_intel', 'kvm_amd'] as const) {
    const read = ASSISTS[module]
      .map((a) => ({...a, on: paramOn(f.moduleParams[`${module}.${a.param}`])}))
      .filter((a) => a.on !== undefined)
    if (read.length === 0) continue
    const detail = read.map((a) => `${a.name} ${a.on ? 'on' : 'off'}`).join(', ')
    const paging = read.find((a) => a.paging && a.on === false)
    if (paging) {
      return [
        {
          ...base,
          status: 'warn',
          detail: `${detail}: without ${paging.name} KVM shadows every guest page table, which slows memory-heavy guests several times`,
          remedy: manual(
            `remove ${module}.${paging.param}=0 from the kernel command line and "${paging.param}=0" from /etc/modprobe.d/*.conf, then reload ${module} or reboot`,
            `if neither sets it, the CPU (or the hypervisor of this VM) lacks ${paging.name}`,
          ),
        },
      ]
    }
    return [{...base, status: 'pass', detail}]
  }
  return []
}
