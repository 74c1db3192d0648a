// The files, modes and names `kvmctl tune` writes, as the remedies `kvmctl check` prints them, so
// the advice and the fix agree (test/remedies.test.ts holds them to tune's own plan, line for line).

/** Where the hugepage pool is persisted (sysctl.d, applied early: 40- sorts before most files). */
export const SYSCTL_FILE = '/etc/sysctl.d/40-hugepage.conf'
export const FSTAB = '/etc/fstab'
/** The hugetlbfs mount tune makes by default, and its root inode's mode: group rwx, sticky. */
export const HUGETLBFS_MOUNT = '/dev/hugepages'
export const MOUNT_MODE = 0o1770
/** The group that may use the mount (and /dev/kvm); created with `groupadd --system` when missing. */
export const DEFAULT_GROUP = 'kvm'
/** The VM size a remedy plans for when the user has not said: one 1 GiB guest. */
export const DEFAULT_VM_MEM_MIB = 1024

/** The file `tune nested` persists a vendor module's options in. */
export function modprobeFile(module: string): string {
  return `/etc/modprobe.d/${module}.conf`
}

/** Mount options as tune passes them to mount(8) and writes them to fstab: mode=01770,gid=N. */
export function hugetlbfsOptions(gid: number | string, pageSizeLabel?: string): string[] {
  return [`mode=0${MOUNT_MODE.toString(8)}`, `gid=${gid}`, ...(pageSizeLabel ? [`pagesize=${pageSizeLabel}`] : [])]
}
