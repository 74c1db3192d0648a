// `kvmctl selftest`: the stage logic in-process, and the command's exit codes and output.
import {expect} from 'chai'
import {execa} from 'execa'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {UsageError} from '../src/lib/errors.js'
import {resolveSelftestOptions} from '../src/vmm/options.js'
import {probeAbi} from '../src/vmm/probe-machine.js'
import {KvmDeviceError, runSelftest, type SelftestOptions} from '../src/vmm/selftest.js'

const KVM = '/dev/kvm'
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const base: SelftestOptions = {device: KVM, vcpus: 2, memBytes: 8 * 2 ** 20, hugepages: false, timeoutMs: 5000}

function requireKvm(ctx: Mocha.Context): void {
  if (!existsSync(KVM)) ctx.skip() // no KVM device on this host: nothing to run the guest on
}

describe('selftest options', () => {
  const flags = {device: KVM, hugepages: false}

  it('defaults to min(host CPUs, 4) vCPUs, 8 MiB and a 2 s watchdog', () => {
    expect(resolveSelftestOptions(flags, 2)).to.include({vcpus: 2, memBytes: 8 * 2 ** 20, timeoutMs: 2000})
    expect(resolveSelftestOptions(flags, 16).vcpus).to.equal(4)
  })

  it('reads sizes and durations', () => {
    expect(resolveSelftestOptions({...flags, mem: '64M', timeout: '1.5s', vcpus: '3'})).to.include({
      memBytes: 64 * 2 ** 20,
      timeoutMs: 1500,
      vcpus: 3,
    })
    expect(resolveSelftestOptions({...flags, timeout: '250'}).timeoutMs).to.equal(250)
  })

  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['--vcpus 0', {vcpus: '0'}, /^--vcpus "0"/],
    ['--vcpus abc', {vcpus: 'abc'}, /^--vcpus "abc"/],
    ['--vcpus -1', {vcpus: '-1'}, /^--vcpus "-1"/],
    ['--vcpus 65', {vcpus: '65'}, /^--vcpus "65"/],
    ['--mem abc', {mem: 'abc'}, /^--mem "abc"/],
    ['--mem 1M', {mem: '1M'}, /^--mem 1M is out of range/],
    ['--mem 5M', {mem: '5M'}, /^--mem 5M is not a multiple of 2 MiB/],
    ['--timeout soon', {timeout: 'soon'}, /^--timeout "soon"/],
    ['--timeout 0', {timeout: '0'}, /^--timeout 0/],
  ]
  for (const [name, extra, message] of bad) {
    it(`rejects ${name} with a one-line usage error`, () => {
      expect(() => resolveSelftestOptions({...flags, ...extra}))
        .to.throw(UsageError)
        .with.property('message')
        .that.matches(message)
        .and.not.contains('\n')
    })
  }
})

describe('selftest on /dev/kvm', function () {
  before(function () {
    requireKvm(this)
  })

  it('passes every guest stage and reports them in order with timings', async () => {
    const seen: string[] = []
    const report = await runSelftest(base, {onStage: (s) => seen.push(s.id)})
    expect(report.ok, JSON.stringify(report.stages, null, 1)).to.equal(true)
    expect(seen).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'])
    // Stage i tries the confidential VM types KVM lists: none on most hosts (a clean skip), never a failure.
    expect(['pass', 'skip']).to.include(report.stages.find((s) => s.id === 'i')?.status)
    for (const id of ['a', 'b', 'c', 'd', 'f', 'h']) {
      expect(report.stages.find((s) => s.id === id)?.status, id).to.equal('pass')
    }
    expect(report.stages.find((s) => s.id === 'g')?.status).to.equal('skip')
    expect(['pass', 'warn']).to.include(report.stages.find((s) => s.id === 'e')?.status)
    expect(report.schema).to.equal(2)
    expect(['emulated', 'hardware-assisted']).to.include(report.costs?.execution)
    expect(report.costs?.pioExitNs).to.be.greaterThan(0)
    expect(report.stages.find((s) => s.id === 'h')).not.to.have.property('data') // its figures are report.costs
    for (const [phase, ns] of Object.entries(report.phases)) expect(ns, phase).to.be.a('number').and.be.greaterThan(0)
  })

  it('says what the guest sees of CPUID, and whether KVM_SET_CPUID2 took effect', async () => {
    const report = await runSelftest({...base, vcpus: 1})
    const e = report.stages.find((s) => s.id === 'e')!
    const data = e.data as {
      applied: boolean
      seen: {vendor: string; vmx: boolean; svm: boolean}
      nestedVisible: boolean
    }
    expect(data.seen.vendor).to.match(/^(GenuineIntel|AuthenticAMD|HygonGenuine|CentaurHauls)$/)
    expect(data.nestedVisible).to.equal(data.seen.vmx || data.seen.svm)
    expect(e.status).to.equal(data.applied ? 'pass' : 'warn')
    if (!data.applied) expect(e.detail).to.contain("guest sees the host's CPUID")
  })

  it('fails the stage when the guest triple-faults, and skips the stages after it', async () => {
    const report = await runSelftest({...base, vcpus: 1, variant: probeAbi().PROBE_VARIANT_TRIPLE_FAULT})
    expect(report.ok).to.equal(false)
    expect(report.stages[0]).to.include({id: 'a', status: 'fail'})
    expect(report.stages[0].detail).to.match(/triple-faulted/)
    expect(report.stages.filter((s) => s.id !== 'a' && s.id !== 'g').map((s) => s.status)).to.deep.equal(
      Array(6).fill('skip'),
    )
    expect(report.costs).to.equal(null)
  })

  it('fails the stage when the guest never stops: the watchdog ends it', async () => {
    const report = await runSelftest({...base, vcpus: 1, timeoutMs: 100, variant: probeAbi().PROBE_VARIANT_SPIN_CPL3})
    expect(report.stages[0]).to.include({id: 'a', status: 'fail'})
    expect(report.stages[0].detail).to.match(/watchdog/)
  })

  it('explains a --device that does not exist or is not KVM, as one-line errors', async () => {
    const missing = await runSelftest({...base, device: '/nonexistent'}).catch((e) => e)
    expect(missing).to.be.instanceOf(KvmDeviceError)
    expect(missing.message).to.equal(
      '--device /nonexistent does not exist; point it at the KVM device (/dev/kvm), or leave --device out',
    )
    const notKvm = await runSelftest({...base, device: '/dev/null'}).catch((e) => e)
    expect(notKvm).to.be.instanceOf(KvmDeviceError)
    expect(notKvm.message).to.equal(
      '/dev/null is not a KVM device (ioctl(KVM_GET_API_VERSION) failed with ENOTTY); point --device at /dev/kvm, or leave --device out',
    )
  })
})

