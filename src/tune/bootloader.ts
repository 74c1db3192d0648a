// How kvmctl changes the next boot's kernel command line (src/host/boot-loader.ts finds it):
//  - GRUB (Debian, Ubuntu; RHEL 7 and older Fedora): GRUB_CMDLINE_LINUX in /etc/default/grub, then
//    `update-grub` (Debian) or `grub2-mkconfig -o` /boot/grub2/grub.cfg, or the EFI vendor path
//    where that holds the full config (older Fedora/RHEL; since Fedora 34 it is a stub);
//  - BLS entries managed by grubby (Fedora, RHEL 8+): `grubby --update-kernel=ALL --args/--remove-args`
//    for the installed kernels, and /etc/default/grub and /etc/kernel/cmdline for kernels installed
//    later (Fedora's 20-grub.install builds new entries from /etc/kernel/cmdline when it exists);
//  - systemd-boot / kernel-install: /etc/kernel/cmdline, and the `options` lines of the entries
//    already in $BOOT/loader/entries (kernel-install copies the file into new ones).
// Files kvmctl edits are written through the journal like every tune file; files a boot loader
// tool rewrites are backed up in the journal first, so `kvmctl tune undo` restores them exactly.
import {
  type BootLoader,
  type BootLoaderKind,
  detectBootLoader,
  GRUB_DEFAULT,
  KERNEL_CMDLINE,
  NO_BOOT_LOADER,
} from '../host/boot-loader.js'
import type {Host} from '../host/host.js'
import {OperationError} from '../lib/errors.js'
import {NotCapturedError} from '../plan/not-captured.js'
import {
  blsOptions,
  describeEdit,
  editBlsEntry,
  editGrubDefault,
  editKernelCmdlineFile,
  grubCmdline,
  type ParamEdit,
  paramText,
  satisfies,
  validateEdit,
} from './cmdline.js'
import {requireRoot, type TuneContext} from './context.js'
import {type FileChange, planFile} from './file-plan.js'
import {refuseInterrupted, Transaction} from './journal.js'
import {rollBackInto} from './revert.js'
import {refuseLiveToolsUnderRoot, runTool, type ToolName} from './tools.js'

export {detectBootLoader} from '../host/boot-loader.js'

const GRUBENV = '/boot/grub2/grubenv'

export interface CmdlinePlan {
  loader: BootLoaderKind | null
  /** Each requested change, as `set NAME=VALUE` or `remove NAME`. */
  edits: string[]
  /** The same changes as data: what applying writes and verifies. */
  params: ParamEdit[]
  /** The next boot's command line now, and after the edits (as far as kvmctl writes it). */
  before: string
  after: string
  files: FileChange[]
  /** Boot loader commands applying runs, in order. */
  commands: string[]
  /** Files those commands rewrite: backed up in the journal before they run. */
  toolFiles: string[]
  /** Set when the command line cannot be edited here: what to do by hand. */
  refusal: string | null
  changes: number
}

function grubbyArgs(edit: ParamEdit): string[] {
  return ['--update-kernel=ALL', edit.op === 'set' ? `--args=${paramText(edit)}` : `--remove-args=${edit.key}`]
}

