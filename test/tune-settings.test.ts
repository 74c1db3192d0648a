// tune ksm, thp, iommu and access: on temporary roots (real Debian/Fedora/systemd-boot layouts, the
// real groupadd and usermod with --prefix), and ksm/thp for real on this machine under the host lock.
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {cp, mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {accessSteps, planAccess} from '../src/tune/access.js'
import {planIommu} from '../src/tune/iommu.js'
import {editTmpfilesWrite} from '../src/tune/editors.js'
import {planKsm} from '../src/tune/ksm.js'
import {applySetting} from '../src/tune/setting.js'
import {planThp} from '../src/tune/thp.js'
import {undoLastRun} from '../src/tune/undo.js'
import {LAYOUTS, makeBootRoot, restoreBootTools, useBootStandIns} from './support/boot-roots.js'
import {fixture, runCli} from './support/cli.js'
import {takeMachineLock as takeHostLock} from './support/machine-lock.js'
import {contentView, makeHugepageRoot, testContext, treeSnapshot} from './support/tune-root.js'

const roots: string[] = []
const read = (root: string, p: string) => readFile(join(root, p), 'utf8')
const put = async (root: string, p: string, text: string) => {
  await mkdir(join(root, p, '..'), {recursive: true})
  await writeFile(join(root, p), text)
}

/** A tree with KSM and THP files as the kernel shows them, and an Intel or AMD CPU. */
async function settingsRoot(layout?: (typeof LAYOUTS)[number], vendor = 'GenuineIntel'): Promise<string> {
  const root = layout ? await makeBootRoot(layout) : await makeHugepageRoot()
  roots.push(root)
  await put(root, 'sys/kernel/mm/ksm/run', '0\n')
  await put(root, 'sys/kernel/mm/transparent_hugepage/enabled', 'always [madvise] never\n')
  await put(
    root,
    'proc/cpuinfo',
    `processor\t: 0\nvendor_id\t: ${vendor}\nflags\t\t: fpu vme ${vendor === 'GenuineIntel' ? 'vmx' : 'svm'}\n\n`,
  )
  await put(root, 'proc/1/comm', 'systemd\n')
  return root
}

describe('tune ksm / thp / iommu / access (temporary roots)', () => {
  before(useBootStandIns)
  after(async () => {
    restoreBootTools()
    for (const r of roots) await rm(r, {recursive: true, force: true})
  })

  it('ksm --on writes run=1 and a tmpfiles.d line; a second run changes nothing; undo restores both', async () => {
    const root = await settingsRoot()
    const before = contentView(await treeSnapshot(root))
    const ctx = await testContext(root)
    const plan = await planKsm(ctx, {on: true})
    expect(plan.runtime).to.deep.equal([{path: '/sys/kernel/mm/ksm/run', before: '0', after: '1'}])
    expect(plan.warnings).to.deep.equal([])
    const result = await applySetting(ctx, plan, {command: 'tune ksm --on'})
    expect(result.status, result.messages.join('\n')).to.equal('applied')
    expect(await read(root, 'sys/kernel/mm/ksm/run')).to.equal('1\n')
    expect(await read(root, 'etc/tmpfiles.d/kvmctl-ksm.conf')).to.match(/\nw \/sys\/kernel\/mm\/ksm\/run - - - - 1\n$/)
    expect((await planKsm(ctx, {on: true})).changes).to.equal(0)
    expect((await undoLastRun(ctx, {dryRun: false})).status).to.equal('restored')
    expect(contentView(await treeSnapshot(root))).to.deep.equal(before)
  })

  it('ksm: names ksmtuned, refuses a kernel without KSM, and wants exactly one of --on/--off', async () => {
    const root = await settingsRoot()
    await put(root, 'etc/ksmtuned.conf', '# Configuration file for ksmtuned.\n')
    const ctx = await testContext(root)
    expect((await planKsm(ctx, {off: true})).warnings[0]).to.match(
      /ksmtuned is installed and starts KSM again .*systemctl disable --now ksmtuned/,
    )
    await rm(join(root, 'sys/kernel/mm/ksm'), {recursive: true})
    expect((await planKsm(ctx, {on: true})).refusal).to.match(/no KSM .*CONFIG_KSM=y/)
    await planKsm(ctx, {}).then(
      () => expect.fail('no flag accepted'),
      (e: Error) => expect(e.message).to.match(/say --on or --off/),
    )
    expect(
      editTmpfilesWrite(
        '# mine\nw /sys/kernel/mm/ksm/run - - - - 1\nw /sys/x - - - - 2\n',
        '/sys/kernel/mm/ksm/run',
        '0',
      ),
    ).to.equal('# mine\nw /sys/kernel/mm/ksm/run - - - - 0\nw /sys/x - - - - 2\n')
  })

  for (const layout of LAYOUTS) {
    it(`thp --mode always on ${layout}: the value now and transparent_hugepage= at boot; undo restores the tree`, async () => {
      const root = await settingsRoot(layout)
      const before = contentView(await treeSnapshot(root))
      const ctx = await testContext(root)
      const plan = await planThp(ctx, {mode: 'always'})
      expect(plan.cmdline?.after).to.match(/ transparent_hugepage=always$/)
      const result = await applySetting(ctx, plan, {command: 'tune thp --mode always'})
      expect(result.status, result.messages.join('\n')).to.equal('applied')
      expect(await read(root, 'sys/kernel/mm/transparent_hugepage/enabled')).to.equal('always\n')
      expect(result.verified.at(-1)).to.match(/^next boot: .*transparent_hugepage=always/)
      expect((await planThp(ctx, {mode: 'always'})).changes).to.equal(0)
      expect((await undoLastRun(ctx, {dryRun: false})).status).to.equal('restored')
      // The stand-in sysfs file keeps the written word; the kernel shows the choice list again.
      const after = contentView(await treeSnapshot(root))
      after.set(
        '/sys/kernel/mm/transparent_hugepage/enabled',
        before.get('/sys/kernel/mm/transparent_hugepage/enabled')!,
      )
      expect(await read(root, 'sys/kernel/mm/transparent_hugepage/enabled')).to.equal('madvise\n')
      expect(after).to.deep.equal(before)
    })

    it(`iommu on ${layout} (Intel): writes exactly intel_iommu=on, keeps every other byte, undo restores the tree`, async () => {
      const root = await settingsRoot(layout)
      const before = contentView(await treeSnapshot(root))
      const ctx = await testContext(root)
      const plan = await planIommu(ctx, {})
      expect(plan.cmdline!.edits).to.deep.equal(['set intel_iommu=on'])
      expect(plan.cmdline!.after).to.equal(`${plan.cmdline!.before} intel_iommu=on`)
      const result = await applySetting(ctx, plan, {command: 'tune iommu'})
      expect(result.status, result.messages.join('\n')).to.equal('applied')
      // Every changed file differs from before only by the added parameter.
      for (const [path, entry] of contentView(await treeSnapshot(root))) {
        const was = before.get(path)
        if (was === undefined || was === entry || path.startsWith('/boot/grub/')) continue
        const text = (s: string) => Buffer.from(s.split(' ').at(-1)!, 'base64').toString()
        expect(text(entry).replace(/ ?intel_iommu=on/g, ''), path).to.equal(text(was))
      }
      expect((await undoLastRun(ctx, {dryRun: false})).status).to.equal('restored')
      expect(contentView(await treeSnapshot(root))).to.deep.equal(before)
    })
  }

  it('iommu --passthrough-mode pt: AMD gets iommu=pt only; a SEV-SNP host is refused and nothing changes', async () => {
    const root = await settingsRoot('debian-12-grub', 'AuthenticAMD')
    const ctx = await testContext(root)
    const plan = await planIommu(ctx, {passthroughMode: 'pt'})
    expect(plan.cmdline!.edits).to.deep.equal(['set iommu=pt'])
    expect((await planIommu(ctx, {})).changes).to.equal(0)
    // A copy of a real SEV-SNP host's capture (fixtures/sev-snp): check and tune read the same facts.
    const snpRoot = join(root, '..', `${root.split('/').pop()}-snp`)
    roots.push(snpRoot)
    await cp(fixture('sev-snp'), snpRoot, {recursive: true})
    const before = await treeSnapshot(snpRoot)
    const snpCtx = await testContext(snpRoot)
    const refused = await planIommu(snpCtx, {passthroughMode: 'pt'})
    expect(refused.refusal).to.match(
      /^refusing iommu=pt: this host runs SEV-SNP \(kernel log: "kvm_amd: SEV-SNP enabled \(ASIDs 1 - 99\)".*\), and the kernel disables SNP/,
    )
    expect((await applySetting(snpCtx, refused, {command: 'tune iommu --passthrough-mode pt'})).status).to.equal(
      'refused',
    )
    expect(await treeSnapshot(snpRoot)).to.deep.equal(before)
  })

  describe('access (the real groupadd and usermod, --prefix on the tree)', () => {
    async function accessRoot(opts: {kvmGroup: boolean; node?: {gid: number; mode: number}}): Promise<string> {
      const root = await makeHugepageRoot({kvmGid: opts.kvmGroup ? 994 : null})
      roots.push(root)
      await put(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n')
      await put(root, 'etc/shadow', 'root:*:19000:0:99999:7:::\nalice:*:19000:0:99999:7:::\n')
      // host.json says what a capture saw of /dev/kvm; a tree with its own node is read directly.
      const hostJson = JSON.parse(await read(root, 'host.json'))
      hostJson.devices['/dev/kvm'] = null
      await writeFile(join(root, 'host.json'), JSON.stringify(hostJson))
      if (opts.node) {
        await writeFile(join(root, 'dev/kvm'), '')
        const {chmod, chown} = await import('node:fs/promises')
        await chown(join(root, 'dev/kvm'), 0, opts.node.gid)
        await chmod(join(root, 'dev/kvm'), opts.node.mode)
      }
      return root
    }
    // usermod and groupadd leave their own backups (/etc/group-, /etc/gshadow-), as they do on a host.
    const withoutShadowBackups = (m: Map<string, string>) =>
      new Map([...m].filter(([k]) => !/^\/etc\/(group|gshadow|passwd|shadow)-$/.test(k)))

    it('creates kvm when missing, adds the user, says the login lacks the group; undo removes both', async () => {
      const root = await accessRoot({kvmGroup: false})
      const before = withoutShadowBackups(contentView(await treeSnapshot(root)))
      const ctx = await testContext(root)
      const plan = await planAccess(ctx, {user: 'alice'})
      expect(plan).to.deep.include({
        user: 'alice',
        member: false,
        group: {name: 'kvm', gid: null, create: true},
        reloginNeeded: true,
      })
      expect(plan.commands).to.deep.equal(['groupadd --system kvm', 'usermod -a -G kvm alice'])
      expect(plan.warnings.at(-1)).to.equal(
        "alice's current login does not have group kvm yet: log out and in again, or run `newgrp kvm` in that shell",
      )
      const result = await applySetting(ctx, plan, {command: 'tune access --user alice', extra: accessSteps(ctx, plan)})
      expect(result.status, result.messages.join('\n')).to.equal('applied')
      expect(await read(root, 'etc/group')).to.match(/\nkvm:x:\d+:alice\n$/)
      expect((await planAccess(ctx, {user: 'alice'})).changes).to.equal(0)
      const undone = await undoLastRun(ctx, {dryRun: false})
      expect(undone.status, undone.problems.join('\n')).to.equal('restored')
      expect(withoutShadowBackups(contentView(await treeSnapshot(root)))).to.deep.equal(before)
    })

    it('a node owned by root gets the udev rule and group kvm now; a right node gets no rule', async () => {
      const root = await accessRoot({kvmGroup: true, node: {gid: 0, mode: 0o600}})
      const ctx = await testContext(root)
      const plan = await planAccess(ctx, {user: 'alice'})
      expect(plan.files.map((f) => f.path)).to.deep.equal(['/etc/udev/rules.d/65-kvmctl-kvm.rules'])
      const result = await applySetting(ctx, plan, {command: 'tune access --user alice', extra: accessSteps(ctx, plan)})
      expect(result.status, result.messages.join('\n')).to.equal('applied')
      expect(await read(root, 'etc/udev/rules.d/65-kvmctl-kvm.rules')).to.contain(
        'KERNEL=="kvm", GROUP="kvm", MODE="0660"\n',
      )
      const {stat} = await import('node:fs/promises')
      const st = await stat(join(root, 'dev/kvm'))
      expect([st.gid, st.mode & 0o777]).to.deep.equal([994, 0o660])
      expect((await undoLastRun(ctx, {dryRun: false})).status).to.equal('restored')
      expect(existsSync(join(root, 'etc/udev/rules.d/65-kvmctl-kvm.rules'))).to.equal(false)
      expect(((await stat(join(root, 'dev/kvm'))).mode & 0o777).toString(8)).to.equal('600')

      const right = await accessRoot({kvmGroup: true, node: {gid: 994, mode: 0o660}})
      expect((await planAccess(await testContext(right), {user: 'alice'})).files).to.deep.equal([])
    })

    it('refuses an unknown user and root, in one line', async () => {
      const ctx = await testContext(await accessRoot({kvmGroup: true}))
      await planAccess(ctx, {user: 'mallory'}).then(
        () => expect.fail('accepted'),
        (e: Error) =>
          expect(e.message).to.equal(
            'user mallory does not exist (no line in /etc/passwd); create it first or pick another with --user',
          ),
      )
      await planAccess(ctx, {user: 'root'}).then(
        () => expect.fail('accepted'),
        (e: Error) => expect(e.message).to.match(/^name the user who runs VMs: --user NAME/),
      )
    })
  })
})

const KSM = '/sys/kernel/mm/ksm/run'
const THP = '/sys/kernel/mm/transparent_hugepage/enabled'
/** The real tools and the live host, whatever stand-ins other tests in this process set up. */
const LIVE = {
  env: {
    KVMCTL_ROOT: undefined,
    KVMCTL_GROUPADD: '',
    KVMCTL_GROUPDEL: '',
    KVMCTL_USERMOD: '',
    KVMCTL_UPDATE_GRUB: '',
    KVMCTL_GRUB_MKCONFIG: '',
    KVMCTL_GRUBBY: '',
  },
}

describe('tune ksm and thp on this machine (real host, under flock)', function () {
  let lock: {release: () => Promise<unknown>} | undefined
  const saved = new Map<string, string>()
  const readLive = (p: string) => readFile(p, 'utf8')

  before(async function () {
    if (process.getuid?.() !== 0 || process.env.KVMCTL_SKIP_REAL_HOST === '1' || !existsSync(KSM) || !existsSync(THP))
      return this.skip()
    lock = await takeHostLock()
    for (const p of [KSM, THP]) saved.set(p, await readLive(p))
  })

  after(async () => {
    try {
      // Last resort if an undo failed: put the kernel values back as found.
      if (saved.has(KSM) && (await readLive(KSM)) !== saved.get(KSM)) await writeFile(KSM, saved.get(KSM)!.trim())
      if (saved.has(THP) && (await readLive(THP)) !== saved.get(THP))
        await writeFile(THP, /\[(\w+)\]/.exec(saved.get(THP)!)![1])
    } finally {
      await lock?.release()
    }
  })

  it('ksm: the opposite of the current value is applied, read back, and undone', async () => {
    const was = saved.get(KSM)!.trim()
    const flag = was === '1' ? '--off' : '--on'
    const r = await runCli(['tune', 'ksm', flag, '--no-persist', '--json'], LIVE)
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0)
    const {result} = JSON.parse(r.stdout)
    expect(result.status).to.equal('applied')
    expect((await readLive(KSM)).trim()).to.equal(was === '1' ? '0' : '1')
    const undo = await runCli(['tune', 'undo', '--json'], LIVE)
    expect(JSON.parse(undo.stdout).status, undo.stdout).to.equal('restored')
    expect(await readLive(KSM)).to.equal(saved.get(KSM))
  })

  it('thp: another mode is applied, read back, and undone (not persisted: this machine has no boot loader)', async () => {
    const was = /\[(\w+)\]/.exec(saved.get(THP)!)![1]
    const mode = was === 'never' ? 'madvise' : 'never'
    const r = await runCli(['tune', 'thp', '--mode', mode, '--json'], LIVE)
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0)
    const {plan, result} = JSON.parse(r.stdout)
    expect(plan.cmdline.refusal).to.match(/^no boot loader configuration found/)
    expect(plan.warnings[0]).to.match(/^not persisted: /)
    expect(result.status).to.equal('applied')
    expect(await readLive(THP)).to.contain(`[${mode}]`)
    const undo = await runCli(['tune', 'undo', '--json'], LIVE)
    expect(JSON.parse(undo.stdout).status, undo.stdout).to.equal('restored')
    expect(await readLive(THP)).to.equal(saved.get(THP))
  })
})

