// The layer rule (.dependency-cruiser.cjs): src/ keeps lib -> host -> plan -> checks | tune | vmm
// -> report -> commands without upward imports or cycles, and the rule itself catches each kind
// of violation (shown on a small tree built to break every rule once).
import {expect} from 'chai'
import {execa} from 'execa'
import {mkdir, rm, writeFile} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {tempDir} from './support/temp.js'

const CONFIG = resolve('.dependency-cruiser.cjs')
const DEPCRUISE = resolve('node_modules/.bin/depcruise')

interface Violation {
  from: string
  to: string
  rule: {name: string}
}

/** The violations as JSON (that reporter always exits 0). */
async function violations(cwd: string): Promise<string[]> {
  const run = await execa(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'json'], {cwd, reject: false})
  const result = JSON.parse(String(run.stdout)) as {summary: {violations: Violation[]}}
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)
}

/** The plain run, as a developer types it: its exit code is the number of errors. */
async function gate(cwd: string): Promise<{exitCode: number; output: string}> {
  const run = await execa(DEPCRUISE, ['src', '--config', CONFIG], {cwd, reject: false, all: true})
  return {exitCode: run.exitCode ?? -1, output: String(run.all)}
}

describe('layers (dependency-cruiser)', () => {
  it('src/ has no upward import and no cycle', async function () {
    this.timeout(180_000)
    const {exitCode, output} = await gate(process.cwd())
    expect(exitCode, output).to.equal(0)
  })

  it('fails on each kind of violation', async function () {
    this.timeout(180_000)
    const dir = await tempDir('kvmctl-layers-')
    const files: Record<string, string> = {
      'src/lib/a.ts': "import {b} from '../host/b.js'\nexport const a = b\n",
      'src/host/b.ts': "import {c} from '../checks/c.js'\nexport const b = c\n",
      'src/plan/p.ts': "import {d} from '../tune/d.js'\nexport const p = d\n",
      'src/checks/c.ts': "import {d} from '../tune/d.js'\nexport const c = d\n",
      'src/tune/d.ts': 'export const d = 1\n',
      'src/vmm/v.ts': "import {c} from '../checks/c.js'\nexport const v = c\n",
      'src/report/r.ts': "import {k} from '../commands/k.js'\nexport const r = k\n",
      'src/commands/k.ts': 'export const k = 1\n',
      'src/checks/x.ts': "import {y} from './y.js'\nexport const x = () => y\n",
      'src/checks/y.ts': "import {x} from './x.js'\nexport const y = () => x\n",
      'src/odd/o.ts': "import {d} from '../tune/d.js'\nexport const o = d\n",
      'tsconfig.json': JSON.stringify({
        compilerOptions: {module: 'NodeNext', moduleResolution: 'NodeNext'},
        include: ['src'],
      }),
      'package.json': JSON.stringify({type: 'module'}),
    }
    try {
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), {recursive: true})
        await writeFile(join(dir, path), text)
      }
      const seen = await violations(dir)
      expect(seen).to.include.members([
        'lib-imports-only-lib: src/lib/a.ts -> src/host/b.ts',
        'host-imports-only-lib: src/host/b.ts -> src/checks/c.ts',
        'plan-imports-lib-host: src/plan/p.ts -> src/tune/d.ts',
        'checks-import-lib-host-plan: src/checks/c.ts -> src/tune/d.ts',
        'vmm-imports-lib-host-plan: src/vmm/v.ts -> src/checks/c.ts',
        'report-not-commands: src/report/r.ts -> src/commands/k.ts',
        'no-unknown-layer: src/odd/o.ts -> src/tune/d.ts',
      ])
      expect(seen.some((v) => v.startsWith('no-cycles: src/checks/x.ts -> src/checks/y.ts'))).to.equal(
        true,
        seen.join('\n'),
      )
      const {exitCode, output} = await gate(dir)
      expect(exitCode, output).to.be.greaterThan(0)
      expect(output).to.contain('lib-imports-only-lib')
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
