// `kvmctl tune ksm --on|--off`: Kernel Samepage Merging through /sys/kernel/mm/ksm/run (1 runs
// ksmd, 0 stops it), kept across reboots by a systemd-tmpfiles line that writes the same value
// at boot. ksmtuned and Fedora's ksm.service also drive that file: the plan names them.
import {KSM_RUN} from '../host/paths.js'
import {UsageError} from '../lib/errors.js'
import {KSM_TMPFILES} from '../plan/targets.js'
import type {TuneContext} from './context.js'
import {planFile} from './file-plan.js'
import {countChanges, readSetting, type SettingPlan} from './setting.js'

export {KSM_RUN}
export {KSM_TMPFILES} from '../plan/targets.js'
const HEADER = '# KSM for virtual machines. Written by `kvmctl tune ksm`; revert with `kvmctl tune undo`.\n'

/** Sets the systemd-tmpfiles `w PATH - - - - VALUE` line for a kernel file, keeping every other line. */
export function editTmpfilesWrite(text: string | undefined, path: string, value: string, header = HEADER): string {
  const wanted = `w ${path} - - - - ${value}`
  const lines = (text ?? '').match(/[^\n]*\n|[^\n]+$/g) ?? []
  let seen = false
  const out = lines.flatMap((line) => {
    const f = line.trim().split(/\s+/)
    if (!/^w\+?$/.test(f[0] ?? '') || f[1] !== path) return [line]
    if (seen) return []
    seen = true
    return [f.slice(6).join(' ') === value ? line : wanted + (line.endsWith('\n') ? '\n' : '')]
  })
  if (seen) return out.join('')
  const body = text === undefined ? header : out.join('')
  return `${body}${body === '' || body.endsWith('\n') ? '' : '\n'}${wanted}\n`
}

export interface KsmRequest {
  on?: boolean
  off?: boolean
  persist?: boolean
}

export async function planKsm(ctx: TuneContext, req: KsmRequest): Promise<SettingPlan> {
  if (req.on === req.off) throw new UsageError('say --on or --off; e.g. `kvmctl tune ksm --on`')
  const want = req.on ? '1' : '0'
  const {host} = ctx
  const now = await readSetting(ctx, KSM_RUN)
  const base = {tuner: 'ksm' as const, runtime: [], files: [], cmdline: null, commands: [], warnings: [] as string[]}
  if (now === undefined) {
    const refusal = `this kernel has no KSM (${KSM_RUN} is missing); it needs CONFIG_KSM=y`
    return {...base, summary: 'no KSM in this kernel', refusal, changes: 0}
  }
  const tmpfilesEdit = (old: string | undefined) => editTmpfilesWrite(old, KSM_RUN, want)
  const plan: Omit<SettingPlan, 'changes'> = {
    ...base,
    summary: `KSM ${now === '1' ? 'runs' : 'is stopped'} (run=${now}); wanted: ${req.on ? 'running' : 'stopped'} (run=${want})`,
    runtime: [{path: KSM_RUN, before: now, after: want}],
    files: req.persist === false ? [] : [await planFile(ctx, KSM_TMPFILES, tmpfilesEdit)],
    refusal: null,
  }
  const ksmtuned = (await host.exists('/usr/sbin/ksmtuned')) || (await host.exists('/etc/ksmtuned.conf'))
  if (ksmtuned) {
    plan.warnings.push(
      req.on
        ? 'ksmtuned is installed: when it runs it starts and stops KSM by memory pressure itself ' +
          '(`systemctl enable --now ksmtuned` to let it)'
        : 'ksmtuned is installed and starts KSM again under memory pressure: stop it with ' +
          '`systemctl disable --now ksmtuned`',
    )
  }
  const ksmService = (await host.exists('/usr/lib/systemd/system/ksm.service')) || (await host.exists('/lib/systemd/system/ksm.service'))
  if (!req.on && ksmService) {
    plan.warnings.push('ksm.service starts KSM at boot: `systemctl disable ksm` to keep it off')
  }
  if (req.persist !== false) plan.warnings.push(...(await tmpfilesCaveat(ctx)))
  return {...plan, changes: countChanges(plan)}
}

/** systemd-tmpfiles applies /etc/tmpfiles.d at boot only where systemd is the init system. */
export async function tmpfilesCaveat(ctx: TuneContext): Promise<string[]> {
  const init = await ctx.host.readValue('/proc/1/comm')
  if (init === undefined || init === 'systemd') return []
  return [`PID 1 is ${init}, not systemd: nothing applies /etc/tmpfiles.d at boot here, so the setting lasts until the next reboot`]
}
