// Bad captures, one class of defect per test (each failed before the fix): values are validated
// where they enter the host layer, a replay never leaves its root, and bad host.json gets one
// printable line naming the field.
import {expect} from 'chai'
import {cp, mkdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {Chalk} from 'chalk'

import {renderReport} from '../src/checks/render.js'
import {runCheck} from '../src/checks/run.js'
import {gatherFacts} from '../src/host/facts.js'
import {Host, HostRootError, READ_CAPS, RootEscapeError} from '../src/host/host.js'
import {parseCounter, parseInteger, parseKb} from '../src/lib/parse.js'
import {printable} from '../src/lib/printable.js'
import {liveContext} from '../src/tune/context.js'
import {planHugepages} from '../src/tune/hugepages.js'
import {fixture} from './support/cli.js'
import {makeHugepageRoot} from './support/tune-root.js'
import {tempDir} from './support/temp.js'

async function copyOf(name: string): Promise<string> {
  const dir = await tempDir('kvmctl-robust-')
  await cp(fixture(name), join(dir, 'root'), {recursive: true})
  return join(dir, 'root')
}

async function editHostJson(root: string, edit: (j: any) => void): Promise<void> {
  const j = JSON.parse(await readFile(join(root, 'host.json'), 'utf8'))
  edit(j)
  await writeFile(join(root, 'host.json'), JSON.stringify(j))
}

const openError = (root: string) =>
  Host.open(root).then(
    () => undefined,
    (e: Error) => e,
  )

describe('bad captures', () => {
  describe('parse helpers', () => {
    it('take only clean whole numbers: never NaN, Infinity or a prefix', () => {
      expect(parseInteger(' 550\n')).to.equal(550)
      expect(parseInteger('-1')).to.equal(-1)
      for (const bad of [
        '',
        'abc',
        '12abc',
        '1.5',
        '1e3',
        '0x10',
        '+3',
        '٣',
        '99999999999999999999',
        'NaN',
        'Infinity',
      ]) {
        expect(parseInteger(bad), bad).to.equal(undefined)
      }
      expect(parseCounter('-1')).to.equal(undefined)
      expect(parseCounter('0')).to.equal(0)
      expect(parseKb('16384 kB')).to.equal(16384)
      expect(parseKb('16384 MB')).to.equal(undefined)
    })

    it('printable() escapes NULs, control characters and invalid UTF-8 and keeps one line', () => {
      expect(printable('a\u0000b\nc\ufffd')).to.equal('a\\x00b\\nc\\ufffd')
      expect(printable('x'.repeat(100), 10)).to.equal(`${'x'.repeat(10)}…`)
    })
  })

  describe('read caps', () => {
    it('a 4 MB /sys/kernel/mm/ksm/run is unreadable (not a 4 MB value), and check stays quick', async () => {
      const root = await copyOf('pvm-guest')
      await writeFile(join(root, 'sys/kernel/mm/ksm/run'), '1'.repeat(4 * 2 ** 20))
      const host = await Host.open(root)
      expect(await host.readValue('/sys/kernel/mm/ksm/run')).to.equal(undefined)
      expect(host.unreadable.get('/sys/kernel/mm/ksm/run')).to.match(/larger than 65536 bytes/)
      const report = await runCheck(root)
      const ksm = report.checks.find((c) => c.id.startsWith('hugepages.ksm'))!
      expect(ksm.detail.length).to.be.below(200)
      expect(JSON.stringify(report)).not.to.contain('1111111111')
      // The report says which file it could not use, so "unknown" is explained.
      expect(report.host.unreadable).to.deep.equal({'/sys/kernel/mm/ksm/run': 'larger than 65536 bytes'})
      expect(ksm.status).to.equal('skip')
      const text = renderReport(report, new Chalk({level: 0})).join('\n')
      expect(text).to.contain('Unreadable, so unknown: /sys/kernel/mm/ksm/run (larger than 65536 bytes)')
    })

    it('caps per kind: a value at 64 KiB, cpuinfo and mounts larger, other text files at 1 MiB, and lines too', async () => {
      expect(READ_CAPS.value.bytes).to.equal(64 * 1024)
      const root = await copyOf('pvm-guest')
      await writeFile(join(root, 'proc/meminfo'), 'MemTotal: 1 kB\n'.repeat(70_000))
      await writeFile(join(root, 'proc/cmdline'), '\n'.repeat(100))
      const host = await Host.open(root)
      expect(await host.read('/proc/meminfo')).to.equal(undefined)
      expect(host.unreadable.get('/proc/meminfo')).to.match(/larger than|more than/)
      expect(await host.readValue('/proc/cmdline')).to.equal(undefined)
      expect(host.unreadable.get('/proc/cmdline')).to.match(/more than 64 lines/)
    })

    it('a live procfs file over 4 KiB is read whole (procfs says size 0; it was cut at 4097 bytes)', async () => {
      // /proc/cpuinfo is about 1.2 KiB per CPU: a host with 4 CPUs or more lost CPUs and flags.
      const host = await Host.open()
      const maps = (await host.read('/proc/self/maps'))!
      expect(maps.length).to.be.above(4097)
      expect(maps.endsWith('\n')).to.equal(true)
      const lines = maps.split('\n').length
      expect(Math.abs(lines - readFileSync('/proc/self/maps', 'utf8').split('\n').length)).to.be.below(10)
    })

    it('a gzip bomb in proc/config.gz is unreadable, not 20 MB of memory', async () => {
      const root = await copyOf('pvm-guest')
      await writeFile(join(root, 'proc/config.gz'), gzipSync(Buffer.alloc(20 * 2 ** 20, 0x41)))
      const host = await Host.open(root)
      expect(await host.read('/proc/config.gz')).to.equal(undefined)
      expect(host.unreadable.get('/proc/config.gz')).to.match(/decompressed/)
    })

    it('a folder, a FIFO, NUL bytes or invalid UTF-8 where a file is expected never crash a parser', async () => {
      const root = await copyOf('pvm-guest')
      await rm(join(root, 'proc/cpuinfo'))
      await mkdir(join(root, 'proc/cpuinfo'))
      await rm(join(root, 'proc/meminfo'))
      execFileSync('mkfifo', [join(root, 'proc/meminfo')], {stdio: 'ignore'})
      await writeFile(join(root, 'proc/mounts'), Buffer.from([0x68, 0, 0x69]))
      await writeFile(join(root, 'etc/os-release'), Buffer.from('PRETTY_NAME="\xff\xfe"\n', 'latin1'))
      const host = await Host.open(root)
      expect(await host.read('/proc/cpuinfo')).to.equal(undefined)
      expect(host.unreadable.get('/proc/cpuinfo')).to.equal('a folder, not a file')
      expect(await host.read('/proc/meminfo')).to.equal(undefined)
      expect(host.unreadable.get('/proc/meminfo')).to.equal('not a regular file')
      expect(await host.read('/proc/mounts')).to.equal(undefined)
      expect(host.unreadable.get('/proc/mounts')).to.match(/binary/)
      const report = await runCheck(root)
      expect(report.counts).to.have.property('pass')
    })
  })

  describe('numbers from a capture', () => {
    it('a hugepage counter that is not a number is unreadable, never NaN in the report', async () => {
      const root = await copyOf('pvm-guest')
      await writeFile(join(root, 'sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages'), 's')
      await writeFile(join(root, 'proc/meminfo'), `MemTotal: ${'9'.repeat(400)} kB\nHugepagesize: 2048 kB\n`)
      const host = await Host.open(root)
      const facts = await gatherFacts(host)
      expect(host.unreadable.has('/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages')).to.equal(true)
      expect(facts.unknown).to.include('hugepages')
      expect(facts.meminfo.MemTotal).to.equal(undefined)
      const report = await runCheck(root)
      const text = JSON.stringify(report)
      expect(text).not.to.match(/NaN|Infinity|null,"free"/)
    })

    it('tune reads pool counts strictly: "12abc" is not 12', async () => {
      const root = await makeHugepageRoot()
      await writeFile(join(root, 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'), '12abc\n')
      const host = await Host.open(root)
      // The pool size is unknown then: the plan names the file and stops (exit 2), never plans from 0.
      const error = await planHugepages(liveContext(host), {vmMem: '1024'}).catch((e: Error) => e)
      expect(host.unreadable.has('/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages')).to.equal(true)
      expect((error as Error).message).to.match(
        /^unreadable in this capture: \/sys\/kernel\/mm\/hugepages\/hugepages-2048kB\/nr_hugepages \(not a number: "12abc"\)/,
      )
    })
  })

  describe('replay confinement', () => {
    it('uname.release "../.." is refused in one line naming the field (it built paths outside --root)', async () => {
      const root = await copyOf('intel-vtx')
      await editHostJson(root, (j) => (j.uname.release = '../../../../etc'))
      const error = await openError(root)
      expect(error).to.be.instanceOf(HostRootError)
      expect(error!.message).to.match(/"uname\.release" "\.\.\/\.\.\/\.\.\/\.\.\/etc": want a kernel release/)
      expect(error!.message).not.to.contain('\n')
    })

    it('host.json "paths" with a bad entry is refused in one line naming it', async () => {
      const root = await copyOf('pvm-guest')
      await editHostJson(root, (j) => (j.paths['/dev/hugepages'] = {mode: 'rwx', uid: 0, gid: 0}))
      const error = await openError(root)
      expect(error).to.be.instanceOf(HostRootError)
      expect(error!.message).to.match(/bad paths\["\/dev\/hugepages"\]: want \{mode: "1770", uid, gid\} or null/)
      expect(error!.message).not.to.contain('\n')
    })

    it('Host.path refuses ".." and symlinks in the capture that lead outside, also for files not there yet', async () => {
      const root = await copyOf('pvm-guest')
      const outside = await tempDir('kvmctl-outside-')
      await writeFile(join(outside, 'run'), '1\n')
      await rm(join(root, 'sys/kernel/mm/ksm/run'))
      await symlink(join(outside, 'run'), join(root, 'sys/kernel/mm/ksm/run'))
      await rm(join(root, 'etc/sysctl.d'), {recursive: true, force: true})
      await symlink(outside, join(root, 'etc/sysctl.d'))
      await rm(join(root, 'etc/fstab'), {force: true})
      await symlink('../../../../../../../../../../tmp/kvmctl-nowhere', join(root, 'etc/fstab'))
      await symlink('os-release', join(root, 'etc/os-release-link'))
      const host = await Host.open(root)
      expect(() => host.path('/../../etc/passwd')).to.throw(RootEscapeError)
      expect(() => host.path('/sys/kernel/mm/ksm/run')).to.throw(RootEscapeError, /leads outside the root/)
      expect(() => host.path('/etc/sysctl.d/new.conf')).to.throw(RootEscapeError)
      expect(() => host.path('/etc/fstab')).to.throw(RootEscapeError)
      expect(await host.readValue('/sys/kernel/mm/ksm/run')).to.equal(undefined)
      expect(host.unreadable.get('/sys/kernel/mm/ksm/run')).to.equal('leads outside the replay root')
      expect(await host.list('/etc/sysctl.d')).to.equal(undefined)
      expect(await host.exists('/etc/sysctl.d/run')).to.equal(false)
      // A link that stays inside is fine, and lstat/readlink may look at a link itself.
      expect(await host.read('/etc/os-release-link')).to.contain('PRETTY_NAME')
      expect(host.path('/sys/kernel/mm/ksm/run', {followLast: false})).to.equal(join(root, 'sys/kernel/mm/ksm/run'))
      expect(await host.readLink('/sys/kernel/mm/ksm/run')).to.equal(join(outside, 'run'))
    })

    it('a root reached through a symlink is still its own inside', async () => {
      const root = await copyOf('pvm-guest')
      const link = `${root}-link`
      await symlink(root, link)
      const host = await Host.open(link)
      expect(await host.read('/proc/cpuinfo')).to.contain('processor')
    })

    it('tune refuses to plan a change through a symlink out of the root, in one line (exit 2)', async () => {
      const root = await makeHugepageRoot()
      const outside = await tempDir('kvmctl-outside-')
      await writeFile(join(outside, 'fstab'), '')
      await rm(join(root, 'etc/fstab'))
      await symlink(join(outside, 'fstab'), join(root, 'etc/fstab'))
      const error = await planHugepages(liveContext(await Host.open(root)), {vmMem: '1024'}).catch((e) => e)
      expect(error.exitCode).to.be.oneOf([1, 2])
      expect(error.message).to.match(/\/etc\/fstab/)
      expect(error.message).not.to.contain('\n')
    })
  })

  describe('host.json errors', () => {
    it('never echo raw bytes: NULs, invalid UTF-8 and newlines come out escaped on one line', async () => {
      const root = await copyOf('intel-vtx')
      const text = (await readFile(join(root, 'host.json'), 'utf8')).replace(/"release": "[^"]*"/, '"release": "@@"')
      for (const bytes of [
        [0x00, 0x0a],
        [0xff, 0xfe],
        [0x5c, 0x6e, 0x1b, 0x5b],
      ]) {
        await writeFile(
          join(root, 'host.json'),
          Buffer.concat([Buffer.from(text.split('@@')[0]), Buffer.from(bytes), Buffer.from(text.split('@@')[1])]),
        )
        const error = await openError(root)
        expect(error, JSON.stringify(bytes)).to.be.instanceOf(HostRootError)
        expect(error!.message).not.to.match(/[\u0000-\u001f\u007f\ufffd]/)
      }
    })

    it('name the bad field for wrong JSON types, and the fix', async () => {
      const root = await copyOf('pvm-guest')
      const cases: Array<[(j: any) => void, RegExp]> = [
        [(j) => (j.user.groups = ['0']), /"user"/],
        [(j) => (j.user.uid = 1.5), /"user"/],
        [(j) => (j.devices['/dev/kvm'].mode = 'rw'), /devices\["\/dev\/kvm"\]/],
        [(j) => (j.kvm.open = 3), /"kvm": \{open/],
        [(j) => (j.kvm.vcpu = 'fine'), /"kvm\.vcpu" "fine"/],
        [(j) => (j.kvm.apiVersion = 'x'), /"kvm\.apiVersion" "x"/],
        [(j) => (j.cpuid.vmx = 'yes'), /"cpuid"/],
        [(j) => (j.uname.machine = 'x86\n64'), /"uname\.machine" "x86\\n64"/],
        [(j) => (j.schema = 2), /"schema" 2/],
      ]
      for (const [edit, want] of cases) {
        await cp(fixture('pvm-guest'), root, {recursive: true, force: true})
        await editHostJson(root, edit)
        const error = await openError(root)
        expect(error, String(want)).to.be.instanceOf(HostRootError)
        expect(error!.message).to.match(want)
        expect(error!.message).to.match(/see fixtures\/README\.md/)
      }
    })

    it('an invalid JSON file is named without quoting its bytes', async () => {
      const root = await copyOf('pvm-guest')
      await writeFile(join(root, 'host.json'), Buffer.from([0x7b, 0xff, 0x0a, 0x7d]))
      const error = await openError(root)
      expect(error!.message).to.match(/host\.json is not valid JSON( \(at character \d+\))?; capture again/)
      await writeFile(join(root, 'host.json'), Buffer.from([0x7b, 0x00, 0x7d]))
      expect((await openError(root))!.message).to.match(/host\.json is unreadable \(binary content \(NUL bytes\)\)/)
    })
  })
})
