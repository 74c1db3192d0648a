// `kvmctl tune nested`: turn nested virtualization on (or off) in the vendor KVM module, verify
// it in sysfs and persist it in /etc/modprobe.d. Refuses to reload a module that VMs are using,
// and explains the cases where no reload can help (built-in module, PVM host, no KVM at all).
import {requireRoot, type TuneContext} from './context.js'
import {editModprobeOptions} from './editors.js'
import {type FileChange, planFile} from './file-plan.js'
import {errorLine} from './files.js'
import {refuseInterrupted, Transaction} from './journal.js'
import {cannotReload, rollback} from './revert.js'
import {describeUsers, inUse, type KvmUsers, kvmUsers} from './kvm-users.js'
import {commandLine, runTool} from './tools.js'

export type VendorModule = 'kvm_intel' | 'kvm_amd'

export type NestedOutcome =
  /** Already in the wanted state. */
  | 'unchanged'
  /** Unload and load the module with the new value (or just load it when not loaded). */
  | 'reload'
  /** Only write modprobe.d; the value applies at the next load. */
  | 'persist-only'
  /** VMs use the module: reloading would kill them. */
  | 'blocked-in-use'
  /** Compiled into the kernel: only the kernel command line can set it. */
  | 'builtin'
  /** PVM host: kvm_pvm has no nested virtualization to turn on. */
  | 'pvm'
  /** Neither a vendor module nor a CPU that could load one. */
  | 'no-kvm'

export interface NestedRequest {
  disable?: boolean
  persistOnly?: boolean
}

export interface NestedPlan {
  module: VendorModule | 'kvm_pvm' | null
  loaded: boolean
  builtin: boolean
  /** The sysfs parameter as read (Y, N, 1, 0), or null when not loaded / absent. */
  current: string | null
  currentEnabled: boolean | null
  wantEnabled: boolean
  users: KvmUsers
  outcome: NestedOutcome
  /** Commands applying would run, in order. */
  commands: string[]
  files: FileChange[]
  kernelCmdline: string | null
  /** Why the outcome is what it is, and what to do. */
  explanation: string
  guestAdvice: string
  warnings: string[]
  changes: number
}

export interface NestedResult {
  status: 'applied' | 'unchanged' | 'refused' | 'not-possible' | 'failed' | 'rolled-back'
  /** The parameter after the run, as read back from sysfs. */
  nestedAfter: string | null
  files: Array<{path: string; written: boolean}>
  journalId: string | null
  messages: string[]
  rollbackProblems: string[]
}

const enabled = (v: string | null | undefined) => (v === undefined || v === null ? null : /^(y|1)$/i.test(v.trim()))
const modprobeFile = (m: VendorModule) => `/etc/modprobe.d/${m}.conf`
const GUEST_ADVICE =
  'Guests see VMX/SVM only with the host CPU model: run them with `-cpu host` (QEMU) or `<cpu mode="host-passthrough"/>` (libvirt); `kvmctl selftest` shows whether guests see vmx/svm.'

async function cpuVendorModule(ctx: TuneContext): Promise<VendorModule | null> {
  const info = (await ctx.host.read('/proc/cpuinfo')) ?? ''
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(info)?.[1]
  const flags = /^flags\s*:(.*)$/m.exec(info)?.[1].split(/\s+/) ?? []
  if (vendor === 'GenuineIntel' && flags.includes('vmx')) return 'kvm_intel'
  if ((vendor === 'AuthenticAMD' || vendor === 'HygonGenuine') && flags.includes('svm')) return 'kvm_amd'
  return null
}

/** Whether the kernel has `module` compiled in (modules.builtin, or a sysfs dir with no initstate). */
async function isBuiltin(ctx: TuneContext, module: VendorModule): Promise<boolean> {
  const {host} = ctx
  if ((await host.exists(`/sys/module/${module}`)) && !(await host.exists(`/sys/module/${module}/initstate`))) return true
  const release = await host.readValue('/proc/sys/kernel/osrelease')
  const builtin = release ? await host.read(`/lib/modules/${release}/modules.builtin`) : undefined
  return builtin?.split('\n').some((l) => l.endsWith(`/${module.replace('_', '-')}.ko`)) ?? false
}

