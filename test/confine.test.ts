import {expect} from 'chai'
import {mkdir, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {resolveInRoot} from '../src/lib/confine.js'
import {tempDir} from './support/temp.js'

describe('resolveInRoot (RESOLVE_IN_ROOT semantics for --root trees)', () => {
  let root: string
  let outside: string
  before(async () => {
    root = await tempDir('kvmctl-confine-')
    outside = await tempDir('kvmctl-outside-')
    await mkdir(join(root, 'etc/static'), {recursive: true})
    await mkdir(join(root, 'proc/sys/vm'), {recursive: true})
    await writeFile(join(root, 'etc/static/fstab'), 'x\n')
    await writeFile(join(outside, 'victim'), 'keep\n')
    await symlink('/etc/static/fstab', join(root, 'etc/fstab'))
    await symlink(join(outside, 'victim'), join(root, 'proc/sys/vm/nr_hugepages'))
    await symlink('../../../../../../../../../../..' + join(outside, 'victim'), join(root, 'proc/sys/vm/dotdot'))
    await symlink('/', join(root, 'etc/up'))
    await symlink('loop-b', join(root, 'etc/loop-a'))
    await symlink('loop-a', join(root, 'etc/loop-b'))
  })
  after(async () => {
    await rm(root, {recursive: true, force: true})
    await rm(outside, {recursive: true, force: true})
  })

  it('follows an absolute link as if the root were /', () => {
    expect(resolveInRoot(root, '/etc/fstab')).to.equal(join(root, 'etc/static/fstab'))
    expect(resolveInRoot(root, '/etc/fstab', {followLast: false})).to.equal(join(root, 'etc/fstab'))
  })

  it('never leaves the root: absolute links, .. in links and in the path all stay inside', () => {
    expect(resolveInRoot(root, '/proc/sys/vm/nr_hugepages')).to.equal(join(root, outside, 'victim'))
    expect(resolveInRoot(root, '/proc/sys/vm/dotdot')).to.equal(join(root, outside, 'victim'))
    expect(resolveInRoot(root, '/../../../etc/passwd')).to.equal(join(root, 'etc/passwd'))
    expect(resolveInRoot(root, '/etc/up/../../etc/fstab')).to.equal(join(root, 'etc/static/fstab'))
    for (const p of ['/proc/sys/vm/nr_hugepages', '/proc/sys/vm/dotdot', '/etc/up/..'])
      expect(resolveInRoot(root, p).startsWith(root)).to.equal(true)
  })

  it('keeps missing components as given, and stops a link loop with ELOOP', () => {
    expect(resolveInRoot(root, '/var/lib/kvmctl/tune-journal.json')).to.equal(
      join(root, 'var/lib/kvmctl/tune-journal.json'),
    )
    expect(() => resolveInRoot(root, '/etc/loop-a')).to.throw(/too many levels of symbolic links/)
  })

  it('is plain symlink resolution on the live host (root /)', () => {
    expect(resolveInRoot('/', '/proc/self/..')).to.equal('/proc')
  })
})
