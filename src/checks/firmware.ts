// UEFI firmware for guests: whether a secure-boot build of OVMF (x86) or AAVMF (arm64) is installed.
import {isUnknown, type HostFacts} from '../host/facts.js'
import {FIRMWARE_DIRS, FIRMWARE_IMAGE} from '../host/paths.js'
import {manual, notCaptured, type Check} from './types.js'

const SECURE = /secboot|secure|\.ms\.fd$/i

export function firmwareChecks(f: HostFacts): Check[] {
  const base = {id: 'firmware.secure-boot', area: 'firmware' as const, title: 'secure-boot UEFI firmware for guests'}
  if (isUnknown(f, 'firmware')) return [notCaptured(base, FIRMWARE_DIRS.map((d) => `${d}/`).join(', '))]
  const images = f.firmware.flatMap(({dir, files}) =>
    files.filter((n) => FIRMWARE_IMAGE.test(n)).map((n) => `${dir}/${n}`),
  )
  const secure = images.filter((p) => SECURE.test(p.slice(p.lastIndexOf('/') + 1)))
  const pkg = f.arch === 'arm64' ? 'qemu-efi-aarch64' : 'ovmf'
  const remedy = manual(
    `sudo apt-get install ${pkg} (Debian/Ubuntu; Fedora: sudo dnf install edk2-${f.arch === 'arm64' ? 'aarch64' : 'ovmf'})`,
  )
  if (secure.length > 0)
    return [
      {
        ...base,
        status: 'pass',
        detail: secure.slice(0, 3).join(', ') + (secure.length > 3 ? `, and ${secure.length - 3} more` : ''),
      },
    ]
  // A typical guest (a Linux cloud image) boots with the VMM's legacy BIOS; only UEFI-only guests
  // (Windows 11, Secure Boot) need these images, and only with QEMU: so this is optional.
  if (images.length > 0) {
    return [
      {
        ...base,
        status: 'info',
        detail: `UEFI images without secure boot only (${images.slice(0, 2).join(', ')}): guests that require Secure Boot (Windows 11) cannot boot`,
        remedy,
      },
    ]
  }
  return [
    {
      ...base,
      status: 'info',
      detail: `no UEFI images in ${FIRMWARE_DIRS.join(', ')}: QEMU guests boot with legacy BIOS only; UEFI-only guests (Windows 11, Secure Boot) need OVMF`,
      remedy,
    },
  ]
}
