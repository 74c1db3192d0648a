import {expect} from 'chai'
import {chmod, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli} from './support/cli.js'
import {makeHugepageRoot, TEST_BIN, treeSnapshot} from './support/tune-root.js'
import {tempDir} from './support/temp.js'

const standIns = {
  KVMCTL_MOUNT: join(TEST_BIN, 'mount'),
  KVMCTL_UMOUNT: join(TEST_BIN, 'umount'),
  KVMCTL_MODPROBE: join(TEST_BIN, 'modprobe'),
}

describe('kvmctl tune (command line)', () => {
  let root: string
  beforeEach(async () => {
    root = await makeHugepageRoot()
  })
  afterEach(async () => {
    await rm(root, {recursive: true, force: true})
  })

  it('--dry-run --json gives the documented plan shape and changes nothing', async () => {
    const before = await treeSnapshot(root)
    const r = await runCli(['tune', 'hugepages', '--vm-mem', '1024', '--root', root, '--dry-run', '--json'], {
      fromSrc: true,
    })
    expect(r.exitCode).to.equal(0)
    const out = JSON.parse(r.stdout)
    expect(out.dryRun).to.equal(true)
    expect(out.result).to.equal(null)
    expect(out.plan).to.include({pages: 550, pageSize: '2M', vms: 1, headroomPct: 7.4, changes: 4})
    expect(out.plan.files[0]).to.have.keys('path', 'action', 'diff')
    expect(await treeSnapshot(root)).to.deep.equal(before)
  })

  it('--dry-run works for a user who is not root; applying tells them to use root (exit 1)', async () => {
    await chmod(root, 0o755)
    const before = await treeSnapshot(root)
    const dry = await runCli(['tune', 'hugepages', '--vm-mem', '1G', '--root', root, '--dry-run'], {
      fromSrc: true,
      asUser: 65534,
    })
    expect(dry.exitCode).to.equal(0)
    expect(dry.stdout).to.contain('+hugetlbfs /dev/hugepages hugetlbfs mode=01770,gid=994,nofail 0 0')
    const apply = await runCli(['tune', 'hugepages', '--vm-mem', '1G', '--root', root], {fromSrc: true, asUser: 65534})
    expect(apply.exitCode).to.equal(1)
    expect(apply.stderr).to.equal(
      'kvmctl: kvmctl tune hugepages needs root (running as uid 65534); run it with sudo, or add --dry-run to only see the plan\n',
    )
    expect(await treeSnapshot(root)).to.deep.equal(before)
  })

  for (const bad of ['abc', '-1', '0']) {
    it(`exits 2 with one line for --vm-mem ${bad}`, async () => {
      const r = await runCli(['tune', 'hugepages', '--vm-mem', bad, '--root', root], {fromSrc: true})
      expect(r.exitCode).to.equal(2)
      expect(r.stderr.trim().split('\n')).to.have.length(1)
      expect(r.stderr).to.match(/^kvmctl: --vm-mem /)
    })
  }

  it('applies, then undo restores, through the commands (exit codes and --json results)', async () => {
    const apply = await runCli(['tune', 'hugepages', '--vm-mem', '1G', '--root', root, '--json'], {
      fromSrc: true,
      env: standIns,
    })
    expect(apply.exitCode).to.equal(0)
    // The real pool backend writes the tree's files; no kernel updates the tree's meminfo.
    const {result} = JSON.parse(apply.stdout)
    expect(result.status).to.equal('applied')
    expect(result.pool).to.include({asked: 550, got: 550})
    const undo = await runCli(['tune', 'undo', '--root', root, '--json'], {fromSrc: true, env: standIns})
    expect(undo.exitCode).to.equal(0)
    expect(JSON.parse(undo.stdout)).to.include({status: 'restored', remaining: 0})
    expect(await readFile(join(root, 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'), 'utf8')).to.equal('0\n')
  })

  it('tune nested on a PVM tree explains and exits 1 without changing anything', async () => {
    const {mkdir} = await import('node:fs/promises')
    await mkdir(join(root, 'sys/module/kvm_pvm/parameters'), {recursive: true})
    const before = await treeSnapshot(root)
    const r = await runCli(['tune', 'nested', '--root', root], {fromSrc: true, env: standIns})
    expect(r.exitCode).to.equal(1)
    expect(r.stdout).to.contain('kvm_pvm').and.to.contain('no nested virtualization')
    expect(await treeSnapshot(root)).to.deep.equal(before)
  })
})

// mount(8) and modprobe act on the running kernel whatever --root says: without a stand-in they
// would mount on this machine or unload its module, so applying to a tree refuses before anything.
describe('kvmctl tune --root without stand-in tools', () => {
  const copies: string[] = []
  after(async () => {
    for (const dir of copies) await rm(dir, {recursive: true, force: true})
  })
  async function copyOf(name: string): Promise<string> {
    const {cp} = await import('node:fs/promises')
    const dir = await tempDir(`kvmctl-live-tools-${name}-`)
    copies.push(dir)
    await cp(join(TEST_BIN, '..', '..', 'fixtures', name), dir, {recursive: true})
    return dir
  }
  const cases = [
    {name: 'pvm-guest', argv: ['tune', 'hugepages', '--vm-mem', '1024'], tool: 'mount', env: 'KVMCTL_MOUNT'},
    {name: 'intel-vtx', argv: ['tune', 'nested'], tool: 'modprobe', env: 'KVMCTL_MODPROBE', nested: 'N\n'},
  ]
  for (const c of cases) {
    it(`${c.argv.join(' ')} --root COPY of ${c.name} refuses to run ${c.tool} (exit 2, one line, tree unchanged)`, async function () {
      if (process.getuid?.() !== 0) this.skip() // the refusal comes after the root check
      const root = await copyOf(c.name)
      if (c.nested) await writeFile(join(root, 'sys/module/kvm_intel/parameters/nested'), c.nested)
      const before = await treeSnapshot(root)
      const r = await runCli([...c.argv, '--root', root])
      expect(r.exitCode, r.stdout + r.stderr).to.equal(2)
      expect(r.stderr.trim().split('\n')).to.have.length(1)
      expect(r.stderr)
        .to.contain(`applying runs ${c.tool}, which acts on this machine's running kernel`)
        .and.to.contain(c.env)
      expect(await treeSnapshot(root)).to.deep.equal(before)
      expect(await readFile('/proc/self/mounts', 'utf8')).not.to.contain(root)
    })
  }
})

// A capture limited to other paths holds no boot configuration: unknown, so no "no boot loader found".
describe('kvmctl tune and the boot configuration a capture did not hold', () => {
  it('tune iommu --dry-run on vfio-ready (captured: IOMMU paths only) names the boot files, exit 2', async () => {
    const r = await runCli([
      'tune',
      'iommu',
      '--dry-run',
      '--root',
      join(TEST_BIN, '..', '..', 'fixtures', 'vfio-ready'),
    ])
    expect(r.exitCode, r.stdout + r.stderr).to.equal(2)
    expect(r.stderr.trim().split('\n')).to.have.length(1)
    expect(r.stderr).to.match(
      /^kvmctl: not in this capture: \/etc\/default\/grub, \/etc\/kernel\/cmdline, \/boot\/loader\/entries\//,
    )
  })
})
