// The one test that changes this machine: reserve the pool, mount /dev/hugepages, persist, then
// undo. It holds /tmp/kvmctl-hugepages.lock (other tools share the pool) for the whole test and
// restores the host in `after`, even when an assertion failed. Skipped when not root, without
// hugetlb support, when the host is already tuned, or with KVMCTL_SKIP_REAL_HOST=1.
import {expect} from 'chai'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'

import {runCli} from './support/cli.js'
import {takeMachineLock} from './support/machine-lock.js'

const POOL = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'
const NODE0 = '/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages'
const read = (p: string) => readFile(p, 'utf8').catch(() => undefined)
/** The real tools and the live host, whatever stand-ins other tests in this process set up. */
const LIVE = {
  fromSrc: true,
  env: {
    KVMCTL_MOUNT: '',
    KVMCTL_UMOUNT: '',
    KVMCTL_MODPROBE: '',
    KVMCTL_GROUPADD: '',
    KVMCTL_GROUPDEL: '',
    KVMCTL_ROOT: undefined,
  },
}

const takeLock = () => takeMachineLock()

describe('tune hugepages on this machine (real host, under flock)', function () {
  let lock: {release: () => Promise<unknown>} | undefined
  let poolBefore: string | undefined
  let fstabBefore: string | undefined
  let groupBefore: string | undefined
  let applied = false

  before(async function () {
    if (process.getuid?.() !== 0 || process.env.KVMCTL_SKIP_REAL_HOST === '1' || !existsSync(POOL)) return this.skip()
    lock = await takeLock()
    const tuned =
      (await read('/proc/mounts'))?.includes(' /dev/hugepages ') ||
      existsSync('/var/lib/kvmctl/tune-journal.json') ||
      existsSync('/etc/sysctl.d/40-hugepage.conf')
    if (tuned) return this.skip()
    poolBefore = await read(POOL)
    fstabBefore = await read('/etc/fstab')
    groupBefore = await read('/etc/group')
  })

  after(async () => {
    try {
      if (applied && existsSync('/var/lib/kvmctl/tune-journal.json')) await runCli(['tune', 'undo', '--force'], LIVE)
      // Last resort if undo itself failed: the pool is what other tools notice first.
      if (poolBefore !== undefined && (await read(POOL)) !== poolBefore) await writeFile(POOL, poolBefore)
    } finally {
      await lock?.release()
    }
  })

  it('reserves 550 pages (HugePages_Total 550), mounts /dev/hugepages, and undo restores the host', async () => {
    // The literal command from the guides; a host without a kvm group gets one (undo removes it).
    const r = await runCli(['tune', 'hugepages', '--vm-mem', '1024', '--json'], LIVE)
    applied = true
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0)
    const {plan, result} = JSON.parse(r.stdout)
    expect(result.status).to.equal('applied')
    expect((await read('/proc/meminfo'))!).to.match(/^HugePages_Total:\s+550$/m)
    const mount = (await read('/proc/mounts'))!.split('\n').find((l) => l.split(' ')[1] === '/dev/hugepages')
    expect(mount).to.match(new RegExp(`^hugetlbfs /dev/hugepages hugetlbfs .*gid=${plan.group.gid}.*mode=1770`))
    expect(await read('/etc/sysctl.d/40-hugepage.conf')).to.match(/\nvm\.nr_hugepages = 550\n$/)
    expect(await read('/etc/fstab')).to.equal(
      `${fstabBefore}${fstabBefore!.endsWith('\n') || fstabBefore === '' ? '' : '\n'}hugetlbfs /dev/hugepages hugetlbfs mode=01770,gid=${plan.group.gid},nofail 0 0\n`,
    )

    const undo = await runCli(['tune', 'undo', '--json'], LIVE)
    expect(undo.exitCode, undo.stderr).to.equal(0)
    expect(JSON.parse(undo.stdout).status).to.equal('restored')
    expect(await read(POOL)).to.equal(poolBefore)
    expect(await read('/proc/mounts')).not.to.contain(' /dev/hugepages ')
    expect(existsSync('/dev/hugepages')).to.equal(false)
    expect(await read('/etc/fstab')).to.equal(fstabBefore)
    expect(await read('/etc/group')).to.equal(groupBefore)
    expect(existsSync('/etc/sysctl.d/40-hugepage.conf')).to.equal(false)
  })

  it('--node 0: reserves 550 pages on node 0 through its own sysfs file, and undo restores the host', async function () {
    if (!existsSync(NODE0)) return this.skip()
    const nodeBefore = await read(NODE0)
    const r = await runCli(['tune', 'hugepages', '--node', '0', '--vm-mem', '1024', '--json'], LIVE)
    applied = true
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0)
    const {plan, result} = JSON.parse(r.stdout)
    expect(plan.split).to.deep.equal([{node: 0, vms: 1, pages: 550}])
    expect(result.status).to.equal('applied')
    expect(result.pools.map((p: {node: number; got: number}) => [p.node, p.got])).to.deep.equal([[0, 550]])
    expect(await read(NODE0)).to.equal('550\n')
    expect((await read('/proc/meminfo'))!).to.match(/^HugePages_Total:\s+550$/m)
    const undo = await runCli(['tune', 'undo', '--json'], LIVE)
    expect(undo.exitCode, undo.stderr).to.equal(0)
    expect(JSON.parse(undo.stdout).status).to.equal('restored')
    expect(await read(NODE0)).to.equal(nodeBefore)
    expect(await read(POOL)).to.equal(poolBefore)
    expect(await read('/etc/fstab')).to.equal(fstabBefore)
    expect(await read('/etc/group')).to.equal(groupBefore)
  })
})
