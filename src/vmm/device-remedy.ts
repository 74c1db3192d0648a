// What to do when the KVM device cannot be used, by errno. One line, a command to run.
// (kvmctl check words the same advice; this is the one place the selftest takes it from.)

export function kvmDeviceProblem(device: string, code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return `${device} does not exist: load KVM (\`modprobe kvm_intel\` or \`modprobe kvm_amd\`), or pass the device into the container (docker run --device ${device})`
    case 'EACCES':
    case 'EPERM':
      return `no access to ${device}: add your user to its group (\`sudo usermod -aG kvm $USER\`, then log in again), or pass the device into the container`
    case 'ENXIO':
    case 'ENODEV':
      return `${device} has no KVM behind it: enable virtualization (VT-x/AMD-V) in the firmware and load kvm_intel or kvm_amd`
    case 'ENOTTY':
    case 'EINVAL':
    case 'EPROTO':
      return `${device} is not a KVM device (its API did not answer); point --device at /dev/kvm`
    default:
      return `cannot use ${device} (${code ?? 'unknown error'}): check it with \`kvmctl check\``
  }
}
