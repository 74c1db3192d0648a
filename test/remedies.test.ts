// One voice: a remedy kvmctl can apply names `sudo kvmctl tune ...` first, built from the same
// constants and arithmetic as tune, and applying it turns the check to pass. Per fixture, every
// tune remedy is applied to a copy with --root; a fixture without the facts the planner needs
// gets the one-line "not in this capture" refusal instead.
import {expect} from 'chai'
import {cp, rm} from 'node:fs/promises'
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {runChecks} from '../src/checks/index.js'
import type {CheckReport} from '../src/checks/report.js'
import type {HostFacts} from '../src/host/facts.js'
import {kvmctlCommand, remedyLines, shellQuote} from '../src/lib/remedy.js'
import {
  hugepagesRemedy,
  hugepagesRemedyFor,
  kernelChangeSteps,
  mountRemedy,
  mountSteps,
  nestedRemedy,
} from '../src/plan/remedies.js'
import {SYSCTL_FILE} from '../src/plan/targets.js'
import {planHugepages} from '../src/tune/hugepages.js'
import {fixture, repo, runCli} from './support/cli.js'
import {intelHost} from './support/facts.js'
import {makeHugepageRoot, TEST_BIN, testContext} from './support/tune-root.js'
import {tempDir} from './support/temp.js'

const unreserved = {hugepages: [{sizeKb: 2048, total: 0, free: 0, reserved: 0, surplus: 0}], mounts: []}

