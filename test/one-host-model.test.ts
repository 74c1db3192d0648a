// One host model: tune and selftest plan from the same facts check reads, a capture holds what the
// planners read (the same plan live and replayed), a fact a capture did not hold is unknown, and
// the bugs of issue 10 in this area stay fixed.
import {expect} from 'chai'
import {cp, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {captureHost} from '../src/host/capture.js'
import {gatherFacts} from '../src/host/facts.js'
import {Host} from '../src/host/host.js'
import {planHugepagesIntent} from '../src/plan/hugepages.js'
import {planNestedIntent} from '../src/plan/nested.js'
import {hugepagesRemedyFor} from '../src/plan/remedies.js'
import {isPoolProblem, planSelftestPool} from '../src/plan/selftest-hugepages.js'
import {applyHugepages, planHugepages, type HugepagesRequest} from '../src/tune/hugepages.js'
import {fixture, runCli} from './support/cli.js'
import {intelHost} from './support/facts.js'
import {takeMachineLock} from './support/machine-lock.js'
import {FakeKernelPool, makeHugepageRoot, restoreTools, testContext, useStandInTools} from './support/tune-root.js'
import {tempDir} from './support/temp.js'

const dirs: string[] = []
async function scratch(prefix: string): Promise<string> {
  const dir = await tempDir(prefix)
  dirs.push(dir)
  return dir
}

/** A copy of a fixture to change. */
async function copyOf(name: string): Promise<string> {
  const dir = join(await scratch('kvmctl-copy-'), name)
  await cp(fixture(name), dir, {recursive: true})
  return dir
}

/** A tune --json plan without what names its source, each diff cut to its added and removed lines. */
function comparable(stdout: string): unknown {
  const {plan} = JSON.parse(stdout) as {plan: {files: Array<{path: string; action: string; diff: string}>}}
  const changed = (diff: string) => diff.split('\n').filter((l) => /^[+-](?![+-]{2} )/.test(l))
  return {...plan, files: plan.files.map((f) => ({path: f.path, action: f.action, lines: changed(f.diff)}))}
}

describe('one host model', () => {
  after(async () => {
    for (const d of dirs) await rm(d, {recursive: true, force: true})
  })

  describe('capture parity', () => {
    it('gives the same tune plans live and on a fresh capture of this machine', async function () {
      this.timeout(600_000) // waits for tests that change the machine to put it back
      const dir = join(await scratch('kvmctl-parity-'), 'host')
      // Shared: nothing may change the host between the capture and the live plans.
      const lock = await takeMachineLock({shared: true})
      try {
        await captureHost(await Host.open(), dir, {source: 'test'})
        for (const args of [
          ['tune', 'hugepages', '--vm-mem', '1024', '--dry-run', '--json'],
          ['tune', 'nested', '--dry-run', '--json'],
        ]) {
          const live = await runCli(args, {fromSrc: true})
          const replay = await runCli([...args, '--root', dir], {fromSrc: true})
          expect(replay.exitCode, replay.stderr).to.equal(live.exitCode)
          expect(live.stdout, live.stderr).to.not.equal('')
          expect(comparable(replay.stdout)).to.deep.equal(comparable(live.stdout))
        }
      } finally {
        await lock.release()
      }
    })

    it("keeps the planners' facts, cut to what kvmctl reads", async function () {
      this.timeout(600_000)
      const dir = join(await scratch('kvmctl-parity-'), 'host')
      const lock = await takeMachineLock({shared: true})
      let live, replay
      try {
        await captureHost(await Host.open(), dir, {source: 'test'})
        live = await gatherFacts(await Host.open())
        replay = await gatherFacts(await Host.open(dir))
      } finally {
        await lock.release()
      }
      const json = JSON.parse(await readFile(join(dir, 'host.json'), 'utf8'))
      expect(json.captured).to.deep.equal(['/'])
      expect(json.paths).to.have.property('/dev/hugepages')
      expect(replay.unknown).to.deep.equal([])
      expect(replay.numaNodes).to.deep.equal(live.numaNodes)
      expect(replay.nodePools).to.deep.equal(live.nodePools)
      // tune ksm's facts: ksmtuned, ksm.service and PID 1's name.
      expect(replay.services).to.deep.equal(live.services)
      // Only the groups kvmctl names, without their members.
      for (const g of replay.groups ?? []) expect(g.members).to.deep.equal([])
      expect(
        (replay.fstab ?? '').split('\n').filter((l) => l && !l.startsWith('#') && !/\shugetlbfs\s/.test(l)),
      ).to.deep.equal([])
    })

    it('capture --root of a partial capture keeps its captured list', async () => {
      const dir = join(await scratch('kvmctl-recapture-'), 'again')
      await captureHost(await Host.open(fixture('intel-vtx')), dir, {source: 'test'})
      const source = JSON.parse(await readFile(join(fixture('intel-vtx'), 'host.json'), 'utf8'))
      const again = JSON.parse(await readFile(join(dir, 'host.json'), 'utf8'))
      expect(again.captured).to.deep.equal(source.captured)
    })
  })

  describe('unknown is not missing', () => {
    it("a capture written before the planners' facts were kept: tune hugepages says what is not in it, plans nothing", async () => {
      const copy = await copyOf('pvm-guest')
      const {captured: _c, paths: _p, ...old} = JSON.parse(await readFile(join(copy, 'host.json'), 'utf8'))
      await writeFile(join(copy, 'host.json'), JSON.stringify(old))
      for (const p of ['etc/group', 'etc/fstab', 'etc/sysctl.d', 'sys/devices'])
        await rm(join(copy, p), {recursive: true})
      const r = await runCli(['tune', 'hugepages', '--vm-mem', '1024', '--dry-run', '--root', copy], {fromSrc: true})
      expect(r.exitCode).to.equal(2)
      expect(r.stdout).to.equal('')
      expect(r.stderr.trim().split('\n')).to.have.length(1)
      expect(r.stderr).to.match(/^kvmctl: not in this capture: .*\/etc\/group.*\/dev\/hugepages.*\/etc\/fstab/)
    })

    it('pvm-guest: tune hugepages plans only changes to what the capture held', async () => {
      const copy = await copyOf('pvm-guest')
      const r = await runCli(['tune', 'hugepages', '--vm-mem', '1024', '--dry-run', '--json', '--root', copy], {
        fromSrc: true,
      })
      expect(r.exitCode, r.stderr).to.equal(0)
      const {plan} = JSON.parse(r.stdout)
      // /etc/fstab was held (cut to its hugetlbfs lines): modified, never created.
      expect(plan.files.map((f: {path: string; action: string}) => [f.path, f.action])).to.deep.equal([
        ['/etc/fstab', 'modify'],
        ['/etc/sysctl.d/40-hugepage.conf', 'create'],
      ])
      // The capture says /dev/hugepages and the kvm group were absent on that host.
      expect(plan.mount).to.include({action: 'mount', createDir: true})
      expect(plan.group).to.deep.equal({name: 'kvm', gid: null, create: true})
    })

    it('a capture with a hugetlbfs mount plans without a JS error, or names the unknown mount point', async () => {
      const dir = join(await scratch('kvmctl-mounted-'), 'host')
      await captureHost(await Host.open(), dir, {source: 'test'})
      await writeFile(
        join(dir, 'proc/mounts'),
        'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,gid=0,mode=1770,pagesize=2M 0 0\n',
      )
      const json = JSON.parse(await readFile(join(dir, 'host.json'), 'utf8'))
      await writeFile(
        join(dir, 'host.json'),
        JSON.stringify({...json, paths: {'/dev/hugepages': {mode: '0755', uid: 0, gid: 0}}}),
      )
      const r = await runCli(['tune', 'hugepages', '--vm-mem', '1024', '--dry-run', '--json', '--root', dir], {
        fromSrc: true,
      })
      expect(r.exitCode, r.stderr).to.equal(0)
      expect(JSON.parse(r.stdout).plan.mount).to.include({action: 'set-attrs', createDir: false})
      delete json.paths
      await writeFile(
        join(dir, 'host.json'),
        JSON.stringify({...json, captured: ['/proc/', '/sys/', '/etc/', '/run/', '/usr/', '/lib/']}),
      )
      const unknown = await runCli(['tune', 'hugepages', '--vm-mem', '1024', '--dry-run', '--root', dir], {
        fromSrc: true,
      })
      expect(unknown.exitCode).to.equal(2)
      expect(unknown.stderr).to.equal(
        'kvmctl: not in this capture: /dev/hugepages; a plan needs them (capture the host again with `kvmctl capture DIR`)\n',
      )
      for (const out of [r, unknown])
        expect(out.stdout + out.stderr).to.not.match(/TypeError|Cannot read properties|undefined|NaN/)
    })
  })

  describe('tune nested reads the module state check reads', () => {
    it('intel-vtx with nested=N: kvm_intel is loaded, plan options kvm_intel nested=1 in /etc/modprobe.d/kvm_intel.conf', async () => {
      const copy = await copyOf('intel-vtx')
      await writeFile(join(copy, 'sys/module/kvm_intel/parameters/nested'), 'N\n')
      const text = await runCli(['tune', 'nested', '--dry-run', '--root', copy], {fromSrc: true})
      expect(text.stdout).to.contain('module: kvm_intel (loaded); nested now: N')
      expect(text.stdout).to.not.contain('built into the kernel')
      const r = await runCli(['tune', 'nested', '--dry-run', '--json', '--root', copy], {fromSrc: true})
      expect(r.exitCode, r.stderr).to.equal(0)
      const {plan} = JSON.parse(r.stdout)
      expect(plan).to.include({module: 'kvm_intel', loaded: true, builtin: false, outcome: 'reload'})
      expect(plan.files).to.have.length(1)
      expect(plan.files[0].path).to.equal('/etc/modprobe.d/kvm_intel.conf')
      expect(plan.files[0].diff).to.contain('+options kvm_intel nested=1')
    })

    it('PVM: exits 1 (not possible, nothing changed) with and without --dry-run', async () => {
      const root = await makeHugepageRoot()
      dirs.push(root)
      const {mkdir} = await import('node:fs/promises')
      await mkdir(join(root, 'sys/module/kvm_pvm/parameters'), {recursive: true})
      const dry = await runCli(['tune', 'nested', '--dry-run', '--root', root], {fromSrc: true})
      const real = await runCli(['tune', 'nested', '--root', root], {fromSrc: true})
      expect([dry.exitCode, real.exitCode]).to.deep.equal([1, 1])
    })
  })

  describe('tune nested says what check says where no backend serves /dev/kvm', () => {
    /** check's row detail without the pointer to a remedy shown on another row. */
    const own = (detail: string) => detail.replace(/ \(remedy under "[^"]+"\)$/, '')

    it('a capture without the KVM modules: one line naming them (not "no KVM vendor module"), like check', async () => {
      for (const name of ['sev-snp', 'tdx-host', 'vfio-ready']) {
        const r = await runCli(['tune', 'nested', '--dry-run', '--root', fixture(name)], {fromSrc: true})
        expect(r.exitCode, name + r.stdout).to.equal(2)
        const modules = '/sys/module/kvm_intel/, /sys/module/kvm_amd/, /sys/module/kvm_pvm/'
        const again = 'a plan needs them (capture the host again with `kvmctl capture DIR`)'
        expect(r.stderr.trim(), name).to.equal(`kvmctl: not in this capture: ${modules}; ${again}`)
        const check = JSON.parse((await runCli(['check', '--json', '--root', fixture(name)])).stdout)
        const row = check.checks.find((c: {id: string}) => c.id === 'nested.param')
        expect(row, name).to.include({status: 'skip', detail: `not in this capture: ${modules}`})
      }
    })

    it("a PVM guest whose kvm_pvm does not bind (this machine): the explanation is check's backend row", async () => {
      const check = JSON.parse((await runCli(['check', '--json', '--root', fixture('pvm-nested-guest')])).stdout)
      const backend = check.checks.find((c: {id: string}) => c.id === 'backend.kvm')
      expect(backend.detail).to.contain('kvm_pvm is built in but serves no /dev/kvm')
      const args = ['tune', 'nested', '--dry-run', '--root', fixture('pvm-nested-guest')]
      const r = await runCli([...args, '--json'], {fromSrc: true})
      expect(r.exitCode).to.equal(1)
      const {plan} = JSON.parse(r.stdout)
      expect(plan).to.include({module: null, outcome: 'no-kvm'})
      expect(plan.explanation).to.contain(`there is no KVM to nest: ${own(backend.detail)}.`)
      const cpuRow = check.checks.find((c: {id: string}) => c.id === 'cpu.flag')
      expect(plan.explanation).to.contain(cpuRow.remedy.steps[0].replace(/^./, (x: string) => x.toUpperCase()))
      expect(plan.explanation).not.to.match(/firmware/)
      const text = await runCli(args, {fromSrc: true})
      expect(text.stdout).to.contain('module: none serves /dev/kvm')
    })

    it("firmware off: check's reason, and the firmware switch for this architecture", async () => {
      for (const [name, setting] of [
        ['intel-vtx-disabled', 'VT-x/AMD-V'],
        ['arm64', 'virtualization (EL2)'],
      ]) {
        const check = JSON.parse((await runCli(['check', '--json', '--root', fixture(name)])).stdout)
        const backend = check.checks.find((c: {id: string}) => c.id === 'backend.kvm')
        const tune = await runCli(['tune', 'nested', '--dry-run', '--json', '--root', fixture(name)], {fromSrc: true})
        const {plan} = JSON.parse(tune.stdout)
        const fix = `Nothing was changed; enable ${setting} in the firmware first.`
        expect(plan.explanation, name).to.equal(`there is no KVM to nest: ${own(backend.detail)}. ${fix}`)
      }
    })

    it('arm64 KVM: nested is the kernel command line kvm-arm.mode=nested, as check says', () => {
      const arm = {
        arch: 'arm64' as const,
        cpu: null,
        loadedModules: null,
        builtinModules: null,
        sysModules: ['kvm'],
        kernelConfig: {source: '/proc/config.gz', options: {KVM: 'y'}},
      }
      const f = intelHost({...arm, host: {uname: {release: '6.1.0', machine: 'aarch64'}, cpuid: null}, cmdline: 'ro'})
      const plan = planNestedIntent(f, {})
      expect(plan).to.include({module: 'arm64', outcome: 'builtin', kernelCmdline: 'kvm-arm.mode=nested'})
      const on = planNestedIntent({...f, cmdline: 'ro kvm-arm.mode=nested'}, {})
      expect(on).to.include({outcome: 'unchanged', currentEnabled: true, kernelCmdline: null})
    })
  })

  describe('tune hugepages bugs', () => {
    before(useStandInTools)
    after(restoreTools)

    it('journals the full request, so undo names the real command', async () => {
      const root = await makeHugepageRoot({memTotalMiB: 16384})
      dirs.push(root)
      const ctx = await testContext(root)
      const req: HugepagesRequest = {vmMem: '512M', vms: '2', pageSize: '2M', headroom: '0'}
      const {result} = await applyHugepages(ctx, req, await planHugepages(ctx, req))
      expect(result.status, result.messages.join('\n')).to.equal('applied')
      const journal = JSON.parse(await readFile(join(root, 'var/lib/kvmctl/tune-journal.json'), 'utf8'))
      expect(journal.runs.at(-1).command).to.equal('tune hugepages --vm-mem 512M --vms 2 --page-size 2M --headroom 0')
    })

    it('--page-size 1G --runtime reports the 1G pool and, with no boot loader, says it is not persisted', async () => {
      const root = await makeHugepageRoot({memTotalMiB: 16384})
      dirs.push(root)
      const ctx = await testContext(root, (host) => new FakeKernelPool(root, host))
      const req: HugepagesRequest = {vmMem: '2G', pageSize: '1G', runtime: true}
      const plan = await planHugepages(ctx, req)
      expect(plan.files.map((f) => f.path)).to.deep.equal(['/etc/fstab'])
      const {result} = await applyHugepages(ctx, req, plan)
      expect(result.status, result.messages.join('\n')).to.equal('applied')
      expect(result.hugePagesTotal).to.equal(2)
      const text = result.messages.join('\n')
      expect(text).to.contain('1G pool total 2')
      expect(text).to.contain('1G pages are not persisted: vm.nr_hugepages sets only the default size (2M)')
      expect(text).to.contain('add `hugepagesz=1G hugepages=2` to the kernel command line')
    })
  })

  describe('selftest --hugepages plans from the facts', () => {
    const pools = (p2m: [number, number], p1g: [number, number]) => [
      {sizeKb: 2048, total: p2m[0], free: p2m[1], reserved: 0, surplus: 0},
      {sizeKb: 1048576, total: p1g[0], free: p1g[1], reserved: 0, surplus: 0},
    ]
    const g1Mount = {
      source: 'hugetlbfs',
      target: '/mnt/huge1g',
      fstype: 'hugetlbfs',
      options: 'rw,relatime,pagesize=1G',
    }

    it('uses a 1 GiB pool through its hugetlbfs mount when the default pool is empty', () => {
      const f = intelHost({hugepages: pools([0, 0], [2, 2]), mounts: [g1Mount]})
      expect(planSelftestPool(f, 2 ** 30)).to.deep.include({
        sizeKb: 1048576,
        need: 1,
        backing: 'hugetlbfs',
        dir: '/mnt/huge1g',
      })
    })

    it('uses the default pool through MAP_HUGETLB when it has the pages', () => {
      const f = intelHost({hugepages: pools([8, 8], [0, 0])})
      expect(planSelftestPool(f, 8 * 2 ** 20)).to.deep.include({sizeKb: 2048, need: 4, backing: 'hugetlb'})
    })

    it('never advises a tune command that would change nothing (pages reserved but in use)', () => {
      // The host was tuned for 8M (550 pages asked as 4 + headroom would be 5): all 5 are taken.
      const f = intelHost({hugepages: pools([5, 0], [0, 0]), groups: [{name: 'kvm', gid: 108, members: []}]})
      const plan = planSelftestPool(f, 8 * 2 ** 20)
      expect(isPoolProblem(plan)).to.equal(true)
      if (!isPoolProblem(plan)) return
      expect(plan.detail).to.contain('4 hugepages of 2 MiB needed, 0 free of 5 reserved')
      // check's remedy builder on that request: the command, then tune's page count by hand.
      expect(plan.remedy).to.deep.equal(hugepagesRemedyFor({pageBytes: 2 * 2 ** 20, gid: 108}, '18M'))
      expect(plan.remedy!.kvmctl).to.deep.equal(['tune', 'hugepages', '--vm-mem', '18M'])
      // The advised command would change the pool.
      expect(planHugepagesIntent(f, {vmMem: '18M'}).runtimeChanges).to.be.greaterThan(0)
      expect(
        planHugepagesIntent(f, {vmMem: '8M'}).runtimeChanges,
        'the 8M command changes nothing: never advised',
      ).to.equal(0)
    })

    it('a pool of another size: its own --page-size, persisted on the kernel command line, mounted', () => {
      // 1 GiB is the default size here, so 8 MiB of guest RAM can only come from the 2 MiB pool.
      const groups = [{name: 'kvm', gid: 108, members: []}]
      const meminfo = {MemTotal: 16 * 2 ** 20, Hugepagesize: 1048576}
      const f = intelHost({meminfo, hugepages: pools([0, 0], [0, 0]), groups})
      const plan = planSelftestPool(f, 8 * 2 ** 20)
      if (!isPoolProblem(plan)) throw new Error('expected a pool problem')
      expect(plan.remedy!.kvmctl).to.deep.equal(['tune', 'hugepages', '--vm-mem', '8M', '--page-size', '2M'])
      const steps = plan.remedy!.steps.join('\n')
      expect(steps).to.contain('echo 5 | sudo tee /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages')
      expect(steps).to.contain('add `hugepagesz=2M hugepages=5` to the kernel command line')
      expect(steps).to.contain('-o "mode=01770,gid=108,pagesize=2M"')
      expect(steps).not.to.contain('vm.nr_hugepages')
    })

    it('ignores KVMCTL_ROOT and says so: it acts on this machine', async () => {
      const r = await runCli(['selftest', '--hugepages', '--json'], {env: {KVMCTL_ROOT: fixture('intel-vtx')}})
      expect(r.stderr).to.contain(
        `KVMCTL_ROOT=${fixture('intel-vtx')} is ignored: selftest runs on this machine's /dev/kvm and hugepage pool`,
      )
    })
  })
})
