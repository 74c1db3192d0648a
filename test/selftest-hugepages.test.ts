// `kvmctl selftest --hugepages` against the real hugepage pool. The pool is shared with other
// users of this machine, so the part that changes it runs under flock(1) on the shared lock and
// puts the old nr_hugepages back whatever happens.
import {expect} from 'chai'
import {execa} from 'execa'
import {existsSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const LOCK = '/tmp/kvmctl-hugepages.lock'
const NR = '/proc/sys/vm/nr_hugepages'

/** Runs `kvmctl selftest --hugepages ARGS` with nr_hugepages set to `pages` under the lock; returns its result. */
async function selftestWithPool(pages: number, args: string[]) {
  const script = ['old=$(cat ' + NR + ')', "trap 'echo $old > " + NR + "' EXIT", `echo ${pages} > ${NR}`, '"$@"'].join(
    '; ',
  )
  return execa('flock', [LOCK, 'sh', '-c', script, 'sh', 'node', BIN, 'selftest', '--json', '--hugepages', ...args], {
    reject: false,
  })
}

describe('kvmctl selftest --hugepages (real pool, under the lock)', function () {
  this.timeout(180_000) // other users may hold the pool lock for a while

  before(function () {
    // Reserving pages needs root, /dev/kvm and the built command.
    if (!existsSync('/dev/kvm') || process.getuid?.() !== 0 || !existsSync(NR)) this.skip()
    if (!existsSync(new URL('../dist/cli.js', import.meta.url)))
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)')
  })

  it('backs guest RAM with hugepages, sees HugePages_Free drop by the guest size and come back', async () => {
    const before = readFileSync(NR, 'utf8')
    const result = await selftestWithPool(8, ['--mem', '8M', '--vcpus', '1'])
    expect(readFileSync(NR, 'utf8'), 'nr_hugepages restored').to.equal(before)
    expect(result.exitCode, result.stdout + result.stderr).to.equal(0)
    const report = JSON.parse(result.stdout)
    expect(report.backing).to.equal('hugetlb')
    const g = report.stages.find((s: {id: string}) => s.id === 'g')
    expect(g.status, g.detail).to.equal('pass')
    expect(g.data.need).to.equal(4)
    expect(g.data.freeBefore - g.data.freeDuring).to.equal(4)
    expect(g.data.freeAfter).to.equal(g.data.freeBefore)
  })

  it('fails clearly, with the tune command as the remedy, when none are reserved', async () => {
    const result = await selftestWithPool(0, ['--mem', '8M', '--vcpus', '1'])
    expect(result.exitCode).to.equal(1)
    const report = JSON.parse(result.stdout)
    expect(report.ok).to.equal(false)
    expect(report.backing).to.equal('anonymous')
    const g = report.stages.find((s: {id: string}) => s.id === 'g')
    expect(g.status).to.equal('fail')
    expect(g.detail).to.match(/4 hugepages of 2 MiB needed, 0 free/)
    // check's remedy builder: the tune command first, then the same by hand (tune's 5 pages for 8M).
    expect(g.remedy.kvmctl).to.deep.equal(['tune', 'hugepages', '--vm-mem', '8M'])
    const reserve =
      /^reserve 8 MiB .*: echo 5 \| sudo tee \/sys\/kernel\/mm\/hugepages\/hugepages-2048kB\/nr_hugepages$/
    expect(g.remedy.steps[0]).to.match(reserve)
    // the guest stages still ran, on plain memory
    expect(report.stages.find((s: {id: string}) => s.id === 'd').status).to.equal('pass')
  })
})
