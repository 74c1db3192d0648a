import {expect} from 'chai'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {Host, HostRootError, pathCovered, validateHostJson} from '../src/host/host.js'
import {tempDir} from './support/temp.js'

describe('host layer', () => {
  it('rejects a --root that does not exist with a one-line error', async () => {
    const error = await Host.open('/nonexistent').catch((e) => e)
    expect(error).to.be.instanceOf(HostRootError)
    expect(error.message).to.match(/^--root \/nonexistent: no such directory/)
    expect(error.message).not.to.contain('\n')
  })

  it('rejects a malformed host.json, naming what is wrong', async () => {
    const dir = await tempDir('kvmctl-host-')
    await writeFile(join(dir, 'host.json'), '{"uname": 3}')
    const error = await Host.open(dir).catch((e) => e)
    expect(error).to.be.instanceOf(HostRootError)
    expect(error.message).to.contain('"uname"')
  })

  it('validates the documented host.json shape', () => {
    expect(validateHostJson([])).to.equal('is not an object')
    expect(
      validateHostJson({
        uname: {release: '6.1.0', machine: 'x86_64'},
        user: {uid: 1000, gid: 1000, groups: [1000]},
        devices: {'/dev/kvm': null},
        kvm: {open: 'ENOENT'},
        cpuid: null,
        dmesg: null,
      }),
    ).to.equal(undefined)
  })

  it('accepts `captured` only as absolute host paths, and reads it as files or folders', async () => {
    const base = {
      uname: {release: '6.1.0', machine: 'x86_64'},
      user: {uid: 0, gid: 0, groups: []},
      devices: {},
      kvm: {open: 'ok'},
      cpuid: null,
      dmesg: null,
    }
    expect(validateHostJson({...base, captured: ['/proc/cpuinfo', '/sys/module/']})).to.equal(undefined)
    expect(validateHostJson({...base, captured: '/proc/cpuinfo'})).to.match(/"captured": want an array/)
    expect(validateHostJson({...base, captured: ['proc/cpuinfo']})).to.match(/"captured" entry "proc\/cpuinfo"/)
    expect(validateHostJson({...base, captured: [3]})).to.match(/"captured" entry 3/)
    expect(pathCovered(undefined, '/anything')).to.equal(true)
    const list = ['/proc/cpuinfo', '/sys/module/']
    expect(pathCovered(list, '/proc/cpuinfo')).to.equal(true)
    expect(pathCovered(list, '/proc/cpuinfo2')).to.equal(false)
    expect(pathCovered(list, '/sys/module/kvm/')).to.equal(true)
    expect(pathCovered(list, '/sys/module')).to.equal(true)
    expect(pathCovered(list, '/sys/modules')).to.equal(false)
    const dir = await tempDir('kvmctl-host-')
    await writeFile(join(dir, 'host.json'), JSON.stringify({...base, captured: list}))
    const host = await Host.open(dir)
    expect(host.covers('/proc/meminfo')).to.equal(false)
    expect((await Host.open()).covers('/proc/meminfo')).to.equal(true)
  })

  it('reads live files through the same interface', async () => {
    const host = await Host.open()
    expect(host.live).to.equal(true)
    expect(await host.read('/proc/self/status')).to.match(/^Name:/)
    expect(await host.read('/nonexistent/file')).to.equal(undefined)
  })
})
