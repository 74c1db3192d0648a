// The kill campaign: `kvmctl tune hugepages --vm-mem 1024 --root COPY` is SIGKILLed at every
// crash point it passes (the KVMCTL_TEST_CRASH_AT hook: after each durable journal write, between
// a temporary file and its rename, before a directory fsync) and from inside the stand-in mount
// (before and after mounting), then `kvmctl tune undo --root COPY` must exit 0 and give back the
// tree byte for byte: bytes, modes, owners, symlink targets, directories. The next `tune` before
// the undo must see the interrupted run and offer the undo. Undo itself is killed at every point
// too, and a second undo finishes it. The tree is NixOS-like (etc/fstab -> /etc/static/fstab)
// and its fstab holds a Latin-1 byte, so links and non-UTF-8 bytes are part of every check.
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {chmod, chown, mkdir, readFile, rename, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli} from './support/cli.js'
import {exactTree, FSTAB, makeHugepageRoot, TEST_BIN} from './support/tune-root.js'
import {tempDir} from './support/temp.js'

const STAND_INS = {
  KVMCTL_MOUNT: join(TEST_BIN, 'mount'),
  KVMCTL_UMOUNT: join(TEST_BIN, 'umount'),
  KVMCTL_MODPROBE: join(TEST_BIN, 'modprobe'),
  KVMCTL_MODINFO: join(TEST_BIN, 'modinfo'),
}
const APPLY = ['tune', 'hugepages', '--vm-mem', '1024']
/** A Latin-1 é in a comment: not UTF-8, must survive apply and undo as the one byte 0xE9. */
const LATIN1_LINE = Buffer.from('# caf\xe9 server, edited with a Latin-1 editor\n', 'latin1')

async function fixture(): Promise<string> {
  const root = await makeHugepageRoot()
  // A host has these; kvmctl makes only its own kvmctl/ dirs in them.
  await mkdir(join(root, 'var/lib'), {recursive: true})
  await mkdir(join(root, 'run'), {recursive: true})
  await mkdir(join(root, 'etc/static'), {recursive: true})
  await rename(join(root, 'etc/fstab'), join(root, 'etc/static/fstab'))
  await writeFile(join(root, 'etc/static/fstab'), Buffer.concat([Buffer.from(FSTAB), LATIN1_LINE]))
  await chmod(join(root, 'etc/static/fstab'), 0o640)
  await chown(join(root, 'etc/static/fstab'), 0, 100)
  await symlink('/etc/static/fstab', join(root, 'etc/fstab'))
  return root
}

async function copyOf(root: string): Promise<string> {
  const dir = await tempDir('kvmctl-kill-')
  execFileSync('cp', ['-a', `${root}/.`, dir])
  return dir
}

const env = (extra: Record<string, string> = {}) => ({env: {...STAND_INS, ...extra}})

/**
 * The points the campaign kills at: every durable journal write (intent, outcome, reverted), every
 * file and backup left as a temporary file before its rename, and two journal temporary files
 * (the first, where no journal exists yet, and one in the middle).
 */
function chosen(points: string[]): Array<{at: number; name: string}> {
  const journalTemps = points.filter((p) => /^\d+ journal .*temporary file written$/.test(p))
  const keep = new Set([journalTemps[0], journalTemps[Math.floor(journalTemps.length / 2)]])
  return points
    .filter((p) => / journal: /.test(p) || /^\d+ (backup of|write) .*temporary file written$/.test(p) || keep.has(p))
    .map((p) => ({at: Number(p.split(' ')[0]), name: p.slice(p.indexOf(' ') + 1)}))
}

