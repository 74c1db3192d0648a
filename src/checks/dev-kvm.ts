// /dev/kvm: present, who may open it, and whether opening it, asking the API version and creating
// a VM and a vCPU really work (the native probe did each step; errno names come from it). A
// capture may record only the open; the steps it did not record are skipped, never failed.
import {isUnknown, type HostFacts} from '../host/facts.js'
import {
  detectBackend,
  firmwareDisabled,
  KVM_API_VERSION,
  probeSteps,
  pvmGuestRefusal,
  unboundBackends,
  vendorModule,
  type Backend,
} from '../host/derived.js'
import {moduleState} from '../host/module-state.js'
import {firmwareRemedy} from './cpu.js'
import {accessRemedy} from '../plan/access.js'
import {loadModuleRemedy, OUTER_HOST_REMEDY} from '../plan/remedies.js'
import {manual, notCaptured, type Check, type Remedy} from './types.js'

export {KVM_API_VERSION}

const BUSY_REMEDY = manual(
  'another hypervisor holds the virtualization extensions (VirtualBox or VMware): stop it, or unload its kernel module, then try again',
)

const PASS_DEVICE = [
  "pass the device into the container: docker run --device /dev/kvm ... (podman: --device /dev/kvm; Kubernetes: a KVM device plugin such as kubevirt's that offers devices.kubevirt.io/kvm, or a privileged pod with a hostPath /dev/kvm)",
  'LXC/Incus: allow and bind it: lxc.cgroup2.devices.allow = c 10:232 rwm and lxc.mount.entry = /dev/kvm dev/kvm none bind,optional,create=file',
]

/** Recreating the node on the host itself: reload the module (udev makes the node), or mknod. */
function recreateNode(f: HostFacts, backend: Backend): string[] {
  const group = f.host.devices['/dev/kvm']?.group ?? 'kvm'
  const mknod = `sudo mknod /dev/kvm c 10 232 && sudo chgrp ${group} /dev/kvm && sudo chmod 0660 /dev/kvm`
  const reloadable = backend !== 'arm64' && moduleState(f, backend) !== 'builtin'
  return [
    reloadable
      ? `recreate the node: with every VM stopped, sudo modprobe -r ${backend} && sudo modprobe ${backend} (udev creates /dev/kvm), or ${mknod}`
      : `recreate the node: sudo udevadm trigger --action=add --subsystem-match=misc, or ${mknod}`,
  ]
}

/**
 * What to do when opening /dev/kvm failed with this errno name. Shared with `kvmctl selftest`,
 * so both commands give the same advice.
 */
export function devKvmRemedy(f: HostFacts, errno: string): Remedy {
  // The group, the node's group and mode, the membership and a new login: tune access's own plan.
  if (errno === 'EACCES' || errno === 'EPERM') return accessRemedy(f)
  if (errno === 'ENOENT' || errno === 'ENXIO' || errno === 'ENODEV') {
    if (firmwareDisabled(f).length > 0) return firmwareRemedy(f)
    // A backend in the kernel that did not bind: no node to pass in or recreate.
    if (pvmGuestRefusal(f) !== undefined) return OUTER_HOST_REMEDY
    if (unboundBackends(f).length > 0) return manual(`look at the kernel's reason: sudo dmesg | grep -iE "kvm|vmx|svm"`)
    const backend = detectBackend(f)
    if (backend) {
      // KVM is in the kernel but the node is not here: a container that was not given it, or a
      // node deleted on the host.
      const container = f.host.container
      if (typeof container === 'string') return manual(...PASS_DEVICE)
      const outside = recreateNode(f, backend)
      return container === null ? manual(...outside) : manual(...PASS_DEVICE, `outside a container: ${outside[0]}`)
    }
    const vendor = f.arch === 'arm64' ? 'kvm' : vendorModule(f)
    if (vendor && moduleState(f, vendor) !== 'unknown') return loadModuleRemedy(f, vendor)
    // Nothing in the capture says which modules are loaded.
    return manual(
      vendor
        ? `load the KVM module: sudo modprobe ${vendor}`
        : 'load the KVM module: sudo modprobe kvm_intel (Intel) or sudo modprobe kvm_amd (AMD)',
      `in a container: ${PASS_DEVICE[0]}`,
    )
  }
  if (errno === 'EBUSY') return BUSY_REMEDY
  return manual(`opening /dev/kvm failed with ${errno}: look at sudo dmesg | grep -i kvm for the reason`)
}

