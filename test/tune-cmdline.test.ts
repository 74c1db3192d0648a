import {expect} from 'chai'
import {readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {detectBootLoader, planCmdline, runCmdlinePlan} from '../src/tune/bootloader.js'
import {
  editBlsEntry,
  editGrubDefault,
  editLine,
  grubCmdline,
  type ParamEdit,
  satisfies,
  tokenize,
  validateEdit,
} from '../src/tune/cmdline.js'
import {undoLastRun} from '../src/tune/undo.js'
import {LAYOUTS, makeBootRoot, restoreBootTools, useBootStandIns} from './support/boot-roots.js'
import {contentView, makeHugepageRoot, testContext, treeSnapshot} from './support/tune-root.js'

const set = (key: string, value?: string): ParamEdit => ({op: 'set', key, value})
const remove = (key: string): ParamEdit => ({op: 'remove', key})

describe('kernel command line editing (pure)', () => {
  it('adds, replaces and removes one parameter, keeping every other byte', () => {
    expect(editLine('quiet splash', set('iommu', 'pt'))).to.equal('quiet splash iommu=pt')
    expect(editLine('', set('iommu', 'pt'))).to.equal('iommu=pt')
    expect(editLine('quiet  iommu=on\tsplash', set('iommu', 'pt'))).to.equal('quiet  iommu=pt\tsplash')
    expect(editLine('quiet  iommu=on\tsplash', remove('iommu'))).to.equal('quiet\tsplash')
    expect(editLine('iommu=on quiet', remove('iommu'))).to.equal('quiet')
    expect(editLine('quiet iommu=on', remove('iommu'))).to.equal('quiet')
    expect(editLine('root=/dev/vda1 ro\n', set('kvm_intel.nested', '1'))).to.equal(
      'root=/dev/vda1 ro kvm_intel.nested=1\n',
    )
  })

  it('collapses duplicates to one (the kernel takes the last), and matches - and _ in names alike', () => {
    expect(editLine('hugepages=2 quiet hugepages=8', set('hugepages', '4'))).to.equal('hugepages=4 quiet')
    expect(editLine('kvm-intel.nested=0 quiet', set('kvm_intel.nested', '1'))).to.equal('kvm_intel.nested=1 quiet')
    expect(editLine('a hugepages=1 b hugepages=2 c', remove('hugepages'))).to.equal('a b c')
  })

  it('tells a bare flag from key=value, and leaves a longer key alone', () => {
    expect(editLine('quiet nosmt=force', set('nosmt'))).to.equal('quiet nosmt')
    expect(editLine('hugepagesz=1G hugepages=4', set('hugepages', '8'))).to.equal('hugepagesz=1G hugepages=8')
    expect(satisfies('quiet nosmt', set('nosmt'))).to.equal(true)
    expect(satisfies('quiet nosmt=1', set('nosmt'))).to.equal(false)
  })

  it('keeps a quoted parameter whole', () => {
    expect(tokenize('dyndbg="file a.c +p" quiet').map((t) => t.text)).to.deep.equal(['dyndbg="file a.c +p"', 'quiet'])
    expect(editLine('dyndbg="file a.c +p" quiet', set('iommu', 'pt'))).to.equal('dyndbg="file a.c +p" quiet iommu=pt')
  })

  it('refuses names and values that would need quoting, as a one-line usage error', () => {
    expect(() => validateEdit(set('iommu', 'pt quiet'))).to.throw(/needs quoting/)
    expect(() => validateEdit(set('a"b', '1'))).to.throw(/not valid/)
    expect(() => validateEdit(set('x', '$(reboot)'))).to.throw(/needs quoting/)
  })

  it('edits GRUB_CMDLINE_LINUX in /etc/default/grub, in either quoting, and replaces a key found in _DEFAULT in place', () => {
    const debian = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n'
    expect(editGrubDefault(debian, set('intel_iommu', 'on'))).to.equal(
      'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="intel_iommu=on"\n',
    )
    expect(editGrubDefault("GRUB_CMDLINE_LINUX='rhgb quiet'\n", set('iommu', 'pt'))).to.equal(
      "GRUB_CMDLINE_LINUX='rhgb quiet iommu=pt'\n",
    )
    expect(editGrubDefault('GRUB_CMDLINE_LINUX=quiet\n', set('iommu', 'pt'))).to.equal(
      'GRUB_CMDLINE_LINUX="quiet iommu=pt"\n',
    )
    expect(
      editGrubDefault('GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=on"\nGRUB_CMDLINE_LINUX=""\n', set('iommu', 'pt')),
    ).to.equal('GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt"\nGRUB_CMDLINE_LINUX=""\n')
    expect(
      editGrubDefault('GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=on"\nGRUB_CMDLINE_LINUX="iommu=pt"\n', remove('iommu')),
    ).to.equal('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n')
    // A commented-out assignment is not an assignment; a missing one is appended.
    expect(editGrubDefault('#GRUB_CMDLINE_LINUX="x"\nGRUB_TIMEOUT=5', set('iommu', 'pt'))).to.equal(
      '#GRUB_CMDLINE_LINUX="x"\nGRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="iommu=pt"\n',
    )
    expect(
      grubCmdline('GRUB_CMDLINE_LINUX="a"\nGRUB_CMDLINE_LINUX="b c"\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'),
    ).to.equal('b c quiet')
    expect(() => editGrubDefault('GRUB_CMDLINE_LINUX="quiet\n', set('iommu', 'pt'))).to.throw(/no closing "/)
  })

  it("edits the options lines of a BLS entry, with systemd's column padding kept", () => {
    const entry = 'title      Debian\noptions    root=UUID=x ro quiet\nlinux      /linux\n'
    expect(editBlsEntry(entry, set('iommu', 'pt'))).to.equal(
      'title      Debian\noptions    root=UUID=x ro quiet iommu=pt\nlinux      /linux\n',
    )
    expect(editBlsEntry('options a\noptions b iommu=on\n', set('iommu', 'pt'))).to.equal(
      'options a\noptions b iommu=pt\n',
    )
    expect(editBlsEntry('options a\noptions b\n', set('iommu', 'pt'))).to.equal('options a\noptions b iommu=pt\n')
    expect(editBlsEntry('title x\n', set('iommu', 'pt'))).to.equal('title x\noptions iommu=pt\n')
  })
})

describe('boot loader layouts (temporary roots from real Debian, Fedora and systemd-boot files)', () => {
  const roots: string[] = []
  before(useBootStandIns)
  after(async () => {
    restoreBootTools()
    for (const r of roots) await rm(r, {recursive: true, force: true})
  })
  const rootFor = async (layout: (typeof LAYOUTS)[number]) => {
    const root = await makeBootRoot(layout)
    roots.push(root)
    return root
  }
  const read = (root: string, p: string) => readFile(join(root, p), 'utf8')
  const edits = [set('default_hugepagesz', '1G'), set('hugepagesz', '1G'), set('hugepages', '4')]

  it('detects GRUB on Debian (update-grub), BLS with grubby on Fedora, and systemd-boot', async () => {
    const kinds = []
    for (const layout of LAYOUTS)
      kinds.push((await detectBootLoader((await testContext(await rootFor(layout))).host))?.kind)
    expect(kinds).to.deep.equal(['grub', 'grubby', 'systemd-boot'])
  })

  it('Debian GRUB: writes GRUB_CMDLINE_LINUX, runs update-grub, verifies, and undo restores the tree byte for byte', async () => {
    const root = await rootFor('debian-12-grub')
    const before = contentView(await treeSnapshot(root))
    const original = await read(root, 'etc/default/grub')
    const ctx = await testContext(root)
    const plan = await planCmdline(ctx, edits)
    expect(plan.loader).to.equal('grub')
    expect(plan.commands).to.deep.equal(['update-grub'])
    expect(plan.after).to.equal('quiet default_hugepagesz=1G hugepagesz=1G hugepages=4')
    const result = await runCmdlinePlan(ctx, plan, 'tune cmdline')
    expect(result.status, result.messages.join('\n')).to.equal('applied')
    const grub = await read(root, 'etc/default/grub')
    expect(grub).to.equal(
      original.replace('GRUB_CMDLINE_LINUX=""', 'GRUB_CMDLINE_LINUX="default_hugepagesz=1G hugepagesz=1G hugepages=4"'),
    )
    expect(await read(root, 'boot/grub/grub.cfg')).to.contain(
      'ro default_hugepagesz=1G hugepagesz=1G hugepages=4 quiet\n',
    )
    // A second identical run changes nothing.
    const again = await planCmdline(ctx, edits)
    expect(again.changes).to.equal(0)
    expect((await runCmdlinePlan(ctx, again, 'tune cmdline')).status).to.equal('unchanged')

    const undone = await undoLastRun(ctx, {dryRun: false})
    expect(undone.status, undone.problems.join('\n')).to.equal('restored')
    expect(contentView(await treeSnapshot(root))).to.deep.equal(before)
  })

  it('Fedora BLS: grubby updates every entry, /etc/default/grub and /etc/kernel/cmdline follow, undo restores all', async () => {
    const root = await rootFor('fedora-40-bls')
    const before = contentView(await treeSnapshot(root))
    const ctx = await testContext(root)
    const plan = await planCmdline(ctx, [set('intel_iommu', 'on'), set('iommu', 'pt')])
    expect(plan.loader).to.equal('grubby')
    expect(plan.commands).to.deep.equal([
      'grubby --update-kernel=ALL --args=intel_iommu=on',
      'grubby --update-kernel=ALL --args=iommu=pt',
    ])
    expect(plan.files.map((f) => f.path)).to.deep.equal(['/etc/default/grub', '/etc/kernel/cmdline'])
    const result = await runCmdlinePlan(ctx, plan, 'tune iommu')
    expect(result.status, result.messages.join('\n')).to.equal('applied')
    const entry = await read(root, 'boot/loader/entries/ab90bede363141af8b2b1d094615071b-6.10.7-200.fc40.x86_64.conf')
    expect(entry).to.contain(
      '\noptions root=UUID=6d1c5b4e-3f2a-4b1c-9d8e-7f6a5b4c3d2e ro rootflags=subvol=root rhgb quiet intel_iommu=on iommu=pt\ngrub_users $grub_users\n',
    )
    expect(await read(root, 'etc/kernel/cmdline')).to.equal(
      'root=UUID=6d1c5b4e-3f2a-4b1c-9d8e-7f6a5b4c3d2e ro rootflags=subvol=root rhgb quiet intel_iommu=on iommu=pt\n',
    )
    expect(await read(root, 'etc/default/grub')).to.contain(
      'GRUB_CMDLINE_LINUX="rootflags=subvol=root rhgb quiet intel_iommu=on iommu=pt"\n',
    )

    const undone = await undoLastRun(ctx, {dryRun: false})
    expect(undone.status, undone.problems.join('\n')).to.equal('restored')
    expect(contentView(await treeSnapshot(root))).to.deep.equal(before)
  })

  it('systemd-boot: /etc/kernel/cmdline and the existing entry get the parameter; removing it later works too', async () => {
    const root = await rootFor('debian-12-systemd-boot')
    const before = contentView(await treeSnapshot(root))
    const ctx = await testContext(root)
    const plan = await planCmdline(ctx, [set('kvm_intel.nested', '1')])
    expect(plan.commands).to.deep.equal([])
    expect((await runCmdlinePlan(ctx, plan, 'tune nested')).status).to.equal('applied')
    expect(await read(root, 'etc/kernel/cmdline')).to.equal(
      'root=UUID=2c1d0e3f-5a6b-4c7d-8e9f-0a1b2c3d4e5f ro quiet kvm_intel.nested=1\n',
    )
    expect(await read(root, 'efi/loader/entries/debian-6.1.0-28-amd64.conf')).to.contain(
      '\noptions    root=UUID=2c1d0e3f-5a6b-4c7d-8e9f-0a1b2c3d4e5f ro quiet kvm_intel.nested=1\nlinux ',
    )
    const removal = await planCmdline(ctx, [remove('kvm_intel.nested')])
    expect((await runCmdlinePlan(ctx, removal, 'tune nested --disable')).status).to.equal('applied')
    expect(contentView(await treeSnapshot(root))).to.deep.equal(before)
    // Two runs in the journal; undoing both brings back the same tree.
    expect((await undoLastRun(ctx, {dryRun: false})).status).to.equal('restored')
    expect((await undoLastRun(ctx, {dryRun: false})).status).to.equal('restored')
    expect(contentView(await treeSnapshot(root))).to.deep.equal(before)
  })

  it('a failing boot loader tool rolls every file back', async () => {
    const root = await rootFor('debian-12-grub')
    await writeFile(join(root, '.standin-mkconfig-fails'), '')
    const before = contentView(await treeSnapshot(root))
    const ctx = await testContext(root)
    const result = await runCmdlinePlan(ctx, await planCmdline(ctx, edits), 'tune cmdline')
    expect(result.status).to.equal('rolled-back')
    expect(result.messages[0]).to.match(/^update-grub failed \(exit 1\): .*syntax error/)
    expect(result.rollbackProblems).to.deep.equal([])
    expect(contentView(await treeSnapshot(root))).to.deep.equal(before)
  })

  it('no boot loader: refuses in one line naming the files to edit, and changes nothing', async () => {
    const root = await makeHugepageRoot()
    roots.push(root)
    const before = await treeSnapshot(root)
    const ctx = await testContext(root)
    const plan = await planCmdline(ctx, [set('iommu', 'pt')])
    expect(plan.refusal).to.match(
      /^no boot loader configuration found .*add `iommu=pt` to the kernel command line .*GRUB_CMDLINE_LINUX in \/etc\/default\/grub, or \/etc\/kernel\/cmdline\)$/,
    )
    expect(plan.refusal).to.not.contain('\n')
    expect((await runCmdlinePlan(ctx, plan, 'tune iommu')).status).to.equal('refused')
    expect(await treeSnapshot(root)).to.deep.equal(before)
  })
})
