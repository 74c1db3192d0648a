import {expect} from 'chai'

import {unifiedDiff} from '../src/tune/diff.js'
import type {FstabEntry} from '../src/lib/fstab.js'
import {editFstab, editModprobeOptions, editSysctl, sysctlValue} from '../src/tune/editors.js'
import {FSTAB} from './support/tune-root.js'

const entry: FstabEntry = {
  spec: 'hugetlbfs',
  file: '/dev/hugepages',
  vfstype: 'hugetlbfs',
  options: ['mode=01770', 'gid=994', 'nofail'],
  freq: 0,
  passno: 0,
}
const LINE = 'hugetlbfs /dev/hugepages hugetlbfs mode=01770,gid=994,nofail 0 0\n'

describe('tune file editors', () => {
  it('appends the hugetlbfs line to fstab and keeps every other byte', () => {
    const out = editFstab(FSTAB, entry)
    expect(out).to.equal(FSTAB + LINE)
    expect(editFstab(out, entry)).to.equal(out)
  })

  it('terminates a last fstab line that lacks a newline before appending', () => {
    expect(editFstab('/dev/vda1 / ext4 defaults 0 1', entry)).to.equal(`/dev/vda1 / ext4 defaults 0 1\n${LINE}`)
  })

  it('replaces a different line for the same mount point in place and drops duplicates', () => {
    const before = `${FSTAB}hugetlbfs\t/dev/hugepages\thugetlbfs\tdefaults\t0 0\n# keep me\nhugetlbfs /dev/hugepages hugetlbfs mode=1777 0 0\n`
    expect(editFstab(before, entry)).to.equal(`${FSTAB}${LINE}# keep me\n`)
  })

  it('keeps an equivalent line as the user wrote it (options in another order, tabs)', () => {
    const mine = `${FSTAB}hugetlbfs\t/dev/hugepages  hugetlbfs  nofail,gid=994,mode=01770  0  0\n`
    expect(editFstab(mine, entry)).to.equal(mine)
  })

  it('writes a sysctl.d file, updates the value in place and keeps other lines', () => {
    const created = editSysctl(undefined, 'vm.nr_hugepages', '550')
    expect(created).to.match(/^# .*kvmctl.*\nvm\.nr_hugepages = 550\n$/)
    const mixed = '# mine\nvm.swappiness=10\nvm.nr_hugepages=128\nkernel.panic = 5\n-vm/nr_hugepages = 64\n'
    expect(editSysctl(mixed, 'vm.nr_hugepages', '550')).to.equal(
      '# mine\nvm.swappiness=10\nvm.nr_hugepages = 550\nkernel.panic = 5\n',
    )
    const same = '# mine\nvm.nr_hugepages=550\n'
    expect(editSysctl(same, 'vm.nr_hugepages', '550')).to.equal(same)
    expect(sysctlValue('vm/nr_hugepages = 7\n vm.nr_hugepages=9\n', 'vm.nr_hugepages')).to.equal('9')
  })

  it("sets nested in modprobe.d and keeps the module's other options", () => {
    expect(editModprobeOptions(undefined, 'kvm_intel', 'nested', '1')).to.equal('options kvm_intel nested=1\n')
    expect(editModprobeOptions('options kvm_intel ept=1 enable_apicv=0\n', 'kvm_intel', 'nested', '1')).to.equal(
      'options kvm_intel ept=1 enable_apicv=0 nested=1\n',
    )
    expect(
      editModprobeOptions(
        '# x\noptions kvm-intel nested=0 ept=1\noptions kvm_amd nested=0\n',
        'kvm_intel',
        'nested',
        '1',
      ),
    ).to.equal('# x\noptions kvm-intel nested=1 ept=1\noptions kvm_amd nested=0\n')
    const on = 'options kvm_amd nested=1 avic=1\n'
    expect(editModprobeOptions(on, 'kvm_amd', 'nested', '1')).to.equal(on)
  })

  it('prints unified diffs in the diff -u format', () => {
    expect(unifiedDiff('/etc/x', 'a\n', 'a\n')).to.equal('')
    expect(unifiedDiff('/etc/x', undefined, 'one\n')).to.equal('--- /dev/null\n+++ b/etc/x\n@@ -0,0 +1 @@\n+one\n')
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n') + '\n'
    const after = before.replace('2\n', 'two\n').replace('10\n', '10\n11\n')
    expect(unifiedDiff('/etc/x', before, after)).to.equal(
      '--- a/etc/x\n+++ b/etc/x\n@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n@@ -8,3 +8,4 @@\n 8\n 9\n 10\n+11\n',
    )
    expect(unifiedDiff('/etc/x', 'a', 'a\nb\n')).to.equal(
      '--- a/etc/x\n+++ b/etc/x\n@@ -1 +1,2 @@\n-a\n\\ No newline at end of file\n+a\n+b\n',
    )
  })
})
