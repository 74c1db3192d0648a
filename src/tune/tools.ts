// The external programs tuning runs (modprobe, modinfo, mount, umount, groupadd, groupdel), always through
// execa. Each path can be overridden (KVMCTL_MODPROBE, ...) so tests can point at stand-ins that
// edit a temporary root as the real tool edits the live host; the child sees KVMCTL_ROOT then.
import {execa} from 'execa'

import type {Host} from '../host/host.js'

export type ToolName = 'modprobe' | 'modinfo' | 'mount' | 'umount' | 'groupadd' | 'groupdel'

const ENV_NAME: Record<ToolName, string> = {
  modprobe: 'KVMCTL_MODPROBE',
  modinfo: 'KVMCTL_MODINFO',
  mount: 'KVMCTL_MOUNT',
  umount: 'KVMCTL_UMOUNT',
  groupadd: 'KVMCTL_GROUPADD',
  groupdel: 'KVMCTL_GROUPDEL',
}

export function toolPath(name: ToolName): string {
  const override = process.env[ENV_NAME[name]]
  return override && override !== '' ? override : name
}

export interface ToolRun {
  command: string
  exitCode: number
  output: string
}

/** Runs a tool; never throws for a non-zero exit (callers decide), only reports it. */
export async function runTool(host: Host, name: ToolName, args: string[]): Promise<ToolRun> {
  const file = toolPath(name)
  const env: Record<string, string> = {LC_ALL: 'C'}
  if (host.root) env.KVMCTL_ROOT = host.root
  const r = await execa(file, args, {reject: false, env, all: true})
  const output = String(r.all ?? '').trim() || (r.failed && r.exitCode === undefined ? String(r.shortMessage) : '')
  return {command: [name, ...args].join(' '), exitCode: r.exitCode ?? 127, output}
}

/** The command line as a user would type it, for plans and messages. */
export function commandLine(name: ToolName, args: string[]): string {
  return [name, ...args].join(' ')
}
