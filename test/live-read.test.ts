// The live host's files are read by the native addon, one call per file (src/host/host.ts
// readLiveText); a replay's by readCapped in TypeScript. Both must give the same outcome, text or
// reason, for every kind of file and content the caps and checks care about.
import {expect} from 'chai'
import fc from 'fast-check'
import {execFileSync} from 'node:child_process'
import {mkdir, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {READ_CAPS, readCapped, readLiveText, type ReadCap} from '../src/host/host.js'
import {tempDir} from './support/temp.js'

const same = (path: string, cap: ReadCap, gz = false) =>
  expect(readLiveText(path, cap, gz), `${path} ${JSON.stringify(cap)} gz=${gz}`).to.deep.equal(
    readCapped(() => path, gz, cap),
  )

describe('live reads through the native addon, as readCapped reads', () => {
  it('the same outcome for every kind of file', async () => {
    const dir = await tempDir('kvmctl-live-read-')
    const cap: ReadCap = {bytes: 100, lines: 4}
    const files: Record<string, string | Buffer> = {
      empty: '',
      small: 'CONFIG_KVM=y\n',
      'at-cap': 'x'.repeat(100),
      'over-cap': 'x'.repeat(101),
      'many-lines': 'a\nb\nc\nd\ne\n',
      'four-lines': 'a\nb\nc\nd',
      nul: Buffer.from('ab\0cd'),
      'bad-utf8': Buffer.from([0x61, 0xff, 0xfe, 0xc3, 0x28, 0x0a]),
      utf8: 'héllo — ✓\n',
    }
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content)
    await mkdir(join(dir, 'folder'))
    await symlink(join(dir, 'folder'), join(dir, 'link-to-folder'))
    await symlink(join(dir, 'small'), join(dir, 'link-to-small'))
    await symlink(join(dir, 'nowhere'), join(dir, 'dangling'))
    execFileSync('mkfifo', [join(dir, 'fifo')])
    const paths = [
      ...Object.keys(files),
      'folder',
      'link-to-folder',
      'link-to-small',
      'dangling',
      'fifo',
      'absent',
      'small/below-a-file',
    ].map((n) => join(dir, n))
    // Kernel files whose content does not change between two reads (procfs, sysfs; one over every cap).
    const kernel = [
      '/dev/null',
      '/proc/version',
      '/proc/filesystems',
      '/proc/kallsyms',
      '/sys/kernel/mm/transparent_hugepage/enabled',
    ]
    for (const path of [...paths, ...kernel])
      for (const c of [cap, READ_CAPS.value, READ_CAPS.text]) for (const gz of [false, true]) same(path, c, gz)
  })

  it('the same outcome for gzip files: whole, cut short, past the cap, padded, or not gzip', async () => {
    const dir = await tempDir('kvmctl-live-read-')
    const config = Buffer.from('CONFIG_KVM=y\n# CONFIG_X is not set\n'.repeat(40))
    const files: Record<string, Buffer> = {
      whole: gzipSync(config),
      'cut-short': gzipSync(config).subarray(0, 30),
      'two-members': Buffer.concat([gzipSync('a\n'), gzipSync('b\n')]),
      padded: Buffer.concat([gzipSync(config), Buffer.alloc(8)]),
      'trailing-junk': Buffer.concat([gzipSync(config), Buffer.from('junk')]),
      'not-gzip': config,
      'nul-inside': gzipSync(Buffer.from('a\0b')),
      empty: Buffer.alloc(0),
    }
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(dir, name), content)
      for (const c of [{bytes: 100, lines: 4}, {bytes: 5000, lines: 30}, {bytes: 5000, lines: 100}, READ_CAPS.text])
        same(join(dir, name), c, true)
    }
    // The machine's own kernel config, where it has one.
    for (const c of [READ_CAPS.text, {bytes: 100, lines: 4}]) same('/proc/config.gz', c, true)
  })

  it('the same outcome for any content and cap', async () => {
    const dir = await tempDir('kvmctl-live-read-')
    let n = 0
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({maxLength: 300}),
        fc.integer({min: 0, max: 320}),
        fc.integer({min: 0, max: 40}),
        fc.boolean(),
        async (bytes, capBytes, lines, compress) => {
          const path = join(dir, `f${n++}`)
          await writeFile(path, compress ? gzipSync(bytes) : bytes)
          same(path, {bytes: capBytes, lines}, compress)
        },
      ),
      {numRuns: 500},
    )
  })
})
