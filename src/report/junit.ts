// Reports as JUnit XML for CI dashboards: one testcase per check or selftest stage. A fail is a
// <failure> carrying the detail and the remedy, a skip is <skipped>, and a warn passes with its
// detail in <system-out> (CI shows it without turning the build red); so does an info, marked INFO.
import {remedyLines} from '../lib/remedy.js'
import {type Check, isCheckReport, type Report, type SelftestReport, type Stage} from './types.js'

export interface JUnitOptions {
  /** Host name for the testsuite's hostname attribute. */
  hostname?: string
  /** When the report was made: the testsuite's timestamp attribute. */
  now?: Date
}

// Characters XML 1.0 does not allow anywhere, not even escaped.
// eslint-disable-next-line no-control-regex
const INVALID_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

function esc(text: string): string {
  return text
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}

function attrs(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${esc(String(v))}"`)
    .join('')
}

/** JUnit times are seconds; stages take microseconds to milliseconds, so keep 6 places. */
function seconds(ns: number): string {
  return (ns / 1e9).toFixed(6)
}

interface Case {
  id: string
  title: string
  classname: string
  status: Check['status']
  detail: string
  remedy?: string[]
  ns: number
}

function testcase(c: Case): string {
  const open = `    <testcase${attrs({name: `${c.id}: ${c.title}`, classname: c.classname, time: seconds(c.ns)})}`
  const body = c.remedy?.length ? `${c.detail}\nTo fix:\n${c.remedy.map((r) => `  ${r}`).join('\n')}` : c.detail
  switch (c.status) {
    case 'fail':
      return `${open}>\n      <failure${attrs({message: c.detail, type: 'fail'})}>${esc(body)}</failure>\n    </testcase>`
    case 'skip':
      return `${open}>\n      <skipped${attrs({message: c.detail})}/>\n    </testcase>`
    case 'warn':
      return `${open}>\n      <system-out>${esc(`WARN: ${body}`)}</system-out>\n    </testcase>`
    case 'info':
      return `${open}>\n      <system-out>${esc(`INFO: ${body}`)}</system-out>\n    </testcase>`
    default:
      return `${open}>\n      <system-out>${esc(body)}</system-out>\n    </testcase>`
  }
}

function checkCase(c: Check): Case {
  return {...c, remedy: remedyLines(c.remedy), classname: `kvmctl.check.${c.area}`, ns: 0}
}

function stageCase(s: Stage): Case {
  return {...s, remedy: remedyLines(s.remedy), classname: 'kvmctl.selftest'}
}

/** The run's settings, costs and phases (ns) as testsuite properties. */
function selftestProperties(report: SelftestReport): Record<string, string> {
  const {costs} = report
  return {
    ok: String(report.ok),
    device: report.device,
    vcpus: String(report.vcpus),
    memBytes: String(report.memBytes),
    backing: report.backing,
    ...(costs
      ? {
          execution: costs.execution,
          pioExitNs: String(costs.pioExitNs),
          cpl0NsPerIteration: String(costs.cpl0NsPerIteration),
          cpl3NsPerIteration: String(costs.cpl3NsPerIteration),
        }
      : {}),
    ...Object.fromEntries(Object.entries(report.phases).map(([k, v]) => [k, String(v)])),
  }
}

export function toJUnit(report: Report, options: JUnitOptions = {}): string {
  const isCheck = isCheckReport(report)
  const name = isCheck ? 'kvmctl check' : 'kvmctl selftest'
  const cases = isCheck ? report.checks.map(checkCase) : report.stages.map(stageCase)
  const properties: Record<string, string> = isCheck
    ? {
        'kvm-usable': String(report.verdict.kvmUsable),
        backend: report.verdict.backend ?? 'none',
        summary: report.verdict.summary,
      }
    : selftestProperties(report)
  const count = (s: Check['status']) => cases.filter((c) => c.status === s).length
  const totals = {
    tests: cases.length,
    failures: count('fail'),
    errors: 0,
    skipped: count('skip'),
    // A selftest's stages overlap (g spans the run), so its suite time is the run's own.
    time: seconds(isCheck ? cases.reduce((sum, c) => sum + c.ns, 0) : report.phases.totalNs),
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({name, ...totals})}>`,
    `  <testsuite${attrs({name, ...totals, hostname: options.hostname, timestamp: options.now?.toISOString().replace(/\.\d+Z$/, '')})}>`,
    '    <properties>',
    ...Object.entries(properties).map(([k, v]) => `      <property${attrs({name: k, value: v})}/>`),
    '    </properties>',
    ...cases.map(testcase),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}
