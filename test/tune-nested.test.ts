import {expect} from 'chai'
import {mkdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {applyNested, planNested} from '../src/tune/nested.js'
import {undoLastRun} from '../src/tune/undo.js'
import {
  contentView,
  makeHugepageRoot,
  testContext,
  treeSnapshot,
  useStandInTools,
  restoreTools,
} from './support/tune-root.js'

type Tree = 'intel' | 'amd' | 'builtin' | 'pvm' | 'running'
const roots: string[] = []

async function put(root: string, path: string, text: string) {
  await mkdir(join(root, path, '..'), {recursive: true})
  await writeFile(join(root, path), text)
}

/** A host tree with the vendor module in the given state. */
async function nestedRoot(tree: Tree, opts: {modprobeD?: string} = {}): Promise<string> {
  const root = await makeHugepageRoot()
  roots.push(root)
  const amd = tree === 'amd' || tree === 'pvm'
  const flags = tree === 'pvm' ? 'fpu vme de pse hypervisor' : `fpu vme de pse ${amd ? 'svm' : 'vmx'} hypervisor`
  await put(
    root,
    'proc/cpuinfo',
    `processor\t: 0\nvendor_id\t: ${amd ? 'AuthenticAMD' : 'GenuineIntel'}\nflags\t\t: ${flags}\n\n`,
  )
  await mkdir(join(root, 'sys/module/kvm/parameters'), {recursive: true})
  if (tree === 'pvm') {
    await mkdir(join(root, 'sys/module/kvm_pvm/parameters'), {recursive: true})
    return root
  }
  const m = amd ? 'kvm_amd' : 'kvm_intel'
  await put(root, `sys/module/${m}/parameters/nested`, amd ? '0\n' : 'N\n')
  if (tree !== 'builtin') {
    await put(root, `sys/module/${m}/initstate`, 'live\n')
    await put(root, `sys/module/${m}/refcnt`, tree === 'running' ? '2\n' : '0\n')
    await mkdir(join(root, `sys/module/${m}/holders`), {recursive: true})
  }
  if (tree === 'running') {
    await put(root, 'proc/4242/comm', 'qemu-system-x86\n')
    await mkdir(join(root, 'proc/4242/fd'), {recursive: true})
    await symlink('/dev/null', join(root, 'proc/4242/fd/0'))
    await symlink('/dev/kvm', join(root, 'proc/4242/fd/11'))
    await put(root, 'proc/77/comm', 'sshd\n')
    await mkdir(join(root, 'proc/77/fd'), {recursive: true})
    await symlink('socket:[1234]', join(root, 'proc/77/fd/3'))
  }
  if (opts.modprobeD !== undefined) await put(root, `etc/modprobe.d/${m}.conf`, opts.modprobeD)
  return root
}

const read = (root: string, p: string) => readFile(join(root, p), 'utf8')

describe('tune nested (temporary roots, stand-in modprobe)', () => {
  before(useStandInTools)
  after(async () => {
    restoreTools()
    for (const r of roots) await rm(r, {recursive: true, force: true})
  })

  it('Intel: reloads kvm_intel with nested=1, verifies Y, persists modprobe.d keeping other options; undo reverts', async () => {
    const root = await nestedRoot('intel', {modprobeD: '# local\noptions kvm_intel ept=1\n'})
    const ctx = await testContext(root)
    const plan = await planNested(ctx, {})
    expect(plan).to.include({module: 'kvm_intel', loaded: true, builtin: false, current: 'N', outcome: 'reload'})
    expect(plan.commands).to.deep.equal(['modprobe -r kvm_intel', 'modprobe kvm_intel nested=1'])
    expect(plan.files[0].diff).to.contain('-options kvm_intel ept=1\n+options kvm_intel ept=1 nested=1\n')
    const result = await applyNested(ctx, plan)
    expect(result.status).to.equal('applied')
    expect(result.nestedAfter).to.equal('Y')
    expect(await read(root, 'etc/modprobe.d/kvm_intel.conf')).to.equal('# local\noptions kvm_intel ept=1 nested=1\n')

    const again = await planNested(ctx, {})
    expect(again.outcome).to.equal('unchanged')
    expect((await applyNested(ctx, again)).messages[0]).to.equal('kvm_intel already has nested=Y; nothing to change')

    const undone = await undoLastRun(ctx, {dryRun: false})
    expect(undone.status).to.equal('restored')
    expect(await read(root, 'sys/module/kvm_intel/parameters/nested')).to.equal('N\n')
    expect(await read(root, 'etc/modprobe.d/kvm_intel.conf')).to.equal('# local\noptions kvm_intel ept=1\n')
  })

  it('AMD: sets kvm_amd nested to 1 and creates kvm_amd.conf; --disable turns it back off', async () => {
    const root = await nestedRoot('amd')
    const ctx = await testContext(root)
    const result = await applyNested(ctx, await planNested(ctx, {}))
    expect(result.status).to.equal('applied')
    expect(result.nestedAfter).to.equal('1')
    expect(await read(root, 'etc/modprobe.d/kvm_amd.conf')).to.equal('options kvm_amd nested=1\n')
    const off = await applyNested(ctx, await planNested(ctx, {disable: true}))
    expect(off.nestedAfter).to.equal('0')
    expect(await read(root, 'etc/modprobe.d/kvm_amd.conf')).to.equal('options kvm_amd nested=0\n')
  })

  it('built in: prints the kernel command line and changes nothing', async () => {
    const root = await nestedRoot('builtin')
    const before = await treeSnapshot(root)
    const ctx = await testContext(root)
    const plan = await planNested(ctx, {})
    expect(plan).to.include({outcome: 'builtin', kernelCmdline: 'kvm_intel.nested=1'})
    const result = await applyNested(ctx, plan)
    expect(result.status).to.equal('not-possible')
    expect(result.messages[0]).to.contain('add `kvm_intel.nested=1` to the kernel command line')
    expect(await treeSnapshot(root)).to.deep.equal(before)
  })

  it('PVM: explains that kvm_pvm offers no nested virtualization and changes nothing', async () => {
    const root = await nestedRoot('pvm')
    const before = await treeSnapshot(root)
    const ctx = await testContext(root)
    const plan = await planNested(ctx, {})
    expect(plan).to.include({module: 'kvm_pvm', outcome: 'pvm'})
    const result = await applyNested(ctx, plan)
    expect(result.status).to.equal('not-possible')
    expect(result.messages[0]).to.match(/kvm_pvm .* has no nested virtualization.*Nothing was changed/)
    expect(await treeSnapshot(root)).to.deep.equal(before)
    expect((await planNested(ctx, {disable: true})).outcome).to.equal('unchanged')
  })

  it('VMs running: refuses to reload, names the processes, and --persist-only writes modprobe.d only', async () => {
    const root = await nestedRoot('running')
    const before = await treeSnapshot(root)
    const ctx = await testContext(root)
    const plan = await planNested(ctx, {})
    expect(plan.outcome).to.equal('blocked-in-use')
    expect(plan.users).to.deep.equal({refcnt: 2, holders: [], processes: [{pid: 4242, name: 'qemu-system-x86'}]})
    const refused = await applyNested(ctx, plan)
    expect(refused.status).to.equal('refused')
    expect(refused.messages[0]).to.match(
      /in use \(processes with \/dev\/kvm open: 4242 \(qemu-system-x86\); module refcnt 2\).*--persist-only/,
    )
    expect(await treeSnapshot(root)).to.deep.equal(before)

    const persisted = await applyNested(ctx, await planNested(ctx, {persistOnly: true}))
    expect(persisted.status).to.equal('applied')
    expect(await read(root, 'sys/module/kvm_intel/parameters/nested')).to.equal('N\n')
    expect(await read(root, 'etc/modprobe.d/kvm_intel.conf')).to.equal('options kvm_intel nested=1\n')
  })

  it('rolls back to the old module when the load fails', async () => {
    const root = await nestedRoot('intel')
    const before = contentView(await treeSnapshot(root))
    const ctx = await testContext(root)
    const plan = await planNested(ctx, {})
    // A modprobe that cannot find the module the first time, as after a kernel update without it.
    await writeFile(join(root, '.standin-no-kvm_intel'), '')
    const {KVMCTL_MODPROBE} = process.env
    process.env.KVMCTL_MODPROBE = join(root, 'flaky-modprobe')
    await writeFile(
      join(root, 'flaky-modprobe'),
      `#!/bin/sh\n"${KVMCTL_MODPROBE}" "$@"; rc=$?\n[ "$1" = -r ] || rm -f "$KVMCTL_ROOT/.standin-no-kvm_intel"\nexit $rc\n`,
      {mode: 0o755},
    )
    try {
      const result = await applyNested(ctx, plan)
      expect(result.status).to.equal('rolled-back')
      expect(result.messages.join('\n')).to.match(
        /modprobe kvm_intel nested=1 failed \(exit 1\): modprobe: FATAL: Module kvm_intel not found/,
      )
      expect(result.rollbackProblems).to.deep.equal([])
      expect(await read(root, 'sys/module/kvm_intel/parameters/nested')).to.equal('N\n')
    } finally {
      process.env.KVMCTL_MODPROBE = KVMCTL_MODPROBE
    }
    const after = contentView(await treeSnapshot(root))
    for (const m of [before, after])
      for (const k of [...m.keys()])
        if (k.startsWith('/sys/module/kvm_intel/') || k.startsWith('/flaky') || k.startsWith('/.standin')) m.delete(k)
    expect(after).to.deep.equal(before)
  })
})
