// `kvmctl tune access` planned as a pure function of (facts, request) (src/plan/access.ts), and the
// one fact a capture never holds: who is in a group. A capture keeps no user names (no /etc/passwd,
// /etc/group without members), so its replay says the membership is unknown, in one line, where
// the tree it was captured from says "is in group kvm". check's EACCES remedy is the same intent.
import {expect} from 'chai'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {devKvmRemedy} from '../src/checks/dev-kvm.js'
import type {HostFacts} from '../src/host/facts.js'
import {UsageError} from '../src/lib/errors.js'
import {accessIntent, accessRemedy, type AccessRequest, planAccessIntent} from '../src/plan/access.js'
import {KVM_UDEV_RULE, kvmUdevLine} from '../src/plan/targets.js'
import {planAccess} from '../src/tune/access.js'
import {runCli} from './support/cli.js'
import {intelHost} from './support/facts.js'
import {tempDir} from './support/temp.js'
import {makeHugepageRoot, testContext} from './support/tune-root.js'

const ALICE = {name: 'alice', uid: 1000, gid: 1000}
const KVM_NODE = {mode: '0660', uid: 0, gid: 108, group: 'kvm'}

/** A host as a planner sees it after gathering alice's account: kvm (108) owns /dev/kvm, mode 0660. */
interface HostOptions {
  members?: string[]
  node?: typeof KVM_NODE | null
  groups?: HostFacts['groups']
  /** The groups of this process (alice's login). */
  session?: number[]
}

function host(over: HostOptions = {}): HostFacts {
  const node = over.node === undefined ? KVM_NODE : over.node
  return intelHost({
    live: true,
    host: {user: {uid: 1000, gid: 1000, groups: over.session ?? [1000], name: 'alice'}, devices: {'/dev/kvm': node}},
    groups: over.groups ?? [
      {name: 'root', gid: 0, members: []},
      {name: 'kvm', gid: 108, members: over.members ?? []},
    ],
    accounts: {alice: ALICE},
    paths: node ? {'/dev/kvm': {mode: parseInt(node.mode, 8), uid: node.uid, gid: node.gid, isDir: false}} : {},
  })
}

/** Deeply frozen: a planner that wrote into its facts would throw. */
function frozen<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) frozen(v)
    Object.freeze(value)
  }
  return value
}

function refusal(f: HostFacts, req: AccessRequest): UsageError {
  try {
    planAccessIntent(f, req)
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError)
    return error as UsageError
  }
  return expect.fail('planned')
}

