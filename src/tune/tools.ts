// The external programs tuning runs (modprobe, modinfo, mount, umount, groupadd, groupdel, usermod and
// the boot loader tools), always through runProcess. Each path can be overridden (KVMCTL_MODPROBE, ...) so tests can point at stand-ins that
// edit a temporary root as the real tool edits the live host; the child sees KVMCTL_ROOT then.
import type {Host} from '../host/host.js'
import {UsageError} from '../lib/errors.js'
import {printable} from '../lib/printable.js'
import {runProcess} from '../lib/run-process.js'

export type ToolName =
  | 'modprobe'
  | 'modinfo'
  | 'mount'
  | 'umount'
  | 'groupadd'
  | 'groupdel'
  | 'usermod'
  | 'update-grub'
  | 'grub-mkconfig'
  | 'grub2-mkconfig'
  | 'grubby'

const ENV_NAME: Record<ToolName, string> = {
  modprobe: 'KVMCTL_MODPROBE',
  modinfo: 'KVMCTL_MODINFO',
  mount: 'KVMCTL_MOUNT',
  umount: 'KVMCTL_UMOUNT',
  groupadd: 'KVMCTL_GROUPADD',
  groupdel: 'KVMCTL_GROUPDEL',
  usermod: 'KVMCTL_USERMOD',
  'update-grub': 'KVMCTL_UPDATE_GRUB',
  'grub-mkconfig': 'KVMCTL_GRUB_MKCONFIG',
  'grub2-mkconfig': 'KVMCTL_GRUB2_MKCONFIG',
  grubby: 'KVMCTL_GRUBBY',
}

export function toolPath(name: ToolName): string {
  return standIn(name) ?? name
}

function standIn(name: ToolName): string | undefined {
  const override = process.env[ENV_NAME[name]]
  return override && override !== '' ? override : undefined
}

// These change the running kernel or this machine's boot configuration whatever --root says
// (groupadd/groupdel/usermod take --prefix, modinfo only reads; update-grub and grubby read and
// write the live /etc/default/grub and /boot): under a root they run only as a stand-in.
const ACTS_ON_RUNNING_KERNEL: ReadonlySet<ToolName> = new Set([
  'modprobe',
  'mount',
  'umount',
  'update-grub',
  'grub-mkconfig',
  'grub2-mkconfig',
  'grubby',
])

function wouldReachLiveMachine(host: Host, name: ToolName): boolean {
  return host.root !== undefined && ACTS_ON_RUNNING_KERNEL.has(name) && standIn(name) === undefined
}

/**
 * Refuses, before anything changes, to apply a plan to a --root tree when a step would run a tool
 * that acts on the running kernel (mounting hugetlbfs, loading a module): that is this machine,
 * not the tree.
 */
export function refuseLiveToolsUnderRoot(host: Host, names: ToolName[], what: string): void {
  const live = [...new Set(names)].filter((n) => wouldReachLiveMachine(host, n))
  if (live.length === 0) return
  throw new UsageError(
    `${what} --root ${printable(host.root!)}: applying runs ${live.join(', ')}, which acts on this machine's ` +
      `running kernel, not on the tree; add --dry-run to see the plan (tests point ${live.map((n) => ENV_NAME[n]).join(', ')} ` +
      'at a stand-in that edits the tree)',
  )
}

export interface ToolRun {
  command: string
  exitCode: number
  output: string
}

/** Runs a tool; never throws for a non-zero exit (callers decide), only reports it. */
export async function runTool(host: Host, name: ToolName, args: string[]): Promise<ToolRun> {
  if (wouldReachLiveMachine(host, name)) {
    // The last guard: the planners refuse first (refuseLiveToolsUnderRoot); undo of an old journal lands here.
    const output = `not run: ${name} acts on this machine's running kernel, not on --root ${printable(host.root!)}`
    return {command: [name, ...args].join(' '), exitCode: 126, output}
  }
  const file = toolPath(name)
  const env: Record<string, string> = {LC_ALL: 'C'}
  if (host.root) env.KVMCTL_ROOT = host.root
  const r = await runProcess(file, args, env)
  const output = r.all.trim() || (r.exitCode === undefined ? (r.failure ?? '') : '')
  return {command: [name, ...args].join(' '), exitCode: r.exitCode ?? 127, output}
}

/** The command line as a user would type it, for plans and messages. */
export function commandLine(name: ToolName, args: string[]): string {
  return [name, ...args].join(' ')
}
