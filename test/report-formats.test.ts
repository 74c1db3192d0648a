import {expect} from 'chai'
import {Chalk} from 'chalk'

import type {Backend} from '../src/host/derived.js'
import {toJUnit} from '../src/report/junit.js'
import {isValidLabelName, isValidLabelValue, NFD_NAMESPACE, toNfd} from '../src/report/nfd.js'
import {toPrometheus} from '../src/report/prometheus.js'
import {renderSelftest} from '../src/vmm/render.js'
import {sampleCheckReport, sampleSelftestReport} from './support/reports.js'
import {fixture, runCli} from './support/cli.js'
import {runTool} from './support/tools.js'

const now = new Date('2026-11-22T08:00:00.123Z')

describe('report formats', () => {
  describe('prometheus', () => {
    it('passes promtool check metrics for a check report, with HELP and TYPE on every family', async () => {
      const text = toPrometheus(sampleCheckReport(), {now})
      const result = await runTool('promtool', 'prometheus', ['check', 'metrics'], text)
      expect(result.exitCode, `${result.stdout}${result.stderr}`).to.equal(0)
      const families = new Set(
        text
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .map((l) => l.split(/[{ ]/)[0]),
      )
      for (const name of families) {
        expect(text).to.contain(`# HELP ${name} `)
        expect(text).to.contain(`# TYPE ${name} gauge`)
      }
    })

    it('gives each check a state set and the verdict as kvmctl_kvm_usable', () => {
      const text = toPrometheus(sampleCheckReport())
      expect(text).to.contain('kvmctl_check_status{id="dev-kvm.open",area="dev-kvm",status="fail"} 1\n')
      expect(text).to.contain('kvmctl_check_status{id="dev-kvm.open",area="dev-kvm",status="pass"} 0\n')
      expect(text).to.contain('kvmctl_kvm_usable 1\n')
      expect(text).to.contain('kvmctl_kvm_backend_info{backend="pvm"} 1\n')
      expect(text).to.contain('kvmctl_checks{status="warn"} 1\n')
      // info is a status of its own: a series in every state set, and a count.
      expect(text).to.contain('kvmctl_checks{status="info"} 1\n')
      expect(text).to.contain('kvmctl_check_status{id="hugepages.ksm",area="hugepages",status="info"} 1\n')
      expect(text).to.contain('kvmctl_check_status{id="hugepages.ksm",area="hugepages",status="warn"} 0\n')
      expect(text).to.contain('kvmctl_check_status{id="dev-kvm.open",area="dev-kvm",status="info"} 0\n')
      expect(text).to.contain('kvmctl_hugepages_free{size="2Mi"} 550\n')
      expect(text).not.to.contain('last_run_timestamp')
    })

    it('passes promtool for a selftest report: stage status and durations, phases and costs in seconds', async () => {
      const text = toPrometheus(sampleSelftestReport(), {now})
      const result = await runTool('promtool', 'prometheus', ['check', 'metrics'], text)
      expect(result.exitCode, `${result.stdout}${result.stderr}`).to.equal(0)
      expect(text).to.contain('kvmctl_selftest_ok 0\n')
      expect(text).to.contain('kvmctl_selftest_stage_status{id="b",status="fail"} 1\n')
      expect(text).to.contain('kvmctl_selftest_stage_status{id="e",status="warn"} 1\n')
      expect(text.match(/^kvmctl_selftest_stage_duration_seconds\{/gm)).to.have.length(9)
      expect(text).to.contain('kvmctl_selftest_stage_duration_seconds{id="b"} 0.0012\n')
      expect(text.match(/^kvmctl_selftest_phase_duration_seconds\{/gm)).to.have.length(8)
      expect(text).to.contain('kvmctl_selftest_phase_duration_seconds{phase="create_vm"} 0.0012\n')
      expect(text).to.contain('kvmctl_selftest_phase_duration_seconds{phase="first_exit"} 0.0002\n')
      expect(text).to.contain('kvmctl_selftest_pio_exit_seconds 0.00000125\n')
      expect(text).to.contain('kvmctl_selftest_loop_iteration_seconds{mode="cpl0"} 0.0000023\n')
      expect(text).to.contain('kvmctl_selftest_execution_info{execution="emulated"} 1\n')
      expect(text).to.contain(`kvmctl_selftest_last_run_timestamp_seconds ${Math.floor(now.getTime() / 1000)}\n`)
      // promtool's lint wants base units: nothing in ns or ms
      expect(text).not.to.match(/^kvmctl_\w*_(ns|ms)\b/m)
    })

    it('leaves the cost metrics out when stage h measured nothing', () => {
      const report = sampleSelftestReport()
      report.costs = null
      const text = toPrometheus(report)
      expect(text).not.to.contain('kvmctl_selftest_pio_exit_seconds')
      expect(text).not.to.contain('kvmctl_selftest_execution_info')
      expect(text).to.contain('kvmctl_selftest_ok 0\n')
    })

    it('escapes quotes, backslashes and newlines in label values (promtool parses it back)', async () => {
      const report = sampleCheckReport()
      report.verdict.backend = 'odd "back\\end"\nname' as Backend // a backend a newer kvmctl may report
      const text = toPrometheus(report)
      expect(text).to.contain('kvmctl_kvm_backend_info{backend="odd \\"back\\\\end\\"\\nname"} 1')
      const result = await runTool('promtool', 'prometheus', ['check', 'metrics'], text)
      expect(result.exitCode, result.stderr).to.equal(0)
    })
  })

  describe('junit', () => {
    it('is well-formed XML (xmllint) with one testcase per check', async () => {
      const xml = toJUnit(sampleCheckReport(), {now, hostname: 'node-7'})
      const result = await runTool('xmllint', 'libxml2-utils', ['--noout', '-'], xml)
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(xml.match(/<testcase /g)).to.have.length(6)
      expect(xml).to.contain('<testsuite name="kvmctl check" tests="6" failures="1" errors="0" skipped="1"')
      expect(xml).to.contain('hostname="node-7" timestamp="2026-11-22T08:00:00"')
    })

    it('puts the detail and remedy of a fail in <failure>, escaped', () => {
      const xml = toJUnit(sampleCheckReport())
      expect(xml).to.contain(
        'message="open(&quot;/dev/kvm&quot;) failed: EACCES &lt;user &quot;ci&quot; &amp; group 1000&gt;"',
      )
      expect(xml).to.match(
        /<failure [^>]*>[^<]*To fix:\n {2}sudo usermod -aG kvm ci\n {2}log out and back in<\/failure>/,
      )
      expect(xml).to.match(/<testcase name="nested.param: guests can run their own VMs"[^>]*>\s*<skipped /)
      expect(xml).to.contain('<system-out>WARN: C:\\path &quot;quoted&quot;\nsecond line')
      // A remedy kvmctl can apply shows the command first, then the same by hand.
      expect(xml).to.contain('To fix:\n  sudo kvmctl tune hugepages --vm-mem 1G\n  or by hand: echo 550 | sudo tee')
      // An info passes, marked as such.
      expect(xml).to.match(
        /<testcase name="hugepages.ksm: KSM \(same-page merging\)"[^>]*>\s*<system-out>INFO: off: guest pages are not merged\nTo fix:\n {2}echo 1/,
      )
    })

    it("shows a failed stage's remedy under it in text, as check does", () => {
      const text = renderSelftest(sampleSelftestReport(), new Chalk({level: 0})).split('\n')
      const g = text.findIndex((l) => /^FAIL +g {2}hugepages/.test(l))
      expect(text.slice(g + 1, g + 3)).to.deep.equal([
        '         -> sudo kvmctl tune hugepages --vm-mem 8M',
        '         -> or by hand: echo 5 | sudo tee /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages',
      ])
    })

    it('gives one testcase per selftest stage, timed in seconds, and drops characters XML cannot carry', async () => {
      const report = sampleSelftestReport()
      report.stages[0].detail = 'bell\u0007 and nul\u0000 bytes'
      const xml = toJUnit(report, {now, hostname: 'node-7'})
      const result = await runTool('xmllint', 'libxml2-utils', ['--noout', '-'], xml)
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(xml.match(/<testcase /g)).to.have.length(9)
      expect(xml).to.contain(
        '<testsuite name="kvmctl selftest" tests="9" failures="2" errors="0" skipped="1" time="0.125000"',
      )
      expect(xml).to.contain('<testcase name="b: PIO" classname="kvmctl.selftest" time="0.001200">')
      expect(xml).to.contain(
        'message="2-byte in returned 0x0, want 0xedcb; rep outsb delivered &quot;kvm&lt;ctl&gt; &amp; io&quot;"',
      )
      // A stage's remedy reads as a check's: the kvmctl command first, then the same by hand.
      const fix = 'To fix:\n  sudo kvmctl tune hugepages --vm-mem 8M\n  or by hand: echo 5 | sudo tee'
      const g = xml.slice(xml.indexOf('<testcase name="g: hugepages"'))
      expect(g.slice(0, g.indexOf('</failure>')))
        .to.match(/<failure [^>]*>[^<]*/)
        .and.to.contain(fix)
      expect(xml).to.match(/<testcase name="e: CPUID"[^>]*>\s*<system-out>WARN: /)
      expect(xml).to.contain('bell and nul bytes')
      expect(xml).to.contain('<property name="pioExitNs" value="1250"/>')
      expect(xml).to.contain('<property name="execution" value="emulated"/>')
      expect(xml).to.contain('<property name="firstExitNs" value="200000"/>')
    })
  })

  describe('nfd', () => {
    it('labels the backend by its short name in a real replayed report (kvm_pvm gives pvm)', async () => {
      const r = await runCli(['check', '--format', 'nfd', '--root', fixture('pvm-guest')])
      expect(r.stdout).to.contain('\nkvmctl.io/kvm-backend=pvm\n')
    })

    it('writes the verdict, backend, nested and hugepage labels', () => {
      const lines = toNfd(sampleCheckReport()).split('\n')
      expect(lines).to.include.members([
        'kvmctl.io/kvm-usable=true',
        'kvmctl.io/kvm-backend=pvm',
        'kvmctl.io/nested=false',
        'kvmctl.io/hugepages-2Mi-free=550',
        'kvmctl.io/hugepages-2Mi-reserved=550',
        'kvmctl.io/check.dev-kvm.open=fail',
        'kvmctl.io/check.hugepages.ksm=info',
      ])
    })

    it('follows the features.d rules: namespaced valid labels, comments, an RFC 3339 expiry directive', () => {
      const text = toNfd(sampleCheckReport(), {now, expiresAt: new Date(now.getTime() + 2 * 3_600_000)})
      const lines = text.trimEnd().split('\n')
      // nfd-worker parses directives as "# +<name>=<value>"; only expiry-time may appear.
      expect(lines.filter((l) => l.startsWith('# +'))).to.deep.equal(['# +expiry-time=2026-11-22T10:00:00Z'])
      for (const line of lines.filter((l) => !l.startsWith('#'))) {
        const m = /^([^/=]+)\/([^=]+)=(.*)$/.exec(line)
        expect(m, line).to.not.equal(null)
        expect(m![1]).to.equal(NFD_NAMESPACE)
        expect(isValidLabelName(m![2]), line).to.equal(true)
        expect(isValidLabelValue(m![3]), line).to.equal(true)
      }
    })

    it('turns check ids and backends that are not label-safe into valid labels', () => {
      const report = sampleCheckReport()
      report.verdict.backend = 'Some Vendor/KVM!' as Backend
      report.checks[0].id = `_weird id/${'x'.repeat(80)}`
      const text = toNfd(report)
      expect(text).to.contain('kvmctl.io/kvm-backend=Some-Vendor-KVM\n')
      const weird = text.split('\n').find((l) => l.startsWith('kvmctl.io/check._weird-id-'))!
      expect(weird.split('=')[0].split('/')[1]).to.have.length(63)
    })

    it('leaves nested out when the report does not know it', () => {
      const report = sampleCheckReport()
      report.host.nested = null
      expect(toNfd(report)).not.to.contain('kvmctl.io/nested=')
    })
  })
})
