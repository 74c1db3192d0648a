import * as Flags from '@oclif/core/flags'

import {Host} from '../../host/host.js'
import {BaseCommand} from '../../lib/base-command.js'
import {makeChalk} from '../../lib/style.js'
import {liveContext} from '../../tune/context.js'
import {type TuneJson, tuneJson} from '../../tune/json.js'
import {acquireTuneLock} from '../../tune/lock.js'
import {applyNested, type NestedPlan, type NestedResult, planNested} from '../../tune/nested.js'
import {renderNestedPlan, renderNestedResult} from '../../tune/render.js'

export type TuneNestedJson = TuneJson<NestedPlan, NestedResult>

export default class TuneNested extends BaseCommand {
  static override summary = 'Turn nested virtualization on (or off) in kvm_intel/kvm_amd, verify it and persist it'
  static override description =
    'Reloads the vendor module with nested=1 through modprobe (path: KVMCTL_MODPROBE or modprobe), checks /sys/module/MODULE/parameters/nested and writes /etc/modprobe.d/MODULE.conf. Refuses while VMs use the module (--persist-only writes the file for the next load). A built-in module gets the kernel command line to add; a PVM host (kvm_pvm) has no nested virtualization: exit 1, nothing changed.'
  static override examples = ['<%= config.bin %> tune nested --dry-run', '<%= config.bin %> tune nested', '<%= config.bin %> tune nested --persist-only', '<%= config.bin %> tune nested --disable']
  static override flags = {
    disable: Flags.boolean({description: 'turn nested virtualization off instead'}),
    'persist-only': Flags.boolean({description: 'only write /etc/modprobe.d; takes effect at the next module load'}),
    'dry-run': Flags.boolean({description: 'print the plan and change nothing (any user)', default: false}),
    root: Flags.string({description: 'operate on a host tree instead of the live machine (tests)', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<TuneNestedJson> {
    const {flags} = await this.parse(TuneNested)
    const c = makeChalk()
    const ctx = liveContext(await Host.open(flags.root))
    const req = {disable: flags.disable, persistOnly: flags['persist-only']}
    let plan = await planNested(ctx, req)
    let result: NestedResult | null = null
    if (flags['dry-run']) {
      if (!this.jsonEnabled()) this.log([...renderNestedPlan(plan, c), `  ${plan.explanation}`].join('\n'))
    } else {
      // Only a run that will change something takes the lock (and so needs to write /run).
      const lock = plan.changes > 0 ? await acquireTuneLock(ctx.host) : undefined
      try {
        if (lock) plan = await planNested(ctx, req)
        result = await applyNested(ctx, plan)
      } finally {
        await lock?.release()
      }
      if (!this.jsonEnabled()) this.log([...renderNestedPlan(plan, c), ...renderNestedResult(plan, result, c)].join('\n'))
      if (!['applied', 'unchanged'].includes(result.status)) this.failed = true
    }
    return tuneJson(flags['dry-run'], plan, result)
  }
}
