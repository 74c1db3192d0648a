// The ordered registry of check groups, and the report built from them. A group that throws
// becomes one 'fail' result carrying the error text, so one bad parser never hides the others.
import type {HostFacts} from '../host/facts.js'
import {detectBackend, kvmUsable, type Backend} from '../host/derived.js'
import {backendChecks, BACKEND_NAMES, PVM_SHORT_CAVEAT} from './backend.js'
import {confidentialChecks} from './confidential.js'
import {cpuChecks} from './cpu.js'
import {devKvmChecks} from './dev-kvm.js'
import {deviceChecks} from './devices.js'
import {firmwareChecks} from './firmware.js'
import {firmwareLockChecks} from './firmware-lock.js'
import {hugepageChecks} from './hugepages.js'
import {hwAssistChecks} from './hw-assist.js'
import {kernelConfigChecks} from './kernel-config.js'
import {moduleChecks} from './modules.js'
import {nestedChecks} from './nested.js'
import {nextBootChecks} from './next-boot.js'
import {passthroughChecks} from './passthrough.js'
import {STATUSES} from '../lib/status.js'
import {AREA_TITLES, type Area, type Check, type CheckGroup, type Status} from './types.js'

export const REGISTRY: ReadonlyArray<readonly [Area, CheckGroup]> = [
  ['cpu', cpuChecks],
  ['cpu', firmwareLockChecks],
  ['backend', backendChecks],
  ['backend', hwAssistChecks],
  ['kernel-config', kernelConfigChecks],
  ['modules', moduleChecks],
  ['dev-kvm', devKvmChecks],
  ['nested', nestedChecks],
  ['hugepages', hugepageChecks],
  ['hugepages', nextBootChecks],
  ['devices', deviceChecks],
  ['passthrough', passthroughChecks],
  ['confidential', confidentialChecks],
  ['firmware', firmwareChecks],
]

export function runChecks(facts: HostFacts, registry = REGISTRY): Check[] {
  const checks = registry.flatMap(([area, group]) => {
    try {
      return group(facts)
    } catch (error) {
      return [
        {
          id: `${area}.error`,
          area,
          title: `${AREA_TITLES[area]} checks`,
          status: 'fail' as const,
          detail: `the check itself failed: ${(error as Error).message ?? String(error)}`,
        },
      ]
    }
  })
  return mergeRepeatedRemedies(checks)
}

/**
 * One cause often shows in several checks (firmware that disabled VT-x hides the flag, keeps the
 * backend from loading and leaves no /dev/kvm). Its remedy is printed once, under the first check
 * that found it; the later ones point there instead of repeating it.
 */
const REMEDY_UNDER = / \(remedy under "[^"]*"\)$/

export function mergeRepeatedRemedies(checks: Check[]): Check[] {
  const firstWith = new Map<string, Check>()
  return checks.map((check) => {
    if (check.status === 'pass' || !check.remedy) return check
    const key = JSON.stringify(check.remedy)
    const first = firstWith.get(key)
    if (!first) {
      firstWith.set(key, check)
      return check
    }
    const {remedy: _repeated, ...rest} = check
    return {...rest, detail: `${check.detail} (remedy under "${first.title}")`}
  })
}

export interface Verdict {
  /** /dev/kvm opened and a VM with a vCPU was created. */
  kvmUsable: boolean
  backend: Backend | null
  summary: string
}

export type Counts = Record<Status, number>

export function countStatuses(checks: Check[]): Counts {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Counts
  for (const c of checks) counts[c.status]++
  return counts
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/** "1 failed, 2 warnings, 3 notes": what a reader acts on first. */
export function tallyText(counts: Counts): string {
  return `${counts.fail} failed, ${plural(counts.warn, 'warning')}, ${plural(counts.info, 'note')}`
}

export function verdictOf(facts: HostFacts, checks: Check[]): Verdict {
  const backend = detectBackend(facts) ?? null
  const usable = kvmUsable(facts)
  const counts = countStatuses(checks)
  const tally = tallyText(counts)
  let summary: string
  if (usable) {
    const caveat = backend === 'kvm_pvm' ? `; ${PVM_SHORT_CAVEAT}` : ''
    summary = `KVM is usable through ${backend ? BACKEND_NAMES[backend] : 'an unidentified backend'}${caveat}; ${tally}`
  } else {
    // The backend is what serves /dev/kvm: when it fails, its finding is the verdict's reason.
    const firstFail =
      checks.find((c) => c.status === 'fail' && c.area === 'backend') ?? checks.find((c) => c.status === 'fail')
    summary = `KVM is not usable${firstFail ? `: ${firstFail.detail.replace(REMEDY_UNDER, '')}` : ''}; ${tally}`
  }
  return {kvmUsable: usable, backend, summary}
}
