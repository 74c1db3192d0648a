// Which KVM implementation serves /dev/kvm: Intel VT-x (kvm_intel), AMD-V (kvm_amd), PVM
// (kvm_pvm, no hardware extensions) or arm64's built-in KVM.
import {configValue, type HostFacts} from '../host/facts.js'
import {firmwareRemedy, firmwareDisabled} from './cpu.js'
import {describeState, isPresent, loadModuleRemedy, moduleState} from './modules.js'
import type {Check} from './types.js'

export type Backend = 'kvm_intel' | 'kvm_amd' | 'kvm_pvm' | 'arm64'

export const BACKEND_NAMES: Record<Backend, string> = {
  kvm_intel: 'kvm_intel (Intel VT-x)',
  kvm_amd: 'kvm_amd (AMD-V/SVM)',
  kvm_pvm: 'kvm_pvm (PVM, Pagetable-based VM)',
  arm64: 'arm64 KVM',
}

export const PVM_SHORT_CAVEAT = 'it runs only PVM-enabled guest kernels'

export const PVM_CAVEAT =
  'PVM needs no hardware virtualization extensions, but runs only PVM-enabled guest kernels; a stock guest kernel runs its kernel code emulated, far too slowly to boot'

/** The CPU vendor's own module on x86: the one to load when nothing serves /dev/kvm. */
export function vendorModule(f: HostFacts): 'kvm_intel' | 'kvm_amd' | undefined {
  const vendor = f.host.cpuid?.vendor ?? f.cpu?.vendor
  if (vendor === 'GenuineIntel') return 'kvm_intel'
  if (vendor === 'AuthenticAMD' || vendor === 'HygonGenuine') return 'kvm_amd'
  return undefined
}

/** The backend present on this host (hardware first), or undefined when none is. */
export function detectBackend(f: HostFacts): Backend | undefined {
  if (f.arch === 'arm64') {
    return isPresent(moduleState(f, 'kvm')) && firmwareDisabled(f).length === 0 ? 'arm64' : undefined
  }
  for (const name of ['kvm_intel', 'kvm_amd', 'kvm_pvm'] as const) {
    if (isPresent(moduleState(f, name))) return name
  }
  return undefined
}

export function backendChecks(f: HostFacts): Check[] {
  const backend = detectBackend(f)
  const base = {id: 'backend.kvm', area: 'backend' as const, title: 'KVM backend serving /dev/kvm'}
  if (backend === 'kvm_pvm') {
    return [
      {
        ...base,
        status: 'warn',
        detail: `${BACKEND_NAMES.kvm_pvm}: ${moduleState(f, 'kvm_pvm') === 'builtin' ? 'built in' : 'loaded'}. ${PVM_CAVEAT}`,
        remedy: [
          'boot guests with a PVM-enabled kernel (one built from the PVM patch series with its guest support)',
          'to run stock guest kernels, use a host whose CPU exposes Intel VT-x or AMD-V (on a cloud VM: enable nested virtualization on the outer host)',
        ],
      },
    ]
  }
  if (backend) {
    const how = backend === 'arm64' ? 'built in (CONFIG_KVM)' : describeState(moduleState(f, backend))
    return [{...base, status: 'pass', detail: `${BACKEND_NAMES[backend]}: ${how}`}]
  }
  const vendor = f.arch === 'arm64' ? 'kvm' : vendorModule(f)
  const disabled = firmwareDisabled(f)
  const remedy = disabled.length > 0 ? firmwareRemedy(f) : vendor ? loadModuleRemedy(f, vendor) : []
  const seen =
    f.arch === 'arm64'
      ? `kvm: ${describeState(moduleState(f, 'kvm'))}`
      : ['kvm_intel', 'kvm_amd', 'kvm_pvm'].map((m) => `${m}: ${describeState(moduleState(f, m))}`).join(', ')
  return [
    {
      ...base,
      status: 'fail',
      detail: `no KVM backend is loaded (${seen})${configValue(f.kernelConfig, 'KVM') === 'unset' ? '; the kernel is built without CONFIG_KVM' : ''}`,
      remedy,
    },
  ]
}
