// A check result is data: what was looked at, what was found, and how to fix it when it is not a pass.
import type {HostFacts} from '../host/facts.js'
import {manual, type Remedy} from '../lib/remedy.js'
import type {Status} from '../lib/status.js'

export type {Remedy, Status}
export {manual}

/**
 * Check areas with their report titles, in report order. A new area is one line here plus its
 * group in REGISTRY (src/checks/index.ts); the JSON schema's area enum must list it too.
 */
export const AREA_TITLES = {
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
} as const satisfies Record<string, string>

export type Area = keyof typeof AREA_TITLES
export const AREAS = Object.keys(AREA_TITLES) as Area[]

export interface Check {
  /** Stable dotted id, e.g. "cpu.flag", "dev-kvm.open". */
  id: string
  area: Area
  title: string
  status: Status
  /** What was found, in one line. */
  detail: string
  /** How to fix a fail or warn, or apply an info's optional tuning: the kvmctl command and the steps. */
  remedy?: Remedy
}

/** One area's checks: a pure function of the gathered facts. */
export type CheckGroup = (facts: HostFacts) => Check[]

/** The detail of a check whose facts the replayed capture did not cover. */
export const NOT_CAPTURED = 'not in this capture'

/** A skip for a check that needs only facts the capture did not cover: no remedy, nothing to fix. */
export function notCaptured<B extends Pick<Check, 'id' | 'area' | 'title'>>(base: B, what?: string): Check {
  return {...base, status: 'skip', detail: what ? `${NOT_CAPTURED}: ${what}` : NOT_CAPTURED}
}
