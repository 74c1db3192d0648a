// Why the selftest could not use its KVM device, in one line that says what to do. For /dev/kvm
// the advice is `kvmctl check`'s own (devKvmRemedy, judged on the live host's facts), so both
// commands say the same thing; only the cases a --device path brings are worded here.
import {devKvmRemedy} from '../checks/dev-kvm.js'
import {gatherFacts, type HostFacts} from '../host/facts.js'
import {Host} from '../host/host.js'

export const DEFAULT_KVM_DEVICE = '/dev/kvm'

/** What KVM_GET_API_VERSION fails with on a file that opened but is not a KVM device. */
const NOT_KVM = new Set(['ENOTTY', 'EINVAL', 'EPROTO'])

export interface DeviceFailure {
  /** The failed call as the addon names it: open(PATH) or ioctl(KVM_GET_API_VERSION). */
  syscall: string
  /** The errno name, e.g. ENOENT. */
  code: string | undefined
}

/** True when the problem is /dev/kvm's own, so `kvmctl check`'s advice (from host facts) applies. */
export function needsHostFacts(device: string, failure: DeviceFailure): boolean {
  return device === DEFAULT_KVM_DEVICE && !NOT_KVM.has(failure.code ?? '')
}

/** The one-line message; `facts` is required when needsHostFacts() says so. */
export function deviceProblem(device: string, failure: DeviceFailure, facts?: HostFacts): string {
  const code = failure.code ?? 'an unknown error'
  if (NOT_KVM.has(code)) {
    const fix = device === DEFAULT_KVM_DEVICE ? 'run `kvmctl check` to see what is behind it' : `point --device at ${DEFAULT_KVM_DEVICE}, or leave --device out`
    return `${device} is not a KVM device (${failure.syscall} failed with ${code}); ${fix}`
  }
  if (device !== DEFAULT_KVM_DEVICE) {
    if (code === 'ENOENT') return `--device ${device} does not exist; point it at the KVM device (${DEFAULT_KVM_DEVICE}), or leave --device out`
    return `cannot open --device ${device} (${code}); check its owner and mode with \`ls -l ${device}\`, or leave --device out to use ${DEFAULT_KVM_DEVICE}`
  }
  if (!facts) throw new Error('deviceProblem: the host facts are needed to advise on /dev/kvm')
  const what =
    code === 'ENOENT'
      ? `${device} does not exist`
      : code === 'EACCES' || code === 'EPERM'
        ? `no access to ${device} (${code})`
        : `cannot open ${device} (${code})`
  const steps = devKvmRemedy(facts, code).map((step) => step.replace(/\s*\n\s*/g, ' '))
  return `${what}: ${steps.join('; ')}`
}

/** deviceProblem() with the facts gathered from the host (the live one unless given). */
export async function explainDeviceFailure(device: string, failure: DeviceFailure, host?: Host): Promise<string> {
  const facts = needsHostFacts(device, failure) ? await gatherFacts(host ?? (await Host.open())) : undefined
  return deviceProblem(device, failure, facts)
}