/** Plans the edits; reads the host, changes nothing. */
export async function planCmdline(ctx: TuneContext, edits: ParamEdit[]): Promise<CmdlinePlan> {
  for (const e of edits) validateEdit(e)
  const {host} = ctx
  const loader = await detectBootLoader(host)
  const wanted = edits.map(paramText).join(' ')
  const plan: CmdlinePlan = {
    loader: loader?.kind ?? null,
    edits: edits.map(describeEdit),
    params: edits,
    before: loader?.cmdline ?? '',
    after: '',
    files: [],
    commands: [],
    toolFiles: [],
    refusal: null,
    changes: 0,
  }
  if (!loader) {
    // A capture that did not hold the boot configuration says nothing about the boot loader.
    const unknown = [GRUB_DEFAULT, KERNEL_CMDLINE, '/boot/loader/entries/'].filter((p) => !host.covers(p))
    if (unknown.length > 0) throw new NotCapturedError(unknown)
    plan.refusal =
      `${NO_BOOT_LOADER}; add \`${wanted}\` to the kernel command line where your boot loader keeps it ` +
      '(GRUB_CMDLINE_LINUX in /etc/default/grub, or /etc/kernel/cmdline)'
    return plan
  }
  plan.after = edits.reduce((line, e) => (satisfies(line, e) ? line : editKernelCmdlineFile(line, e)), loader.cmdline)
  const editAll = (apply: (text: string, e: ParamEdit) => string) => (old: string | undefined) =>
    edits.reduce(apply, old ?? '')

  if (loader.kind === 'grub') {
    plan.files.push(await planFile(ctx, GRUB_DEFAULT, editAll(editGrubDefault)))
  } else if (loader.kind === 'grubby') {
    const has = (p: string) => loader.configFiles.includes(p)
    if (has(GRUB_DEFAULT)) plan.files.push(await planFile(ctx, GRUB_DEFAULT, editAll(editGrubDefault)))
    if (has(KERNEL_CMDLINE)) plan.files.push(await planFile(ctx, KERNEL_CMDLINE, editAll(editKernelCmdlineFile)))
  } else {
    const current = await host.read(KERNEL_CMDLINE)
    // kernel-install falls back to /proc/cmdline; writing the file keeps that line and adds ours.
    const start = (old: string | undefined) => old ?? (current === undefined ? `${loader.cmdline}\n` : '')
    plan.files.push(await planFile(ctx, KERNEL_CMDLINE, (old) => edits.reduce(editKernelCmdlineFile, start(old))))
    for (const entry of loader.entries) plan.files.push(await planFile(ctx, entry, editAll(editBlsEntry)))
  }
  const filesChanged = plan.files.filter((f) => f.action !== 'none').length

  if (loader.kind === 'grubby') {
    // grubby edits every entry; it runs only for edits some entry does not have yet.
    const texts = await Promise.all(loader.entries.map(async (p) => (await host.read(p)) ?? ''))
    const pending = edits.filter((e) => texts.some((t) => !satisfies(blsOptions(t), e)))
    for (const e of pending) plan.commands.push(['grubby', ...grubbyArgs(e)].join(' '))
    const grubenv = (await host.exists(GRUBENV)) ? [GRUBENV] : []
    if (pending.length > 0) plan.toolFiles = [...loader.entries, ...grubenv]
  } else if (loader.kind === 'grub' && loader.regenerate && filesChanged > 0) {
    plan.commands.push(loader.regenerate.shown)
    plan.toolFiles = [loader.regenerate.output!]
  }
  plan.changes = filesChanged + plan.commands.length
  return plan
}

/** The boot loader tools applying the plan runs (for refuseLiveToolsUnderRoot). */
export function cmdlineTools(plan: CmdlinePlan | null): ToolName[] {
  if (!plan || plan.refusal) return []
  return plan.commands.map((c) => c.split(' ')[0] as ToolName)
}

export interface CmdlineOutcome {
  /** What the configuration gives the next boot after the run, as read back. */
  after: string
  messages: string[]
}

/**
 * Applies a plan inside a transaction: files first, then the boot loader tool (its files backed up
 * beforehand). Throws on a failed tool run or a read-back that lacks an edit; the caller rolls back.
 */
