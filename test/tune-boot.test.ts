// Boot-time tuning on temporary roots built from real Debian (GRUB), Fedora (BLS/grubby) and
// systemd-boot layouts (test/boot-layouts/README.md): `tune hugepages --page-size 1G --vm-mem 4G`
// and `tune nested` on a built-in kvm_intel write exactly the expected parameters, leave every
// other byte, and `tune undo` restores the tree byte for byte. (`tune iommu`: tune-settings.test.ts.)
import {expect} from 'chai'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {applyHugepages, planHugepages} from '../src/tune/hugepages.js'
import {applyNested, planNested} from '../src/tune/nested.js'
import {undoLastRun} from '../src/tune/undo.js'
import {LAYOUTS, type Layout, makeBootRoot, withAllStandIns} from './support/boot-roots.js'
import {contentView, testContext, treeSnapshot} from './support/tune-root.js'

const roots: string[] = []
const text = (entry: string) => Buffer.from(entry.split(' ').at(-1)!, 'base64').toString()

/** Each file that changed, as [path, its text with `added` taken out, its old text]. */
function changedFiles(
  before: Map<string, string>,
  after: Map<string, string>,
  added: RegExp,
): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = []
  for (const [path, entry] of after) {
    const was = before.get(path)
    if (was === undefined || was === entry || path.endsWith('/')) continue
    out.push([path, text(entry).replace(added, ''), text(was)])
  }
  return out
}

describe('boot-time tuning on real boot loader layouts', () => {
  withAllStandIns(roots)

  const newRoot = async (layout: Layout) => {
    const root = await makeBootRoot(layout, {memTotalMiB: 16384})
    roots.push(root)
    return root
  }

  for (const layout of LAYOUTS) {
    it(`tune hugepages --page-size 1G --vm-mem 4G on ${layout}: default_hugepagesz=1G hugepagesz=1G hugepages=4 and its own mount; undo restores the tree`, async () => {
      const root = await newRoot(layout)
      const before = contentView(await treeSnapshot(root))
      const ctx = await testContext(root)
      const plan = await planHugepages(ctx, {vmMem: '4G', pageSize: '1G'})
      expect(plan.runtime).to.deep.equal([])
      expect(plan.mount.target).to.equal('/dev/hugepages1G')
      expect(plan.cmdline!.edits).to.deep.equal(['set default_hugepagesz=1G', 'set hugepagesz=1G hugepages=4'])
      const {result} = await applyHugepages(ctx, {vmMem: '4G', pageSize: '1G'}, plan)
      expect(result.status, result.messages.join('\n')).to.equal('applied')
      expect(result.messages.at(-1)).to.match(/^verified: 4 pages of 1G at the next boot/)
      const after = contentView(await treeSnapshot(root))
      // Boot files differ only by the parameters; fstab gains the 1G mount line.
      for (const [path, edited, was] of changedFiles(
        before,
        after,
        / ?default_hugepagesz=1G hugepagesz=1G hugepages=4/g,
      )) {
        if (path === '/etc/fstab')
          expect(edited).to.equal(
            `${was}hugetlbfs /dev/hugepages1G hugetlbfs mode=01770,gid=994,pagesize=1G,nofail 0 0\n`,
          )
        else if (path.startsWith('/boot/grub/') || path.startsWith('/proc/')) continue
        else expect(edited, path).to.equal(was)
      }
      const again = await planHugepages(ctx, {vmMem: '4G', pageSize: '1G'})
      expect(again.cmdline!.changes).to.equal(0)
      const undone = await undoLastRun(ctx, {dryRun: false})
      expect(undone.status, undone.problems.join('\n')).to.equal('restored')
      expect(contentView(await treeSnapshot(root))).to.deep.equal(before)
    })

    it(`tune nested on ${layout} with kvm_intel built in: kvm_intel.nested=1 on the command line; undo restores the tree`, async () => {
      const root = await newRoot(layout)
      await writeFile(
        join(root, 'proc/cpuinfo'),
        'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme vmx\n\n',
      )
      // Built in: /sys/module/kvm_intel has parameters but no initstate.
      await mkdir(join(root, 'sys/module/kvm_intel/parameters'), {recursive: true})
      await writeFile(join(root, 'sys/module/kvm_intel/parameters/nested'), 'N\n')
      const before = contentView(await treeSnapshot(root))
      const ctx = await testContext(root)
      const plan = await planNested(ctx, {})
      expect(plan).to.deep.include({outcome: 'builtin', kernelCmdline: 'kvm_intel.nested=1'})
      expect(plan.cmdline!.edits).to.deep.equal(['set kvm_intel.nested=1'])
      const result = await applyNested(ctx, plan)
      expect(result.status, result.messages.join('\n')).to.equal('applied')
      expect(result.nestedAfter).to.equal('N')
      for (const [path, edited, was] of changedFiles(
        before,
        contentView(await treeSnapshot(root)),
        / ?kvm_intel\.nested=1/g,
      )) {
        if (!path.startsWith('/boot/grub/')) expect(edited, path).to.equal(was)
      }
      expect((await planNested(ctx, {})).changes).to.equal(0)
      expect((await undoLastRun(ctx, {dryRun: false})).status).to.equal('restored')
      expect(contentView(await treeSnapshot(root))).to.deep.equal(before)
    })
  }

  it('a 2M pool on the command line survives a 1G edit: each size keeps its own count', async () => {
    const root = await newRoot('debian-12-grub')
    const grub = join(root, 'etc/default/grub')
    await writeFile(
      grub,
      (await readFile(grub, 'utf8')).replace(
        'GRUB_CMDLINE_LINUX=""',
        'GRUB_CMDLINE_LINUX="hugepagesz=2M hugepages=512"',
      ),
    )
    const ctx = await testContext(root)
    const plan = await planHugepages(ctx, {vmMem: '4G', pageSize: '1G'})
    expect(plan.cmdline!.edits).to.deep.equal(['set hugepagesz=1G hugepages=4'])
    expect(plan.cmdline!.after).to.equal('hugepagesz=2M hugepages=512 quiet hugepagesz=1G hugepages=4')
    expect(plan.cmdline!.files[0].diff).to.contain(
      '\n+GRUB_CMDLINE_LINUX="hugepagesz=2M hugepages=512 hugepagesz=1G hugepages=4"\n',
    )
  })
})
