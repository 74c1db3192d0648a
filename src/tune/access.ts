// `kvmctl tune access [--user NAME]`: the pure intent (src/plan/access.ts) turned into the udev rule
// file and the journaled steps that let a user open /dev/kvm the way distributions intend:
// membership in the group that owns the node (kvm; created when missing), and a udev rule only
// when the node's group or mode is not that. The user's running sessions keep their old groups
// until a new login: the plan says so.
import {chmod, chown} from 'node:fs/promises'

import {groupNow} from '../host/accounts.js'
import {gatherFacts} from '../host/facts.js'
import {statPath} from '../host/system.js'
import {OperationError} from '../lib/errors.js'
import {type AccessRequest, KVM_NODE, planAccessIntent} from '../plan/access.js'
import {KVM_NODE_MODE, KVM_UDEV_RULE, kvmUdevLine} from '../plan/targets.js'
import type {TuneContext} from './context.js'
import {planFile} from './file-plan.js'
import {fsPath} from './files.js'
import {createGroup} from './group.js'
import type {Transaction} from './journal.js'
import {countChanges, type ExtraSteps, type SettingPlan} from './setting.js'
import {runTool} from './tools.js'

export {KVM_NODE}
export const UDEV_RULE = KVM_UDEV_RULE

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

const udevText = (group: string) =>
  `# /dev/kvm for the ${group} group. Written by \`kvmctl tune access\`; revert with \`kvmctl tune undo\`.\n` +
  `${kvmUdevLine(group)}\n`

export async function planAccess(ctx: TuneContext, req: Pick<AccessRequest, 'user'>): Promise<AccessPlan> {
  const sudoUser = process.env.SUDO_USER
  // The user's account is read with the facts: the named one, else the sudo caller, else this process's.
  const user = req.user ?? sudoUser ?? (await ctx.host.facts()).user.name
  const facts = await gatherFacts(ctx.host, {paths: [KVM_NODE], users: user ? [user] : []})
  const intent = planAccessIntent(facts, {user: req.user, sudoUser})
  const {name, gid} = intent.group
  const files = intent.udevRule ? [await planFile(ctx, UDEV_RULE, () => udevText(name))] : []
  const plan: Omit<AccessPlan, 'changes'> = {
    tuner: 'access',
    summary: intent.summary,
    runtime: [],
    files,
    cmdline: null,
    commands: intent.commands,
    warnings: intent.warnings,
    refusal: null,
    user: intent.user,
    // planAccessIntent has read /etc/group (else it said what the capture lacks): the gid is known.
    group: {name, gid: gid ?? null, create: intent.group.create},
    member: intent.member === true,
    node: intent.node,
    reloginNeeded: intent.reloginNeeded,
    setNode: intent.setNode,
  }
  const steps = (intent.group.create ? 1 : 0) + (intent.member ? 0 : 1) + (intent.setNode ? 1 : 0)
  return {...plan, changes: countChanges(plan, steps)}
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
      if (!(await groupNow(ctx.host, name))?.members.includes(plan.user)) {
        throw new OperationError(`/etc/group does not list ${plan.user} in ${name} after usermod`)
      }
      messages.push(`added ${plan.user} to group ${name} (verified in /etc/group)`)
    }
    if (plan.setNode) {
      // The node as it is now (under the lock), journaled so that undo gives back its mode and owner.
      const old = await statPath(ctx.host, KVM_NODE)
      if (!old) throw new OperationError(`${KVM_NODE} is gone since the plan; run kvmctl tune access again`)
      const gid = (await groupNow(ctx.host, name))?.gid
      if (gid === undefined)
        throw new OperationError(`group ${name} is not in /etc/group; run kvmctl tune access again`)
      await tx.change({kind: 'attrs', path: KVM_NODE, mode: old.mode, uid: old.uid, gid: old.gid}, async () => {
        await chown(fsPath(ctx.host, KVM_NODE), old.uid, gid)
        await chmod(fsPath(ctx.host, KVM_NODE), KVM_NODE_MODE)
      })
      messages.push(`${KVM_NODE} now mode 0660 group ${name}; the udev rule keeps it so`)
    }
    return messages
  }
}