describe('remedies: one voice with tune', () => {
  it('renders the kvmctl command first, then the same change by hand', () => {
    expect(remedyLines({kvmctl: ['tune', 'hugepages', '--vm-mem', '1024'], steps: ['a', 'b']})).to.deep.equal([
      'sudo kvmctl tune hugepages --vm-mem 1024',
      'or by hand: a',
      'b',
    ])
    expect(remedyLines({steps: ['only by hand']})).to.deep.equal(['only by hand'])
    expect(remedyLines(undefined)).to.deep.equal([])
    expect(kvmctlCommand(['tune', 'hugepages', '--vm-mem', "1 G's"])).to.equal(
      `sudo kvmctl tune hugepages --vm-mem '1 G'\\''s'`,
    )
    expect(shellQuote('mode=01770,gid=994')).to.equal('mode=01770,gid=994')
  })

  it('plans the hugepage pool as tune does: 550 pages for 1024 MiB, in 40-hugepage.conf', async () => {
    const remedy = hugepagesRemedy(intelHost(unreserved))
    expect(remedy.kvmctl).to.deep.equal(['tune', 'hugepages', '--vm-mem', '1024'])
    const text = remedy.steps.join('\n')
    expect(text).to.contain('echo 550 | sudo tee /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages')
    expect(text).to.contain(`echo "vm.nr_hugepages = 550" | sudo tee ${SYSCTL_FILE}`)
    expect(text).not.to.match(/80-hugepages|\b512\b/)
    // The planner tune runs, on a host tree, agrees on the count, the file and the mount options.
    const root = await makeHugepageRoot({kvmGid: 994})
    try {
      const plan = await planHugepages(await testContext(root), {vmMem: remedy.kvmctl![3]})
      expect(plan.pages).to.equal(550)
      expect(plan.files.map((f) => f.path)).to.include(SYSCTL_FILE)
      const f = intelHost({
        ...unreserved,
        host: {devices: {'/dev/kvm': {mode: '0660', uid: 0, gid: 994, group: 'kvm'}}},
      })
      expect(hugepagesRemedy(f).steps.join('\n')).to.contain(
        `-o "${plan.mount.options.join(',')}" hugetlbfs /dev/hugepages`,
      )
      const fstab = plan.files
        .find((x) => x.path === '/etc/fstab')!
        .content!.toString()
        .trim()
        .split('\n')
        .at(-1)
      expect(hugepagesRemedy(f).steps.join('\n')).to.contain(`echo "${fstab}" | sudo tee -a /etc/fstab`)
    } finally {
      await rm(root, {recursive: true, force: true})
    }
  })

  it('mounts hugetlbfs with a numeric gid, and never with gid=kvm where the group is missing', () => {
    expect(mountSteps(intelHost())[0]).to.equal(
      'sudo mkdir -p /dev/hugepages && sudo mount -t hugetlbfs -o "mode=01770,gid=108" hugetlbfs /dev/hugepages',
    )
    // No kvm group on the host: mount(8) would exit 32 on gid=kvm; create the group first, as tune does.
    const noGroup = {...intelHost(), groups: [{name: 'root', gid: 0, members: []}]} as HostFacts
    const steps = mountSteps(noGroup)
    expect(steps[0]).to.equal('sudo groupadd --system kvm')
    expect(steps.join('\n')).not.to.match(/gid=kvm|mount -t/)
    expect(hugepagesRemedy({...noGroup, ...unreserved}).kvmctl).to.deep.equal(['tune', 'hugepages', '--vm-mem', '1024'])
    // Not known whether it exists: the shell looks it up, creating it if need be, into $gid; the
    // fstab line is still the formatter's (a blank in the lookup would have been written \040).
    const unknown = mountSteps(intelHost({host: {devices: {'/dev/kvm': {mode: '0660', uid: 0, gid: 994}}}}))
    const lookup = ['getent group kvm || sudo groupadd --system kvm', 'gid=$(getent group kvm | cut -d: -f3)']
    expect(unknown.slice(0, 2)).to.deep.equal(lookup)
    expect(unknown[2]).to.contain('-o "mode=01770,gid=$gid"')
    const fstab = 'hugetlbfs /dev/hugepages hugetlbfs mode=01770,gid=$gid,nofail 0 0'
    expect(unknown[3]).to.equal(`keep it across reboots: echo "${fstab}" | sudo tee -a /etc/fstab`)
    expect(unknown.join('\n')).not.to.match(/gid=kvm|\\040/)
    for (const steps of [mountSteps(intelHost()), unknown]) expect(steps.join('\n')).to.contain('mode=01770')
  })

  it("builds selftest's remedy from the same builder: the VM size as typed, tune's page count", () => {
    const remedy = hugepagesRemedyFor({pageBytes: 2 * 2 ** 20, gid: undefined}, '8M')
    expect(remedyLines(remedy)[0]).to.equal('sudo kvmctl tune hugepages --vm-mem 8M')
    expect(remedy.steps[0]).to.contain('echo 5 | sudo tee /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages')
    expect(hugepagesRemedyFor({pageBytes: 2 ** 30, gid: 994}, '2G').steps[0]).to.contain(
      'echo 2 | sudo tee /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages',
    )
  })

  it('mounts a reserved pool without resizing it: --headroom 0 and the pool as --vm-mem', async () => {
    const remedy = mountRemedy(intelHost(), {sizeKb: 2048, total: 550})
    expect(remedy.kvmctl).to.deep.equal(['tune', 'hugepages', '--vm-mem', '1100M', '--headroom', '0'])
    const root = await makeHugepageRoot({kvmGid: 994})
    try {
      const plan = await planHugepages(await testContext(root), {vmMem: '1100M', headroom: '0'})
      expect(plan.pages).to.equal(550)
    } finally {
      await rm(root, {recursive: true, force: true})
    }
    expect(mountRemedy(intelHost(), {sizeKb: 1048576, total: 2}).kvmctl).to.deep.equal([
      'tune',
      'hugepages',
      '--vm-mem',
      '2048M',
      '--headroom',
      '0',
      '--page-size',
      '1G',
    ])
  })

  it('turns nested on in /etc/modprobe.d/MODULE.conf, as tune nested writes it', () => {
    expect(nestedRemedy(intelHost(), 'kvm_intel')).to.deep.equal({
      kvmctl: ['tune', 'nested'],
      steps: [
        'echo "options kvm_intel nested=1" | sudo tee /etc/modprobe.d/kvm_intel.conf',
        'with every VM stopped: sudo modprobe -r kvm_intel && sudo modprobe kvm_intel',
      ],
    })
  })

  it('never offers a kernel that loses kvm_pvm', () => {
    const pvm = intelHost({
      sysModules: ['kvm', 'kvm_pvm'],
      loadedModules: null,
      builtinModules: null,
      kernelConfig: {source: '/proc/config.gz', options: {KVM: 'y', KVM_PVM: 'y'}},
    })
    expect(kernelChangeSteps(pvm, ['VHOST_NET'])[0]).to.match(
      /^rebuild this kernel with CONFIG_VHOST_NET=y \(it has no module support\), keeping CONFIG_KVM_PVM=y/,
    )
    expect(kernelChangeSteps(intelHost(), ['VHOST_NET'])[0]).to.match(
      /^use a kernel with CONFIG_VHOST_NET=y or =m: a distribution kernel has it/,
    )
  })

  it('checks and remedies agree on a host with nothing reserved: the info row carries the tune command', () => {
    const row = runChecks(intelHost(unreserved)).find((c) => c.id === 'hugepages.2048kB')!
    expect(row.status).to.equal('info')
    expect(row.remedy).to.deep.equal(hugepagesRemedy(intelHost(unreserved)))
  })
})

