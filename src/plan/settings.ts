// `kvmctl tune ksm` and `kvmctl tune thp` as pure functions of the host facts: the kernel value to
// write now, what keeps it at boot (a systemd-tmpfiles line for KSM, `transparent_hugepage=` on the
// kernel command line for THP) and what to warn about. src/tune turns an intent into file and
// command line diffs; `kvmctl check` builds its KSM and THP remedies here, so both say one thing.
import type {ParamEdit} from '../host/cmdline.js'
import {isUnknown, type HostFacts} from '../host/facts.js'
import {KSM_RUN, KSM_SERVICE_PATHS, KSMTUNED_PATHS, PID1_COMM, THP_ENABLED} from '../host/paths.js'
import {UsageError} from '../lib/errors.js'
import type {Remedy} from '../lib/remedy.js'
import {NotCapturedError} from './not-captured.js'
import {KSM_TMPFILES} from './targets.js'

export const THP_MODES = ['always', 'madvise', 'never'] as const
export type ThpMode = (typeof THP_MODES)[number]
/** The mode check advises and QEMU wants: guest RAM is madvised, the rest of the host is left alone. */
export const ADVISED_THP_MODE: ThpMode = 'madvise'

export interface KsmRequest {
  on?: boolean
  off?: boolean
  persist?: boolean
}

export interface ThpRequest {
  mode: string
  persist?: boolean
}

/** One kernel value: as the facts read it, and as wanted. */
export interface ValueIntent {
  path: string
  before: string
  after: string
}

export interface SettingIntent {
  /** One line: what the host has now and what applying gives it. */
  summary: string
  /** Set when this host cannot be tuned so: why. Nothing else is planned then. */
  refusal: string | null
  value: ValueIntent | null
  warnings: string[]
}

export interface KsmIntent extends SettingIntent {
  /** The systemd-tmpfiles line that writes the value at boot, or null with --no-persist. */
  tmpfilesLine: string | null
}

export interface ThpIntent extends SettingIntent {
  /** Kernel command line edits for the next boot (none with --no-persist). */
  edits: ParamEdit[]
}

/** The systemd-tmpfiles line that writes value to a kernel file at every boot. */
export function tmpfilesWriteLine(path: string, value: string): string {
  return `w ${path} - - - - ${value}`
}

export const thpEdits = (mode: ThpMode): ParamEdit[] => [{op: 'set', key: 'transparent_hugepage', value: mode}]

export function planKsmIntent(f: HostFacts, req: KsmRequest): KsmIntent {
  if (req.on === req.off) throw new UsageError('say --on or --off; e.g. `kvmctl tune ksm --on`')
  if (isUnknown(f, 'ksm')) throw new NotCapturedError([KSM_RUN], f.unreadable)
  const want = req.on ? '1' : '0'
  const now = f.ksm
  if (now === null) {
    const refusal = `this kernel has no KSM (${KSM_RUN} is missing); it needs CONFIG_KSM=y`
    return {summary: 'no KSM in this kernel', refusal, value: null, tmpfilesLine: null, warnings: []}
  }
  const warnings: string[] = []
  const {ksmtuned, ksmService} = f.services
  if (ksmtuned === null) {
    warnings.push(`whether ksmtuned is installed is not in this capture (${KSMTUNED_PATHS.join(', ')})`)
  }
  if (ksmtuned) {
    warnings.push(
      req.on
        ? 'ksmtuned is installed: when it runs it starts and stops KSM by memory pressure itself ' +
            '(`systemctl enable --now ksmtuned` to let it)'
        : 'ksmtuned is installed and starts KSM again under memory pressure: stop it with ' +
            '`systemctl disable --now ksmtuned`',
    )
  }
  if (!req.on && ksmService === null) {
    warnings.push(`whether ksm.service is installed is not in this capture (${KSM_SERVICE_PATHS.join(', ')})`)
  }
  if (!req.on && ksmService) warnings.push('ksm.service starts KSM at boot: `systemctl disable ksm` to keep it off')
  const persist = req.persist !== false
  if (persist) warnings.push(...tmpfilesCaveat(f))
  return {
    summary:
      `KSM ${now === '1' ? 'runs' : 'is stopped'} (run=${now}); ` +
      `wanted: ${req.on ? 'running' : 'stopped'} (run=${want})`,
    refusal: null,
    value: {path: KSM_RUN, before: now, after: want},
    tmpfilesLine: persist ? tmpfilesWriteLine(KSM_RUN, want) : null,
    warnings,
  }
}

/** systemd-tmpfiles applies /etc/tmpfiles.d at boot only where systemd is the init system. */
export function tmpfilesCaveat(f: HostFacts): string[] {
  const init = f.services.init
  if (init === 'systemd') return []
  if (init === null) {
    if (f.live) return []
    return [`PID 1's name is not in this capture (${PID1_COMM}): systemd alone applies /etc/tmpfiles.d at boot`]
  }
  return [
    `PID 1 is ${init}, not systemd: nothing applies /etc/tmpfiles.d at boot here, ` +
      'so the setting lasts until the next reboot',
  ]
}

export function planThpIntent(f: HostFacts, req: ThpRequest): ThpIntent {
  if (!(THP_MODES as readonly string[]).includes(req.mode)) {
    throw new UsageError(`--mode ${JSON.stringify(req.mode)} is not a THP mode; use always, madvise or never`)
  }
  if (isUnknown(f, 'thp')) throw new NotCapturedError([THP_ENABLED], f.unreadable)
  const mode = req.mode as ThpMode
  if (f.thp === null) {
    const refusal =
      `this kernel has no transparent hugepages (${THP_ENABLED} is missing); ` +
      'it needs CONFIG_TRANSPARENT_HUGEPAGE=y'
    return {summary: 'no transparent hugepages in this kernel', refusal, value: null, edits: [], warnings: []}
  }
  return {
    summary: `transparent hugepages now: ${f.thp}; wanted: ${mode}`,
    refusal: null,
    value: {path: THP_ENABLED, before: f.thp, after: mode},
    edits: req.persist === false ? [] : thpEdits(mode),
    warnings: [],
  }
}

/** Turn KSM on now and at boot: `kvmctl tune ksm --on`, or its value and tmpfiles line by hand. */
export function ksmOnRemedy(f: HostFacts): Remedy {
  const intent = planKsmIntent(f, {on: true})
  const steps = intent.value ? [`echo ${intent.value.after} | sudo tee ${intent.value.path}`] : []
  if (intent.tmpfilesLine) {
    steps.push(`keep it across reboots: echo "${intent.tmpfilesLine}" | sudo tee ${KSM_TMPFILES}`)
  }
  return {kvmctl: ['tune', 'ksm', '--on'], steps}
}

/** THP for guest RAM (madvise): `kvmctl tune thp --mode madvise`, or the value and the parameter by hand. */
export function thpRemedy(f: HostFacts, mode: ThpMode = ADVISED_THP_MODE): Remedy {
  const intent = planThpIntent(f, {mode})
  const steps = intent.value ? [`echo ${intent.value.after} | sudo tee ${intent.value.path}`] : []
  const params = intent.edits.map((e) => (e.op === 'set' && e.value !== undefined ? `${e.key}=${e.value}` : e.key))
  if (params.length) steps.push(`keep it across reboots: add \`${params.join(' ')}\` to the kernel command line`)
  return {kvmctl: ['tune', 'thp', '--mode', mode], steps}
}
