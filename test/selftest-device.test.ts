// When the selftest cannot use its KVM device: /dev/kvm gets `kvmctl check`'s own remedy (from the
// host's facts), in one line; a --device path gets the selftest's own wording.
import {expect} from 'chai'
import {execa} from 'execa'
import {statSync} from 'node:fs'
import {chown, rm} from 'node:fs/promises'

import {devKvmRemedy} from '../src/checks/dev-kvm.js'
import {devKvmAdvisor} from '../src/checks/run.js'
import {gatherFacts} from '../src/host/facts.js'
import {Host} from '../src/host/host.js'
import {deviceProblem, explainDeviceFailure, needsHostFacts} from '../src/vmm/device-remedy.js'
import {intelHost} from './support/facts.js'
import {tempDir} from './support/temp.js'

const openFailed = (code: string) => ({syscall: 'open(/dev/kvm)', code})

describe('selftest device errors', () => {
  it('gives /dev/kvm the remedy kvmctl check gives, its steps joined on one line', () => {
    const facts = intelHost({host: {kvm: {open: 'EACCES'}}})
    const message = deviceProblem('/dev/kvm', openFailed('EACCES'), devKvmRemedy(facts, 'EACCES').steps)
    expect(message).to.equal(`no access to /dev/kvm (EACCES): ${devKvmRemedy(facts, 'EACCES').steps.join('; ')}`)
    expect(message).to.contain('sudo usermod -aG kvm alice; then log out')
    expect(message).not.to.contain('\n')
  })

  it('reads the facts through the host layer: a container capture without /dev/kvm', async () => {
    const host = await Host.open('fixtures/container-no-kvm')
    const message = await explainDeviceFailure('/dev/kvm', openFailed('ENOENT'), devKvmAdvisor(host))
    const steps = devKvmRemedy(await gatherFacts(host), 'ENOENT').steps
    expect(message).to.equal(`/dev/kvm does not exist: ${steps.join('; ')}`)
    expect(steps).not.to.be.empty
    expect(message).not.to.contain('\n')
  })

  it('words a --device path and a non-KVM file itself, without reading host facts', () => {
    expect(needsHostFacts('/dev/kvm', openFailed('EACCES'))).to.equal(true)
    expect(needsHostFacts('/dev/kvm', {syscall: 'ioctl(KVM_GET_API_VERSION)', code: 'ENOTTY'})).to.equal(false)
    expect(needsHostFacts('/dev/kvm2', openFailed('ENOENT'))).to.equal(false)
    expect(deviceProblem('/dev/kvm2', {syscall: 'open(/dev/kvm2)', code: 'EACCES'})).to.equal(
      'cannot open --device /dev/kvm2 (EACCES); check its owner and mode with `ls -l /dev/kvm2`, or leave --device out to use /dev/kvm',
    )
    expect(deviceProblem('/dev/kvm', {syscall: 'ioctl(KVM_GET_API_VERSION)', code: 'EINVAL'})).to.equal(
      '/dev/kvm is not a KVM device (ioctl(KVM_GET_API_VERSION) failed with EINVAL); run `kvmctl check` to see what is behind it',
    )
  })

  it('tells a user who may not open /dev/kvm what check would, in one line (run as nobody)', async function () {
    const mode = (() => {
      try {
        return statSync('/dev/kvm').mode
      } catch {
        return undefined
      }
    })()
    // Needs root to drop to nobody, and a /dev/kvm that "other" users cannot open.
    if (process.getuid?.() !== 0 || mode === undefined || (mode & 0o006) === 0o006) this.skip()
    const home = await tempDir('kvmctl-nobody-')
    await chown(home, 65534, 65534) // oclif keeps its data under HOME: it must be nobody's
    try {
      const result = await execa(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', 'bin/run.js', 'selftest'],
        {
          reject: false,
          env: {NO_COLOR: '1', HOME: home, XDG_DATA_HOME: home, XDG_CACHE_HOME: home, XDG_CONFIG_HOME: home},
        },
      )
      expect(result.exitCode, result.stderr).to.equal(1)
      expect(result.stdout).to.equal('')
      expect(result.stderr.trim().split('\n')).to.have.length(1)
      expect(result.stderr).to.match(
        /^kvmctl: no access to \/dev\/kvm \(EACCES\): .*sudo usermod -aG \S+ \S+; then log out and log in again/,
      )
    } finally {
      await rm(home, {recursive: true, force: true})
    }
  })
})
