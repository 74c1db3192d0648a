// Device passthrough (VFIO): the IOMMU, interrupt remapping, the kernel command line, vfio-pci,
// and the IOMMU groups. A host that nobody asked to pass a device through gets no warning for a
// missing IOMMU; `kvmctl check --passthrough DEVICE` adds the one device's group analysis and the
// exact steps to hand it to a guest.
import {isUnknown, type HostFacts} from '../host/facts.js'
import {parsePciSpec, type PciDevice} from '../host/iommu.js'
import {analyseGroup, findPciDevices, iommuState, sharedGroups, type IommuState} from '../host/iommu-state.js'
import {IOMMU_GROUPS, PCI_DEVICES} from '../host/paths.js'
import {UsageError} from '../lib/errors.js'
import {guestOf, vendorModule} from '../host/derived.js'
import {OPTIONAL} from './optional.js'
import {manual, notCaptured, type Check} from './types.js'

const GRUB_THEN = 'then sudo update-grub (Fedora/RHEL: sudo grub2-mkconfig -o /boot/grub2/grub.cfg) and reboot'

/** How to turn the IOMMU on for this CPU vendor. */
function enableIommuRemedy(f: HostFacts): string[] {
  if (guestOf(f).guest) {
    return [
      'this host is a VM: passthrough inside it needs a virtual IOMMU from the outer host (QEMU: -device intel-iommu or virtio-iommu)',
    ]
  }
  const vendor = f.arch === 'arm64' ? undefined : vendorModule(f)
  const cmdline = f.cmdline ?? ''
  if (vendor === 'kvm_intel') {
    return [
      'enable VT-d (Intel Virtualization Technology for Directed I/O) in the firmware setup',
      /\bintel_iommu=on\b/.test(cmdline)
        ? 'intel_iommu=on is already on the kernel command line: the firmware must publish its DMAR table (VT-d on), then reboot'
        : `add intel_iommu=on to GRUB_CMDLINE_LINUX in /etc/default/grub, ${GRUB_THEN}`,
    ]
  }
  if (vendor === 'kvm_amd') {
    return [
      `enable the IOMMU (AMD-Vi, sometimes "IOMMU" under NBIO Common Options) in the firmware setup; remove amd_iommu=off from the kernel command line if it is there, ${GRUB_THEN}`,
    ]
  }
  return ['enable the IOMMU (VT-d, AMD-Vi, or the SMMU on arm64) in the firmware setup, then reboot']
}

export function passthroughChecks(f: HostFacts): Check[] {
  const state = iommuState(f)
  return [
    iommuCheck(f, state),
    remappingCheck(state),
    cmdlineCheck(f, state),
    vfioCheck(f, state),
    groupsCheck(f, state),
  ]
}

const base = (id: string, title: string) => ({id: `passthrough.${id}`, area: 'passthrough' as const, title})

function iommuCheck(f: HostFacts, s: IommuState): Check {
  const b = base('iommu', 'IOMMU (PCI passthrough)')
  if (s.enabled === null) return notCaptured(b, `${IOMMU_GROUPS}/`)
  const table = s.firmwareTable ? `, firmware table ${s.firmwareTable}` : ''
  if (s.enabled) {
    const domain = s.defaultDomain ? `, default domain ${s.defaultDomain}` : ''
    return {...b, status: 'pass', detail: `${s.groups} IOMMU group${s.groups === 1 ? '' : 's'}${table}${domain}`}
  }
  const why = f.iommuGroups === null ? ' (no /sys/kernel/iommu_groups)' : ''
  const off = s.cmdline.iommu.filter((w) => /=off$/.test(w))
  const detail = `no IOMMU groups${why}${table}${off.length ? `; the command line has ${off.join(' ')}` : ''}: PCI devices cannot be passed through to guests (needed only for that)`
  return {...b, status: OPTIONAL, detail, remedy: manual(...enableIommuRemedy(f))}
}

