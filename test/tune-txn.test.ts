// Issue 11: tune is transactional. Each defect the issue lists has a test here that failed before:
// confinement, bytes, symlinked files, EISDIR, escaping, diffs of huge files, corrupt journals,
// rollback of failed verification, groups/mounts/modules that must not be destroyed, the lock.
import {expect} from 'chai'
import {execa} from 'execa'
import {chmod, chown, lstat, mkdir, readFile, readlink, rename, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {UsageError} from '../src/lib/errors.js'
import {unifiedDiff} from '../src/tune/diff.js'
import type {FstabEntry} from '../src/lib/fstab.js'
import {editFstab} from '../src/tune/editors.js'
import {applyHugepages, planHugepages, type HugepagesRequest} from '../src/tune/hugepages.js'
import {acquireTuneLock} from '../src/tune/lock.js'
import {applyNested, planNested} from '../src/tune/nested.js'
import {undoLastRun} from '../src/tune/undo.js'
import {runCli} from './support/cli.js'
import {
  contentView,
  exactTree,
  FSTAB,
  makeHugepageRoot,
  restoreTools,
  TEST_BIN,
  testContext,
  treeSnapshot,
  useStandInTools,
} from './support/tune-root.js'
import {tempDir} from './support/temp.js'

const roots: string[] = []
async function newRoot(opts?: Parameters<typeof makeHugepageRoot>[0]): Promise<string> {
  const root = await makeHugepageRoot(opts)
  roots.push(root)
  await mkdir(join(root, 'var/lib'), {recursive: true})
  await mkdir(join(root, 'run'), {recursive: true})
  return root
}
const read = (root: string, p: string) => readFile(join(root, p), 'utf8')
async function apply(root: string, req: HugepagesRequest) {
  const ctx = await testContext(root)
  return applyHugepages(ctx, req, await planHugepages(ctx, req))
}
const STAND_INS = {
  KVMCTL_MOUNT: join(TEST_BIN, 'mount'),
  KVMCTL_UMOUNT: join(TEST_BIN, 'umount'),
  KVMCTL_MODPROBE: join(TEST_BIN, 'modprobe'),
  KVMCTL_MODINFO: join(TEST_BIN, 'modinfo'),
}
/** What a user must never see. */
const JS_ERROR = /TypeError|ReferenceError|SyntaxError|undefined|NaN|\n\s+at /

describe('tune is transactional (issue 11)', () => {
  before(useStandInTools)
  after(async () => {
    restoreTools()
    for (const r of roots) await rm(r, {recursive: true, force: true})
  })

  describe('confinement to --root', () => {
    it('a pool file linked outside the tree never gets the outside file written', async () => {
      const root = await newRoot()
      const outside = await tempDir('kvmctl-outside-')
      roots.push(outside)
      for (const name of ['nr_hugepages', 'compact_memory']) await writeFile(join(outside, name), '0\n')
      const pool = join(root, 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages')
      await rm(pool)
      await symlink(join(outside, 'nr_hugepages'), pool)
      await rm(join(root, 'proc/sys/vm/nr_hugepages'))
      await symlink(
        '../../../../../../../../..' + join(outside, 'nr_hugepages'),
        join(root, 'proc/sys/vm/nr_hugepages'),
      )
      const r = await runCli(['tune', 'hugepages', '--vm-mem', '1024', '--root', root], {env: STAND_INS})
      // The planner cannot read the pool through the link: it names the file and plans nothing (exit 2).
      expect(r.exitCode, r.stderr).to.equal(2)
      expect(r.stderr).to.match(/hugepages-2048kB\/nr_hugepages .*outside/)
      expect(await readFile(join(outside, 'nr_hugepages'), 'utf8')).to.equal('0\n')
      expect(r.stdout + r.stderr).not.to.match(JS_ERROR)
      expect(await readlink(pool)).to.equal(join(outside, 'nr_hugepages'))
    })

    it('edits a symlinked fstab (NixOS /etc/fstab -> /etc/static/fstab) at its target, keeping link, mode, owner; undo too', async () => {
      const root = await newRoot()
      await mkdir(join(root, 'etc/static'))
      await rename(join(root, 'etc/fstab'), join(root, 'etc/static/fstab'))
      await chmod(join(root, 'etc/static/fstab'), 0o444)
      await chown(join(root, 'etc/static/fstab'), 0, 100)
      await symlink('/etc/static/fstab', join(root, 'etc/fstab'))
      const before = await exactTree(root)
      const ctx = await testContext(root)
      const r = await apply(root, {vmMem: '1G'})
      expect(r.result.status).to.equal('applied')
      expect(await readlink(join(root, 'etc/fstab'))).to.equal('/etc/static/fstab')
      const st = await stat(join(root, 'etc/static/fstab'))
      expect([(st.mode & 0o7777).toString(8), st.gid]).to.deep.equal(['444', 100])
      expect(await read(root, 'etc/static/fstab')).to.equal(
        `${FSTAB}hugetlbfs /dev/hugepages hugetlbfs mode=01770,gid=994,nofail 0 0\n`,
      )
      expect((await undoLastRun(ctx, {dryRun: false})).status).to.equal('restored')
      expect(contentView(await exactTree(root))).to.deep.equal(contentView(before))
    })

    it('undo --force puts the link back when it was replaced by a file since', async () => {
      const root = await newRoot()
      await mkdir(join(root, 'etc/static'))
      await rename(join(root, 'etc/fstab'), join(root, 'etc/static/fstab'))
      await symlink('/etc/static/fstab', join(root, 'etc/fstab'))
      const before = await exactTree(root)
      const ctx = await testContext(root)
      await apply(root, {vmMem: '1G'})
      const text = await read(root, 'etc/static/fstab')
      await rm(join(root, 'etc/fstab'))
      await writeFile(join(root, 'etc/fstab'), text)
      const refused = await undoLastRun(ctx, {dryRun: false})
      expect(refused.status).to.equal('incomplete')
      expect(refused.problems.join('\n')).to.contain(
        '/etc/fstab is no longer the link to /etc/static/fstab it was; left as is (--force puts the link back)',
      )
      expect((await undoLastRun(ctx, {dryRun: false, force: true})).status).to.equal('restored')
      expect((await lstat(join(root, 'etc/fstab'))).isSymbolicLink()).to.equal(true)
      expect(contentView(await exactTree(root))).to.deep.equal(contentView(before))
    })
  })

  describe('bytes, not strings', () => {
    it('keeps a Latin-1 byte in an unrelated fstab line through apply and undo', async () => {
      const latin1 = Buffer.concat([
        Buffer.from(FSTAB),
        Buffer.from('# Ger\xe4te\n/dev/vdb1 /srv ext4 defaults 0 2\n', 'latin1'),
      ])
      const root = await newRoot()
      await writeFile(join(root, 'etc/fstab'), latin1)
      const ctx = await testContext(root)
      const r = await apply(root, {vmMem: '1G'})
      expect(r.result.status).to.equal('applied')
      const after = await readFile(join(root, 'etc/fstab'))
      expect(after.subarray(0, latin1.length).equals(latin1)).to.equal(true)
      expect(after.subarray(latin1.length).toString()).to.equal(
        'hugetlbfs /dev/hugepages hugetlbfs mode=01770,gid=994,nofail 0 0\n',
      )
      const undone = await undoLastRun(ctx, {dryRun: false})
      expect(undone.status).to.equal('restored')
      expect((await readFile(join(root, 'etc/fstab'))).equals(latin1)).to.equal(true)
    })

    it('says restored only when a re-read matches: a tampered backup is refused, not written', async () => {
      const root = await newRoot()
      const ctx = await testContext(root)
      await apply(root, {vmMem: '1G'})
      const journal = JSON.parse(await read(root, 'var/lib/kvmctl/tune-journal.json'))
      const backup = journal.runs[0].steps.find((s: {kind: string}) => s.kind === 'file').backup
      await writeFile(join(root, backup), 'not what was saved\n')
      const r = await undoLastRun(ctx, {dryRun: false})
      expect(r.status).to.equal('incomplete')
      expect(r.problems.join('\n')).to.match(/\/etc\/fstab: backup .* does not hold the saved bytes; not restored/)
      expect(await read(root, 'etc/fstab')).to.contain('hugetlbfs /dev/hugepages')
    })
  })

  describe('one-line failures', () => {
    for (const dryRun of [true, false]) {
      it(`a directory where /etc/fstab should be gives one line, exit 1${dryRun ? ' (--dry-run)' : ''}`, async () => {
        const root = await newRoot()
        await rm(join(root, 'etc/fstab'))
        await mkdir(join(root, 'etc/fstab'))
        const r = await runCli(
          ['tune', 'hugepages', '--vm-mem', '1024', '--root', root, ...(dryRun ? ['--dry-run'] : [])],
          {env: STAND_INS},
        )
        expect(r.exitCode).to.equal(1)
        expect(r.stderr).to.equal(
          'kvmctl: /etc/fstab is a directory, not a regular file; kvmctl edits it as a file: move it aside (or fix the link) and run again\n',
        )
      })
    }

    const corruptions: Array<[string, string | Buffer, RegExp]> = [
      ['not JSON', '{"schema": 2, "runs": [', /is unreadable: not JSON/],
      ['binary garbage', Buffer.from([0xff, 0xfe, 0, 1, 2, 0x80]), /is unreadable: not JSON/],
      ['empty', '', /is unreadable: not JSON/],
      ['an array', '[]', /is unreadable: it is not an object with a "runs" list/],
      ['null runs', '{"schema":2,"runs":null}', /is unreadable: it is not an object with a "runs" list/],
      ['a newer schema', '{"schema":9,"runs":[]}', /schema 9 is not one this kvmctl knows/],
      [
        'a run without steps',
        '{"schema":2,"runs":[{"id":"x","command":"tune hugepages","startedAt":"2026"}]}',
        /run 1 lacks its id, command, startedAt or steps/,
      ],
      [
        'a step that is a string',
        '{"schema":2,"runs":[{"id":"x","command":"c","startedAt":"s","state":"complete","steps":["pool"]}]}',
        /run x step 1 is not an object/,
      ],
      [
        'an unknown step kind',
        '{"schema":2,"runs":[{"id":"x","command":"c","startedAt":"s","state":"complete","steps":[{"kind":"reboot","state":"done"}]}]}',
        /run x step 1 has an unknown kind "reboot" .*nothing was undone/,
      ],
      [
        'a step kind from Object.prototype',
        '{"schema":2,"runs":[{"id":"x","command":"c","startedAt":"s","state":"complete","steps":[{"kind":"constructor","state":"done"}]}]}',
        /unknown kind "constructor"/,
      ],
      [
        'a pool step without its value',
        '{"schema":2,"runs":[{"id":"x","command":"c","startedAt":"s","state":"complete","steps":[{"kind":"pool","path":"/sys/x","state":"done"}]}]}',
        /step 1 \(pool\) has a bad "before"/,
      ],
      [
        'a relative path',
        '{"schema":2,"runs":[{"id":"x","command":"c","startedAt":"s","state":"complete","steps":[{"kind":"mkdir","path":"../../etc","state":"done"}]}]}',
        /step 1 \(mkdir\) has a bad "path"/,
      ],
      [
        'a bad step state',
        '{"schema":2,"runs":[{"id":"x","command":"c","startedAt":"s","state":"complete","steps":[{"kind":"mount","target":"/dev/hugepages","state":"maybe"}]}]}',
        /has a bad "state"/,
      ],
      [
        'a group name with a slash',
        '{"schema":2,"runs":[{"id":"x","command":"c","startedAt":"s","state":"complete","steps":[{"kind":"group","name":"../kvm","state":"done"}]}]}',
        /has a bad "name"/,
      ],
    ]
    for (const [what, text, pattern] of corruptions) {
      it(`a corrupt journal (${what}): undo and apply say one line, exit 1, change nothing`, async () => {
        const root = await newRoot()
        await mkdir(join(root, 'var/lib/kvmctl'), {recursive: true})
        await writeFile(join(root, 'var/lib/kvmctl/tune-journal.json'), text)
        const before = await exactTree(root)
        for (const args of [
          ['tune', 'undo'],
          ['tune', 'undo', '--dry-run'],
          ['tune', 'hugepages', '--vm-mem', '1024'],
        ]) {
          const r = await runCli([...args, '--root', root], {env: STAND_INS})
          expect(r.exitCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`).to.equal(1)
          expect(r.stderr.split('\n')).to.have.length(2)
          expect(r.stderr).to.match(pattern)
          expect(r.stderr).not.to.match(/TypeError|ReferenceError|NaN|\n\s+at /)
          if (!args.includes('hugepages')) expect(r.stdout).to.equal('')
        }
        expect(await exactTree(root)).to.deep.equal(before)
      })
    }
  })

  describe('escaping what goes into fstab', () => {
    it('writes a spaced --mount as \\040 and a rerun changes nothing', async () => {
      const root = await newRoot()
      const req = {vmMem: '1G', mount: '/srv/huge pages'}
      const first = await apply(root, req)
      expect(first.result.status, first.result.messages.join('\n')).to.equal('applied')
      expect(await read(root, 'etc/fstab')).to.equal(
        `${FSTAB}hugetlbfs /srv/huge\\040pages hugetlbfs mode=01770,gid=994,nofail 0 0\n`,
      )
      expect(await read(root, 'proc/mounts')).to.contain(' /srv/huge\\040pages hugetlbfs ')
      const snapshot = await treeSnapshot(root)
      const again = await apply(root, req)
      expect(again.plan.changes).to.equal(0)
      expect(again.result.status).to.equal('unchanged')
      expect(await treeSnapshot(root)).to.deep.equal(snapshot)
    })

    it('escapes tab, newline and backslash (fstab(5)), so no line can be injected', () => {
      const entry: FstabEntry = {
        spec: 'hugetlbfs',
        file: '/a b\tc\nd\\e',
        vfstype: 'hugetlbfs',
        options: ['mode=01770'],
        freq: 0,
        passno: 0,
      }
      const out = editFstab('', entry)
      expect(out).to.equal('hugetlbfs /a\\040b\\011c\\012d\\134e hugetlbfs mode=01770 0 0\n')
      expect(out.split('\n')).to.have.length(2)
      expect(editFstab(out, entry)).to.equal(out)
    })

    for (const bad of [
      'dev/hugepages',
      '/dev//hugepages',
      '/dev/hugepages/',
      '/dev/../etc',
      '/dev/./x',
      '/dev/huge\u0001pages',
      '/',
    ]) {
      it(`refuses --mount ${JSON.stringify(bad)} with a one-line usage error`, async () => {
        const root = await newRoot()
        const error = await planHugepages(await testContext(root), {vmMem: '1G', mount: bad}).catch((e) => e)
        expect(error).to.be.instanceOf(UsageError)
        expect(error.message).to.match(/^--mount /)
        expect(error.message).not.to.contain('\n')
      })
    }
  })

  describe('linear-time diffs', () => {
    it('diffs a 12,000-line fstab and a 5 MB fstab (the change at the end) with the right hunk', () => {
      for (const lines of [12_000, 100_000]) {
        const body = Array.from(
          {length: lines},
          (_, i) => `UUID=${String(i).padStart(8, '0')}-aaaa-bbbb-cccc-dddddddddddd /srv/d${i} ext4 defaults 0 2\n`,
        ).join('')
        const after = editFstab(body, {
          spec: 'hugetlbfs',
          file: '/dev/hugepages',
          vfstype: 'hugetlbfs',
          options: ['mode=01770'],
          freq: 0,
          passno: 0,
        })
        const diff = unifiedDiff('/etc/fstab', body, after)
        expect(diff.split('\n')[2]).to.equal(`@@ -${lines - 2},3 +${lines - 2},4 @@`)
        expect(diff).to.contain('+hugetlbfs /dev/hugepages hugetlbfs mode=01770 0 0\n')
        if (lines === 100_000) expect(body.length).to.be.greaterThan(5_000_000)
      }
    })

    it('keeps exact LCS diffs for small changes in the middle', () => {
      expect(unifiedDiff('/x', 'a\nb\nc\nd\n', 'a\nB\nc\nd\ne\n')).to.equal(
        '--- a/x\n+++ b/x\n@@ -1,4 +1,5 @@\n a\n-b\n+B\n c\n d\n+e\n',
      )
    })
  })

  describe('verification failures roll back', () => {
    it('mount "succeeds" but nothing is mounted: pool, fstab, sysctl.d and journal are all reverted', async () => {
      const root = await newRoot()
      const before = await exactTree(root)
      process.env.KVMCTL_MOUNT = join(TEST_BIN, 'mount-noop')
      try {
        const r = await apply(root, {vmMem: '1G'})
        expect(r.result.status).to.equal('rolled-back')
        expect(r.result.messages.join('\n')).to.contain('verification failed: /dev/hugepages is not mounted')
        expect(r.result.journalId).to.equal(null)
      } finally {
        process.env.KVMCTL_MOUNT = STAND_INS.KVMCTL_MOUNT
      }
      expect(await exactTree(root)).to.deep.equal(before)
    })

    it('keeps the partial result with --allow-partial, journaled so undo reverts it', async () => {
      const root = await newRoot()
      const before = await exactTree(root)
      process.env.KVMCTL_MOUNT = join(TEST_BIN, 'mount-noop')
      try {
        const r = await apply(root, {vmMem: '1G', allowPartial: true})
        expect(r.result.status).to.equal('failed')
        expect(r.result.journalId).to.be.a('string')
      } finally {
        process.env.KVMCTL_MOUNT = STAND_INS.KVMCTL_MOUNT
      }
      expect(await read(root, 'etc/fstab')).to.contain('hugetlbfs')
      expect((await undoLastRun(await testContext(root), {dryRun: false})).status).to.equal('restored')
      expect(await exactTree(root)).to.deep.equal(before)
    })
  })

  describe('rollback and undo never destroy what they did not create', () => {
    it('a group created between plan and apply is used, never created nor deleted', async () => {
      const root = await newRoot({kvmGid: null})
      const ctx = await testContext(root)
      const plan = await planHugepages(ctx, {vmMem: '1G'})
      expect(plan.group.create).to.equal(true)
      await writeFile(join(root, 'etc/group'), `${await read(root, 'etc/group')}kvm:x:995:alice\n`)
      const r = await applyHugepages(ctx, {vmMem: '1G'}, plan)
      expect(r.result.status).to.equal('applied')
      expect(r.plan.group.gid).to.equal(995)
      const undone = await undoLastRun(ctx, {dryRun: false})
      expect(undone.steps).not.to.include('delete group kvm')
      expect(await read(root, 'etc/group')).to.contain('kvm:x:995:alice\n')
    })

    it('groupadd failing because the group exists (it lost a race) never leads to groupdel', async () => {
      const root = await newRoot({kvmGid: null})
      process.env.KVMCTL_GROUPADD = join(TEST_BIN, 'groupadd-race')
      let r
      try {
        r = await apply(root, {vmMem: '1G'})
      } finally {
        delete process.env.KVMCTL_GROUPADD
      }
      expect(r.result.status).to.equal('failed')
      expect(r.result.messages[0]).to.match(
        /^groupadd --prefix .* --system kvm failed \(exit 9\): groupadd: group 'kvm' already exists$/,
      )
      expect(r.result.rollbackProblems).to.deep.equal([])
      expect(await read(root, 'etc/group')).to.contain('kvm:x:4242:alice\n')
      expect(await readFile(join(root, 'var/lib/kvmctl/tune-journal.json')).catch(() => 'none')).to.equal('none')
    })

    for (const [what, use] of [
      [
        'a member was added (usermod -aG)',
        async (root: string, gid: number) =>
          writeFile(
            join(root, 'etc/group'),
            (await read(root, 'etc/group')).replace(`kvm:x:${gid}:`, `kvm:x:${gid}:alice`),
          ),
      ],
      [
        "/dev/kvm was chgrp'd to it",
        async (root: string, gid: number) => {
          await writeFile(join(root, 'dev/kvm'), '')
          await chown(join(root, 'dev/kvm'), 0, gid)
        },
      ],
    ] as const) {
      it(`undo keeps a group it created when ${what}, and says why`, async () => {
        const root = await newRoot({kvmGid: null})
        const ctx = await testContext(root)
        const r = await apply(root, {vmMem: '1G'})
        expect(r.result.status).to.equal('applied')
        const gid = r.plan.group.gid!
        await use(root, gid)
        const undone = await undoLastRun(ctx, {dryRun: false})
        expect(undone.status).to.equal('restored')
        expect(undone.kept.join('\n')).to.match(new RegExp(`^kept group kvm \\(gid ${gid}\\): `))
        expect(await read(root, 'etc/group')).to.match(new RegExp(`^kvm:x:${gid}:`, 'm'))
        expect(await readFile(join(root, 'var/lib/kvmctl/tune-journal.json')).catch(() => 'none')).to.equal('none')
      })
    }

    it('undo keeps a hugetlbfs mount that holds files (VM memory), and says why', async () => {
      const root = await newRoot()
      const ctx = await testContext(root)
      await apply(root, {vmMem: '1G'})
      await writeFile(join(root, 'dev/hugepages/qemu_back_mem.pc.ram.XYZ'), '')
      const undone = await undoLastRun(ctx, {dryRun: false})
      expect(undone.kept).to.deep.equal([
        'kept hugetlbfs on /dev/hugepages mounted: it holds 1 file(s) (VM memory in use)',
        'kept directory /dev/hugepages: it is not empty',
      ])
      expect(await read(root, 'proc/mounts')).to.contain(' /dev/hugepages hugetlbfs ')
      expect(await read(root, 'etc/fstab')).to.equal(FSTAB)
    })

    it('undo of a mount step whose mount never happened succeeds by checking the real state', async () => {
      const root = await newRoot()
      const before = await exactTree(root)
      const ctx = await testContext(root)
      process.env.KVMCTL_MOUNT = join(TEST_BIN, 'mount-noop')
      await apply(root, {vmMem: '1G', allowPartial: true}).finally(
        () => (process.env.KVMCTL_MOUNT = STAND_INS.KVMCTL_MOUNT),
      )
      const undone = await undoLastRun(ctx, {dryRun: false})
      expect(undone.status).to.equal('restored')
      expect(await exactTree(root)).to.deep.equal(before)
    })

    it('tune nested proves the module loads again (modinfo) before unloading it', async () => {
      const root = await newRoot()
      await writeFile(join(root, 'proc/cpuinfo'), 'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n\n')
      await mkdir(join(root, 'sys/module/kvm_intel/parameters'), {recursive: true})
      await mkdir(join(root, 'sys/module/kvm_intel/holders'))
      await writeFile(join(root, 'sys/module/kvm_intel/parameters/nested'), 'N\n')
      await writeFile(join(root, 'sys/module/kvm_intel/initstate'), 'live\n')
      await writeFile(join(root, 'sys/module/kvm_intel/refcnt'), '0\n')
      // The kernel was upgraded and its kvm_intel.ko is gone.
      await writeFile(join(root, '.standin-no-ko-kvm_intel'), '')
      const before = await exactTree(root)
      const ctx = await testContext(root)
      const result = await applyNested(ctx, await planNested(ctx, {}))
      expect(result.status).to.equal('refused')
      expect(result.messages[0]).to.match(
        /^not unloading kvm_intel: kvm_intel cannot be shown loadable again for kernel 6\.1\.0-test-amd64 .*Module kvm_intel not found.*Nothing was changed/,
      )
      expect(await exactTree(root)).to.deep.equal(before)
    })
  })

  describe('the lock', () => {
    it('cannot be taken twice: a second run is told who holds it; a lock file left by a dead run means nothing', async () => {
      const root = await newRoot()
      const ctx = await testContext(root)
      const first = await acquireTuneLock(ctx.host, 'kvmctl tune hugepages')
      const busy = await acquireTuneLock(ctx.host, 'kvmctl tune undo').catch((e) => e)
      expect(busy.message).to.equal(
        `another kvmctl tune run holds /run/kvmctl/tune.lock (pid ${process.pid}, \`kvmctl tune hugepages\`); wait for it to finish, then run again`,
      )
      // Another process is refused too (flock is per open file, not per process).
      const other = await runCli(['tune', 'undo', '--root', root], {env: STAND_INS})
      expect(other.exitCode).to.equal(1)
      expect(other.stderr).to.contain(`another kvmctl tune run holds /run/kvmctl/tune.lock (pid ${process.pid}`)
      await first.release()
      expect(await readFile(join(root, 'run/kvmctl/tune.lock')).catch(() => 'gone')).to.equal('gone')
      // A record of a dead run (or an empty file) is not a lock: only a held flock is.
      await mkdir(join(root, 'run/kvmctl'))
      await writeFile(join(root, 'run/kvmctl/tune.lock'), '')
      const again = await acquireTuneLock(ctx.host)
      await again.release()
    })

    it('two applies on one tree at once: one runs, the other names the holder; the journal stays undoable', async () => {
      const root = await newRoot()
      const before = await exactTree(root)
      const gate = join(root, '..', `${root.split('/').pop()}.gate`)
      roots.push(gate, `${gate}.waiting`)
      const env = {...STAND_INS, KVMCTL_MOUNT: join(TEST_BIN, 'mount-wait'), KVMCTL_TEST_MOUNT_GATE: gate}
      const first = runCli(['tune', 'hugepages', '--vm-mem', '1024', '--root', root], {env})
      // The first run is inside its mount step, holding the lock.
      const waitFor = async (p: string) => {
        for (;;) {
          if (
            await stat(p).then(
              () => true,
              () => false,
            )
          )
            return
          await new Promise((r) => setTimeout(r, 50))
        }
      }
      await waitFor(`${gate}.waiting`)
      const second = await runCli(['tune', 'hugepages', '--vm-mem', '1024', '--root', root], {env: STAND_INS})
      expect(second.exitCode).to.equal(1)
      expect(second.stderr).to.match(
        /^kvmctl: another kvmctl tune run holds \/run\/kvmctl\/tune\.lock \(pid \d+, `kvmctl tune hugepages`\); wait for it to finish, then run again\n$/,
      )
      await writeFile(gate, '')
      const done = await first
      expect(done.exitCode, done.stderr).to.equal(0)
      expect((await runCli(['tune', 'undo', '--root', root], {env: STAND_INS})).exitCode).to.equal(0)
      expect(await exactTree(root)).to.deep.equal(before)
    })

    it('started at the same instant, several times: never two applies, and undo always restores', async () => {
      let applied = 0
      let refused = 0
      for (let round = 0; round < 3; round++) {
        const root = await newRoot()
        const before = await exactTree(root)
        const runs = await Promise.all(
          [1, 2].map(() =>
            execa(process.execPath, ['bin/run.js', 'tune', 'hugepages', '--vm-mem', '1024', '--root', root, '--json'], {
              reject: false,
              env: {...STAND_INS, NO_COLOR: '1'},
            }),
          ),
        )
        // With --json a failure is an {error} object on stdout.
        const statuses = runs.map((r) => {
          const out = JSON.parse(String(r.stdout))
          return r.exitCode === 0 ? out.result.status : `${r.exitCode} ${out.error?.message}`
        })
        // Either one applied and the other was refused, or they ran one after the other.
        expect(
          statuses.filter((s) => s === 'applied'),
          statuses.join(' | '),
        ).to.have.length(1)
        for (const s of statuses.filter((x) => x !== 'applied'))
          expect(s).to.match(/^unchanged$|^1 another kvmctl tune run holds/)
        applied++
        refused += statuses.filter((s) => s !== 'applied' && s !== 'unchanged').length
        expect((await runCli(['tune', 'undo', '--root', root], {env: STAND_INS})).exitCode).to.equal(0)
        expect(await exactTree(root)).to.deep.equal(before)
      }
      expect(applied).to.equal(3)
      console.log(`      concurrent rounds: 3, refused by the lock: ${refused}`)
    })
  })
})
