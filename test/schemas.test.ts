// The --json output contract: every schema in schemas/ compiles, the documented example shapes
// pass, broken ones are rejected, and the real commands' output validates.
import {NOT_POSSIBLE} from '../src/plan/nested.js'
import {Ajv2020} from 'ajv/dist/2020.js'
import {expect} from 'chai'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {mkdir, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCheck} from '../src/checks/run.js'
import {applyHugepages, planHugepages} from '../src/tune/hugepages.js'
import {tuneJson} from '../src/tune/json.js'
import {undoLastRun} from '../src/tune/undo.js'
import {applySetting} from '../src/tune/setting.js'
import {settingJson} from '../src/tune/setting-render.js'
import {planThp} from '../src/tune/thp.js'
import {makeBootRoot, restoreBootTools, useBootStandIns} from './support/boot-roots.js'
import {makeHugepageRoot, restoreTools, testContext, useStandInTools} from './support/tune-root.js'
import {runCli} from './support/cli.js'
import {sampleCheckReport, sampleSelftestReport} from './support/reports.js'

const ajv = new Ajv2020({strict: true, allErrors: true})
const schemaFiles = readdirSync('schemas').filter((f) => f.endsWith('.schema.json'))
for (const f of schemaFiles)
  ajv.addSchema(JSON.parse(readFileSync(join('schemas', f), 'utf8')), f.replace('.schema.json', ''))

function problems(schema: string, data: unknown): string {
  const validate = ajv.getSchema(schema)!
  return validate(data) ? '' : ajv.errorsText(validate.errors)
}

