// tune ksm and tune thp plan from the host facts (src/plan/settings.ts), and check's KSM and THP
// rows advise what those planners plan: one voice. The services tune ksm names are facts read once
// and kept by capture; a capture without them says so, never "not installed".
import {expect} from 'chai'
import {cp, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {runChecks} from '../src/checks/index.js'
import type {CheckReport} from '../src/checks/report.js'
import {captureSystemFacts} from '../src/host/capture-system.js'
import {KSM_RUN, THP_ENABLED} from '../src/host/paths.js'
import {ksmOnRemedy, planKsmIntent, planThpIntent, thpRemedy} from '../src/plan/settings.js'
import {KSM_TMPFILES} from '../src/plan/targets.js'
import {fixture, runCli} from './support/cli.js'
import {intelHost} from './support/facts.js'

const dirs: string[] = []

async function check(root: string): Promise<CheckReport> {
  return JSON.parse((await runCli(['check', '--json', '--root', root])).stdout) as CheckReport
}

describe("tune ksm / thp intents and check's remedies (one voice)", () => {
  after(async () => {
    for (const d of dirs) await rm(d, {recursive: true, force: true})
  })

  it("KSM off: check's info row carries `tune ksm --on` and the value and tmpfiles line the planner plans", () => {
    const f = intelHost({ksm: '0'})
    const row = runChecks(f).find((c) => c.id === 'hugepages.ksm')!
    expect(row.status).to.equal('info')
    expect(row.remedy).to.deep.equal(ksmOnRemedy(f))
    const intent = planKsmIntent(f, {on: true})
    expect(intent.value).to.deep.equal({path: KSM_RUN, before: '0', after: '1'})
    expect(row.remedy).to.deep.equal({
      kvmctl: ['tune', 'ksm', '--on'],
      steps: [
        `echo 1 | sudo tee ${KSM_RUN}`,
        `keep it across reboots: echo "${intent.tmpfilesLine}" | sudo tee ${KSM_TMPFILES}`,
      ],
    })
  })

  it("THP never: check's warn row carries `tune thp --mode madvise` and the planner's value and parameter", () => {
    const f = intelHost({thp: 'never'})
    const row = runChecks(f).find((c) => c.id === 'hugepages.thp')!
    expect(row.status).to.equal('warn')
    expect(row.remedy).to.deep.equal(thpRemedy(f))
    const intent = planThpIntent(f, {mode: 'madvise'})
    expect(intent.value).to.deep.equal({path: THP_ENABLED, before: 'never', after: 'madvise'})
    expect(intent.edits).to.deep.equal([{op: 'set', key: 'transparent_hugepage', value: 'madvise'}])
    expect(row.remedy).to.deep.equal({
      kvmctl: ['tune', 'thp', '--mode', 'madvise'],
      steps: [
        `echo madvise | sudo tee ${THP_ENABLED}`,
        'keep it across reboots: add `transparent_hugepage=madvise` to the kernel command line',
      ],
    })
  })

  it('plans from the service facts: ksmtuned, ksm.service, PID 1; unknown ones are "not in this capture"', () => {
    const named = intelHost({ksm: '1', services: {ksmtuned: true, ksmService: true, init: 'runit'}})
    const off = planKsmIntent(named, {off: true}).warnings
    expect(off[0]).to.match(/ksmtuned is installed and starts KSM again/)
    expect(off[1]).to.match(/ksm\.service starts KSM at boot/)
    expect(off[2]).to.match(/^PID 1 is runit, not systemd/)
    expect(planKsmIntent(intelHost({ksm: '0'}), {on: true}).warnings).to.deep.equal([])
    const unknown = intelHost({ksm: '1', live: false, services: {ksmtuned: null, ksmService: null, init: null}})
    const said = planKsmIntent(unknown, {off: true}).warnings
    expect(said).to.have.length(3)
    for (const w of said) expect(w).to.match(/not in this capture/)
    expect(said.join('\n')).not.to.match(/missing|not installed/)
  })

  it('capture keeps the service facts as files that replay the same facts', () => {
    const {files} = captureSystemFacts(intelHost({services: {ksmtuned: true, ksmService: true, init: 'systemd'}}))
    expect(files.get('/proc/1/comm')).to.equal('systemd\n')
    expect(files.has('/etc/ksmtuned.conf')).to.equal(true)
    expect(files.has('/usr/lib/systemd/system/ksm.service')).to.equal(true)
    const none = captureSystemFacts(intelHost({services: {ksmtuned: false, ksmService: false, init: null}})).files
    expect([...none.keys()].filter((p) => /ksm|\/proc\/1\//.test(p))).to.deep.equal([])
  })

  it("pvm-guest, KSM off: `tune ksm --on --root COPY` turns check's KSM row to pass", async function () {
    if (process.getuid?.() !== 0) this.skip() // applying needs root, even on a copy
    const copy = join(await mkdtemp(join(tmpdir(), 'kvmctl-ksm-')), 'host')
    dirs.push(join(copy, '..'))
    await cp(fixture('pvm-guest'), copy, {recursive: true})
    await writeFile(join(copy, 'sys/kernel/mm/ksm/run'), '0\n')
    const before = (await check(copy)).checks.find((c) => c.id === 'hugepages.ksm')!
    expect(before.status).to.equal('info')
    expect(before.remedy?.kvmctl).to.deep.equal(['tune', 'ksm', '--on'])
    const run = await runCli([...before.remedy!.kvmctl!, '--root', copy])
    expect(run.exitCode, run.stdout + run.stderr).to.equal(0)
    expect(await readFile(join(copy, 'sys/kernel/mm/ksm/run'), 'utf8')).to.equal('1\n')
    const line = planKsmIntent(intelHost({ksm: '0'}), {on: true}).tmpfilesLine!
    expect(await readFile(join(copy, KSM_TMPFILES), 'utf8')).to.contain(line)
    const after = (await check(copy)).checks.find((c) => c.id === 'hugepages.ksm')!
    expect(after.status).to.equal('pass')
    expect(after.detail).to.match(/^running/)
  })
})
