// A baseline host for pure check tests: bare-metal Intel with VT-x, kvm_intel loaded, /dev/kvm
// usable. Tests override what they are about. (Values as on a stock Debian 12 host.)
import {UNKNOWN_BOOT_CONFIG} from '../../src/host/boot-config.js'
import type {HostFacts} from '../../src/host/facts.js'

type Overrides = Omit<Partial<HostFacts>, 'host'> & {host?: Partial<HostFacts['host']>}

export function intelHost(overrides: Overrides = {}): HostFacts {
  const {host, ...rest} = overrides
  return {
    live: false,
    arch: 'x86',
    unknown: [],
    host: {
      uname: {release: '6.1.0-18-amd64', machine: 'x86_64'},
      user: {uid: 1000, gid: 1000, groups: [1000, 108], name: 'alice'},
      devices: {
        '/dev/kvm': {mode: '0660', uid: 0, gid: 108, group: 'kvm'},
        '/dev/vhost-net': {mode: '0660', uid: 0, gid: 108, group: 'kvm'},
        '/dev/net/tun': {mode: '0666', uid: 0, gid: 0},
      },
      kvm: {open: 'ok', apiVersion: 12, createVm: 'ok', vcpu: 'ok'},
      cpuid: {vendor: 'GenuineIntel', vmx: true, svm: false, hypervisor: false},
      dmesg: '[    0.000000] Linux version 6.1.0-18-amd64\n',
      ...host,
    },
    cpu: {vendor: 'GenuineIntel', model: 'Intel(R) Xeon(R) CPU', flags: ['fpu', 'vmx', 'lm'], count: 4},
    kernelConfig: {
      source: '/boot/config-6.1.0-18-amd64',
      options: {
        KVM: 'm',
        KVM_INTEL: 'm',
        KVM_AMD: 'm',
        VIRTIO: 'm',
        VIRTIO_PCI: 'm',
        VIRTIO_NET: 'm',
        VIRTIO_BLK: 'm',
        SCSI_VIRTIO: 'm',
        VIRTIO_CONSOLE: 'm',
        VIRTIO_BALLOON: 'm',
        VHOST_NET: 'm',
        HUGETLBFS: 'y',
        TUN: 'm',
        MODULES: 'y',
      },
    },
    loadedModules: ['kvm_intel', 'kvm', 'vhost_net', 'tun', 'virtio', 'virtio_pci'],
    builtinModules: [],
    sysModules: ['kvm', 'kvm_intel', 'vhost_net', 'tun'],
    moduleParams: {'kvm_intel.nested': 'Y'},
    meminfo: {MemTotal: 16 * 2 ** 20, Hugepagesize: 2048},
    hugepages: [{sizeKb: 2048, total: 512, free: 512, reserved: 0, surplus: 0}],
    mounts: [{source: 'hugetlbfs', target: '/dev/hugepages', fstype: 'hugetlbfs', options: 'rw,relatime,pagesize=2M'}],
    thp: 'madvise',
    ksm: '0',
    iommuGroups: 12,
    cmdline: 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 ro quiet intel_iommu=on',
    firmware: [{dir: '/usr/share/OVMF', files: ['OVMF_CODE_4M.fd', 'OVMF_CODE_4M.secboot.fd', 'OVMF_VARS_4M.ms.fd']}],
    os: 'Debian GNU/Linux 12 (bookworm)',
    kvmMisc: true,
    virtioDevices: null,
    boot: UNKNOWN_BOOT_CONFIG,
    unreadable: {},
    numaNodes: [0],
    nodePools: [{node: 0, sizeKb: 2048, total: 512, free: 512, surplus: 0}],
    // /etc/group not read: the kvm group's gid comes from the device node's group name.
    groups: null,
    // No user's account was asked for (check never does): membership is unknown.
    accounts: {},
    fstab: 'hugetlbfs /dev/hugepages hugetlbfs mode=01770,gid=108,nofail 0 0\n',
    sysctl: [{path: '/etc/sysctl.d/40-hugepage.conf', settings: {'vm.nr_hugepages': '512'}}],
    modprobe: [],
    moduleUsers: {},
    kvmProcesses: null,
    paths: {'/dev/hugepages': {mode: 0o1770, uid: 0, gid: 108, isDir: true}},
    services: {ksmtuned: false, ksmService: false, init: 'systemd'},
    ...rest,
  }
}