function remappingCheck(s: IommuState): Check {
  const b = base('interrupt-remapping', 'IOMMU interrupt remapping')
  if (s.enabled === null) return notCaptured(b, `${IOMMU_GROUPS}/`)
  if (!s.enabled) return {...b, status: 'skip', detail: 'no IOMMU in use'}
  if (s.interruptRemapping === true) {
    const hit = s.log['dmar-ir'] ?? s.log['amd-vi-ir']
    return {...b, status: 'pass', detail: `enabled (kernel log: "${hit!.line}")`}
  }
  if (s.interruptRemapping === false) {
    return {
      ...b,
      status: OPTIONAL,
      detail: `no interrupt remapping (kernel log: "${s.log['no-ir']!.line}"): VFIO refuses to assign devices unless vfio_iommu_type1.allow_unsafe_interrupts=1, which lets a guest forge interrupts`,
      remedy: manual(
        'enable interrupt remapping / x2APIC in the firmware setup (it comes with VT-d or AMD-Vi on current boards), then reboot',
      ),
    }
  }
  return {...b, status: 'skip', detail: 'the kernel log does not say whether interrupt remapping is on'}
}

function cmdlineCheck(f: HostFacts, s: IommuState): Check {
  const b = base('cmdline', 'IOMMU settings on the kernel command line')
  if (f.cmdline === null)
    return isUnknown(f, 'cmdline')
      ? notCaptured(b, '/proc/cmdline')
      : {...b, status: 'skip', detail: '/proc/cmdline is absent'}
  const words = [
    ...s.cmdline.iommu,
    ...(s.cmdline.vfioIds.length ? [`vfio-pci.ids=${s.cmdline.vfioIds.join(',')}`] : []),
  ]
  if (s.cmdline.acsOverride) {
    return {
      ...b,
      status: 'warn',
      detail: `${s.cmdline.acsOverride}: the ACS override patch splits IOMMU groups the hardware does not isolate, so a guest can reach devices left on the host by DMA`,
      remedy: manual(
        `remove ${s.cmdline.acsOverride} from GRUB_CMDLINE_LINUX in /etc/default/grub, ${GRUB_THEN}; move the device to a slot with its own group instead`,
      ),
    }
  }
  return {
    ...b,
    status: 'pass',
    detail: words.length ? words.join(' ') : 'no IOMMU or VFIO options (the kernel defaults apply)',
  }
}

function memlockText(f: HostFacts): string {
  const m = f.iommu?.memlock
  if (!m) return ''
  if (m.soft === null) return '; RLIMIT_MEMLOCK unlimited'
  return `; RLIMIT_MEMLOCK ${Math.round(m.soft / 2 ** 20)} MiB for this shell (VFIO pins all guest RAM: libvirt raises the limit itself, QEMU run by hand needs ulimit -l unlimited)`
}

function vfioCheck(f: HostFacts, s: IommuState): Check {
  const b = base('vfio', 'vfio-pci driver')
  if (s.vfio === null) return notCaptured(b, '/sys/module/vfio_pci')
  const node = f.host.devices['/dev/vfio/vfio']
  const nodeText = node ? '; /dev/vfio/vfio present' : node === null ? '; /dev/vfio/vfio missing' : ''
  if (s.vfio) return {...b, status: 'pass', detail: `vfio-pci is loaded${nodeText}${memlockText(f)}`}
  if (!s.enabled) return {...b, status: 'skip', detail: 'vfio-pci is not loaded; it needs an IOMMU'}
  return {
    ...b,
    status: OPTIONAL,
    detail: `vfio-pci is not loaded${nodeText}${memlockText(f)}`,
    remedy: manual(
      'sudo modprobe vfio-pci',
      'load it at every boot: echo vfio-pci | sudo tee /etc/modules-load.d/vfio-pci.conf',
    ),
  }
}

function describe(d: PciDevice): string {
  return `${d.address}${d.id ? ` (${d.id}${d.driver ? `, ${d.driver}` : ''})` : ''}`
}

