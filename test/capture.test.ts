import {expect} from 'chai'
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCheck} from '../src/checks/run.js'
import {captureHost, sanitise} from '../src/host/capture.js'
import {Host} from '../src/host/host.js'
import {UsageError} from '../src/lib/errors.js'
import {runCli} from './support/cli.js'
import {takeMachineLock} from './support/machine-lock.js'
import {tempDir} from './support/temp.js'

const verdicts = (r: Awaited<ReturnType<typeof runCheck>>) => r.checks.map((c) => `${c.id} ${c.status} ${c.detail}`)

describe('kvmctl capture', () => {
  let parent: string
  beforeEach(async () => {
    parent = await tempDir('kvmctl-capture-')
  })

  it('round trip: a capture of this machine replays to the same checks and verdict as live', async () => {
    const dir = join(parent, 'host')
    const result = await captureHost(await Host.open(), dir, {source: 'test'})
    expect(result.files).to.include.members(['host.json', 'proc/cpuinfo', 'proc/cmdline'])
    const [live, replay] = await Promise.all([runCheck(), runCheck(dir)])
    expect(verdicts(replay)).to.deep.equal(verdicts(live))
    expect(replay.verdict).to.deep.equal(live.verdict)
    expect(replay.host.source).to.equal(dir)
    expect(await readdir(parent)).to.deep.equal(['host']) // no staging folder left behind
  })

  it('keeps no user name, and only the kernel-log lines the checks match', async () => {
    const dir = join(parent, 'host')
    await captureHost(await Host.open(), dir, {source: 'test'})
    const json = JSON.parse(await readFile(join(dir, 'host.json'), 'utf8'))
    expect(json.user).not.to.have.property('name')
    expect(json.dmesg ?? '').not.to.match(/Command line:|Linux version/)
    const cmdline = await readFile(join(dir, 'proc/cmdline'), 'utf8')
    expect(cmdline).not.to.contain(' -- ')
  })

  it('sanitises the files it copies', () => {
    expect(
      sanitise.cmdline('root=UUID=0b6f3a2c-1d2e-4f5a-8b9c-0d1e2f3a4b5c ro quiet -- --addr 0.0.0.0:2024\n'),
    ).to.equal('root=UUID=00000000-0000-0000-0000-000000000000 ro quiet\n')
    expect(
      sanitise.mounts(
        '/dev/sda1 / ext4 rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,mode=1770 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n/dev/sdb1 /home/alice ext4 rw 0 0\n',
      ),
    ).to.equal('hugetlbfs /dev/hugepages hugetlbfs rw,mode=1770 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n')
    expect(sanitise.procModules('kvm_intel 380928 0 - Live 0xffffffffc0b2a000\n')).to.equal(
      'kvm_intel 380928 0 - Live 0x0000000000000000\n',
    )
    expect(sanitise.meminfo('MemTotal:       16 kB\nSwapCached:     0 kB\nHugePages_Total:       4\n')).to.equal(
      'MemTotal:       16 kB\nHugePages_Total:       4\n',
    )
    expect(sanitise.cpuinfo('Hardware\t: BCM2835\nSerial\t\t: 10000000abcdef01\n')).to.equal('Hardware\t: BCM2835\n')
  })

  it('refuses a non-empty folder (exit 2) unless --force, and leaves it untouched', async () => {
    const dir = join(parent, 'busy')
    await mkdir(dir)
    await writeFile(join(dir, 'notes.txt'), 'mine')
    const error = await captureHost(await Host.open(), dir, {source: 'test'}).catch((e) => e)
    expect(error).to.be.instanceOf(UsageError)
    expect(await readdir(dir)).to.deep.equal(['notes.txt'])
    const cli = await runCli(['capture', dir])
    expect(cli.exitCode).to.equal(2)
    expect(cli.stderr.trim()).to.match(/not empty; .*--force/)
    // Tests that change the machine (hugepage pools, mounts) wait until the capture and the live check are done.
    const lock = await takeMachineLock({shared: true})
    const [forced, live] = await Promise.all([
      runCli(['capture', dir, '--force', '--json']),
      runCli(['check', '--json']),
    ]).finally(lock.release)
    expect(forced.exitCode).to.equal(0)
    expect(await readdir(dir)).not.to.include('notes.txt')
    expect(JSON.parse(forced.stdout).files).to.include('host.json')
    // The replay judges the host as the live check does (KVM usable or not, whatever this machine has).
    const replay = await runCli(['check', '--root', dir, '--json'])
    expect(JSON.parse(replay.stdout).verdict).to.deep.equal(JSON.parse(live.stdout).verdict)
  })
})
