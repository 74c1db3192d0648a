// `kvmctl tune access` as a pure function of the host facts: the group that should own /dev/kvm
// (its own group unless that is root's, else kvm, created when missing as distributions do),
// whether the user is in it, whether the node needs that group and mode 0660 (now, and by a udev
// rule whenever it appears) and whether the user's login must start again. src/tune turns the
// intent into the udev rule file and the journaled steps; `kvmctl check` and `kvmctl selftest`
// build their /dev/kvm access remedy here, so the advice and the fix say one thing.
import {memberOf} from '../host/derived.js'
import {isUnknown, type HostFacts} from '../host/facts.js'
import {GROUP_FILE, PASSWD_FILE} from '../host/paths.js'
import {UsageError} from '../lib/errors.js'
import {type Remedy, shellQuote as q} from '../lib/remedy.js'
import {NotCapturedError} from './not-captured.js'
import {DEFAULT_GROUP, KVM_NODE_MODE, KVM_UDEV_RULE, kvmUdevLine} from './targets.js'

export const KVM_NODE = '/dev/kvm'

export interface AccessRequest {
  user?: string
  /** $SUDO_USER where kvmctl runs under sudo: the user by default, whose login lacks a new group. */
  sudoUser?: string
}

export interface AccessIntent {
  user: string
  /** gid: null when the group does not exist (it is created), undefined when the facts do not tell. */
  group: {name: string; gid: number | null | undefined; create: boolean}
  /** The user is in the group (its member list, or the primary group); null: the facts do not tell. */
  member: boolean | null
  /** /dev/kvm: mode and group, from the node itself or a capture's record of it; null when absent. */
  node: {mode: string; gid: number; group: string | null} | null
  /** The node has another group, or no group read-write: the udev rule gives it group and mode. */
  udevRule: boolean
  /** ...and it is there to change now (live, or a tree that holds it), not only a capture's record. */
  setNode: boolean
  /** Whether a new login is needed before the user's sessions have the group. */
  reloginNeeded: boolean
  summary: string
  /** The commands applying runs, as a user would type them (without sudo). */
  commands: string[]
  warnings: string[]
}

const USER_NAME = /^[a-z_][a-z0-9_.-]*\$?$/i

/**
 * What tune access plans for req: a usage error for no user, root or a bad name, and one line
 * naming what a replayed capture did not hold (it keeps no user names, so membership is unknown
 * there) instead of a plan invented from it.
 */
export function planAccessIntent(f: HostFacts, req: AccessRequest): AccessIntent {
  if (req.user !== undefined) validUser(req.user)
  // What the plan needs of the host first: without it no user name helps.
  const unknown = new NotCapturedError.Collector(f.unreadable)
  if (f.groups === null) unknown.add(GROUP_FILE)
  if (!f.paths[KVM_NODE] && isUnknown(f, 'kvm')) unknown.add(KVM_NODE)
  unknown.throwIfAny()
  const user = validUser(req.user ?? req.sudoUser ?? f.host.user.name)
  const intent = accessIntent(f, user, req.sudoUser)
  if (intent.member === null) {
    const why = f.unreadable[PASSWD_FILE]
    const whether = `whether ${user} is in group ${intent.group.name}`
    throw new UsageError(
      why
        ? `${PASSWD_FILE} is unreadable (${why}), so ${whether} is unknown`
        : `not in this capture: ${PASSWD_FILE} and the members in ${GROUP_FILE} (a capture keeps no user names), ` +
            `so ${whether} is unknown; run \`kvmctl tune access --user ${user} --dry-run\` on the host itself`,
    )
  }
  if (f.accounts?.[user] === null) {
    throw new UsageError(
      `user ${user} does not exist (no line in ${PASSWD_FILE}); create it first or pick another with --user`,
    )
  }
  return intent
}

/** The user's name, or a usage error for none, root or a name that is not a user name. */
function validUser(user: string | undefined): string {
  if (!user || user === 'root') {
    throw new UsageError('name the user who runs VMs: --user NAME (root can open /dev/kvm already)')
  }
  if (!USER_NAME.test(user)) throw new UsageError(`--user ${JSON.stringify(user)} is not a user name`)
  return user
}

/**
 * The intent for user from whatever the facts hold, never failing: membership the facts do not
 * tell is null, a group they cannot name has an unknown gid (check's remedy on a capture).
 */
