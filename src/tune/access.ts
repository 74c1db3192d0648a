// `kvmctl tune access [--user NAME]`: lets a user open /dev/kvm the way distributions intend:
// membership in the group that owns the node (kvm; created when missing, as distributions do),
// and a udev rule only when the node's group is not that group. The user's running sessions keep
// their old groups until a new login: the plan says so, by comparing /etc/group with the groups of
// this process when it runs as that user.
import {chmod, chown} from 'node:fs/promises'

import {OperationError, UsageError} from '../lib/errors.js'
import {DEFAULT_GROUP} from '../plan/targets.js'
import type {TuneContext} from './context.js'
import {planFile} from './file-plan.js'
import {createGroup} from './group.js'
import {fsPath} from './files.js'
import type {Transaction} from './journal.js'
import {countChanges, type ExtraSteps, type SettingPlan} from './setting.js'
import {statPath} from '../host/system.js'
import {groupGid} from './revert.js'
import {commandLine, runTool} from './tools.js'

const KVM_GROUP = DEFAULT_GROUP
export const KVM_NODE = '/dev/kvm'
export const UDEV_RULE = '/etc/udev/rules.d/65-kvmctl-kvm.rules'
const UDEV_TEXT =
  `# /dev/kvm for the ${KVM_GROUP} group. Written by \`kvmctl tune access\`; revert with \`kvmctl tune undo\`.\n` +
  `KERNEL=="kvm", GROUP="${KVM_GROUP}", MODE="0660"\n`
const NODE_MODE = 0o660

export interface AccessRequest {
  user?: string
}

export interface AccessPlan extends SettingPlan {
  user: string
  group: {name: string; gid: number | null; create: boolean}
  /** The user is listed in the group (or has it as primary group) in /etc/group and /etc/passwd. */
  member: boolean
  /** /dev/kvm now: mode and group, or null when there is no node. */
  node: {mode: string; gid: number; group: string | null} | null
  /** Whether a new login is needed before the user's sessions have the group. */
  reloginNeeded: boolean
  /** /dev/kvm gets the group and mode 0660 now (it is there, with the wrong group or mode). */
  setNode: boolean
}

function parseTable(text: string | undefined): string[][] {
  return (text ?? '')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'))
}