export async function planNested(ctx: TuneContext, req: NestedRequest): Promise<NestedPlan> {
  const {host} = ctx
  const wantEnabled = !req.disable
  const want = wantEnabled ? '1' : '0'
  let module: VendorModule | null = null
  for (const m of ['kvm_intel', 'kvm_amd'] as const) if (await host.exists(`/sys/module/${m}`)) module = m
  const pvm = await host.exists('/sys/module/kvm_pvm')
  const plan: NestedPlan = {
    module,
    loaded: module !== null,
    builtin: false,
    current: null,
    currentEnabled: null,
    wantEnabled,
    users: {refcnt: null, holders: [], processes: []},
    outcome: 'unchanged',
    commands: [],
    files: [],
    kernelCmdline: null,
    explanation: '',
    guestAdvice: GUEST_ADVICE,
    warnings: [],
    changes: 0,
  }

  if (module === null && pvm) {
    plan.module = 'kvm_pvm'
    plan.loaded = true
    plan.outcome = wantEnabled ? 'pvm' : 'unchanged'
    plan.explanation = wantEnabled
      ? 'this host runs KVM through kvm_pvm (Pagetable-based Virtual Machine), which has no nested virtualization: it gives guests no VMX or SVM to run their own KVM, and no module parameter or kernel option can add it. Nothing was changed. Nested KVM needs a host with kvm_intel or kvm_amd.'
      : 'kvm_pvm offers no nested virtualization, so it is already off; nothing to change.'
    return plan
  }
  if (module === null) module = await cpuVendorModule(ctx)
  if (module === null) {
    plan.outcome = 'no-kvm'
    plan.explanation = 'no kvm_intel or kvm_amd module is loaded and the CPU shows neither vmx nor svm, so there is no KVM to nest; enable VT-x/AMD-V in the firmware (or the outer hypervisor) first'
    return plan
  }
  plan.module = module
  plan.builtin = await isBuiltin(ctx, module)
  plan.current = plan.loaded ? ((await host.readValue(`/sys/module/${module}/parameters/nested`)) ?? null) : null
  plan.currentEnabled = enabled(plan.current)
  plan.users = await kvmUsers(host, plan.loaded ? module : null)

  if (plan.currentEnabled === wantEnabled) {
    plan.outcome = 'unchanged'
    plan.explanation = `${module} already has nested=${plan.current}; nothing to change`
    const persisted = await host.read(modprobeFile(module))
    if (persisted !== undefined && editModprobeOptions(persisted, module, 'nested', want) !== persisted) {
      plan.warnings.push(`${modprobeFile(module)} sets another nested value; the next module load will use it`)
    }
    return plan
  }
  if (plan.builtin) {
    plan.outcome = 'builtin'
    plan.kernelCmdline = `${module}.nested=${want}`
    plan.explanation = `${module} is built into the kernel, so it cannot be reloaded; add \`${plan.kernelCmdline}\` to the kernel command line and reboot`
    return plan
  }

  plan.files.push(await planFile(ctx, modprobeFile(module), (old) => editModprobeOptions(old, module!, 'nested', want)))
  const fileChanges = plan.files.filter((f) => f.action !== 'none').length
  if (req.persistOnly) {
    plan.outcome = 'persist-only'
    plan.explanation = `writing ${modprobeFile(module)} only; nested=${want} takes effect the next time ${module} loads (after the VMs stop: \`modprobe -r ${module} && modprobe ${module}\`, or a reboot)`
    plan.changes = fileChanges
    return plan
  }
  if (plan.loaded && inUse(plan.users)) {
    plan.outcome = 'blocked-in-use'
    plan.explanation = `${module} is in use (${describeUsers(plan.users)}); reloading it would stop those VMs. Stop them and run again, or add --persist-only to write ${modprobeFile(module)} for the next load`
    return plan
  }
  plan.outcome = 'reload'
  if (plan.loaded) plan.commands.push(commandLine('modprobe', ['-r', module]))
  plan.commands.push(commandLine('modprobe', [module, `nested=${want}`]))
  plan.explanation = `${plan.loaded ? 'reload' : 'load'} ${module} with nested=${want}, verify /sys/module/${module}/parameters/nested, and persist it in ${modprobeFile(module)}`
  plan.changes = 1 + fileChanges
  return plan
}

