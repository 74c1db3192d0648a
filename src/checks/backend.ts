// Which KVM implementation serves /dev/kvm: Intel VT-x (kvm_intel), AMD-V (kvm_amd), PVM
// (kvm_pvm, no hardware extensions) or arm64's built-in KVM.
import type {HostFacts} from '../host/facts.js'
import {detectBackend, guestOf, noBackend, pvmGuestRefusal, vendorModule, type Backend} from '../host/derived.js'
import {describeModule} from '../host/module-state.js'
import {KERNEL_LOG_REMEDY, loadModuleRemedy, OUTER_HOST_REMEDY} from '../plan/remedies.js'
import {firmwareRemedy} from './cpu.js'
import {manual, notCaptured, type Check} from './types.js'

export type {Backend}

export const BACKEND_NAMES: Record<Backend, string> = {
  kvm_intel: 'kvm_intel (Intel VT-x)',
  kvm_amd: 'kvm_amd (AMD-V/SVM)',
  kvm_pvm: 'kvm_pvm (PVM, Pagetable-based VM)',
  arm64: 'arm64 KVM',
}

/** Short backend names for metric and node labels (`kvmctl.io/kvm-backend=pvm`). */
export const BACKEND_LABELS: Record<Backend, string> = {
  kvm_intel: 'intel',
  kvm_amd: 'amd',
  kvm_pvm: 'pvm',
  arm64: 'arm64',
}

/** The label for a backend; a name this version does not know (a newer report) passes through. */
export function backendLabel(backend: Backend | null): string {
  if (backend === null) return 'none'
  return Object.hasOwn(BACKEND_LABELS, backend) ? BACKEND_LABELS[backend] : backend
}

export const PVM_SHORT_CAVEAT = 'it runs only PVM-enabled guest kernels'

export const PVM_CAVEAT =
  'PVM needs no hardware virtualization extensions, but runs only PVM-enabled guest kernels; a stock guest kernel runs its kernel code emulated, far too slowly to boot'

export function backendChecks(f: HostFacts): Check[] {
  const backend = detectBackend(f)
  const base = {id: 'backend.kvm', area: 'backend' as const, title: 'KVM backend serving /dev/kvm'}
  if (backend === 'kvm_pvm') {
    // On a guest the CPU check already says how to get VT-x/AMD-V here; say it once.
    const cpuCheckAdvises = guestOf(f).guest && !f.cpu?.flags.some((x) => x === 'vmx' || x === 'svm')
    return [
      {
        ...base,
        status: 'warn',
        detail: `${BACKEND_NAMES.kvm_pvm}: ${describeModule(f, 'kvm_pvm').replace(/^kvm_pvm: /, '')}. ${PVM_CAVEAT}`,
        remedy: manual(
          'boot guests with a PVM-enabled kernel (one built from the PVM patch series with its guest support)',
          cpuCheckAdvises
            ? 'to run stock guest kernels, this VM needs VT-x or AMD-V from its host: see "vmx/svm flag in /proc/cpuinfo" above'
            : 'to run stock guest kernels, use a host whose CPU exposes Intel VT-x or AMD-V (on a cloud VM: enable nested virtualization on the outer host)',
        ),
      },
    ]
  }
  if (backend) {
    const how = backend === 'arm64' ? 'built in (CONFIG_KVM)' : describeModule(f, backend).replace(/^\w+: /, '')
    return [{...base, status: 'pass', detail: `${BACKEND_NAMES[backend]}: ${how}`}]
  }
  const none = noBackend(f)!
  switch (none.kind) {
    case 'unbound': {
      const pvmGuest = none.name === 'kvm_pvm' && pvmGuestRefusal(f) !== undefined
      return [{...base, status: 'fail', detail: none.detail, remedy: pvmGuest ? OUTER_HOST_REMEDY : KERNEL_LOG_REMEDY}]
    }
    case 'firmware-off':
      return [{...base, status: 'fail', detail: none.detail, remedy: firmwareRemedy(f)}]
    case 'not-captured':
      return [notCaptured(base, none.detail)]
    case 'none': {
      const vendor = f.arch === 'arm64' ? 'kvm' : vendorModule(f)
      const remedy = vendor
        ? loadModuleRemedy(f, vendor)
        : manual('sudo modprobe kvm_intel (Intel) or sudo modprobe kvm_amd (AMD)')
      return [{...base, status: 'fail', detail: none.detail, remedy}]
    }
  }
}