function driverText(d: PciDevice): string {
  return d.driver === undefined ? 'driver not in this capture' : `driver ${d.driver ?? 'none'}`
}

function groupsCheck(f: HostFacts, s: IommuState): Check {
  const b = base('groups', 'IOMMU group isolation')
  if (s.enabled === null) return notCaptured(b, `${IOMMU_GROUPS}/`)
  if (!s.enabled) return {...b, status: 'skip', detail: 'no IOMMU groups'}
  if (!f.iommu?.pci) return notCaptured(b, `${PCI_DEVICES}/`)
  const shared = sharedGroups(f)
  if (shared.length === 0)
    return {
      ...b,
      status: 'pass',
      detail: "every PCI endpoint sits in an IOMMU group of its own (bridges and a device's own functions aside)",
    }
  const list = shared.slice(0, 4).map((g) => `group ${g.group}: ${g.devices.join(', ')}`)
  const more = shared.length > 4 ? `; ${shared.length - 4} more` : ''
  return {
    ...b,
    status: OPTIONAL,
    detail: `${shared.length} group${shared.length === 1 ? ' holds' : 's hold'} more than one device, which go to a guest only together: ${list.join('; ')}${more}`,
    remedy: manual(
      'to pass one of them alone, move the card to a slot whose root port isolates it (check with kvmctl check --passthrough ADDRESS)',
    ),
  }
}

/**
 * The checks for `--passthrough SPEC`: one per device it names. A malformed spec, or one that
 * names no device of a host whose PCI list is known, is a usage error (exit 2).
 */
export function passthroughDeviceChecks(f: HostFacts, specText: string): Check[] {
  const spec = parsePciSpec(specText)
  if (!spec)
    throw new UsageError(
      `--passthrough ${specText}: not a PCI address or id; give 0000:01:00.0 (lspci -D) or a vendor:device id such as 10de:1b80 (lspci -nn)`,
    )
  const b = base('device', `Passthrough of ${specText}`)
  if (!f.iommu?.pci) return [notCaptured(b, `${PCI_DEVICES}/`)]
  const devices = findPciDevices(f, spec)
  if (devices.length === 0) {
    if (!f.iommu.pciComplete) return [notCaptured(b, `${PCI_DEVICES}/ (the capture lists only some PCI devices)`)]
    throw new UsageError(`--passthrough ${specText}: no such PCI device on this host; list them with lspci -Dnn`)
  }
  const [device, ...twins] = devices
  return [deviceCheck(f, device, twins)]
}

function deviceCheck(f: HostFacts, device: PciDevice, twins: PciDevice[]): Check {
  const b = base('device', `Passthrough of ${device.address}`)
  const s = iommuState(f)
  const what = describe(device)
  const twinText = twins.length
    ? `; ${twins.map((t) => t.address).join(', ')} ${twins.length === 1 ? 'has' : 'have'} the same id (check ${twins.length === 1 ? 'it' : 'them'} by address)`
    : ''
  if (!s.enabled) {
    return {
      ...b,
      status: 'fail',
      detail: `${what} cannot be passed through: there is no IOMMU (no IOMMU groups)${twinText}`,
      remedy: manual(...enableIommuRemedy(f)),
    }
  }
  const g = analyseGroup(f, device)
  if (g.group === null) {
    return {
      ...b,
      status: 'fail',
      detail: `${what} is in no IOMMU group: the IOMMU does not cover it${twinText}`,
      remedy: manual(...enableIommuRemedy(f)),
    }
  }
  const rmrr = s.log.rmrr && s.log.rmrr.groups[0].endsWith(device.address)
  if (rmrr) {
    return {
      ...b,
      status: 'fail',
      detail: `${what}: the kernel refuses to attach it (kernel log: "${s.log.rmrr!.line}"): the firmware reserves memory (RMRR) for it`,
      remedy: manual(
        'ask the board vendor for firmware without the RMRR for this device, or pass a different device; the RMRR belongs to the firmware, not to Linux',
      ),
    }
  }
  const together = [...g.functions, ...g.bridges]
  const alongside = together.length
    ? `; with it: ${together.map(describe).join(', ')} (${g.functions.length ? 'its own functions go to the guest too' : ''}${g.functions.length && g.bridges.length ? '; ' : ''}${g.bridges.length ? 'bridges stay on the host' : ''})`
    : ''
  const head = `IOMMU group ${g.group}; ${driverText(device)}${alongside}${twinText}`
  if (g.endpoints.length > 0) {
    return {
      ...b,
      status: 'warn',
      detail: `${what}: ${head}; the group also holds ${g.endpoints.map(describe).join(', ')}: all of them would go to the guest together`,
      remedy: manual(
        'move the card to a slot whose root port isolates it (a CPU-attached slot usually does), then check again',
        `or pass every device of group ${g.group} to the same guest; the pcie_acs_override patch hides this but lets the guest reach the others by DMA`,
      ),
    }
  }
  const members = [device, ...g.functions]
  if (members.every((d) => d.driver === 'vfio-pci')) {
    return {
      ...b,
      status: 'pass',
      detail: `${what}: ${head}; bound to vfio-pci, ready: virsh attach-device, or QEMU -device vfio-pci,host=${device.address}`,
    }
  }
  return {
    ...b,
    status: OPTIONAL,
    detail: `${what}: ${head}; ready to be handed to a guest`,
    remedy: manual(...handOverSteps(f, members, twins)),
  }
}