export async function applyCmdline(ctx: TuneContext, tx: Transaction, plan: CmdlinePlan): Promise<CmdlineOutcome> {
  const edits = plan.params
  if (plan.refusal) throw new OperationError(plan.refusal)
  const messages: string[] = []
  for (const f of plan.files) {
    if (f.action === 'none') continue
    await tx.writeFile(f.path, f.content!, f.meta!)
    messages.push(`${f.action === 'create' ? 'created' : 'updated'} ${f.path}`)
  }
  const loader = (await detectBootLoader(ctx.host))!
  if (plan.commands.length > 0) {
    const runs: Array<[ToolName, string[]]> =
      loader.kind === 'grubby'
        ? edits
            .filter((e) => plan.commands.includes(['grubby', ...grubbyArgs(e)].join(' ')))
            .map((e) => ['grubby', grubbyArgs(e)])
        : [[loader.regenerate!.tool, loader.regenerate!.args]]
    // The files the tools rewrite are backed up and journaled first; undo restores them exactly.
    for (const [tool, args] of runs) {
      const r = await tx.rewriteWith(tool, plan.toolFiles, () => runTool(ctx.host, tool, args))
      if (r.exitCode !== 0) {
        throw new OperationError(`${r.command} failed (exit ${r.exitCode}): ${r.output || 'no output'}`)
      }
      messages.push(`ran ${[tool, ...args].join(' ')}`)
    }
  }
  const after = (await detectBootLoader(ctx.host))!
  const problems = await verifyCmdline(ctx.host, after, edits)
  if (problems.length > 0) {
    throw new OperationError(`the boot configuration does not hold the change: ${problems.join('; ')}`)
  }
  messages.push(
    `verified: the next boot gets ${edits.map((e) => (e.op === 'set' ? paramText(e) : `no ${e.key}`)).join(', ')}`,
  )
  return {after: after.cmdline, messages}
}

/** Reads every configuration file of the boot loader back and names each edit it lacks. */
export async function verifyCmdline(host: Host, loader: BootLoader, edits: ParamEdit[]): Promise<string[]> {
  const problems: string[] = []
  for (const path of loader.configFiles) {
    const text = (await host.read(path)) ?? ''
    const line = path === GRUB_DEFAULT ? grubCmdline(text) : path === KERNEL_CMDLINE ? text : blsOptions(text)
    for (const e of edits) if (!satisfies(line, e)) problems.push(`${path} lacks ${describeEdit(e)}`)
  }
  if (loader.regenerate?.output) {
    const cfg = await host.read(loader.regenerate.output)
    if (cfg === undefined) problems.push(`${loader.regenerate.output} is missing after ${loader.regenerate.tool}`)
  }
  return problems
}

export interface CmdlineResult {
  status: 'applied' | 'unchanged' | 'refused' | 'rolled-back'
  /** The next boot's command line as the configuration holds it after the run. */
  after: string
  journalId: string | null
  messages: string[]
  rollbackProblems: string[]
}

/** Runs a command line plan as one journaled run: applied and verified, or rolled back whole. */
export async function runCmdlinePlan(ctx: TuneContext, plan: CmdlinePlan, command: string): Promise<CmdlineResult> {
  const edits = plan.params
  const result: CmdlineResult = {
    status: 'unchanged',
    after: plan.before,
    journalId: null,
    messages: [],
    rollbackProblems: [],
  }
  if (plan.refusal) {
    result.status = 'refused'
    result.messages.push(plan.refusal)
    return result
  }
  if (plan.changes === 0) {
    result.messages.push(`nothing to change: the boot configuration already has ${edits.map(describeEdit).join(', ')}`)
    return result
  }
  requireRoot(ctx, `kvmctl ${command}`)
  refuseLiveToolsUnderRoot(ctx.host, cmdlineTools(plan), `kvmctl ${command}`)
  await refuseInterrupted(ctx)
  const tx = await Transaction.begin(ctx, command)
  result.journalId = tx.run.id
  try {
    const outcome = await applyCmdline(ctx, tx, plan)
    await tx.finish()
    result.status = 'applied'
    result.after = outcome.after
    result.messages.push(...outcome.messages, 'takes effect at the next boot')
  } catch (error) {
    result.status = 'rolled-back'
    await rollBackInto(tx, error, result)
  }
  return result
}
