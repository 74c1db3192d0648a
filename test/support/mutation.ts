// The mutation test's engine: corrupt one file, folder or host.json field of a capture, then run
// what the commands run on it, in process (the same functions the commands call, and the
// commands' error writer), and say what a user would have seen that they must never see.
// test/mutation.test.ts runs a bounded number of cases; `npm run mutate -- N` runs N more.
import fc from 'fast-check'
import {Chalk} from 'chalk'
import {cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'

import {checkAndReport} from '../../src/report/check-command.js'
import {captureHost} from '../../src/host/capture.js'
import {Host} from '../../src/host/host.js'
import {expectedFailure, writeFailure} from '../../src/lib/errors.js'
import {planAccess} from '../../src/tune/access.js'
import {liveContext} from '../../src/tune/context.js'
import {planHugepages} from '../../src/tune/hugepages.js'
import {tuneJson} from '../../src/tune/json.js'
import {planNested} from '../../src/tune/nested.js'
import {renderHugepagesPlan, renderNestedPlan} from '../../src/tune/render.js'
import {renderSettingPlan, settingJson} from '../../src/tune/setting-render.js'
import {repo} from './cli.js'
import {makeHugepageRoot} from './tune-root.js'
import {tempDir} from './temp.js'

/** What no output may ever contain: JS error text, a stack frame, a JS non-value. */
export const FORBIDDEN = [
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'Cannot read properties',
  'undefined',
  'NaN',
  'Infinity',
  '[object Object]',
  '    at ',
]
/** The content of the file outside the root that "symlink-out" mutations point at. */
export const OUTSIDE_MARKER = 'kvmctl-mutation-outside-root-7c1e'

/** A corruption of one file or folder of a capture (path relative to the root). */
export type FileMutation =
  | {
      kind: 'empty' | 'dir' | 'symlink-out' | 'symlink-loop' | 'fifo' | 'invalid-utf8' | 'file-for-dir' | 'empty-dir'
      path: string
    }
  | {kind: 'truncate'; path: string; keep: number}
  | {kind: 'binary'; path: string; bytes: number[]}
  | {kind: 'huge'; path: string; size: number; fill: 'digits' | 'repeat' | 'one-line' | 'newlines'}
  | {kind: 'nul'; path: string; at: number}
  | {kind: 'value'; path: string; text: string}

/** host.json: one field replaced (or deleted), raw bytes put into a string, or the file corrupted as a file. */
export type JsonMutation =
  | {kind: 'field'; field: string[]; value: unknown}
  | {kind: 'delete'; field: string[]}
  | {kind: 'raw-bytes'; field: string[]; bytes: number[]}

export type Mutation = {fixture: string} & ({target: 'file'; m: FileMutation} | {target: 'host.json'; m: JsonMutation})

/** A synthetic host root with the files tune reads (/etc/fstab, /etc/group, sysctl.d, NUMA nodes, a hugetlbfs mount). */
export const TUNE_ROOT = 'tune-root'

export interface Corpus {
  /** Fixture name to its folder (fixtures/* plus the tune root). */
  dirs: Map<string, string>
  /** Fixture name to every file and folder in it, relative, host.json included. */
  entries: Map<string, Array<{path: string; dir: boolean}>>
  /** Fixture name to every field path in its host.json. */
  fields: Map<string, string[][]>
  /** A folder outside every root, holding OUTSIDE_MARKER files. */
  outside: string
  work: string
}

export async function loadCorpus(): Promise<Corpus> {
  const work = await tempDir('kvmctl-mutate-')
  const dirs = new Map<string, string>()
  for (const name of (await readdir(join(repo, 'fixtures'))).sort()) {
    if ((await stat(join(repo, 'fixtures', name))).isDirectory()) dirs.set(name, join(repo, 'fixtures', name))
  }
  const tuneRoot = await makeHugepageRoot({
    nodes: 2,
    mounts: 'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n',
    sysctlD: {'80-hugepages.conf': 'vm.nr_hugepages = 512\n'},
  })
  await mkdir(join(tuneRoot, 'sys/module/kvm_intel/parameters'), {recursive: true})
  await writeFile(join(tuneRoot, 'sys/module/kvm_intel/parameters/nested'), 'N\n')
  await writeFile(join(tuneRoot, 'sys/module/kvm_intel/refcnt'), '0\n')
  await writeFile(
    join(tuneRoot, 'proc/cpuinfo'),
    'processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\nflags\t\t: fpu vmx\n\n',
  )
  await mkdir(join(tuneRoot, 'dev/hugepages'), {recursive: true})
  // tune access reads alice's account and the kvm group's members.
  await writeFile(
    join(tuneRoot, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n',
  )
  await writeFile(join(tuneRoot, 'etc/group'), 'root:x:0:\nusers:x:100:\nkvm:x:994:alice\n')
  dirs.set(TUNE_ROOT, tuneRoot)
  const entries = new Map<string, Array<{path: string; dir: boolean}>>()
  const fields = new Map<string, string[][]>()
  for (const [name, dir] of dirs) {
    entries.set(name, await walk(dir, ''))
    fields.set(name, fieldPaths(JSON.parse(await readFile(join(dir, 'host.json'), 'utf8')), []))
  }
  const outside = join(work, 'outside')
  await mkdir(join(outside, 'dir', 'kvm_pvm'), {recursive: true})
  await writeFile(join(outside, 'file'), `${OUTSIDE_MARKER}\n`)
  await writeFile(join(outside, 'dir', OUTSIDE_MARKER), `${OUTSIDE_MARKER}\n`)
  return {dirs, entries, fields, outside, work}
}

async function walk(dir: string, rel: string): Promise<Array<{path: string; dir: boolean}>> {
  const out: Array<{path: string; dir: boolean}> = []
  for (const e of (await readdir(join(dir, rel), {withFileTypes: true})).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = rel ? `${rel}/${e.name}` : e.name
    out.push({path, dir: e.isDirectory()})
    if (e.isDirectory()) out.push(...(await walk(dir, path)))
  }
  return out
}

function fieldPaths(v: unknown, at: string[]): string[][] {
  if (typeof v !== 'object' || v === null) return [at]
  const keys = Array.isArray(v) ? v.map((_, i) => String(i)) : Object.keys(v)
  return [...(at.length ? [at] : []), ...keys.flatMap((k) => fieldPaths((v as Record<string, unknown>)[k], [...at, k]))]
}

/** Values that look like numbers and are not, or are out of range: the kernel never writes them. */
export const NUMBERISH = [
  '',
  ' ',
  '\n\n',
  '-1',
  '-0',
  '1e400',
  '1e3',
  '99999999999999999999999',
  '0x10',
  '12abc',
  'abc',
  '1.5',
  '+3',
  '٣',
  '９',
  'Y',
  'N',
  '[madvise]',
  '[]',
  '2 4',
  '0\n1\n',
  '18446744073709551616',
  '-9223372036854775809',
]

/** JSON values of every type, for host.json fields. */
export const JSON_VALUES: unknown[] = [
  '',
  'x',
  '\u0000',
  'a\nb',
  '../..',
  '..',
  '/etc',
  'é\u202e',
  'x'.repeat(100_000),
  -1,
  0,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  true,
  false,
  null,
  [],
  {},
  [1, 'a'],
  {a: 1},
  ['../..'],
]

const bytesArb = fc.array(fc.integer({min: 0, max: 255}), {minLength: 1, maxLength: 64})

/** Every kind of file corruption for one path. */
export function fileMutationArb(path: string, dir: boolean): fc.Arbitrary<FileMutation> {
  const common: Array<fc.Arbitrary<FileMutation>> = [
    fc.constant({kind: 'symlink-out' as const, path}),
    fc.constant({kind: 'symlink-loop' as const, path}),
  ]
  if (dir)
    return fc.oneof(
      ...common,
      fc.constant({kind: 'file-for-dir' as const, path}),
      fc.constant({kind: 'empty-dir' as const, path}),
    )
  return fc.oneof(
    ...common,
    fc.constant({kind: 'empty' as const, path}),
    fc.constant({kind: 'dir' as const, path}),
    fc.constant({kind: 'fifo' as const, path}),
    fc.constant({kind: 'invalid-utf8' as const, path}),
    fc.nat({max: 4096}).map((keep) => ({kind: 'truncate' as const, path, keep})),
    bytesArb.map((bytes) => ({kind: 'binary' as const, path, bytes})),
    fc
      .record({
        size: fc.constantFrom(70_000, 1_000_000, 1_100_000, 4_000_000, 4_300_000),
        fill: fc.constantFrom('digits' as const, 'repeat' as const, 'one-line' as const, 'newlines' as const),
      })
      .map((h) => ({kind: 'huge' as const, path, ...h})),
    fc.nat({max: 4096}).map((at) => ({kind: 'nul' as const, path, at})),
    fc.constantFrom(...NUMBERISH).map((text) => ({kind: 'value' as const, path, text})),
  )
}

export function jsonMutationArb(field: string[]): fc.Arbitrary<JsonMutation> {
  return fc.oneof(
    fc.constantFrom(...JSON_VALUES).map((value) => ({kind: 'field' as const, field, value})),
    fc.constant({kind: 'delete' as const, field}),
    bytesArb.map((bytes) => ({kind: 'raw-bytes' as const, field, bytes})),
  )
}

/** A random case over the whole corpus. */
export function mutationArb(corpus: Corpus): fc.Arbitrary<Mutation> {
  const names = [...corpus.dirs.keys()]
  return fc.constantFrom(...names).chain((fixture) => {
    const entries = corpus.entries.get(fixture)!
    const fields = corpus.fields.get(fixture)!
    return fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .constantFrom(...entries)
          .chain((e) => fileMutationArb(e.path, e.dir))
          .map((m) => ({fixture, target: 'file' as const, m})),
      },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(...fields)
          .chain(jsonMutationArb)
          .map((m) => ({fixture, target: 'host.json' as const, m})),
      },
    )
  })
}

