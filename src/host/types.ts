// Facts about a host that are not plain files. Live mode gathers them; a capture stores them in
// DIR/host.json so a replay (--root DIR) sees exactly what the captured machine saw.
// The field names and meanings are a stable contract, documented in fixtures/README.md.
import type {CpuidBits, KvmProbe} from '../native.js'
import type {MsrProbe} from './msr.js'

export interface DeviceNode {
  /** Octal permission bits as text, e.g. "0660". */
  mode: string
  uid: number
  gid: number
  /** Group name when the capturing host could resolve it (e.g. "kvm"). */
  group?: string
}

export interface HostJson {
  /** Version of this file's shape. */
  schema?: number
  uname: {release: string; machine: string}
  user: {uid: number; gid: number; groups: number[]; name?: string}
  devices: Record<string, DeviceNode | null>
  kvm: KvmProbe
  cpuid: CpuidBits | null
  dmesg: string | null
  /**
   * Container runtime kvmctl ran in ("docker", "podman", "lxc", ...), null on the host itself;
   * absent when the capture does not tell.
   */
  container?: string | null
  /**
   * Host paths the capture covered: files, or folders ending in "/". Absent: every path kvmctl
   * reads (src/host/paths.ts) was covered, so a missing file was missing on that host. Present:
   * a path outside the list was not captured, and what depends on it is unknown. The facts that
   * are not files count under the path they come from: "/dev/kvm" (devices["/dev/kvm"] and kvm),
   * "/dev/vhost-net", "/dev/net/tun", and "/dev/kmsg" (dmesg).
   */
  captured?: string[]
  /** CPU 0's MSRs as read through /dev/cpu/0/msr (src/host/confidential.ts); absent when not recorded. */
  msr?: MsrProbe
  /**
   * Mode and owner of the directories tune plans for (hugetlbfs mount points), which a capture
   * cannot keep as its own folders' attributes: null when the path was absent.
   */
  paths?: Record<string, {mode: string; uid: number; gid: number} | null>
  /** Free-form note on where the capture came from (kvmctl version, or cited public sources). */
  source?: string
}

export const DEVICE_PATHS = ['/dev/kvm', '/dev/vhost-net', '/dev/net/tun', '/dev/sev', '/dev/vfio/vfio'] as const
