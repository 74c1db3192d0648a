// A check report as a node-feature-discovery feature file, for nfd-worker's `local` source
// (/etc/kubernetes/node-feature-discovery/features.d/). NFD's rules for these files:
// - one `<namespace>/<name>=<value>` per line, `#` starts a comment;
// - `# +expiry-time=<RFC3339>` makes NFD ignore the lines after it once that time has passed;
// - names and values must be valid Kubernetes labels (NFD drops invalid ones), and the
//   kubernetes.io namespaces are reserved, so ours is kvmctl.io;
// - a file over 64 KiB is ignored whole; dot files are ignored (our atomic writer's temp file).
import {backendLabel} from '../checks/backend.js'
import {platformLabels} from './platform.js'
import type {CheckReport} from './types.js'

export const NFD_NAMESPACE = 'kvmctl.io'
export const NFD_MAX_BYTES = 64 * 1024

export interface NfdOptions {
  /** After this time NFD ignores the labels, so a node whose kvmctl stopped running loses them. */
  expiresAt?: Date
  /** When the report was made, for the header comment. */
  now?: Date
}

// Kubernetes label rules (apimachinery validation): a name is at most 63 characters of
// [A-Za-z0-9._-] that start and end alphanumeric; a value is the same or empty.
const LABEL_PART = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/

export function isValidLabelName(name: string): boolean {
  return LABEL_PART.test(name)
}

export function isValidLabelValue(value: string): boolean {
  return value === '' || LABEL_PART.test(value)
}

/** Turns free text (a check id, a backend name) into a valid label name or value part. */
export function toLabelPart(text: string): string {
  const cleaned = text
    .replace(/[^-A-Za-z0-9_.]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '')
  return cleaned === '' ? 'unknown' : cleaned
}

/** The labels, in a stable order, that a check report gives a node. */
export function nfdLabels(report: CheckReport): Array<[string, string]> {
  const labels: Array<[string, string]> = [
    ['kvm-usable', String(report.verdict.kvmUsable)],
    ['kvm-backend', toLabelPart(backendLabel(report.verdict.backend))],
  ]
  if (typeof report.host.nested === 'boolean') labels.push(['nested', String(report.host.nested)])
  for (const [size, pool] of Object.entries(report.host.hugepages ?? {})) {
    labels.push(
      [`hugepages-${toLabelPart(size)}-free`, String(pool.free)],
      [`hugepages-${toLabelPart(size)}-reserved`, String(pool.total)],
    )
  }
  labels.push(...platformLabels(report.host))
  // One label per check, so a NodeFeatureRule can select on any single outcome.
  for (const check of report.checks) labels.push([toLabelPart(`check.${check.id}`), check.status])
  return labels.map(([name, value]) => {
    if (!isValidLabelName(name) || !isValidLabelValue(value)) {
      throw new Error(`NFD label ${NFD_NAMESPACE}/${name}=${value} is not a valid Kubernetes label`)
    }
    return [`${NFD_NAMESPACE}/${name}`, value]
  })
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z')
}

export function toNfd(report: CheckReport, options: NfdOptions = {}): string {
  const lines = [`# kvmctl check: ${report.verdict.summary.replace(/\s+/g, ' ')}`]
  if (options.now) lines.push(`# written ${rfc3339(options.now)}`)
  if (options.expiresAt) lines.push(`# +expiry-time=${rfc3339(options.expiresAt)}`)
  for (const [name, value] of nfdLabels(report)) lines.push(`${name}=${value}`)
  const text = lines.join('\n') + '\n'
  if (Buffer.byteLength(text) > NFD_MAX_BYTES)
    throw new Error(`NFD feature file would be ${Buffer.byteLength(text)} bytes; NFD ignores files over 64 KiB`)
  return text
}
