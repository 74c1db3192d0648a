import {expect} from 'chai'
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Host, HostRootError, validateHostJson} from '../src/host/host.js'

describe('host layer', () => {
  it('rejects a --root that does not exist with a one-line error', async () => {
    const error = await Host.open('/nonexistent').catch((e) => e)
    expect(error).to.be.instanceOf(HostRootError)
    expect(error.message).to.match(/^--root \/nonexistent: no such directory/)
    expect(error.message).not.to.contain('\n')
  })

  it('rejects a malformed host.json, naming what is wrong', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kvmctl-host-'))
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

  it('reads live files through the same interface', async () => {
    const host = await Host.open()
    expect(host.live).to.equal(true)
    expect(await host.read('/proc/self/status')).to.match(/^Name:/)
    expect(await host.read('/nonexistent/file')).to.equal(undefined)
  })
})
