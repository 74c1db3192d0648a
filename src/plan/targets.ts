// The files, modes and names `kvmctl tune` writes, defined once: tune's planners and apply, and
// the remedies `kvmctl check` and `kvmctl selftest` print, all import them from here, so the advice
// and the fix agree (test/remedies.test.ts holds the remedies to tune's own plan, line for line).
import {DEFAULT_HUGETLBFS_MOUNT, FSTAB, MODPROBE_DIRS} from '../host/paths.js'
import type {FstabEntry} from '../lib/fstab.js'

export {FSTAB}

/** Where the hugepage pool is persisted; 40- so that distribution files (50-) and admins' (60+) win. */
export const SYSCTL_FILE = '/etc/sysctl.d/40-hugepage.conf'
/** Sets the pool of the default page size only. */
export const SYSCTL_KEY = 'vm.nr_hugepages'
/** The hugetlbfs mount tune makes by default, and its root inode's mode: group rwx, sticky. */
export const HUGETLBFS_MOUNT = DEFAULT_HUGETLBFS_MOUNT
export const MOUNT_MODE = 0o1770
/** The group that may use the mount (and /dev/kvm); created with `groupadd --system` when missing. */
export const DEFAULT_GROUP = 'kvm'
/** The udev rule `tune access` writes when /dev/kvm has another group or mode (65-: after 50-udev-default). */
export const KVM_UDEV_RULE = '/etc/udev/rules.d/65-kvmctl-kvm.rules'
/** The mode /dev/kvm gets: read-write for its owner and group, as distributions' udev rules give it. */
export const KVM_NODE_MODE = 0o660

/** The line of tune access's udev rule: the kvm node gets group `group` and mode 0660 whenever it appears. */
export function kvmUdevLine(group: string): string {
  return `KERNEL=="kvm", GROUP="${group}", MODE="0${KVM_NODE_MODE.toString(8)}"`
}

/** The systemd-tmpfiles file `tune ksm` keeps KSM's run value in across reboots. */
export const KSM_TMPFILES = '/etc/tmpfiles.d/kvmctl-ksm.conf'
/** Per-node hugepage pools at boot on kernels before 5.16 (no `hugepages=NODE:COUNT`). */
export const HUGEPAGES_TMPFILES = '/etc/tmpfiles.d/kvmctl-hugepages.conf'
/** The VM size a remedy plans for when the user has not said: one 1 GiB guest. */
export const DEFAULT_VM_MEM_MIB = 1024

/** The file `tune nested` persists a vendor module's options in: /etc/modprobe.d/kvm_intel.conf. */
export function modprobeFile(module: string): string {
  return `${MODPROBE_DIRS[0]}/${module}.conf`
}

/** Mount options as tune passes them to mount(8) and writes them to fstab: mode=01770,gid=N. */
export function hugetlbfsOptions(gid: number | string, pageSizeLabel?: string): string[] {
  return [`mode=0${MOUNT_MODE.toString(8)}`, `gid=${gid}`, ...(pageSizeLabel ? [`pagesize=${pageSizeLabel}`] : [])]
}

/** The fstab line that mounts hugetlbfs at target with those options at boot (nofail: boot goes on). */
export function hugetlbfsFstabEntry(target: string, options: string[]): FstabEntry {
  return {spec: 'hugetlbfs', file: target, vfstype: 'hugetlbfs', options: [...options, 'nofail'], freq: 0, passno: 0}
}
