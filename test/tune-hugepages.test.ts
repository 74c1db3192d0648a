import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {readFile, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {UsageError} from '../src/lib/errors.js'
import {applyHugepages, planHugepages, type HugepagesRequest} from '../src/tune/hugepages.js'
import {undoLastRun} from '../src/tune/undo.js'
import {
  FSTAB,
  FakeKernelPool,
  contentView,
  makeHugepageRoot,
  testContext,
  treeSnapshot,
  useStandInTools,
  restoreTools,
} from './support/tune-root.js'

const LINE = 'hugetlbfs /dev/hugepages hugetlbfs mode=01770,gid=994,nofail 0 0\n'
const read = (root: string, p: string) => readFile(join(root, p), 'utf8')
const roots: string[] = []
async function newRoot(opts?: Parameters<typeof makeHugepageRoot>[0]) {
  const root = await makeHugepageRoot(opts)
  roots.push(root)
  return root
}

async function run(root: string, req: HugepagesRequest, pool?: (root: string) => Parameters<typeof testContext>[1]) {
  const ctx = await testContext(root, pool?.(root))
  return applyHugepages(ctx, req, await planHugepages(ctx, req))
}

describe('tune hugepages (temporary roots)', () => {
  before(useStandInTools)
  after(async () => {
    restoreTools()
    for (const r of roots) await rm(r, {recursive: true, force: true})
  })

  it('plans 550 pages for 1024 MiB with the runtime change and a diff per file', async () => {
    const root = await newRoot()
    const plan = await planHugepages(await testContext(root), {vmMem: '1024'})
    expect(plan.pages).to.equal(550)
    expect(plan.runtime).to.deep.equal([
      {
        path: '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages',
        pageSize: '2M',
        node: null,
        before: 0,
        after: 550,
      },
    ])
    expect(plan.files.map((f) => [f.path, f.action])).to.deep.equal([
      ['/etc/fstab', 'modify'],
      ['/etc/sysctl.d/40-hugepage.conf', 'create'],
    ])
    expect(plan.files[0].diff).to.contain(`+${LINE}`)
    expect(plan.mount).to.include({target: '/dev/hugepages', action: 'mount', createDir: true})
    expect(plan.changes).to.equal(4)
  })

  it('changes nothing at all while planning (the --dry-run path)', async () => {
    const root = await newRoot()
    const before = await treeSnapshot(root)
    await planHugepages(await testContext(root), {vmMem: '2G', vms: '2'})
    expect(await treeSnapshot(root)).to.deep.equal(before)
  })

  it('applies, verifies, and a second identical run changes nothing and says so', async () => {
    const root = await newRoot()
    const first = await run(root, {vmMem: '1G'})
    expect(first.result.status).to.equal('applied')
    expect(first.result.pool).to.include({asked: 550, got: 550})
    expect(first.result.hugePagesTotal).to.equal(550)
    expect(first.result.mount).to.deep.equal({target: '/dev/hugepages', mounted: true, mode: '1770', gid: 994})
    expect(await read(root, 'etc/fstab')).to.equal(FSTAB + LINE)
    expect(await read(root, 'etc/sysctl.d/40-hugepage.conf')).to.match(/\nvm\.nr_hugepages = 550\n$/)
    expect(await read(root, 'proc/mounts')).to.contain(
      'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,mode=01770,gid=994',
    )

    const snapshot = await treeSnapshot(root)
    const second = await run(root, {vmMem: '1024M'})
    expect(second.plan.changes).to.equal(0)
    expect(second.result.status).to.equal('unchanged')
    expect(second.result.messages[0]).to.match(/^nothing to change/)
    expect(second.result.journalId).to.equal(null)
    expect(await treeSnapshot(root)).to.deep.equal(snapshot)
  })

  it('keeps file permissions and owner across the atomic write', async () => {
    const root = await newRoot()
    await execFileSync('chmod', ['0640', join(root, 'etc/fstab')])
    await execFileSync('chown', ['0:100', join(root, 'etc/fstab')])
    await run(root, {vmMem: '1G'})
    const st = await stat(join(root, 'etc/fstab'))
    expect((st.mode & 0o7777).toString(8)).to.equal('640')
    expect(st.gid).to.equal(100)
  })

  it('undo brings back the pool, the mount and every file byte for byte', async () => {
    const root = await newRoot()
    const before = await treeSnapshot(root)
    const ctx = await testContext(root)
    await run(root, {vmMem: '1G'})
    const undone = await undoLastRun(ctx, {dryRun: false})
    expect(undone.status).to.equal('restored')
    expect(undone.steps).to.deep.equal([
      'remove /etc/sysctl.d/40-hugepage.conf',
      'restore /etc/fstab',
      'unmount /dev/hugepages',
      'remove directory /dev/hugepages',
      '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages back to 0',
    ])
    expect(contentView(await treeSnapshot(root))).to.deep.equal(contentView(before))
    expect(await read(root, 'etc/fstab')).to.equal(FSTAB)
    expect(await read(root, 'proc/meminfo')).to.match(/HugePages_Total:\s+0\n/)
    expect((await undoLastRun(ctx, {dryRun: false})).status).to.equal('nothing')
  })

  it('compacts memory and retries while that makes progress', async () => {
    const root = await newRoot()
    const result = await run(root, {vmMem: '1G'}, (r) => (host) => new FakeKernelPool(r, host, 400, 100, 5))
    expect(result.result.status).to.equal('applied')
    expect(result.result.pool).to.include({asked: 550, got: 550, compactions: 2})
  })

  it('rolls the pool back on a shortfall and reports asked/got per node', async () => {
    const root = await newRoot({nodes: 2})
    const before = await treeSnapshot(root)
    const r = await run(root, {vmMem: '1G'}, (rt) => (host) => new FakeKernelPool(rt, host, 300, 10, 1))
    expect(r.result.status).to.equal('rolled-back')
    expect(r.result.messages[0]).to.match(/asked 550, got 310 \(node 0: 155, node 1: 155\) after 2 compaction/)
    expect(r.result.messages[0]).to.contain('hugepagesz=2M hugepages=550')
    expect(r.result.rollbackProblems).to.deep.equal([])
    expect(contentView(await treeSnapshot(root))).to.deep.equal(contentView(before))
  })

  it('keeps and persists the achieved count with --allow-partial', async () => {
    const root = await newRoot()
    const r = await run(root, {vmMem: '1G', allowPartial: true}, (rt) => (host) => new FakeKernelPool(rt, host, 500))
    expect(r.result.status).to.equal('partial')
    expect(r.result.pool).to.include({asked: 550, got: 500})
    expect(await read(root, 'etc/sysctl.d/40-hugepage.conf')).to.match(/vm\.nr_hugepages = 500\n$/)
  })

  it('prints the kernel command line when 1 GiB pages do not fit at runtime (--runtime)', async () => {
    const root = await newRoot({memTotalMiB: 16384})
    const r = await run(
      root,
      {vmMem: '4G', pageSize: '1G', runtime: true},
      (rt) => (host) => new FakeKernelPool(rt, host, 1),
    )
    expect(r.plan.pages).to.equal(4)
    expect(r.plan.mount.options).to.deep.equal(['mode=01770', 'gid=994', 'pagesize=1G'])
    expect(r.result.status).to.equal('rolled-back')
    expect(r.result.messages[0]).to.contain('add `hugepagesz=1G hugepages=4` to the kernel command line')
    expect(r.plan.warnings.join('\n')).to.contain('not persisted: no boot loader configuration found')
  })

  it('writes one NUMA node through the per-node sysfs with --node', async () => {
    const root = await newRoot({nodes: 2})
    const r = await run(root, {vmMem: '1G', node: '1'})
    expect(r.plan.runtime[0].path).to.equal('/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages')
    expect(r.result.status).to.equal('applied')
    expect(await read(root, 'sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages')).to.equal('550\n')
    expect(await read(root, 'sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages')).to.equal('0\n')
  })

  it('warns when a later sysctl.d file or sysctl.conf sets vm.nr_hugepages', async () => {
    const root = await newRoot({
      sysctlD: {'60-db.conf': 'vm.nr_hugepages = 1024\n', '10-early.conf': 'vm.nr_hugepages = 4\n'},
      sysctlConf: 'vm.nr_hugepages=8\n',
    })
    const plan = await planHugepages(await testContext(root), {vmMem: '1G'})
    const later = plan.warnings.filter((w) => w.includes('wins'))
    expect(later).to.have.length(2)
    expect(later[0]).to.match(/^\/etc\/sysctl\.d\/60-db\.conf sets vm\.nr_hugepages = 1024/)
    expect(later[1]).to.match(/^\/etc\/sysctl\.d\/99-sysctl\.conf sets vm\.nr_hugepages = 8/)
  })

  for (const [req, pattern] of [
    [{vmMem: 'abc'}, /^--vm-mem "abc" is not a size/],
    [{vmMem: '-1'}, /^--vm-mem "-1" is not a size/],
    [{vmMem: '0'}, /^--vm-mem 0 must be more than zero/],
    [{vmMem: '64G'}, /more than this host has \(8 GiB\)/],
    [{vmMem: '7G'}, /below the safe floor of 512 MiB/],
    [{vmMem: '1G', pageSize: '4M'}, /^--page-size 4M is not offered by this host; use one of: 2M, 1G$/],
    [{vmMem: '1G', node: '3'}, /^--node 3 does not exist on this host; use one of: 0$/],
    [{vmMem: '1G', vms: '0'}, /^--vms "0" must be a whole number of at least 1/],
    [{vmMem: '1G', headroom: 'lots'}, /^--headroom "lots"/],
    [{vmMem: '1G', group: 'vmusers'}, /^group vmusers does not exist .*groupadd --system vmusers.*--create-group/],
  ] as const) {
    it(`refuses ${JSON.stringify(req)} with a one-line usage error`, async () => {
      const root = await newRoot()
      const error = await planHugepages(await testContext(root), req).catch((e) => e)
      expect(error).to.be.instanceOf(UsageError)
      expect(error.message).to.match(pattern)
      expect(error.message).not.to.contain('\n')
    })
  }

  it('creates the default kvm group when the host has none, and undo deletes it', async () => {
    const root = await newRoot({kvmGid: null})
    const ctx = await testContext(root)
    const plan = await planHugepages(ctx, {vmMem: '1G'})
    expect(plan.group).to.deep.equal({name: 'kvm', gid: null, create: true})
    expect(plan.warnings[0]).to.match(/^group kvm does not exist: kvmctl creates it/)
    const r = await applyHugepages(ctx, {vmMem: '1G'}, plan)
    expect(r.result.status).to.equal('applied')
    const gid = r.plan.group.gid!
    expect(await read(root, 'etc/group')).to.contain(`kvm:x:${gid}:`)
    expect(await read(root, 'etc/fstab')).to.contain(`mode=01770,gid=${gid},nofail`)
    expect((await undoLastRun(ctx, {dryRun: false})).status).to.equal('restored')
    expect(await read(root, 'etc/group')).not.to.contain('kvm:')
  })

  it('creates a named --group only with --create-group', async () => {
    const root = await newRoot()
    const r = await run(root, {vmMem: '1G', group: 'vmusers', createGroup: true})
    expect(r.result.status).to.equal('applied')
    expect(await read(root, 'etc/group')).to.match(new RegExp(`^vmusers:x:${r.plan.group.gid}:`, 'm'))
  })

  it('needs root to apply', async () => {
    const root = await newRoot()
    const ctx = {...(await testContext(root)), uid: 1000}
    const error = await applyHugepages(ctx, {vmMem: '1G'}, await planHugepages(ctx, {vmMem: '1G'})).catch((e) => e)
    expect(error.message).to.match(/^kvmctl tune hugepages needs root \(running as uid 1000\).*--dry-run/)
  })

  it('a write that fails leaves every file intact and the pool rolled back', async function () {
    const root = await newRoot()
    // Root bypasses mode bits, so make /etc/sysctl.d immutable (ext4) or, where chattr cannot,
    // a regular file standing where the directory should be: both stop even root.
    const dir = join(root, 'etc/sysctl.d')
    let immutable = true
    try {
      execFileSync('chattr', ['+i', dir], {stdio: 'ignore'})
    } catch {
      immutable = false
      await rm(dir, {recursive: true})
      await writeFile(dir, 'not a directory\n')
    }
    try {
      const before = await treeSnapshot(root)
      const r = await run(root, {vmMem: '1G'})
      expect(r.result.status).to.equal('failed')
      expect(r.result.messages.join('\n')).to.match(immutable ? /EPERM|EACCES/ : /ENOTDIR/)
      expect(r.result.rollbackProblems).to.deep.equal([])
      expect(await read(root, 'etc/fstab')).to.equal(FSTAB)
      expect(await read(root, 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages')).to.equal('0\n')
      expect(await read(root, 'proc/mounts')).not.to.contain('hugetlbfs')
      // fstab was written and then restored: same bytes and mode, new inode and mtime.
      expect(contentView(await treeSnapshot(root))).to.deep.equal(contentView(before))
    } finally {
      if (immutable) execFileSync('chattr', ['-i', dir])
    }
  })
  // The lock is tested in tune-txn.test.ts (flock: held by a live process, never judged from a file).
})