describe('tune kill campaign (SIGKILL at every crash point, then undo)', function () {
  // Dozens of real kvmctl processes, each fsyncing its journal: minutes on a loaded machine.
  this.timeout(30 * 60_000)
  let original: string
  let expected: Map<string, string>
  const made: string[] = []
  const tally = {applyPoints: 0, undoPoints: 0, standInPoints: 0}

  before(async () => {
    original = await fixture()
    expected = await exactTree(original)
  })
  after(async () => {
    for (const d of [original, ...made]) await rm(d, {recursive: true, force: true})
    // The figures the report quotes.
    console.log(
      `      kill campaign: ${tally.applyPoints} apply crash points, ${tally.standInPoints} stand-in kills, ${tally.undoPoints} undo crash points`,
    )
  })

  async function fresh(): Promise<string> {
    const dir = await copyOf(original)
    made.push(dir)
    expect(await exactTree(dir)).to.deep.equal(expected)
    return dir
  }

  async function crashPoints(args: string[], root: string): Promise<string[]> {
    const log = join(root, '..', `${root.split('/').pop()}.points`)
    made.push(log)
    const r = await runCli([...args, '--root', root], env({KVMCTL_TEST_CRASH_LOG: log}))
    expect(r.exitCode, r.stderr).to.equal(0)
    return (await readFile(log, 'utf8')).trim().split('\n')
  }

  /** After a kill: the next tune offers the undo, undo exits 0 and the tree is as it was. */
  async function undoRestores(root: string, what: string): Promise<void> {
    const journal = await readFile(join(root, 'var/lib/kvmctl/tune-journal.json'), 'utf8').catch(() => undefined)
    // Killed after the run was journaled complete, it is not interrupted: there is just a run to undo.
    if (journal !== undefined && JSON.parse(journal).runs[0].state !== 'complete') {
      const again = await runCli([...APPLY, '--root', root], env())
      expect(again.exitCode, `${what}: rerun ${again.stdout}${again.stderr}`).to.equal(1)
      expect(again.stderr, what).to.match(
        /^kvmctl: an interrupted tune run is in the journal: `kvmctl tune hugepages --vm-mem 1024`.*kvmctl tune undo/,
      )
    }
    const undo = await runCli(['tune', 'undo', '--root', root], env())
    expect(undo.exitCode, `${what}: ${undo.stdout}${undo.stderr}`).to.equal(0)
    expect(undo.stderr, what).to.equal('')
    expect(await exactTree(root), what).to.deep.equal(expected)
  }

  it('apply: every crash point, then undo restores the tree exactly', async () => {
    const points = chosen(await crashPoints(APPLY, await fresh()))
    expect(points.length).to.be.greaterThanOrEqual(10)
    for (const {at, name} of points) {
      const root = await fresh()
      const r = await runCli([...APPLY, '--root', root], env({KVMCTL_TEST_CRASH_AT: String(at)}))
      expect(r.exitCode, `${name}: not killed: ${r.stdout}${r.stderr}`).to.equal(-1)
      await undoRestores(root, `killed at ${name}`)
      tally.applyPoints++
    }
  })

  for (const at of ['mount:before', 'mount:after']) {
    it(`apply: the stand-in mount kills kvmctl (${at}), then undo restores the tree exactly`, async () => {
      const root = await fresh()
      const r = await runCli([...APPLY, '--root', root], env({KVMCTL_TEST_KILL_PARENT: at}))
      expect(r.exitCode, r.stdout + r.stderr).to.equal(-1)
      await undoRestores(root, `killed by mount at ${at}`)
      tally.standInPoints++
    })
  }

  it('undo: every crash point of an undo, then a second undo finishes it', async () => {
    const probe = await fresh()
    expect((await runCli([...APPLY, '--root', probe], env())).exitCode).to.equal(0)
    const points = chosen(await crashPoints(['tune', 'undo'], probe))
    expect(await exactTree(probe)).to.deep.equal(expected)
    expect(points.length).to.be.greaterThanOrEqual(5)
    for (const {at, name} of points) {
      const root = await fresh()
      expect((await runCli([...APPLY, '--root', root], env())).exitCode).to.equal(0)
      const r = await runCli(['tune', 'undo', '--root', root], env({KVMCTL_TEST_CRASH_AT: String(at)}))
      expect(r.exitCode, `${name}: not killed: ${r.stdout}${r.stderr}`).to.equal(-1)
      const undo = await runCli(['tune', 'undo', '--root', root], env())
      expect(undo.exitCode, `${name}: ${undo.stdout}${undo.stderr}`).to.equal(0)
      expect(await exactTree(root), `undo killed at ${name}`).to.deep.equal(expected)
      tally.undoPoints++
    }
  })
})