describe('tune access on this machine (real host, a test user, under flock)', function () {
  let lock: {release: () => Promise<unknown>} | undefined
  const user = `kvmctl-t${process.pid}`
  let groupBefore: string | undefined
  let gshadowBefore: string | undefined
  let created = false

  before(async function () {
    const tuned = existsSync('/var/lib/kvmctl/tune-journal.json')
    if (
      process.getuid?.() !== 0 ||
      process.env.KVMCTL_SKIP_REAL_HOST === '1' ||
      tuned ||
      !existsSync('/usr/sbin/useradd')
    )
      return this.skip()
    lock = await takeHostLock()
    groupBefore = await readFile('/etc/group', 'utf8')
    gshadowBefore = await readFile('/etc/gshadow', 'utf8').catch(() => undefined)
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user])
    created = true
  })

  after(async () => {
    try {
      if (existsSync('/var/lib/kvmctl/tune-journal.json')) await runCli(['tune', 'undo', '--force'], LIVE)
      if (created) execFileSync('userdel', [user])
    } finally {
      await lock?.release()
    }
  })

  it('adds the user to the /dev/kvm group (creating kvm when missing), and undo gives /etc/group back byte for byte', async () => {
    const withUser = await readFile('/etc/group', 'utf8')
    const r = await runCli(['tune', 'access', '--user', user, '--json'], LIVE)
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0)
    const {plan, result} = JSON.parse(r.stdout)
    expect(result.status, result.messages.join('\n')).to.equal('applied')
    const group = plan.group.name as string
    expect((await readFile('/etc/group', 'utf8')).split('\n').find((l) => l.startsWith(`${group}:`))).to.match(
      new RegExp(`:${user}$`),
    )
    expect(plan.warnings.join('\n')).to.contain(`${user}'s current login does not have group ${group} yet`)
    const undo = await runCli(['tune', 'undo', '--json'], LIVE)
    expect(JSON.parse(undo.stdout).status, undo.stdout).to.equal('restored')
    expect(await readFile('/etc/group', 'utf8')).to.equal(withUser)
    execFileSync('userdel', [user])
    created = false
    expect(await readFile('/etc/group', 'utf8')).to.equal(groupBefore)
    expect(await readFile('/etc/gshadow', 'utf8').catch(() => undefined)).to.equal(gshadowBefore)
  })
})
