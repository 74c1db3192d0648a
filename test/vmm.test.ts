// The built-in VMM on the real /dev/kvm: the probe guest, the fault guests and ioctl errors.
import {expect} from 'chai'
import {execa} from 'execa'
import {existsSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {join} from 'node:path'

import {loadNative} from '../src/native.js'
import {probeAbi, ProbeMachine} from '../src/vmm/probe-machine.js'
import {SEGMENTS} from '../src/vmm/stages.js'
import {repo} from './support/cli.js'
import {tempDir} from './support/temp.js'

const KVM = '/dev/kvm'
const MEM = 4 * 2 ** 20

function requireKvm(ctx: Mocha.Context): void {
  if (!existsSync(KVM)) ctx.skip() // no KVM device on this host: nothing to run the guest on
}

describe('VMM (native addon on /dev/kvm)', function () {
  before(function () {
    requireKvm(this)
  })

  it('runs every probe segment to its expected stop on each vCPU', async () => {
    const machine = ProbeMachine.boot({device: KVM, vcpus: 2, memBytes: MEM, backing: 'anonymous'})
    try {
      for (const segment of SEGMENTS) {
        const run = await machine.run(segment.allVcpus ? [0, 1] : [0], 5000)
        expect(
          run.vcpus.map((v) => v.exit),
          segment.id,
        ).to.deep.equal(run.vcpus.map(() => segment.stop))
      }
      expect(machine.counter()).to.equal(2 * machine.config.smpAdds)
      expect(machine.checkPattern()).to.deep.equal({bad: 0, firstBad: -1})
    } finally {
      machine.close()
    }
  })

  it('serves the probe ports in C++: echo, string I/O and MMIO values reach the guest', async () => {
    const abi = probeAbi()
    const machine = ProbeMachine.boot({device: KVM, vcpus: 1, memBytes: MEM, backing: 'anonymous'})
    try {
      await machine.run([0], 5000) // ladder
      const pio = (await machine.run([0], 5000)).vcpus[0]
      const echo = pio.events.filter((e) => e.kind === 'io' && e.address === abi.PROBE_PORT_ECHO)
      expect(echo.map((e) => [e.size, e.write, e.value])).to.deep.equal([
        [1, true, 0x5a],
        [1, false, 0xa5],
        [2, true, 0x1234],
        [2, false, 0xedcb],
        [4, true, 0xdeadbeef],
        [4, false, 0x21524110],
      ])
      expect(pio.stringOut.toString()).to.equal('kvmctl string io')
      const mmio = (await machine.run([0], 5000)).vcpus[0].events.filter((e) => e.kind === 'mmio')
      expect(mmio.map((e) => [e.write, e.address, e.size])).to.deep.equal([
        [true, abi.PROBE_MMIO_ADDR, 4],
        [false, abi.PROBE_MMIO_ADDR + 4, 4],
      ])
    } finally {
      machine.close()
    }
  })

  it('reports a triple fault as a shutdown exit', async () => {
    const abi = probeAbi()
    const machine = ProbeMachine.boot({
      device: KVM,
      vcpus: 1,
      memBytes: MEM,
      backing: 'anonymous',
      variant: abi.PROBE_VARIANT_TRIPLE_FAULT,
    })
    try {
      const run = await machine.run([0], 5000)
      expect(run.vcpus[0].exit).to.equal('shutdown')
      // it got as far as long mode before faulting
      expect(run.vcpus[0].events.map((e) => e.value)).to.include(abi.MARK_LONG)
    } finally {
      machine.close()
    }
  })

  for (const variant of ['PROBE_VARIANT_SPIN_CPL0', 'PROBE_VARIANT_SPIN_CPL3']) {
    it(`ends a guest that never stops (${variant}) with the watchdog; Node carries on`, async () => {
      const abi = probeAbi()
      const machine = ProbeMachine.boot({
        device: KVM,
        vcpus: 1,
        memBytes: MEM,
        backing: 'anonymous',
        variant: abi[variant],
      })
      try {
        const ticks: number[] = []
        const timer = setInterval(() => ticks.push(1), 10)
        const run = await machine.run([0], 150)
        clearInterval(timer)
        expect(run.vcpus[0].exit).to.equal('timeout')
        expect(ticks.length, 'the event loop ran while the guest spun').to.be.greaterThan(0)
        // The VM stays usable after a kick: it spins again and is stopped again.
        expect((await machine.run([0], 50)).vcpus[0].exit).to.equal('timeout')
      } finally {
        machine.close()
      }
    })
  }

  it('turns a failed ioctl into an Error carrying the syscall and the errno code', () => {
    // A memory slot must be page-sized: KVM_SET_USER_MEMORY_REGION answers EINVAL.
    const error = (() => {
      try {
        loadNative().createVm({device: KVM, memSize: MEM + 1, backing: 'anonymous'})
      } catch (e) {
        return e as Error & {syscall?: string; code?: string}
      }
    })()
    expect(error).to.be.instanceOf(Error)
    expect(error?.syscall).to.equal('ioctl(KVM_SET_USER_MEMORY_REGION)')
    expect(error?.code).to.equal('EINVAL')
    expect(error?.message).to.match(/^ioctl\(KVM_SET_USER_MEMORY_REGION\) failed: .*\(EINVAL\)$/)
  })

  it('names the failing call when the device is not KVM', () => {
    expect(() => loadNative().createVm({device: '/dev/null', memSize: MEM, backing: 'anonymous'}))
      .to.throw(Error)
      .that.includes({syscall: 'ioctl(KVM_GET_API_VERSION)', code: 'ENOTTY'})
    expect(() => loadNative().createVm({device: '/nonexistent', memSize: MEM, backing: 'anonymous'}))
      .to.throw(Error)
      .that.includes({syscall: 'open(/nonexistent)', code: 'ENOENT'})
  })

  it('refuses to run or close a VM that is already running, and to use a closed one', async () => {
    const abi = probeAbi()
    const machine = ProbeMachine.boot({
      device: KVM,
      vcpus: 1,
      memBytes: MEM,
      backing: 'anonymous',
      variant: abi.PROBE_VARIANT_SPIN_CPL3,
    })
    const running = machine.run([0], 100)
    expect(() => machine.close()).to.throw(/running/)
    expect(() => machine.vm.run({vcpus: [0], timeoutMs: 10})).to.throw(/running/)
    await running
    machine.close()
    expect(() => machine.vm.read(0, 4)).to.throw(/closed/)
  })

  it('restarts setup ioctls a signal interrupts (KVM_CREATE_VM under a sampling profiler)', async () => {
    // V8's profiler sends SIGPROF every 50 µs; KVM_CREATE_VM and friends return EINTR when one
    // lands mid-call, and the VMM must go again rather than fail the boot.
    const dir = await tempDir('kvmctl-prof-')
    const boots = `import {ProbeMachine} from ${JSON.stringify(join(repo, 'src/vmm/probe-machine.ts'))}
      for (let i = 0; i < 40; i++) ProbeMachine.boot({device: '/dev/kvm', vcpus: 2, memBytes: ${MEM}, backing: 'anonymous'}).close()
      console.log('booted 40')`
    const run = await execa(
      process.execPath,
      [
        '--cpu-prof',
        '--cpu-prof-dir',
        dir,
        '--cpu-prof-interval',
        '50',
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        boots,
      ],
      {cwd: repo, reject: false},
    )
    await rm(dir, {recursive: true, force: true})
    expect(run.exitCode, String(run.stderr)).to.equal(0)
    expect(run.stdout).to.equal('booted 40')
  })

  it('keeps probeKvm working on the new KVM layer', () => {
    expect(loadNative().probeKvm(KVM)).to.deep.equal({open: 'ok', apiVersion: 12, createVm: 'ok', vcpu: 'ok'})
    expect(loadNative().probeKvm('/nonexistent')).to.deep.equal({open: 'ENOENT'})
  })
})