/** The sweep: every file and folder of every fixture, and every host.json field, once each, kinds in turn. */
export function sweepCases(corpus: Corpus, seed: number): Mutation[] {
  const out: Mutation[] = []
  let i = 0
  const pick = <T>(arb: fc.Arbitrary<T>) => fc.sample(arb, {numRuns: 1, seed: seed + i++})[0]
  for (const [fixture, entries] of corpus.entries) {
    for (const e of entries) out.push({fixture, target: 'file', m: pick(fileMutationArb(e.path, e.dir))})
    for (const field of corpus.fields.get(fixture)!)
      out.push({fixture, target: 'host.json', m: pick(jsonMutationArb(field))})
  }
  return out
}

/** Copies the fixture to a fresh folder and applies the mutation; returns the root. */
export async function mutatedRoot(corpus: Corpus, c: Mutation, caseDir: string): Promise<string> {
  const root = join(caseDir, 'root')
  await cp(corpus.dirs.get(c.fixture)!, root, {recursive: true, verbatimSymlinks: true})
  await applyMutation(root, c, corpus.outside)
  return root
}

/** Applies one mutation to a root in place; `outside` is where symlink-out points. */
export async function applyMutation(root: string, c: Mutation, outside: string): Promise<void> {
  if (c.target === 'host.json') await mutateJson(join(root, 'host.json'), c.m)
  else await mutateFile(root, c.m, outside)
}