describe('JSON schemas', () => {
  it('has a versioned schema for check, selftest, each tune command and errors', () => {
    expect(schemaFiles.sort()).to.deep.equal([
      'check.schema.json',
      'error.schema.json',
      'selftest.schema.json',
      'tune-hugepages.schema.json',
      'tune-nested.schema.json',
      'tune-setting.schema.json',
      'tune-undo.schema.json',
    ])
    // check is at version 2 (the info status, structured remedies), selftest too (structured
    // remedies); the others at 1.
    const version2 = ['check.schema.json', 'selftest.schema.json']
    for (const f of schemaFiles.filter((f) => f !== 'error.schema.json')) {
      const version = JSON.parse(readFileSync(join('schemas', f), 'utf8')).properties.schema.const
      expect(version, f).to.equal(version2.includes(f) ? 2 : 1)
    }
  })

  describe('check', () => {
    it('accepts a realistic report', () => {
      expect(problems('check', sampleCheckReport())).to.equal('')
    })

    it('rejects an unknown status, a missing verdict, a bad hugepage size and a label-unsafe id', () => {
      const badStatus = sampleCheckReport() as any
      badStatus.checks[0].status = 'ok'
      expect(problems('check', badStatus)).to.contain('/checks/0/status must be equal to one of the allowed values')
      const noVerdict = sampleCheckReport() as any
      delete noVerdict.verdict
      expect(problems('check', noVerdict)).to.contain("must have required property 'verdict'")
      const badSize = sampleCheckReport() as any
      badSize.host.hugepages = {'2M': {total: 1, free: 1}}
      expect(problems('check', badSize)).to.contain('property name must be valid')
      const badId = sampleCheckReport() as any
      badId.checks[0].id = 'KVM Device'
      expect(problems('check', badId)).to.contain('/checks/0/id must match pattern')
      const newerVersion = {...sampleCheckReport(), schema: 3}
      expect(problems('check', newerVersion)).to.contain('/schema must be equal to constant')
      // Version 1's remedy, a list of strings, is not version 2's.
      const listRemedy = sampleCheckReport() as any
      listRemedy.checks[2].remedy = ['sudo usermod -aG kvm ci']
      expect(problems('check', listRemedy)).to.contain('/checks/2/remedy must be object')
      const noInfo = sampleCheckReport() as any
      delete noInfo.counts.info
      expect(problems('check', noInfo)).to.contain("must have required property 'info'")
    })

    it('accepts the report built from this live host', async () => {
      expect(problems('check', await runCheck())).to.equal('')
    })

    it('accepts the real `kvmctl check --json` output, whose counts match its checks', async () => {
      const result = await runCli(['check', '--json'])
      expect([0, 1]).to.include(result.exitCode)
      const report = JSON.parse(result.stdout)
      expect(problems('check', report)).to.equal('')
      for (const status of ['pass', 'info', 'warn', 'fail', 'skip']) {
        expect(report.counts[status], status).to.equal(
          report.checks.filter((c: {status: string}) => c.status === status).length,
        )
      }
      expect(result.exitCode).to.equal(report.verdict.kvmUsable ? 0 : 1)
    })

    it('describes a usage error with the error schema', async () => {
      const result = await runCli(['check', '--json', '--format', 'junit'])
      expect(result.exitCode).to.equal(2)
      expect(problems('error', JSON.parse(result.stdout))).to.equal('')
    })
  })

  describe('selftest', () => {
    it('accepts a realistic report, and one whose stage h measured nothing', () => {
      expect(problems('selftest', sampleSelftestReport())).to.equal('')
      expect(problems('selftest', {...sampleSelftestReport(), costs: null})).to.equal('')
    })

    it('rejects a missing phase, a stray stage key, a remedy that is not an object and a newer version', () => {
      const noPhase = sampleSelftestReport() as any
      delete noPhase.phases.firstExitNs
      expect(problems('selftest', noPhase)).to.contain("must have required property 'firstExitNs'")
      const oldLabel = sampleSelftestReport() as any
      oldLabel.stages[0].name = oldLabel.stages[0].title
      delete oldLabel.stages[0].title
      expect(problems('selftest', oldLabel)).to.contain("/stages/0 must have required property 'title'")
      expect(problems('selftest', oldLabel)).to.contain('/stages/0 must NOT have additional properties')
      const msStage = sampleSelftestReport() as any
      msStage.stages[1].durationMs = 1.2
      expect(problems('selftest', msStage)).to.contain('/stages/1 must NOT have additional properties')
      const textRemedy = sampleSelftestReport() as any
      // Version 1's remedy, a list of strings, is not version 2's.
      textRemedy.stages[6].remedy = ['kvmctl tune hugepages --vm-mem 8M']
      expect(problems('selftest', textRemedy)).to.contain('/stages/6/remedy must be object')
      const badExecution = sampleSelftestReport() as any
      badExecution.costs.execution = 'native'
      expect(problems('selftest', badExecution)).to.contain('/costs')
      const newer = {...sampleSelftestReport(), schema: 3}
      expect(problems('selftest', newer)).to.contain('/schema must be equal to constant')
    })

    it('accepts the real `kvmctl selftest --json` output', async function () {
      if (!existsSync('/dev/kvm')) this.skip() // no KVM device here: the probe cannot run
      const result = await runCli(['selftest', '--json'])
      const report = JSON.parse(result.stdout)
      expect(problems('selftest', report)).to.equal('')
      expect(result.exitCode).to.equal(report.ok ? 0 : 1)
      expect(report.costs, 'stage h measured the costs here').to.not.equal(null)
    })

    it('describes a selftest device error with the error schema', async () => {
      const result = await runCli(['selftest', '--json', '--device', '/nonexistent'])
      expect(result.exitCode).to.equal(1)
      const json = JSON.parse(result.stdout)
      expect(problems('error', json)).to.equal('')
      // How long its own work ran before the device stopped it: `npm run bench` takes it out.
      const {totalNs} = json.error
      expect(Number.isSafeInteger(totalNs) && totalNs > 0, String(totalNs)).to.equal(true)
      expect(problems('error', {error: {...json.error, totalNs: -1}})).to.contain('/error/totalNs must be >= 0')
    })
  })

  describe('tune', () => {
    const roots: string[] = []
    before(useStandInTools)
    after(async () => {
      restoreTools()
      for (const r of roots) await rm(r, {recursive: true, force: true})
    })

    it('accepts an applied hugepages run and the undo that reverts it, both from a temporary root', async () => {
      const root = await makeHugepageRoot({kvmGid: null})
      roots.push(root)
      const ctx = await testContext(root)
      const {plan, result} = await applyHugepages(ctx, {vmMem: '1G'}, await planHugepages(ctx, {vmMem: '1G'}))
      expect(result.status).to.equal('applied')
      expect(problems('tune-hugepages', JSON.parse(JSON.stringify(tuneJson(false, plan, result))))).to.equal('')
      const undoPlan = await undoLastRun(ctx, {dryRun: true})
      expect(problems('tune-undo', {schema: 1, ...undoPlan})).to.equal('')
      const undone = await undoLastRun(ctx, {dryRun: false})
      expect(undone.status).to.equal('restored')
      expect(problems('tune-undo', {schema: 1, ...undone})).to.equal('')
    })

    it('accepts an applied thp run with its command line plan (Debian GRUB root), and rejects a stray key', async () => {
      useBootStandIns()
      try {
        const root = await makeBootRoot('debian-12-grub')
        roots.push(root)
        await mkdir(join(root, 'sys/kernel/mm/transparent_hugepage'), {recursive: true})
        await writeFile(join(root, 'sys/kernel/mm/transparent_hugepage/enabled'), 'always [madvise] never\n')
        const ctx = await testContext(root)
        const plan = await planThp(ctx, {mode: 'never'})
        const result = await applySetting(ctx, plan, {command: 'tune thp --mode never'})
        const json = JSON.parse(JSON.stringify(settingJson(false, plan, result)))
        expect(json.plan.cmdline.commands).to.deep.equal(['update-grub'])
        expect(problems('tune-setting', json)).to.equal('')
        json.plan.cmdline.files[0].content = 'x'
        expect(problems('tune-setting', json)).to.contain('/plan/cmdline/files/0 must NOT have additional properties')
      } finally {
        restoreBootTools()
      }
    })

    it('rejects an unknown status, a stray mount key, a missing dryRun and a newer version', async () => {
      const root = await makeHugepageRoot()
      roots.push(root)
      const json = () => JSON.parse(JSON.stringify(tuneJson(true, plan, null)))
      const plan = await planHugepages(await testContext(root), {vmMem: '1G'})
      expect(problems('tune-hugepages', json())).to.equal('')
      expect(problems('tune-hugepages', {...json(), result: {status: 'done'}})).to.contain(
        '/result/status must be equal to one of the allowed values',
      )
      const stray = json()
      stray.plan.mount.uid = 0
      expect(problems('tune-hugepages', stray)).to.contain('/plan/mount must NOT have additional properties')
      const noDryRun = json()
      delete noDryRun.dryRun
      expect(problems('tune-hugepages', noDryRun)).to.contain("must have required property 'dryRun'")
      expect(problems('tune-nested', {schema: 2})).to.contain('/schema must be equal to constant')
      expect(
        problems('tune-undo', {schema: 1, status: 'undone', run: null, steps: [], problems: [], remaining: 0}),
      ).to.contain('/status must be equal to one of the allowed values')
    })

    // Dry runs change nothing, so they run on this live host as they are.
    const dryRuns: Array<[string, string[]]> = [
      ['tune-hugepages', ['tune', 'hugepages', '--vm-mem', '64M', '--dry-run', '--json']],
      ['tune-nested', ['tune', 'nested', '--dry-run', '--json']],
      ['tune-undo', ['tune', 'undo', '--dry-run', '--json']],
      ['tune-setting', ['tune', 'ksm', '--on', '--dry-run', '--json']],
      ['tune-setting', ['tune', 'thp', '--mode', 'always', '--dry-run', '--json']],
      ['tune-setting', ['tune', 'iommu', '--dry-run', '--json']],
      ['tune-setting', ['tune', 'access', '--user', 'nobody', '--dry-run', '--json']],
    ]
    for (const [schema, args] of dryRuns) {
      it(`accepts the real \`kvmctl ${args.join(' ')}\` output`, async () => {
        const result = await runCli(args)
        // tune nested exits 1 on a host where nesting is not possible (this PVM machine), plan and all.
        const notPossible = schema === 'tune-nested' && NOT_POSSIBLE.includes(JSON.parse(result.stdout).plan.outcome)
        expect(result.exitCode, result.stdout).to.equal(notPossible ? 1 : 0)
        expect(problems(schema, JSON.parse(result.stdout)), result.stdout).to.equal('')
      })
    }

    it('accepts the real `kvmctl tune nested --json` run here, which applies nothing', async () => {
      const result = await runCli(['tune', 'nested', '--json'])
      const report = JSON.parse(result.stdout)
      expect(problems('tune-nested', report), result.stdout).to.equal('')
      expect(report.dryRun).to.equal(false)
      expect(result.exitCode).to.equal(['applied', 'unchanged'].includes(report.result.status) ? 0 : 1)
    })
  })
})