export async function planAccess(ctx: TuneContext, req: AccessRequest): Promise<AccessPlan> {
  const {host} = ctx
  const facts = await host.facts()
  const user = req.user ?? process.env.SUDO_USER ?? facts.user.name
  if (!user || user === 'root') {
    throw new UsageError('name the user who runs VMs: --user NAME (root can open /dev/kvm already)')
  }
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(user)) throw new UsageError(`--user ${JSON.stringify(user)} is not a user name`)
  const passwd = parseTable(await host.read('/etc/passwd')).find((f) => f[0] === user)
  if (!passwd) {
    throw new UsageError(
      `user ${user} does not exist (no line in /etc/passwd); create it first or pick another with --user`,
    )
  }
  const groups = parseTable(await host.read('/etc/group'))
  const gidName = (gid: number) => groups.find((f) => Number(f[2]) === gid)?.[0] ?? null

  // The node itself where it exists (live, or a test tree that holds one), else what the capture saw.
  const st = await statPath(host, KVM_NODE)
  const recorded = host.live ? null : (facts.devices[KVM_NODE] ?? null)
  const dev = st ? {mode: st.mode.toString(8).padStart(4, '0'), gid: st.gid} : recorded
  const node = dev ? {mode: dev.mode, gid: dev.gid, group: gidName(dev.gid)} : null
  // The group that should own the node: its own group unless that is root's, else kvm.
  const groupName = node?.group && node.gid !== 0 ? node.group : KVM_GROUP
  const gid = (await groupGid(host, groupName)) ?? null
  const line = groups.find((f) => f[0] === groupName)
  const member = (line?.[3] ?? '').split(',').includes(user) || (gid !== null && Number(passwd[3]) === gid)

  const files = []
  const warnings: string[] = []
  const commands: string[] = []
  if (gid === null) commands.push(commandLine('groupadd', ['--system', groupName]))
  if (!member) commands.push(commandLine('usermod', ['-a', '-G', groupName, user]))
  const nodeWrong = node !== null && (node.group !== groupName || (Number.parseInt(node.mode, 8) & 0o060) !== 0o060)
  // The node is changed now only where it is there to change (live, or a tree that holds it); a
  // capture's record of it gets the rule, which udev applies when the node is made.
  const setNode = nodeWrong && st !== null
  if (nodeWrong) files.push(await planFile(ctx, UDEV_RULE, () => UDEV_TEXT))
  if (setNode) commands.push(`chgrp ${groupName} ${KVM_NODE}`, `chmod 0660 ${KVM_NODE}`)
  if (node === null) {
    const later = `udev gives it group ${KVM_GROUP} when it appears`
    warnings.push(`${KVM_NODE} does not exist on this host, so its group cannot be checked; ${later}`)
  }

  // This process's groups are the login's only when it runs as that user (not under sudo).
  const asUser = facts.user.name === user
  const inSession = gid !== null && asUser && facts.user.groups.includes(gid)
  const reloginNeeded = !inSession && (asUser || !member || process.env.SUDO_USER === user)
  const plan: Omit<AccessPlan, 'changes'> = {
    tuner: 'access',
    summary:
      `${user} is ${member ? '' : 'not '}in group ${groupName}` +
      `${gid === null ? ' (which does not exist yet)' : ` (gid ${gid})`}; ` +
      `${KVM_NODE}: ${node ? `mode ${node.mode}, group ${node.group ?? node.gid}` : 'absent'}`,
    runtime: [],
    files,
    cmdline: null,
    commands,
    warnings,
    refusal: null,
    user,
    group: {name: groupName, gid, create: gid === null},
    member,
    node,
    reloginNeeded,
    setNode,
  }
  if (reloginNeeded) {
    const relogin = `log out and in again, or run \`newgrp ${groupName}\` in that shell`
    warnings.push(`${user}'s current login does not have group ${groupName} yet: ${relogin}`)
  }
  return {...plan, changes: countChanges(plan, (gid === null ? 1 : 0) + (member ? 0 : 1) + (setNode ? 1 : 0))}
}

/** The steps that are neither values nor files: the group, the membership and the node's owner. */
export function accessSteps(ctx: TuneContext, plan: AccessPlan): ExtraSteps {
  const prefix = ctx.host.root ? ['--prefix', ctx.host.root] : []
  return async (tx: Transaction) => {
    const messages: string[] = []
    const {name} = plan.group
    if (plan.group.create) {
      const made = await createGroup(tx, name)
      if (made) messages.push(made)
    }
    if (!plan.member) {
      const args = [...prefix, '-a', '-G', name, plan.user]
      const step = {kind: 'member' as const, user: plan.user, group: name}
      const r = await tx.change(step, () => runTool(ctx.host, 'usermod', args))
      if (r.exitCode !== 0) throw new OperationError(`${r.command} failed (exit ${r.exitCode}): ${r.output}`)
      const line = ((await ctx.host.read('/etc/group')) ?? '').split('\n').find((l) => l.startsWith(`${name}:`)) ?? ''
      if (!(line.split(':')[3] ?? '').split(',').includes(plan.user)) {
        throw new OperationError(`/etc/group does not list ${plan.user} in ${name} after usermod`)
      }
      messages.push(`added ${plan.user} to group ${name} (verified in /etc/group)`)
    }
    if (plan.setNode) {
      const old = await statPath(ctx.host, KVM_NODE)
      if (!old) throw new OperationError(`${KVM_NODE} is gone since the plan; run kvmctl tune access again`)
      const gid = (await groupGid(ctx.host, name))!
      await tx.change({kind: 'attrs', path: KVM_NODE, mode: old.mode, uid: old.uid, gid: old.gid}, async () => {
        await chown(fsPath(ctx.host, KVM_NODE), old.uid, gid)
        await chmod(fsPath(ctx.host, KVM_NODE), NODE_MODE)
      })
      messages.push(`${KVM_NODE} now mode 0660 group ${name}; the udev rule keeps it so`)
    }
    return messages
  }
}