async function mutateFile(root: string, m: FileMutation, outside: string): Promise<void> {
  const file = join(root, m.path)
  const old = await readFile(file).catch(() => Buffer.alloc(0))
  const replace = async (content: Buffer | string) => {
    await rm(file, {recursive: true, force: true})
    await writeFile(file, content)
  }
  switch (m.kind) {
    case 'empty':
      return replace('')
    case 'truncate':
      return replace(old.subarray(0, Math.min(m.keep, Math.max(0, old.length - 1))))
    case 'binary':
      return replace(Buffer.from(m.bytes))
    case 'invalid-utf8':
      return replace(
        Buffer.concat([
          old.subarray(0, old.length >> 1),
          Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0]),
          old.subarray(old.length >> 1),
        ]),
      )
    case 'nul':
      return replace(
        Buffer.concat([
          old.subarray(0, m.at % (old.length + 1)),
          Buffer.from([0]),
          old.subarray(m.at % (old.length + 1)),
        ]),
      )
    case 'value':
      return replace(m.text)
    case 'huge': {
      const unit =
        m.fill === 'digits'
          ? '1'
          : m.fill === 'newlines'
            ? '\n'
            : m.fill === 'one-line'
              ? 'x'
              : old.toString('latin1') || 'y\n'
      return replace(unit.repeat(Math.ceil(m.size / unit.length)).slice(0, m.size))
    }
    case 'dir':
      await rm(file, {recursive: true, force: true})
      await mkdir(join(file, 'inner'), {recursive: true})
      return
    case 'fifo':
      await rm(file, {recursive: true, force: true})
      execFileSync('mkfifo', [file])
      return
    case 'symlink-out': {
      const wasDir = (await stat(file).catch(() => undefined))?.isDirectory()
      await rm(file, {recursive: true, force: true})
      await symlink(join(outside, wasDir ? 'dir' : 'file'), file)
      return
    }
    case 'symlink-loop':
      await rm(file, {recursive: true, force: true})
      await symlink(file.split('/').pop()!, file)
      return
    case 'file-for-dir':
      return replace('1\n')
    case 'empty-dir':
      await rm(file, {recursive: true, force: true})
      await mkdir(file)
      return
  }
}