export function accessIntent(f: HostFacts, user: string, sudoUser?: string): AccessIntent {
  // /etc/group where it was read; else the group name a capture recorded with the node.
  const groups = f.groups
  // The node itself where it is there (live, or a test tree that holds one), else what the capture saw.
  const here = f.paths[KVM_NODE] ?? null
  const recorded = f.host.devices[KVM_NODE] ?? null
  const dev = here ? {mode: here.mode.toString(8).padStart(4, '0'), gid: here.gid} : recorded
  const named = dev && groups?.find((g) => g.gid === dev.gid)?.name
  const node = dev ? {mode: dev.mode, gid: dev.gid, group: named ?? (here ? null : (recorded?.group ?? null))} : null
  // The group that should own the node: its own group unless that is root's, else kvm.
  const name = node?.group && node.gid !== 0 ? node.group : DEFAULT_GROUP
  const gid = groups ? (groups.find((g) => g.name === name)?.gid ?? null) : node?.group === name ? node.gid : undefined
  const member = memberOf(f, user, name)
  const udevRule = node !== null && (node.group !== name || (Number.parseInt(node.mode, 8) & 0o060) !== 0o060)
  // The node is changed now only where it is there to change; a capture's record of it gets the
  // rule, which udev applies when the node is made.
  const setNode = udevRule && here !== null
  const commands: string[] = []
  const warnings: string[] = []
  if (gid === null) commands.push(`groupadd --system ${q(name)}`)
  if (member !== true) commands.push(`usermod -a -G ${q(name)} ${q(user)}`)
  if (setNode) commands.push(`chgrp ${q(name)} ${KVM_NODE}`, `chmod 0${KVM_NODE_MODE.toString(8)} ${KVM_NODE}`)
  if (node === null) {
    const later = `udev gives it group ${DEFAULT_GROUP} when it appears`
    warnings.push(`${KVM_NODE} does not exist on this host, so its group cannot be checked; ${later}`)
  }
  // This process's groups are the login's only when it runs as that user (not under sudo).
  const asUser = f.host.user.name === user
  const inSession = typeof gid === 'number' && asUser && f.host.user.groups.includes(gid)
  const reloginNeeded = !inSession && (asUser || member !== true || sudoUser === user)
  if (reloginNeeded) {
    const relogin = `log out and in again, or run \`newgrp ${name}\` in that shell`
    warnings.push(`${user}'s current login does not have group ${name} yet: ${relogin}`)
  }
  const is = member === null ? 'may not be' : member ? 'is' : 'is not'
  const which = gid === null ? ' (which does not exist yet)' : gid === undefined ? '' : ` (gid ${gid})`
  return {
    user,
    group: {name, gid, create: gid === null},
    member,
    node,
    udevRule,
    setNode,
    reloginNeeded,
    summary:
      `${user} ${is} in group ${name}${which}; ` +
      `${KVM_NODE}: ${node ? `mode ${node.mode}, group ${node.group ?? node.gid}` : 'absent'}`,
    commands,
    warnings,
  }
}

/**
 * Letting this user open /dev/kvm (check's and selftest's answer to EACCES): `kvmctl tune access`,
 * or its steps by hand, from the same intent. A capture names no user: then the command picks the
 * sudo caller, and the steps say "$USER".
 */
export function accessRemedy(f: HostFacts): Remedy {
  const name = f.host.user.name
  const user = name && USER_NAME.test(name) && name !== 'root' ? name : undefined
  const intent = accessIntent(f, user ?? '$USER')
  const g = q(intent.group.name)
  const steps: string[] = []
  if (intent.group.gid === undefined) steps.push(`getent group ${g} || sudo groupadd --system ${g}`)
  if (intent.group.create) steps.push(`sudo groupadd --system ${g}`)
  if (intent.udevRule) {
    steps.push(
      `sudo chgrp ${g} ${KVM_NODE} && sudo chmod 0${KVM_NODE_MODE.toString(8)} ${KVM_NODE}`,
      `keep it across reboots with a udev rule: echo '${kvmUdevLine(intent.group.name)}' | sudo tee ${KVM_UDEV_RULE}`,
    )
  }
  if (intent.member !== true) steps.push(`sudo usermod -aG ${g} ${user ? q(user) : '"$USER"'}`)
  steps.push(`then log out and log in again (or run \`newgrp ${g}\`) so the new group applies`)
  return {kvmctl: ['tune', 'access', ...(user ? ['--user', user] : [])], steps}
}
