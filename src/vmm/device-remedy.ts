// Why the selftest could not use its KVM device, in one line that says what to do. For /dev/kvm
// the advice is `kvmctl check`'s own (its /dev/kvm remedy, judged on the live host's facts), so
// both commands say the same thing: the command passes it in as a DevKvmAdvisor, since the VMM
// layer does not import the checks. Only the cases a --device path brings are worded here.
export const DEFAULT_KVM_DEVICE = '/dev/kvm'

/** What KVM_GET_API_VERSION fails with on a file that opened but is not a KVM device. */
const NOT_KVM = new Set(['ENOTTY', 'EINVAL', 'EPROTO'])

export interface DeviceFailure {
  /** The failed call as the addon names it: open(PATH) or ioctl(KVM_GET_API_VERSION). */
  syscall: string
  /** The errno name, e.g. ENOENT. */
  code: string | undefined
}

/** `kvmctl check`'s remedy steps for a /dev/kvm that failed to open with this errno name. */
export type DevKvmAdvisor = (errno: string) => Promise<string[]>

/** True when the problem is /dev/kvm's own, so `kvmctl check`'s advice (from host facts) applies. */
export function needsHostFacts(device: string, failure: DeviceFailure): boolean {
  return device === DEFAULT_KVM_DEVICE && !NOT_KVM.has(failure.code ?? '')
}

/** The one-line message; `steps` are check's remedy, used when needsHostFacts() says so. */
export function deviceProblem(device: string, failure: DeviceFailure, steps?: string[]): string {
  const code = failure.code ?? 'an unknown error'
  if (NOT_KVM.has(code)) {
    const fix =
      device === DEFAULT_KVM_DEVICE
        ? 'run `kvmctl check` to see what is behind it'
        : `point --device at ${DEFAULT_KVM_DEVICE}, or leave --device out`
    return `${device} is not a KVM device (${failure.syscall} failed with ${code}); ${fix}`
  }
  if (device !== DEFAULT_KVM_DEVICE) {
    if (code === 'ENOENT')
      return `--device ${device} does not exist; point it at the KVM device (${DEFAULT_KVM_DEVICE}), or leave --device out`
    return `cannot open --device ${device} (${code}); check its owner and mode with \`ls -l ${device}\`, or leave --device out to use ${DEFAULT_KVM_DEVICE}`
  }
  const what =
    code === 'ENOENT'
      ? `${device} does not exist`
      : code === 'EACCES' || code === 'EPERM'
        ? `no access to ${device} (${code})`
        : `cannot open ${device} (${code})`
  const fix = steps?.length
    ? steps.map((step) => step.replace(/\s*\n\s*/g, ' ')).join('; ')
    : 'run `kvmctl check` to see why and how to fix it'
  return `${what}: ${fix}`
}

/** deviceProblem() with check's advice, asked for only when it applies. */
export async function explainDeviceFailure(
  device: string,
  failure: DeviceFailure,
  advise?: DevKvmAdvisor,
): Promise<string> {
  const steps = advise && needsHostFacts(device, failure) ? await advise(failure.code ?? 'an unknown error') : undefined
  return deviceProblem(device, failure, steps)
}