async function mutateJson(file: string, m: JsonMutation): Promise<void> {
  const data = JSON.parse(await readFile(file, 'utf8'))
  const parent = m.field.slice(0, -1).reduce((o: any, k) => o[k], data)
  const key = m.field[m.field.length - 1]
  const placeholder = '@@RAW@@'
  if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1)
    else delete parent[key]
  } else {
    parent[key] = m.kind === 'field' ? m.value : `6.1${placeholder}x`
  }
  const text = JSON.stringify(data, null, 2)
  if (m.kind !== 'raw-bytes') return writeFile(file, text)
  const [before, after] = text.split(placeholder)
  await writeFile(file, Buffer.concat([Buffer.from(before), Buffer.from(m.bytes), Buffer.from(after)]))
}

export interface Output {
  op: string
  /** Wall time the command body took. */
  ms: number
  /**
   * CPU time (user + system) the process spent in the body: the work it did, whatever else the
   * machine runs meanwhile (bodies run one at a time, so it is this body's).
   */
  cpuMs: number
  exitCode: number
  stdout: string
  stderr: string
}

export interface CaseResult {
  outputs: Output[]
  /** What a user must never see; empty when the case passes. */
  problems: string[]
  ms: number
}

const chalk = new Chalk({level: 0})

/**
 * Runs check, check --json, capture (and a replay of it), tune hugepages, tune nested and tune access
 * --dry-run on root.
 */