export async function applyNested(ctx: TuneContext, plan: NestedPlan): Promise<NestedResult> {
  const result: NestedResult = {status: 'unchanged', nestedAfter: plan.current, files: [], journalId: null, messages: [], rollbackProblems: []}
  switch (plan.outcome) {
    case 'unchanged':
      result.messages.push(plan.explanation)
      return result
    case 'pvm':
    case 'builtin':
    case 'no-kvm':
      result.status = 'not-possible'
      result.messages.push(plan.explanation)
      return result
    case 'blocked-in-use':
      result.status = 'refused'
      result.messages.push(plan.explanation)
      return result
  }
  requireRoot(ctx, 'kvmctl tune nested')
  await refuseInterrupted(ctx)
  if (plan.changes === 0) {
    result.messages.push('nothing to change: the module file already holds the value')
    return result
  }
  const module = plan.module as VendorModule
  const want = plan.wantEnabled ? '1' : '0'
  // Unloading a module that cannot be loaded again (its .ko gone after a kernel upgrade) would
  // leave the host without KVM: prove it loads before anything is changed.
  if (plan.outcome === 'reload' && plan.loaded) {
    const why = await cannotReload(ctx, module)
    if (why) {
      result.status = 'refused'
      result.messages.push(`not unloading ${module}: ${why}. Nothing was changed; reinstall the modules of the running kernel (or reboot into the new one), or add --persist-only`)
      return result
    }
  }
  const tx = await Transaction.begin(ctx, `tune nested${plan.wantEnabled ? '' : ' --disable'}`)
  result.journalId = tx.run.id
  const fail = async (message: string) => {
    result.status = 'rolled-back'
    result.messages.push(message)
    const report = await rollback(tx)
    result.rollbackProblems = report.problems
    result.messages.push(...report.kept)
    if (report.problems.length === 0) result.journalId = null
    result.nestedAfter = (await ctx.host.readValue(`/sys/module/${module}/parameters/nested`)) ?? null
    result.messages.push(report.problems.length === 0 && report.kept.length === 0 ? `rolled back: ${module} is as it was` : 'rollback was incomplete; see rollbackProblems')
    return result
  }
  try {
    if (plan.outcome === 'reload') {
      const failure = await tx.change({kind: 'module', module, param: 'nested', before: plan.loaded ? plan.current : null}, async () => {
        if (plan.loaded) {
          const r = await runTool(ctx.host, 'modprobe', ['-r', module])
          if (r.exitCode !== 0) return `${r.command} failed (exit ${r.exitCode}): ${r.output || 'no output'}`
        }
        const r = await runTool(ctx.host, 'modprobe', [module, `nested=${want}`])
        return r.exitCode === 0 ? undefined : `${r.command} failed (exit ${r.exitCode}): ${r.output || 'no output'}`
      })
      if (failure) return await fail(failure)
      const after = (await ctx.host.readValue(`/sys/module/${module}/parameters/nested`)) ?? null
      result.nestedAfter = after
      if (enabled(after) !== plan.wantEnabled) return await fail(`/sys/module/${module}/parameters/nested reads ${after ?? '(missing)'} after the load, not ${want}`)
      result.messages.push(`${plan.loaded ? 'reloaded' : 'loaded'} ${module}: /sys/module/${module}/parameters/nested reads ${after}`)
    }
    for (const f of plan.files) {
      if (f.action === 'none') continue
      await tx.writeFile(f.path, f.content!, f.meta!)
      result.files.push({path: f.path, written: true})
      result.messages.push(`${f.action === 'create' ? 'created' : 'updated'} ${f.path}`)
    }
    await tx.finish()
  } catch (error) {
    return await fail(errorLine(error))
  }
  result.status = 'applied'
  if (plan.outcome === 'persist-only') result.messages.push(`nested=${want} applies at the next load of ${module}`)
  return result
}
