// Selftest stage i: the confidential VM types KVM offers (KVM_CHECK_EXTENSION(KVM_CAP_VM_TYPES)),
// each proven by creating a VM of that type (KVM_CREATE_VM with the type); the native side
// returns typed results, judged here. A kernel or backend without such types is a clean skip.
import type {VmTypesProbe} from '../native.js'
import type {StageVerdict} from './stages.js'

export const VM_TYPES_STAGE = {id: 'i', title: 'confidential VM types'}

/** arch/x86/include/uapi/asm/kvm.h: KVM_X86_SEV_VM 2 ... KVM_X86_TDX_VM 5. */
export const CONFIDENTIAL_VM_TYPES: Record<string, string> = {2: 'SEV', 3: 'SEV-ES', 4: 'SEV-SNP', 5: 'TDX'}

export function judgeVmTypes(probe: VmTypesProbe, device: string): StageVerdict {
  const data = {vmTypes: probe.vmTypes ?? null, created: probe.created ?? {}}
  if (probe.open !== 'ok' || probe.apiVersionError) {
    return {
      status: 'skip',
      detail: `could not ask ${device}: ${probe.open !== 'ok' ? `open ${probe.open}` : `KVM_GET_API_VERSION ${probe.apiVersionError}`}`,
      data,
    }
  }
  if (typeof probe.vmTypes !== 'number') {
    return {
      status: 'skip',
      detail: `KVM_CHECK_EXTENSION(KVM_CAP_VM_TYPES) failed (${probe.vmTypes ?? 'no answer'})`,
      data,
    }
  }
  if (probe.vmTypes === 0) {
    return {
      status: 'skip',
      detail:
        'this KVM does not list VM types (KVM_CAP_VM_TYPES: x86 KVM on Linux 6.10 and later): no confidential VM types to try',
      data,
    }
  }
  const offered = Object.keys(CONFIDENTIAL_VM_TYPES).filter((t) => (probe.vmTypes as number) & (1 << Number(t)))
  const mask = `0x${probe.vmTypes.toString(16)}`
  if (offered.length === 0) {
    return {
      status: 'skip',
      detail: `KVM offers no confidential VM type (KVM_CAP_VM_TYPES ${mask}): no SEV, SEV-ES, SEV-SNP or TDX VMs on this host`,
      data,
    }
  }
  const failed = offered.filter((t) => probe.created?.[t] !== 'ok')
  const names = (types: string[]) => types.map((t) => CONFIDENTIAL_VM_TYPES[t]).join(', ')
  if (failed.length > 0) {
    const why = failed.map((t) => `${CONFIDENTIAL_VM_TYPES[t]} ${probe.created?.[t] ?? 'not tried'}`).join(', ')
    return {
      status: 'warn',
      detail: `KVM offers ${names(offered)} VMs (KVM_CAP_VM_TYPES ${mask}) but KVM_CREATE_VM failed for ${why}`,
      data,
    }
  }
  return {
    status: 'pass',
    detail: `created a VM of each confidential type KVM offers: ${names(offered)} (KVM_CAP_VM_TYPES ${mask})`,
    data,
  }
}