/** Why /dev/kvm is missing, when the facts say more than that it is. */
function missingReason(f: HostFacts): string {
  if (firmwareDisabled(f).length > 0) return ': virtualization is off in firmware'
  const [unbound] = unboundBackends(f)
  if (unbound)
    return `: ${unbound.name} is in the kernel but did not bind (${unbound.why.replace(/ \(kernel log: .*\)$/, '')})`
  return ''
}

export function devKvmChecks(f: HostFacts): Check[] {
  const node = f.host.devices['/dev/kvm']
  const probe = f.host.kvm
  const exists = {id: 'dev-kvm.exists', area: 'dev-kvm' as const, title: '/dev/kvm exists'}
  const open = {id: 'dev-kvm.open', area: 'dev-kvm' as const, title: 'this user can open /dev/kvm read-write'}
  const vm = {id: 'dev-kvm.vm', area: 'dev-kvm' as const, title: 'KVM API 12, create a VM and a vCPU'}
  if (isUnknown(f, 'kvm'))
    return [notCaptured(exists, '/dev/kvm'), notCaptured(open, '/dev/kvm'), notCaptured(vm, '/dev/kvm')]
  const checks: Check[] = []
  if (node === null) {
    checks.push({
      ...exists,
      status: 'fail',
      detail: `/dev/kvm is missing${missingReason(f)}`,
      remedy: devKvmRemedy(f, 'ENOENT'),
    })
  } else if (node === undefined) {
    checks.push(
      probe.open === 'ok'
        ? {...exists, status: 'pass', detail: 'it opens (mode and owner not in this capture)'}
        : notCaptured(exists, 'the /dev/kvm node'),
    )
  } else {
    const gid = node.gid < 0 ? '' : `, gid ${node.gid}`
    checks.push({
      ...exists,
      status: 'pass',
      detail: `mode ${node.mode}, uid ${node.uid}${gid}${node.group ? ` (group ${node.group})` : ''}`,
    })
  }
  const {uid, groups} = f.host.user
  const who = uid < 0 ? '' : ` as uid ${uid}${groups.length ? `, groups ${groups.join(',')}` : ''}`
  if (probe.open !== 'ok') {
    // A missing node is reported once, by dev-kvm.exists.
    const missing = probe.open === 'ENOENT' && node === null
    checks.push(
      missing
        ? {...open, status: 'skip', detail: `open failed: ENOENT${who} (reported under "${exists.title}")`}
        : {...open, status: 'fail', detail: `open failed: ${probe.open}${who}`, remedy: devKvmRemedy(f, probe.open)},
    )
    checks.push({...vm, status: 'skip', detail: 'not tried: /dev/kvm did not open'})
    return checks
  }
  checks.push({...open, status: 'pass', detail: `opened${who}`})
  const steps = probeSteps(probe)
  if (steps.every((step) => step.result === undefined)) {
    checks.push(notCaptured(vm, 'API version, KVM_CREATE_VM, KVM_CREATE_VCPU'))
    return checks
  }
  const detail = steps.map((step) => `${step.label} ${step.result ?? 'not recorded'}`).join(', ')
  const failed = steps.find((step) => !step.ok)
  checks.push(
    failed ? {...vm, status: 'fail', detail, remedy: vmRemedy(failed.result)} : {...vm, status: 'pass', detail},
  )
  return checks
}

function vmRemedy(errno: string | undefined): Remedy {
  if (errno === 'EBUSY') return BUSY_REMEDY
  if (errno === 'ENOMEM')
    return manual('the kernel could not allocate the VM: free memory, or lower vm.nr_hugepages if it holds most of it')
  return manual(`look at the kernel's reason: sudo dmesg | grep -iE "kvm|vmx|svm" | tail`)
}
