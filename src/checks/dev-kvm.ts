// /dev/kvm: present, who may open it, and whether opening it, asking the API version and creating
// a VM and a vCPU really work (the native probe did each step; errno names come from it).
import type {HostFacts} from '../host/facts.js'
import {detectBackend, vendorModule} from './backend.js'
import {firmwareDisabled, firmwareRemedy} from './cpu.js'
import {isPresent, loadModuleRemedy, moduleState} from './modules.js'
import type {Check} from './types.js'

export const KVM_API_VERSION = 12

const BUSY_REMEDY = [
  'another hypervisor holds the virtualization extensions (VirtualBox or VMware): stop it, or unload its kernel module, then try again',
]

/**
 * What to do when opening /dev/kvm failed with this errno name. Shared with `kvmctl selftest`,
 * so both commands give the same advice.
 */
export function devKvmRemedy(f: HostFacts, errno: string): string[] {
  if (errno === 'EACCES' || errno === 'EPERM') {
    const node = f.host.devices['/dev/kvm']
    const user = f.host.user.name ?? '"$USER"'
    const group = node?.group ?? (node && node.gid !== 0 ? `the group with gid ${node.gid}` : undefined)
    if (!group || group === 'root') {
      return [
        'give /dev/kvm to the kvm group: sudo groupadd -f -r kvm && sudo chgrp kvm /dev/kvm && sudo chmod 0660 /dev/kvm',
        'keep it across reboots with a udev rule: echo \'KERNEL=="kvm", GROUP="kvm", MODE="0660"\' | sudo tee /etc/udev/rules.d/65-kvm.rules',
        `sudo usermod -aG kvm ${user}`,
        'then log out and log in again (or run `newgrp kvm`) so the new group applies',
      ]
    }
    return [
      `sudo usermod -aG ${/^[a-z_][\w-]*$/.test(group) ? group : 'kvm'} ${user}`,
      'then log out and log in again (or run `newgrp kvm`) so the new group applies',
    ]
  }
  if (errno === 'ENOENT' || errno === 'ENXIO' || errno === 'ENODEV') {
    if (firmwareDisabled(f).length > 0) return firmwareRemedy(f)
    const backend = detectBackend(f)
    if (backend || isPresent(moduleState(f, 'kvm'))) {
      // KVM is in the kernel but the node is not here: typically a container that was not given it.
      return [
        'pass the device into the container: docker run --device /dev/kvm ... (podman: --device /dev/kvm; Kubernetes: a device plugin such as kubevirt\'s, or a privileged pod with a hostPath /dev/kvm)',
        'LXC/Incus: allow and bind it: lxc.cgroup2.devices.allow = c 10:232 rwm and lxc.mount.entry = /dev/kvm dev/kvm none bind,optional,create=file',
        'outside a container, recreate the node: sudo mknod /dev/kvm c 10 232 && sudo chgrp kvm /dev/kvm && sudo chmod 0660 /dev/kvm',
      ]
    }
    const vendor = f.arch === 'arm64' ? 'kvm' : vendorModule(f)
    return vendor ? loadModuleRemedy(f, vendor) : ['sudo modprobe kvm_intel (Intel) or sudo modprobe kvm_amd (AMD)']
  }
  if (errno === 'EBUSY') return BUSY_REMEDY
  return [`opening /dev/kvm failed with ${errno}: look at sudo dmesg | grep -i kvm for the reason`]
}

export function devKvmChecks(f: HostFacts): Check[] {
  const node = f.host.devices['/dev/kvm']
  const probe = f.host.kvm
  const checks: Check[] = []
  const exists: Check = {id: 'dev-kvm.exists', area: 'dev-kvm', title: '/dev/kvm exists', status: 'pass', detail: ''}
  if (!node) {
    checks.push({...exists, status: 'fail', detail: '/dev/kvm is missing', remedy: devKvmRemedy(f, 'ENOENT')})
  } else {
    const owner = `uid ${node.uid}, gid ${node.gid}${node.group ? ` (${node.group})` : ''}`
    checks.push({...exists, detail: `mode ${node.mode}, ${owner}`})
  }
  const who = `uid ${f.host.user.uid}${f.host.user.groups.length ? `, groups ${f.host.user.groups.join(',')}` : ''}`
  const open: Check = {id: 'dev-kvm.open', area: 'dev-kvm', title: 'this user can open /dev/kvm read-write', status: 'pass', detail: `opened as ${who}`}
  if (probe.open !== 'ok') {
    // A missing node is reported once, by dev-kvm.exists.
    const status = probe.open === 'ENOENT' && !node ? 'skip' : 'fail'
    checks.push({...open, status, detail: `open failed: ${probe.open} (as ${who})`, ...(status === 'fail' ? {remedy: devKvmRemedy(f, probe.open)} : {})})
    checks.push({id: 'dev-kvm.vm', area: 'dev-kvm', title: 'KVM API 12, create a VM and a vCPU', status: 'skip', detail: 'not tried: /dev/kvm did not open'})
    return checks
  }
  checks.push(open)
  const api = probe.apiVersion
  const steps = [`API version ${api ?? probe.apiVersionError ?? 'unknown'}`, `KVM_CREATE_VM ${probe.createVm ?? 'not tried'}`, `KVM_CREATE_VCPU ${probe.vcpu ?? 'not tried'}`]
  const ok = api === KVM_API_VERSION && probe.createVm === 'ok' && probe.vcpu === 'ok'
  checks.push({
    id: 'dev-kvm.vm',
    area: 'dev-kvm',
    title: 'KVM API 12, create a VM and a vCPU',
    status: ok ? 'pass' : 'fail',
    detail: steps.join(', '),
    ...(ok ? {} : {remedy: vmRemedy(probe.createVm !== 'ok' ? probe.createVm : probe.vcpu)}),
  })
  return checks
}

function vmRemedy(errno: string | undefined): string[] {
  if (errno === 'EBUSY') return BUSY_REMEDY
  if (errno === 'ENOMEM') return ['the kernel could not allocate the VM: free memory, or lower vm.nr_hugepages if it holds most of it']
  return [`look at the kernel's reason: sudo dmesg | grep -iE "kvm|vmx|svm" | tail`]
}

/** True when /dev/kvm opened and a VM with a vCPU could be created. */
export function kvmUsable(f: HostFacts): boolean {
  const p = f.host.kvm
  return p.open === 'ok' && p.apiVersion === KVM_API_VERSION && p.createVm === 'ok' && p.vcpu === 'ok'
}