describe('remedies applied: every fixture, each tune remedy on a copy', function () {
  const fixtures = readdirSync(join(repo, 'fixtures')).filter((n) => statSync(join(repo, 'fixtures', n)).isDirectory())
  // The stand-in mount and modprobe edit the copy as the real tools edit a host; groupadd is the
  // real one, given --prefix by tune.
  const env = {
    KVMCTL_MOUNT: join(TEST_BIN, 'mount'),
    KVMCTL_UMOUNT: join(TEST_BIN, 'umount'),
    KVMCTL_MODPROBE: join(TEST_BIN, 'modprobe'),
  }
  const copies: string[] = []
  after(async () => {
    for (const dir of copies) await rm(dir, {recursive: true, force: true})
  })

  async function check(root: string): Promise<CheckReport> {
    const run = await runCli(['check', '--json', '--root', root])
    return JSON.parse(run.stdout) as CheckReport
  }

  /** Every tune planner and the check row it serves. */
  const planners = [
    {argv: ['tune', 'hugepages', '--vm-mem', '1024'], row: /^hugepages\.\d+kB$/},
    {argv: ['tune', 'nested'], row: /^nested\.param$/},
    {argv: ['tune', 'ksm', '--on'], row: /^hugepages\.ksm$/},
    {argv: ['tune', 'thp', '--mode', 'madvise'], row: /^hugepages\.thp$/},
    {argv: ['tune', 'access', '--user', 'alice'], row: /^dev-kvm\.open$/},
  ]

  for (const name of fixtures) {
    it(`${name}: each remedy's tune command turns its check to pass, or refuses in one line`, async function () {
      if (process.getuid?.() !== 0) this.skip() // applying needs root, even on a copy
      const before = await check(fixture(name))
      const offered = before.checks.filter((c) => c.remedy?.kvmctl).map((c) => ({id: c.id, argv: c.remedy!.kvmctl!}))
      // The planners no check offers meet the fixture too: they change nothing or say why.
      const others = planners.filter((p) => !offered.some((o) => o.argv[1] === p.argv[1]))
      for (const {id, argv} of [...offered, ...others.map((p) => ({id: undefined, argv: p.argv, row: p.row}))]) {
        const copy = await tempDir(`kvmctl-remedy-${name}-`)
        copies.push(copy)
        await cp(fixture(name), copy, {recursive: true})
        const run = await runCli([...argv, '--root', copy], {env})
        const what = `${argv.join(' ')} on ${name}: ${run.stdout}${run.stderr}`
        expect(run.stdout + run.stderr, what).not.to.match(/TypeError|undefined|NaN|\n\s+at /)
        const row = planners.find((p) => p.argv[1] === argv[1])!.row
        const rows = (await check(copy)).checks.filter((c) => (id ? c.id === id : row.test(c.id)))
        if (run.exitCode === 0) {
          // Applied (a remedy) or nothing to change (no check asked): the check passes either way.
          expect(rows, what).not.to.have.length(0)
          for (const after of rows) {
            expect(after.status, `${after.id} after ${argv.join(' ')}: ${after.detail}`).to.equal('pass')
          }
        } else if (run.exitCode === 1) {
          // Not possible on this host (no KVM to nest, PVM): check offers no tune command either.
          expect(id, what).to.equal(undefined)
          expect(run.stdout, what).to.match(/\bnot-possible$/m)
          for (const after of rows) expect(after.remedy?.kvmctl, what).to.equal(undefined)
        } else {
          // The planner lacks facts: one line, naming what the capture did not hold.
          expect(run.exitCode, what).to.equal(2)
          expect(run.stderr.trim().split('\n'), what).to.have.length(1)
          expect(run.stderr, what).to.match(/^kvmctl: (not in|unreadable in) this capture: \//)
        }
      }
    })
  }
})

// Every fixture stays on the right side of the statuses: the healthy ones show no warning.
describe('fixtures: healthy hosts are quiet', () => {
  for (const name of ['intel-vtx', 'amd-svm']) {
    it(`${name}: counts.warn == 0 and counts.fail == 0; --quiet prints only the verdict`, async () => {
      const run = await runCli(['check', '--json', '--root', fixture(name)])
      const report = JSON.parse(run.stdout) as CheckReport
      expect(report.counts).to.include({warn: 0, fail: 0})
      const quiet = await runCli(['check', '--quiet', '--root', fixture(name)])
      expect(quiet.exitCode).to.equal(0)
      expect(quiet.stdout.trim().split('\n')).to.have.length(1)
      expect(quiet.stdout).to.match(/^Verdict: OK KVM is usable through kvm_(intel|amd)/)
    })
  }
})