describe('tune access: a pure function of (facts, request)', () => {
  it('a member: nothing to run, no new login needed when this login has the group', () => {
    const f = frozen(host({members: ['alice'], session: [1000, 108]}))
    const intent = planAccessIntent(f, {user: 'alice'})
    expect(intent).to.deep.include({member: true, commands: [], udevRule: false, setNode: false, reloginNeeded: false})
    expect(intent.group).to.deep.equal({name: 'kvm', gid: 108, create: false})
    expect(intent.summary).to.equal('alice is in group kvm (gid 108); /dev/kvm: mode 0660, group kvm')
    // The same facts, the same answer; this login lacking the group needs a new one.
    expect(planAccessIntent(f, {user: 'alice'})).to.deep.equal(intent)
    expect(planAccessIntent(frozen(host({members: ['alice']})), {user: 'alice'}).reloginNeeded).to.equal(true)
  })

  it("a member through the primary group (/etc/passwd's gid) needs no usermod", () => {
    const f = frozen({...host(), accounts: {alice: {...ALICE, gid: 108}}})
    expect(planAccessIntent(f, {user: 'alice'}).member).to.equal(true)
  })

  it('not a member: usermod, and a new login', () => {
    const intent = planAccessIntent(frozen(host()), {user: 'alice'})
    expect(intent).to.deep.include({member: false, reloginNeeded: true})
    expect(intent.commands).to.deep.equal(['usermod -a -G kvm alice'])
    expect(intent.warnings).to.deep.equal([
      "alice's current login does not have group kvm yet: log out and in again, or run `newgrp kvm` in that shell",
    ])
  })

  it('unknown in a capture: one line naming what a capture does not keep, never "not a member"', () => {
    const f = frozen({...host(), live: false, accounts: null, unknown: ['accounts' as const]})
    const e = refusal(f, {user: 'alice'})
    expect(e.exitCode).to.equal(2)
    expect(e.message).to.equal(
      'not in this capture: /etc/passwd and the members in /etc/group (a capture keeps no user names), so whether ' +
        'alice is in group kvm is unknown; run `kvmctl tune access --user alice --dry-run` on the host itself',
    )
    // An unreadable /etc/passwd says so, live or not.
    const bad = frozen({...host(), accounts: null, unknown: ['accounts' as const], unreadable: {'/etc/passwd': 'x'}})
    expect(refusal(bad, {user: 'alice'}).message).to.equal(
      '/etc/passwd is unreadable (x), so whether alice is in group kvm is unknown',
    )
  })

  it('no such user: a usage error naming /etc/passwd', () => {
    const f = frozen({...host(), accounts: {mallory: null}})
    expect(refusal(f, {user: 'mallory'}).message).to.equal(
      'user mallory does not exist (no line in /etc/passwd); create it first or pick another with --user',
    )
  })

  it('no kvm group and a node owned by root: create kvm, add the user, give the node group and mode', () => {
    const node = {mode: '0600', uid: 0, gid: 0, group: 'root'}
    const f = frozen(host({node, groups: [{name: 'root', gid: 0, members: []}]}))
    const intent = planAccessIntent(f, {user: 'alice'})
    expect(intent.group).to.deep.equal({name: 'kvm', gid: null, create: true})
    expect(intent).to.deep.include({member: false, udevRule: true, setNode: true})
    expect(intent.commands).to.deep.equal([
      'groupadd --system kvm',
      'usermod -a -G kvm alice',
      'chgrp kvm /dev/kvm',
      'chmod 0660 /dev/kvm',
    ])
    // Only a capture's record of the node: the rule, nothing to chgrp now.
    const recorded = planAccessIntent(frozen({...f, live: false, paths: {}}), {user: 'alice'})
    expect(recorded).to.deep.include({udevRule: true, setNode: false})
    expect(recorded.commands).to.deep.equal(['groupadd --system kvm', 'usermod -a -G kvm alice'])
  })

  it("the rule names the node's own group when that is not kvm (it said kvm whatever the group)", () => {
    const node = {mode: '0600', uid: 0, gid: 993, group: 'hvusers'}
    const groups = [{name: 'hvusers', gid: 993, members: []}]
    const remedy = accessRemedy(frozen(host({node, groups})))
    expect(remedy.steps).to.deep.equal([
      'sudo chgrp hvusers /dev/kvm && sudo chmod 0660 /dev/kvm',
      `keep it across reboots with a udev rule: echo '${kvmUdevLine('hvusers')}' | sudo tee ${KVM_UDEV_RULE}`,
      'sudo usermod -aG hvusers alice',
      'then log out and log in again (or run `newgrp hvusers`) so the new group applies',
    ])
  })

  it('/etc/group or /dev/kvm not in the capture: one line naming them', () => {
    const f = frozen({...host(), live: false, groups: null, paths: {}, unknown: ['groups' as const, 'kvm' as const]})
    expect(refusal(f, {user: 'alice'}).message).to.match(/^not in this capture: \/etc\/group, \/dev\/kvm; /)
  })

  it('the user: --user, else the sudo caller, else this process; root and bad names are usage errors', () => {
    const f = frozen({...host(), accounts: {alice: ALICE, bob: {name: 'bob', uid: 1001, gid: 1001}}})
    expect(planAccessIntent(f, {}).user).to.equal('alice')
    expect(planAccessIntent(f, {sudoUser: 'bob'}).user).to.equal('bob')
    expect(planAccessIntent(f, {user: 'alice', sudoUser: 'bob'}).user).to.equal('alice')
    expect(refusal(f, {user: 'root'}).message).to.match(/^name the user who runs VMs: --user NAME/)
    expect(refusal(f, {user: 'bad name'}).message).to.equal('--user "bad name" is not a user name')
  })
})

