import {expect} from 'chai'
import {copyFile, mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {CheckReport} from '../src/checks/report.js'
import {remedyLines} from '../src/lib/remedy.js'
import {fixture, runCli} from './support/cli.js'
import {takeMachineLock} from './support/machine-lock.js'
import {tempDir} from './support/temp.js'

const ANSI = /\u001b\[/

async function checkJson(root: string) {
  const run = await runCli(['check', '--root', root, '--json'])
  return {code: run.exitCode, report: JSON.parse(run.stdout) as CheckReport}
}

const remedies = (r: CheckReport) =>
  r.checks
    .filter((c) => c.status === 'fail')
    .flatMap((c) => remedyLines(c.remedy))
    .join('\n')

describe('kvmctl check (the real command)', () => {
  it('replays fixtures/pvm-guest: exit 0, KVM usable through kvm_pvm, PVM caveat as a warning', async () => {
    const {code, report} = await checkJson(fixture('pvm-guest'))
    expect(code).to.equal(0)
    expect(report.schema).to.equal(2)
    expect(report.verdict).to.include({kvmUsable: true, backend: 'kvm_pvm'})
    expect(report.counts.fail).to.equal(0)
    const backend = report.checks.find((c) => c.id === 'backend.kvm')
    expect(backend?.status).to.equal('warn')
    expect(backend?.detail).to.match(/PVM-enabled guest kernels/)
    expect(report.host).to.include({kernel: '6.18.44-fc-v657', arch: 'x86_64', virtual: true})
    expect(
      report.counts.pass + report.counts.info + report.counts.warn + report.counts.fail + report.counts.skip,
    ).to.equal(report.checks.length)
    // Only the real warnings: no VT-x/AMD-V from its host, and PVM's guest-kernel limit.
    expect(report.checks.filter((c) => c.status === 'warn').map((c) => c.id)).to.deep.equal(['cpu.flag', 'backend.kvm'])
  })

  // What holds on any machine, KVM or not (this session's has no /dev/kvm): the live verdict is the
  // verdict of a capture of the same machine, and the exit code follows the failures.
  it('judges this machine live as it judges a capture of it, and exits by its failures', async () => {
    const dir = await tempDir('kvmctl-live-')
    // Tests that change the machine (hugepage pools, mounts) wait until both reads are done.
    const lock = await takeMachineLock({shared: true})
    const [captured, live] = await Promise.all([
      runCli(['capture', join(dir, 'capture')]),
      runCli(['check', '--json']),
    ]).finally(lock.release)
    expect(captured.exitCode, captured.stderr).to.equal(0)
    const replay = await checkJson(join(dir, 'capture'))
    const report = JSON.parse(live.stdout) as CheckReport
    expect(report.host.source).to.equal('live')
    expect(report.verdict).to.deep.equal(replay.report.verdict)
    expect(live.exitCode).to.equal(report.counts.fail > 0 ? 1 : 0)
    expect(replay.code).to.equal(live.exitCode)
    if (!report.verdict.kvmUsable) expect(report.counts.fail).to.be.above(0)
    if (report.verdict.kvmUsable && report.verdict.backend === 'kvm_pvm') {
      expect(report.verdict.summary).to.contain('it runs only PVM-enabled guest kernels')
    }
    // Each problem once: no remedy printed twice, at most one vhost-net warning, and the device
    // check points to the kernel config when that is the cause.
    const remedies = report.checks.filter((c) => c.remedy).map((c) => JSON.stringify(c.remedy))
    expect(new Set(remedies).size).to.equal(remedies.length)
    expect(
      report.checks.filter((c) => c.status === 'warn' && /vhost/i.test(`${c.title} ${c.detail}`)),
    ).to.have.length.at.most(1)
    const byId = (id: string) => report.checks.find((c) => c.id === id)
    if (/VHOST_NET=unset/.test(byId('kernel-config.vhost-net')?.detail ?? '')) {
      expect(byId('devices.vhost-net')?.detail).to.contain('reported under Kernel config')
    }
  })

  // The fixtures assembled from public captures are sparse: each host.json lists what its sources
  // showed in `captured`, and every check that needs only something else skips.
  const byId = (r: CheckReport, id: string) => r.checks.find((c) => c.id === id)
  const allText = (r: CheckReport) => r.checks.map((c) => [c.detail, ...remedyLines(c.remedy)].join('\n')).join('\n')
  const firmwareAdvice = /in the firmware/
  const expected: Array<[string, (code: number, r: CheckReport) => void]> = [
    [
      'intel-vtx',
      (code, r) => {
        expect(code).to.equal(0)
        expect(r.verdict).to.include({kvmUsable: true, backend: 'kvm_intel'})
        expect(r.counts).to.include({fail: 0, warn: 0})
        // kvm is implied by kvm_intel; the probe steps after the open were not recorded.
        expect(byId(r, 'modules.kvm')).to.include({status: 'pass', detail: 'kvm: present (kvm_intel depends on it)'})
        expect(byId(r, 'dev-kvm.vm')).to.include({status: 'skip'})
        expect(byId(r, 'dev-kvm.vm')?.detail).to.match(/^not in this capture/)
        expect(byId(r, 'nested.param')).to.include({status: 'pass'})
      },
    ],
    [
      'intel-vtx-disabled',
      (code, r) => {
        expect(code).to.equal(1)
        expect(r.verdict.kvmUsable).to.equal(false)
        expect(remedies(r)).to.contain('enable "Intel Virtualization Technology (VT-x)" in the firmware')
        expect(JSON.stringify(r.checks)).not.to.match(/cannot support|does not support/i)
        // One cause, one remedy: the other checks that see it point to the first.
        expect(r.checks.filter((c) => firmwareAdvice.test(remedyLines(c.remedy).join('\n')))).to.have.length(1)
        expect(byId(r, 'modules.kvm')?.detail).to.match(/^not in this capture/)
      },
    ],
    [
      'amd-svm',
      (code, r) => {
        expect(code).to.equal(0)
        expect(r.verdict).to.include({kvmUsable: true, backend: 'kvm_amd'})
        expect(r.counts).to.include({fail: 0, warn: 0})
      },
    ],
    [
      'container-no-kvm',
      (code, r) => {
        expect(code).to.equal(1)
        expect(r.verdict.kvmUsable).to.equal(false)
        expect(r.verdict.backend).to.equal('kvm_amd')
        expect(remedies(r)).to.contain('pass the device into the container: docker run --device /dev/kvm')
        expect(remedies(r)).to.contain('Kubernetes: a KVM device plugin')
        // kvm_amd is loaded, so SVM is on: no firmware advice anywhere.
        expect(allText(r)).not.to.match(firmwareAdvice)
      },
    ],
    [
      'kvm-no-group',
      (code, r) => {
        expect(code).to.equal(1)
        expect(r.verdict.kvmUsable).to.equal(false)
        expect(r.counts.fail).to.equal(1)
        expect(byId(r, 'dev-kvm.open')?.status).to.equal('fail')
        expect(remedies(r)).to.match(/sudo usermod -aG kvm /)
        expect(remedies(r)).to.contain('log in again')
        expect(byId(r, 'backend.kvm')?.detail).to.match(/^not in this capture/)
      },
    ],
    [
      'pvm-nested-guest',
      (code, r) => {
        // This session's machine: a PVM guest whose built-in kvm_pvm will not bind (PVM cannot nest).
        expect(code).to.equal(1)
        expect(r.verdict).to.include({kvmUsable: false, backend: null})
        expect(r.verdict.summary).to.match(
          /^KVM is not usable: kvm_pvm is built in but serves no \/dev\/kvm: this kernel itself runs under PVM, and PVM cannot nest/,
        )
        expect(r.counts).to.include({warn: 0, fail: 3})
        expect(r.checks.filter((c) => c.status === 'fail').map((c) => c.id)).to.deep.equal([
          'cpu.flag',
          'backend.kvm',
          'dev-kvm.exists',
        ])
        expect(remedies(r)).to.match(/^run the VMs on the outer host/)
        // Not a container (a stale /.dockerenv notwithstanding), and nothing to load or recreate.
        expect(remedies(r)).not.to.match(/container|docker|modprobe|mknod|udevadm|distribution kernel/)
        expect(allText(r)).not.to.match(/needs nested virtualization from the outer host/)
        expect(byId(r, 'modules.virtio')).to.include({status: 'pass'})
      },
    ],
    [
      'arm64',
      (code, r) => {
        // Its kernel log says "kvm [1]: HYP mode not available": booted at EL1.
        expect(code).to.equal(1)
        expect(r.verdict).to.include({kvmUsable: false, backend: null})
        expect(byId(r, 'cpu.el2')?.status).to.equal('fail')
        expect(remedies(r)).to.contain('EL2')
        expect(allText(r)).not.to.match(/modprobe/)
      },
    ],
  ]
  for (const [name, assert] of expected) {
    it(`replays fixtures/${name} with the expected verdict`, async () => {
      const {code, report} = await checkJson(fixture(name))
      assert(code, report)
      // Skips for what was not captured carry no remedy.
      for (const c of report.checks.filter((x) => x.detail.startsWith('not in this capture'))) {
        expect(c.status, c.id).to.equal('skip')
        expect(c.remedy, c.id).to.equal(undefined)
      }
    })
  }

  it('skips every check outside a capture limited by `captured`, and only those', async () => {
    const dir = await tempDir('kvmctl-partial-')
    const host = JSON.parse(await readFile(join(fixture('pvm-guest'), 'host.json'), 'utf8'))
    await mkdir(join(dir, 'proc'))
    await copyFile(join(fixture('pvm-guest'), 'proc', 'cpuinfo'), join(dir, 'proc', 'cpuinfo'))
    await writeFile(join(dir, 'host.json'), JSON.stringify({...host, captured: ['/proc/cpuinfo', '/dev/kvm']}))
    const {code, report} = await checkJson(dir)
    expect(code).to.equal(0)
    const notCaptured = report.checks.filter((c) => c.detail.startsWith('not in this capture')).map((c) => c.id)
    expect(notCaptured).to.include.members([
      'cpu.kernel-log',
      'kernel-config.found',
      'modules.virtio',
      'modules.vhost-net',
      'modules.tun',
      'hugepages.pools',
      'hugepages.hugetlbfs',
      'hugepages.thp',
      'hugepages.ksm',
      'devices.vhost-net',
      'devices.tun',
      'passthrough.iommu',
      'firmware.secure-boot',
    ])
    // What was captured is still judged: the cpuinfo flags, and /dev/kvm with its probe.
    expect(notCaptured).not.to.include.members([
      'cpu.flag',
      'cpu.cpuid',
      'dev-kvm.exists',
      'dev-kvm.open',
      'dev-kvm.vm',
    ])
    expect(report.checks.find((c) => c.id === 'dev-kvm.vm')?.status).to.equal('pass')
    // kvm_pvm was not captured, so the backend is unknown, but /dev/kvm works.
    expect(report.verdict).to.include({kvmUsable: true, backend: null})
    // The same folder without `captured` means a host with none of those files.
    await writeFile(join(dir, 'host.json'), JSON.stringify(host))
    const whole = await checkJson(dir)
    expect(whole.report.checks.filter((c) => c.detail.startsWith('not in this capture'))).to.deep.equal([])
    expect(whole.report.checks.find((c) => c.id === 'backend.kvm')?.status).to.equal('fail')
  })

  it('rejects --root /nonexistent with one line and exit 2', async () => {
    const run = await runCli(['check', '--root', '/nonexistent'])
    expect(run.exitCode).to.equal(2)
    expect(run.stderr.trim().split('\n')).to.have.length(1)
    expect(run.stderr).to.match(/--root \/nonexistent: no such directory/)
    const json = await runCli(['check', '--root', '/nonexistent', '--json'])
    expect(json.exitCode).to.equal(2)
    expect(JSON.parse(json.stdout).error.message).to.match(/no such directory/)
  })

  it('rejects a malformed host.json with one line and exit 2 (KVMCTL_ROOT too)', async () => {
    const dir = await tempDir('kvmctl-bad-')
    await writeFile(join(dir, 'host.json'), '{"uname": {"release": "6.1"}')
    const run = await runCli(['check'], {env: {KVMCTL_ROOT: dir}})
    expect(run.exitCode).to.equal(2)
    expect(run.stderr.trim().split('\n')).to.have.length(1)
    expect(run.stderr).to.contain('host.json is not valid JSON')
  })

  it('prints a table, remedies and a verdict without ANSI codes when piped or NO_COLOR is set', async () => {
    const piped = await runCli(['check', '--root', fixture('pvm-guest')], {env: {NO_COLOR: undefined}})
    expect(piped.exitCode).to.equal(0)
    expect(piped.stdout).not.to.match(ANSI)
    expect(piped.stdout).to.match(/^Replay of .*pvm-guest: AMD EPYC/)
    expect(piped.stdout).to.match(/\n {2}WARN {2}KVM backend serving \/dev\/kvm/)
    expect(piped.stdout).to.match(/\n {9}-> sudo apt-get install ovmf/)
    expect(piped.stdout.trim().split('\n').at(-1)).to.match(/^Verdict: OK KVM is usable through kvm_pvm/)
    const noColor = await runCli(['check', '--root', fixture('pvm-guest')], {env: {NO_COLOR: '1', FORCE_COLOR: '1'}})
    expect(noColor.stdout).not.to.match(ANSI)
    const forced = await runCli(['check', '--root', fixture('pvm-guest')], {
      env: {NO_COLOR: undefined, FORCE_COLOR: '1'},
    })
    expect(forced.stdout).to.match(ANSI)
  })

  it('--quiet prints only warnings and failures, and still the verdict', async () => {
    const run = await runCli(['check', '--root', fixture('pvm-guest'), '--quiet'])
    expect(run.stdout).not.to.match(/\bPASS\b|\bSKIP\b/)
    expect(run.stdout).to.match(/\bWARN\b/)
    expect(run.stdout).to.match(/\nVerdict: /)
  })
})