/** vfio-pci.ids for every boot, driver_override for now, then the guest side. */
function handOverSteps(f: HostFacts, members: PciDevice[], twins: PciDevice[]): string[] {
  const ids = [...new Set(members.map((d) => d.id))].join(',')
  const sysfs = (d: PciDevice) => `/sys/bus/pci/devices/${d.address}`
  const now = members.map((d) =>
    [
      `echo vfio-pci | sudo tee ${sysfs(d)}/driver_override`,
      ...(d.driver !== null
        ? [
            `echo ${d.address} | sudo tee ${sysfs(d)}/driver/unbind${d.driver === undefined ? ' (if a driver is bound)' : ''}`,
          ]
        : []),
      `echo ${d.address} | sudo tee /sys/bus/pci/drivers_probe`,
    ].join(' && '),
  )
  const steps = [
    ...(f.sysModules?.includes('vfio_pci') ? [] : ['sudo modprobe vfio-pci']),
    `now, until the next boot: ${now.join('; ')}`,
  ]
  if (twins.length === 0) {
    const softdeps = [
      ...new Set(members.map((d) => d.driver).filter((d): d is string => Boolean(d) && d !== 'vfio-pci')),
    ]
    const early = softdeps.length
      ? ` (${softdeps.map((d) => `softdep ${d} pre: vfio-pci`).join(', ')} in /etc/modprobe.d/vfio.conf makes vfio-pci load before the host driver)`
      : ''
    steps.push(
      `at every boot: add vfio-pci.ids=${ids} to GRUB_CMDLINE_LINUX in /etc/default/grub, ${GRUB_THEN}${early}`,
    )
  } else {
    steps.push(
      `at every boot: vfio-pci.ids=${ids} would also take ${twins.map((t) => t.address).join(', ')}; set driver_override from a boot script (udev rule) for ${members.map((d) => d.address).join(', ')} instead`,
    )
  }
  steps.push(
    `give it to the guest: virsh nodedev-detach pci_${members[0].address.replace(/[:.]/g, '_')} then virsh attach-device with a <hostdev> for it, or QEMU -device vfio-pci,host=${members[0].address}`,
  )
  return steps
}

/** The checks with the device checks for --passthrough placed after the other passthrough checks. */
export function withDeviceChecks(checks: Check[], f: HostFacts, specText: string): Check[] {
  const added = passthroughDeviceChecks(f, specText)
  const last = checks.map((c) => c.area).lastIndexOf('passthrough')
  return [...checks.slice(0, last + 1), ...added, ...checks.slice(last + 1)]
}