describe("check's /dev/kvm access remedy is tune access's intent (one voice)", () => {
  it('names `kvmctl tune access --user NAME` first, then the same steps by hand', () => {
    const node = {mode: '0600', uid: 0, gid: 0, group: 'root'}
    const f = frozen({...host({node, groups: [{name: 'root', gid: 0, members: []}]}), accounts: {}})
    const remedy = devKvmRemedy(f, 'EACCES')
    expect(remedy.kvmctl).to.deep.equal(['tune', 'access', '--user', 'alice'])
    const intent = accessIntent(f, 'alice')
    expect(remedy.steps).to.deep.equal([
      'sudo groupadd --system kvm',
      'sudo chgrp kvm /dev/kvm && sudo chmod 0660 /dev/kvm',
      `keep it across reboots with a udev rule: echo '${kvmUdevLine('kvm')}' | sudo tee ${KVM_UDEV_RULE}`,
      'sudo usermod -aG kvm alice',
      'then log out and log in again (or run `newgrp kvm`) so the new group applies',
    ])
    // Each command tune runs is a step here (sudo, chgrp and chmod joined).
    for (const c of intent.commands.map((c) => c.replace(/^usermod -a -G/, 'usermod -aG')))
      expect(remedy.steps.join('\n'), c).to.contain(`sudo ${c}`)
  })

  it('a capture names no user: the command picks the sudo caller, the steps say "$USER"', () => {
    const f = frozen(intelHost({host: {kvm: {open: 'EACCES'}, user: {uid: 1000, gid: 1000, groups: [1000]}}}))
    const remedy = devKvmRemedy(f, 'EACCES')
    expect(remedy.kvmctl).to.deep.equal(['tune', 'access'])
    expect(remedy.steps[0]).to.equal('sudo usermod -aG kvm "$USER"')
  })

  it("the udev rule tune writes holds the remedy's line", async () => {
    const root = await makeHugepageRoot({kvmGid: 994})
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n',
    )
    await writeFile(join(root, 'dev/kvm'), '', {mode: 0o600})
    const plan = await planAccess(await testContext(root), {user: 'alice'})
    expect(plan.files.map((f) => f.path)).to.deep.equal([KVM_UDEV_RULE])
    expect(plan.files[0].content!.toString()).to.contain(`\n${kvmUdevLine('kvm')}\n`)
  })
})

describe('tune access on a replayed capture: membership is unknown, said in one line', function () {
  this.timeout(120_000)
  const JS_ERROR = /TypeError|Cannot read properties|undefined|NaN|\n\s+at /

  /** A full tree (as tests make them) where alice is in kvm. */
  async function treeWithMember(): Promise<string> {
    const root = await makeHugepageRoot({kvmGid: 994})
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n',
    )
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nusers:x:100:\nkvm:x:994:alice\n')
    return root
  }

  function expectUnknownLine(run: {exitCode: number; stdout: string; stderr: string}, user: string): void {
    const what = run.stdout + run.stderr
    expect(run.exitCode, what).to.equal(2)
    expect(run.stdout, what).to.equal('')
    expect(run.stderr.trim().split('\n'), what).to.have.length(1)
    expect(run.stderr, what).to.match(
      new RegExp(`^kvmctl: not in this capture: /etc/passwd and the members in /etc/group .* whether ${user} is in `),
    )
    expect(what).not.to.match(JS_ERROR)
  }

  it('a tree says "is in group kvm"; its `kvmctl capture --root TREE` says unknown, not "not a member"', async () => {
    const tree = await treeWithMember()
    const live = await runCli(['tune', 'access', '--user', 'alice', '--dry-run', '--root', tree])
    expect(live.exitCode, live.stdout + live.stderr).to.equal(0)
    expect(live.stdout).to.contain('alice is in group kvm (gid 994)')
    const dir = join(await tempDir('kvmctl-access-capture-'), 'cap')
    const capture = await runCli(['capture', dir, '--root', tree])
    expect(capture.exitCode, capture.stdout + capture.stderr).to.equal(0)
    expectUnknownLine(await runCli(['tune', 'access', '--user', 'alice', '--dry-run', '--root', dir]), 'alice')
    const json = await runCli(['tune', 'access', '--user', 'alice', '--dry-run', '--json', '--root', dir])
    expect(json.exitCode).to.equal(2)
    expect(JSON.parse(json.stdout).error.message).to.match(/^not in this capture: \/etc\/passwd /)
  })

  it('`kvmctl capture DIR` of this machine: `tune access --user nobody --dry-run --root DIR` is unknown', async () => {
    const dir = join(await tempDir('kvmctl-access-capture-'), 'host')
    const capture = await runCli(['capture', dir])
    expect(capture.exitCode, capture.stdout + capture.stderr).to.equal(0)
    // Live, nobody's membership is read for real (an answer, not "unknown").
    const live = await runCli(['tune', 'access', '--user', 'nobody', '--dry-run'])
    expect(live.exitCode, live.stdout + live.stderr).to.equal(0)
    expect(live.stdout).to.match(/nobody is (not )?in group \S+/)
    expectUnknownLine(await runCli(['tune', 'access', '--user', 'nobody', '--dry-run', '--root', dir]), 'nobody')
  })
})
