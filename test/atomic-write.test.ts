import {expect} from 'chai'
import {chmod, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {writeFileAtomic} from '../src/lib/atomic-write.js'
import {tempDir} from './support/temp.js'

describe('writeFileAtomic', () => {
  let dir: string
  beforeEach(async () => {
    dir = await tempDir('kvmctl-atomic-')
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('writes a new file with mode 0644 and leaves no temporary file', async () => {
    const file = join(dir, 'kvmctl.prom')
    await writeFileAtomic(file, 'kvmctl_kvm_usable 1\n')
    expect(await readFile(file, 'utf8')).to.equal('kvmctl_kvm_usable 1\n')
    expect((await stat(file)).mode & 0o777).to.equal(0o644)
    expect(await readdir(dir)).to.deep.equal(['kvmctl.prom'])
  })

  it('keeps the mode of the file it replaces, or takes the one asked for', async () => {
    const file = join(dir, 'features')
    await writeFile(file, 'old')
    await chmod(file, 0o600)
    await writeFileAtomic(file, 'new')
    expect((await stat(file)).mode & 0o777).to.equal(0o600)
    await writeFileAtomic(file, 'newer', {mode: 0o640})
    expect((await stat(file)).mode & 0o777).to.equal(0o640)
    expect(await readFile(file, 'utf8')).to.equal('newer')
  })

  it('gives the new file the owner asked for when running as root', async function () {
    if (process.getuid?.() !== 0) this.skip() // only root may give a file away
    const file = join(dir, 'journal')
    await writeFileAtomic(file, '{}', {mode: 0o600, owner: {uid: 65534, gid: 65534}})
    const st = await stat(file)
    expect([st.uid, st.gid, st.mode & 0o777]).to.deep.equal([65534, 65534, 0o600])
  })

  it('fails on a missing folder without leaving anything behind', async () => {
    const error = await writeFileAtomic(join(dir, 'nope', 'file'), 'x').catch((e) => e)
    expect(error.code).to.equal('ENOENT')
    expect(await readdir(dir)).to.deep.equal([])
  })

  it('never lets a concurrent reader see a partly written file', async () => {
    const file = join(dir, 'big')
    const versions = ['a', 'b', 'c'].map((ch) => ch.repeat(2 * 2 ** 20))
    await writeFileAtomic(file, versions[0])
    let writing = true
    const writer = (async () => {
      for (let i = 1; i <= 30; i++) await writeFileAtomic(file, versions[i % 3])
      writing = false
    })()
    let reads = 0
    while (writing) {
      const text = await readFile(file, 'utf8')
      expect(versions.includes(text), `read ${text.length} bytes starting ${text.slice(0, 1)}`).to.equal(true)
      reads++
    }
    await writer
    expect(reads).to.be.greaterThan(0)
    expect(await readdir(dir)).to.deep.equal(['big'])
  })
})
