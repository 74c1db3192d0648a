// Reports as node_exporter textfile-collector input (Prometheus text exposition format 0.0.4).
// Every metric gets HELP and TYPE lines; statuses are state sets (one series per possible status,
// 1 for the one it has) so an alert can match `kvmctl_check_status{status="fail"} == 1`.
// Durations are in seconds, the Prometheus base unit.
import {backendLabel} from '../checks/backend.js'
import {STATUSES} from '../lib/status.js'
import {platformSamples} from './platform.js'
import {type CheckReport, type CheckStatus, isCheckReport, type Report, type SelftestReport} from './types.js'

/** A selftest stage is never info: its state set keeps the four statuses it can have. */
const STAGE_STATUSES = STATUSES.filter((s) => s !== 'info')

export interface PrometheusOptions {
  /** When the report was made; adds a *_last_run_timestamp_seconds gauge. */
  now?: Date
}

type Labels = Record<string, string>
interface Sample {
  labels?: Labels
  value: number
}

/** One metric family: HELP, TYPE and its samples. */
function family(name: string, help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} gauge`]
  for (const s of samples) lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`)
  return lines.join('\n') + '\n'
}

function formatLabels(labels: Labels | undefined): string {
  if (!labels || Object.keys(labels).length === 0) return ''
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
  return `{${parts.join(',')}}`
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Number.POSITIVE_INFINITY) return '+Inf'
  if (v === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(v)
}

function stateSet(base: Labels, status: CheckStatus, statuses: readonly CheckStatus[] = STATUSES): Sample[] {
  return statuses.map((s) => ({labels: {...base, status: s}, value: s === status ? 1 : 0}))
}

/** "createVmNs" -> "create_vm": the phase label of a selftest phase key. */
function phaseName(key: string): string {
  return key.replace(/Ns$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
}

/** The selftest reports ns; Prometheus wants seconds. */
const seconds = (ns: number) => ns / 1e9

function checkMetrics(report: CheckReport): string[] {
  const out = [
    family(
      'kvmctl_kvm_usable',
      'Whether kvmctl check found that this host can run KVM virtual machines (1) or not (0).',
      [{value: report.verdict.kvmUsable ? 1 : 0}],
    ),
    family(
      'kvmctl_kvm_backend_info',
      'The KVM implementation kvmctl check found (intel, amd, pvm, ...; none when there is none). Always 1.',
      [{labels: {backend: backendLabel(report.verdict.backend)}, value: 1}],
    ),
    family(
      'kvmctl_check_status',
      'Outcome of each kvmctl check: 1 for the status it has, 0 for the other statuses.',
      report.checks.flatMap((c) => stateSet({id: c.id, area: c.area}, c.status)),
    ),
    family(
      'kvmctl_checks',
      'Number of kvmctl checks with each status.',
      STATUSES.map((s) => ({labels: {status: s}, value: report.counts[s] ?? 0})),
    ),
  ]
  out.push(...platformSamples(report.host).map((m) => family(m.name, m.help, m.samples)))
  const pools = report.host.hugepages ?? {}
  if (Object.keys(pools).length > 0) {
    const entries = Object.entries(pools)
    out.push(
      family(
        'kvmctl_hugepages_reserved',
        'Huge pages reserved in the pool of each page size (HugePages_Total).',
        entries.map(([size, p]) => ({labels: {size}, value: p.total})),
      ),
      family(
        'kvmctl_hugepages_free',
        'Huge pages free in the pool of each page size.',
        entries.map(([size, p]) => ({labels: {size}, value: p.free})),
      ),
    )
  }
  return out
}

function selftestMetrics(report: SelftestReport): string[] {
  const out = [
    family(
      'kvmctl_selftest_ok',
      'Whether the kvmctl selftest probe guest passed every stage (1) or a stage failed (0).',
      [{value: report.ok ? 1 : 0}],
    ),
    family(
      'kvmctl_selftest_stage_status',
      'Outcome of each kvmctl selftest stage: 1 for the status it has, 0 for the other statuses.',
      report.stages.flatMap((s) => stateSet({id: s.id}, s.status, STAGE_STATUSES)),
    ),
    family(
      'kvmctl_selftest_stage_duration_seconds',
      'How long each kvmctl selftest stage took (0 for a skipped stage).',
      report.stages.map((s) => ({labels: {id: s.id}, value: seconds(s.ns)})),
    ),
    family(
      'kvmctl_selftest_phase_duration_seconds',
      'How long each phase of the probe VM life took (open the device, create the VM, memory, load, vCPUs, first exit, teardown, total).',
      Object.entries(report.phases).map(([key, ns]) => ({labels: {phase: phaseName(key)}, value: seconds(ns)})),
    ),
  ]
  const {costs} = report
  if (costs) {
    out.push(
      family(
        'kvmctl_selftest_pio_exit_seconds',
        'Mean round trip of one port-I/O exit from the probe guest to the VMM and back.',
        [{value: seconds(costs.pioExitNs)}],
      ),
      family(
        'kvmctl_selftest_loop_iteration_seconds',
        'One iteration of the probe guest fixed loop in supervisor (cpl0) and user (cpl3) mode.',
        [
          {labels: {mode: 'cpl0'}, value: seconds(costs.cpl0NsPerIteration)},
          {labels: {mode: 'cpl3'}, value: seconds(costs.cpl3NsPerIteration)},
        ],
      ),
      family(
        'kvmctl_selftest_execution_info',
        'How supervisor guest code runs on this host: hardware-assisted, or emulated (e.g. PVM). Always 1.',
        [{labels: {execution: costs.execution}, value: 1}],
      ),
    )
  }
  return out
}

export function toPrometheus(report: Report, options: PrometheusOptions = {}): string {
  const isCheck = isCheckReport(report)
  const families = isCheck ? checkMetrics(report) : selftestMetrics(report)
  if (options.now) {
    const name = isCheck ? 'kvmctl_check_last_run_timestamp_seconds' : 'kvmctl_selftest_last_run_timestamp_seconds'
    families.push(
      family(name, 'When kvmctl wrote this report, in seconds since the Unix epoch.', [
        {value: Math.floor(options.now.getTime() / 1000)},
      ]),
    )
  }
  return families.join('')
}
