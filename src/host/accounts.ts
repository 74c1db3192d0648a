// User accounts and groups, read through the host. Planning reads /etc/group with the other system
// facts and /etc/passwd only for the users a planner names (tune access); apply and undo read the
// state of the moment here (groupNow, groupUsersNow), since the facts are as old as the plan.
// A capture keeps no user names (no /etc/passwd, /etc/group without members), so in a replay of
// one whether a user exists or is in a group is unknown, never "no".
import {lstatSync} from 'node:fs'

import {parseCounter} from '../lib/parse.js'
import type {Host} from './host.js'
import {GROUP_FILE, GSHADOW_FILE, PASSWD_FILE} from './paths.js'

export interface Group {
  name: string
  gid: number
  members: string[]
}

/** A user's line in /etc/passwd: what membership needs (the primary group), no more. */
export interface Account {
  name: string
  uid: number
  gid: number
}

export function parseGroups(text: string): Group[] {
  const out: Group[] = []
  for (const line of text.split('\n')) {
    const [name, , gid, members] = line.split(':')
    const id = parseCounter(gid)
    if (!name || id === undefined) continue
    out.push({name, gid: id, members: (members ?? '').split(',').filter(Boolean)})
  }
  return out
}

export function parsePasswd(text: string): Account[] {
  const out: Account[] = []
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.split(':')
    const u = parseCounter(uid)
    const g = parseCounter(gid)
    if (!name || name.startsWith('#') || u === undefined || g === undefined) continue
    out.push({name, uid: u, gid: g})
  }
  return out
}

/**
 * The accounts of the named users: each one's /etc/passwd line, or null when it has none. null
 * when they are unknown: /etc/passwd is unreadable, or a replay root has none (no host lacks one;
 * `kvmctl capture` never copies it, and drops the members of /etc/group).
 */
export async function readAccounts(
  host: Host,
  names: readonly string[],
): Promise<Record<string, Account | null> | null> {
  if (names.length === 0) return {}
  const read = await host.readResult(PASSWD_FILE)
  if (!read.ok && (!read.absent || !host.live)) return null
  const all = read.ok ? parsePasswd(read.text) : []
  return Object.fromEntries(names.map((n) => [n, all.find((a) => a.name === n) ?? null]))
}

/** Group `name` as /etc/group has it now (apply and undo: the state of the moment), if it has a line. */
export async function groupNow(host: Host, name: string): Promise<Group | undefined> {
  return parseGroups((await host.read(GROUP_FILE)) ?? '').find((g) => g.name === name)
}

/** Paths whose group ownership means a group is in use (devices VMs open, hugepage mounts). */
const GROUP_USERS = [
  '/dev/kvm',
  '/dev/vhost-net',
  '/dev/vhost-vsock',
  '/dev/net/tun',
  '/dev/sev',
  '/dev/sev-guest',
  '/dev/tdx_guest',
  '/dev/hugepages',
  '/dev/hugepages1G',
  '/dev/vfio/vfio',
]

/**
 * Why group `name` (gid) is in use now, read at the moment undo asks: members in /etc/group or
 * /etc/gshadow, users with it as primary group, device nodes and mounts it owns. [] when none.
 */
export async function groupUsersNow(host: Host, name: string, gid: number): Promise<string[]> {
  const why: string[] = []
  const members = (await groupNow(host, name))?.members ?? []
  if (members.length > 0) why.push(`it has members (${members.join(',')}) in ${GROUP_FILE}`)
  // gshadow (name:password:admins:members) has no gid, so it is not /etc/group's format.
  const shadow = ((await host.read(GSHADOW_FILE)) ?? '').split('\n').find((l) => l.split(':')[0] === name)
  const shadowMembers = shadow?.split(':')[3]?.trim()
  if (shadowMembers) why.push(`it has members (${shadowMembers}) in ${GSHADOW_FILE}`)
  const primary = parsePasswd((await host.read(PASSWD_FILE)) ?? '')
    .filter((a) => a.gid === gid)
    .map((a) => a.name)
  if (primary.length > 0) why.push(`it is the primary group of ${primary.join(', ')}`)
  const vfio = ((await host.list('/dev/vfio')) ?? []).map((n) => `/dev/vfio/${n}`)
  for (const p of new Set([...GROUP_USERS, ...vfio])) {
    if (ownerGid(host, p) === gid) why.push(`${p} belongs to it`)
  }
  return why
}

/** The group owning path itself (a symlink's own), or undefined when it is absent. */
function ownerGid(host: Host, p: string): number | undefined {
  try {
    return lstatSync(host.path(p, {followLast: false})).gid
  } catch {
    return undefined
  }
}
