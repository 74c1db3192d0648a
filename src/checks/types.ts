// A check result is data: what was looked at, what was found, and what to run when it is not a pass.
import type {Status} from '../lib/status.js'
import type {HostFacts} from '../host/facts.js'

export type {Status}

/** Check areas, in report order. */
export const AREAS = ['cpu', 'backend', 'kernel-config', 'modules', 'dev-kvm', 'nested', 'hugepages', 'devices', 'passthrough', 'confidential', 'firmware'] as const
export type Area = (typeof AREAS)[number]

export const AREA_TITLES: Record<Area, string> = {
  cpu: 'CPU virtualization',
  backend: 'KVM backend',
  'kernel-config': 'Kernel config',
  modules: 'Modules',
  'dev-kvm': '/dev/kvm',
  nested: 'Nested virtualization',
  hugepages: 'Memory',
  devices: 'Devices',
  passthrough: 'Device passthrough',
  confidential: 'Confidential guests',
  firmware: 'Guest firmware',
}

export interface Check {
  /** Stable dotted id, e.g. "cpu.flag", "dev-kvm.open". */
  id: string
  area: Area
  title: string
  status: Status
  /** What was found, in one line. */
  detail: string
  /** Exact commands or steps that fix a non-pass, in order. */
  remedy?: string[]
}

/** One area's checks: a pure function of the gathered facts. */
export type CheckGroup = (facts: HostFacts) => Check[]

/** The detail of a check whose facts the replayed capture did not cover. */
export const NOT_CAPTURED = 'not in this capture'

/** A skip for a check that needs only facts the capture did not cover: no remedy, nothing to fix. */
export function notCaptured<B extends Pick<Check, 'id' | 'area' | 'title'>>(base: B, what?: string): Check {
  return {...base, status: 'skip', detail: what ? `${NOT_CAPTURED}: ${what}` : NOT_CAPTURED}
}