export async function runCase(root: string, caseDir: string): Promise<CaseResult> {
  const started = performance.now()
  const outputs: Output[] = []
  const problems: string[] = []
  const op = async (name: string, json: boolean, body: (log: (t: string) => void) => Promise<number>) => {
    const out: Output = {op: name, ms: 0, cpuMs: 0, exitCode: 0, stdout: '', stderr: ''}
    const opStarted = performance.now()
    const cpuStarted = process.cpuUsage()
    const log = (t: string) => (out.stdout += t + '\n')
    try {
      out.exitCode = await body(log)
    } catch (error) {
      const failure = expectedFailure(error)
      if (!failure) {
        problems.push(`${name}: a JS error reached the user: ${(error as Error)?.stack ?? String(error)}`)
        out.exitCode = 1
      } else {
        writeFailure(failure, json, (text, fd = 1) => (fd === 1 ? (out.stdout += text) : (out.stderr += text)))
        out.exitCode = failure.exitCode
        if (failure.exitCode === 2 && !json && !/^kvmctl: [^\n]*\n$/.test(out.stderr))
          problems.push(`${name}: a usage error is not one line: ${JSON.stringify(out.stderr)}`)
        if (/[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/.test(failure.message))
          problems.push(`${name}: raw bytes in the message: ${JSON.stringify(failure.message)}`)
      }
    }
    out.ms = performance.now() - opStarted
    const cpu = process.cpuUsage(cpuStarted)
    out.cpuMs = (cpu.user + cpu.system) / 1000
    outputs.push(out)
  }
  await op('check', false, async (log) => ((await checkAndReport({root}, log)).counts.fail > 0 ? 1 : 0))
  await op('check --json', true, async (log) => {
    const report = await checkAndReport({root, json: true}, log)
    log(JSON.stringify(report, null, 2))
    return report.counts.fail > 0 ? 1 : 0
  })
  const captured = join(caseDir, 'capture')
  await op('capture', false, async (log) => {
    const result = await captureHost(await Host.open(root), captured, {source: 'kvmctl mutation test'})
    log(`Wrote ${result.files.length} files to ${result.dir}`)
    return 0
  })
  if (outputs.at(-1)!.exitCode === 0) {
    await op('check --root CAPTURE', false, async (log) =>
      (await checkAndReport({root: captured}, log)).counts.fail > 0 ? 1 : 0,
    )
    const leaked = await grepTree(captured, OUTSIDE_MARKER)
    if (leaked.length) problems.push(`capture copied files from outside the root: ${leaked.join(', ')}`)
  }
  await op('tune hugepages --vm-mem 1024 --dry-run', false, async (log) => {
    const plan = await planHugepages(liveContext(await Host.open(root)), {vmMem: '1024'})
    log(renderHugepagesPlan(plan, chalk).join('\n'))
    log(JSON.stringify(tuneJson(true, plan, null), null, 2))
    return 0
  })
  await op('tune nested --dry-run', false, async (log) => {
    const plan = await planNested(liveContext(await Host.open(root)), {})
    log([...renderNestedPlan(plan, chalk), `  ${plan.explanation}`].join('\n'))
    log(JSON.stringify(tuneJson(true, plan, null), null, 2))
    return 0
  })
  await op('tune access --user alice --dry-run', false, async (log) => {
    const plan = await planAccess(liveContext(await Host.open(root)), {user: 'alice'})
    log(renderSettingPlan(plan, chalk).join('\n'))
    log(JSON.stringify(settingJson(true, plan, null), null, 2))
    return 0
  })
  for (const o of outputs) {
    if (![0, 1, 2].includes(o.exitCode)) problems.push(`${o.op}: exit ${o.exitCode}`)
    // The case's own folder is named at random (mkdtemp), and may spell "NaN": it is not output.
    const text = (o.stdout + o.stderr).replaceAll(caseDir, '<case>')
    for (const word of [...FORBIDDEN, OUTSIDE_MARKER]) {
      const at = text.indexOf(word)
      if (at >= 0)
        problems.push(
          `${o.op}: output contains ${JSON.stringify(word)}: …${text.slice(Math.max(0, at - 120), at + 80)}…`,
        )
    }
  }
  return {outputs, problems, ms: performance.now() - started}
}

async function grepTree(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = []
  for (const e of await readdir(dir, {withFileTypes: true, recursive: true})) {
    if (!e.isFile()) continue
    const path = join(e.parentPath ?? (e as any).path, e.name)
    const buf = await readFile(path)
    if (buf.includes(needle) || (path.endsWith('.gz') && safeGunzip(buf).includes(needle)))
      hits.push(path.slice(dir.length + 1))
  }
  return hits
}

function safeGunzip(buf: Buffer): string {
  try {
    return gunzipSync(buf).toString()
  } catch {
    return ''
  }
}

/** Applies and runs one case in its own folder, then removes it. */
export async function runMutation(corpus: Corpus, c: Mutation): Promise<CaseResult> {
  const caseDir = await mkdtemp(join(corpus.work, 'case-'))
  try {
    return await runCase(await mutatedRoot(corpus, c, caseDir), caseDir)
  } finally {
    await rm(caseDir, {recursive: true, force: true})
  }
}

/** Short text for a case, for failure messages and the slowest-case line. */
export function describeCase(c: Mutation): string {
  const m = c.m as Record<string, unknown>
  const detail = JSON.stringify(m, (k, v) =>
    typeof v === 'string' && v.length > 40
      ? `${v.slice(0, 40)}…(${v.length})`
      : Array.isArray(v) && v.length > 8 && typeof v[0] === 'number'
        ? `[${v.length} bytes]`
        : v,
  )
  return `${c.fixture} ${c.target}: ${detail}`
}