describe('kvmctl selftest (the command)', function () {
  before(function () {
    if (!existsSync(new URL('../dist/cli.js', import.meta.url)))
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)')
  })

  const run = (...args: string[]) => execa('node', [BIN, 'selftest', ...args], {reject: false, env: {NO_COLOR: '1'}})

  for (const args of [['--vcpus', '0'], ['--vcpus', 'abc'], ['--vcpus=-1'], ['--mem', 'abc'], ['--timeout', 'x']]) {
    it(`exits 2 with one line on ${args.join(' ')}`, async () => {
      const result = await run(...args)
      expect(result.exitCode).to.equal(2)
      expect(result.stdout).to.equal('')
      expect(result.stderr.trim().split('\n')).to.have.length(1)
      expect(result.stderr).to.match(/^kvmctl: --(vcpus|mem|timeout) /)
    })
  }

  for (const [device, message] of [
    ['/nonexistent', /^kvmctl: --device \/nonexistent does not exist; point it at the KVM device \(\/dev\/kvm\)/],
    [
      '/dev/null',
      /^kvmctl: \/dev\/null is not a KVM device \(ioctl\(KVM_GET_API_VERSION\) failed with ENOTTY\); point --device at \/dev\/kvm/,
    ],
  ] as const) {
    it(`exits 1 with one line and the fix on --device ${device}, whatever the format`, async () => {
      for (const format of [[], ['--format', 'prometheus']]) {
        const result = await run('--device', device, ...format)
        expect(result.exitCode).to.equal(1)
        expect(result.stdout).to.equal('')
        expect(result.stderr.trim().split('\n')).to.have.length(1)
        expect(result.stderr).to.match(message)
      }
    })
  }

  it('exits 0 and prints finished lines only when not on a terminal', async function () {
    requireKvm(this)
    const result = await run('--vcpus', '2')
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stdout).not.to.contain('\u001b') // neither colour nor cursor movement
    expect(result.stdout).to.match(/^PASS {2}a {2}mode ladder/m)
    expect(result.stdout).to.match(/^phases open .* total /m)
  })

  it('prints the documented JSON shape with --json', async function () {
    requireKvm(this)
    const result = await run('--json', '--vcpus', '1')
    expect(result.exitCode, result.stderr).to.equal(0)
    const report = JSON.parse(result.stdout)
    expect(report).to.have.keys('schema', 'ok', 'device', 'vcpus', 'memBytes', 'backing', 'costs', 'stages', 'phases')
    expect(report.costs).to.have.keys('pioExitNs', 'pioExits', 'cpl0NsPerIteration', 'cpl3NsPerIteration', 'execution')
    expect(report.phases).to.have.keys(
      'openNs',
      'createVmNs',
      'memoryNs',
      'loadNs',
      'vcpusNs',
      'firstExitNs',
      'teardownNs',
      'totalNs',
    )
    expect(report.stages.map((s: {id: string}) => s.id)).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'])
    for (const stage of report.stages)
      expect(Object.keys(stage).slice(0, 5)).to.deep.equal(['id', 'title', 'status', 'detail', 'ns'])
  })
})
