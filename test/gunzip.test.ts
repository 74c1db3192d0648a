// gzip files (/proc/config.gz) are decompressed by the native addon, which spares every check
// Node's zlib module and its stream stack: it must read what node:zlib reads, and refuse what it
// refuses, up to the same size cap.
import {expect} from 'chai'
import fc from 'fast-check'
import {readFileSync} from 'node:fs'
import {gunzipSync, gzipSync} from 'node:zlib'

import {gunzip} from '../src/lib/gunzip.js'
import {loadNative} from '../src/native.js'

/** What each reader makes of data: the bytes, or that it threw. */
function outcome(read: () => Buffer): string {
  try {
    return read().toString('base64')
  } catch {
    return 'threw'
  }
}

describe('gunzip (native, as node:zlib)', () => {
  const native = loadNative()

  it('gives the bytes node:zlib gives, for one or more members and any cap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({maxLength: 3000}), {minLength: 1, maxLength: 3}),
        fc.nat(9000),
        (parts, cap) => {
          const data = Buffer.concat(parts.map((p) => gzipSync(p)))
          expect(outcome(() => native.gunzip(data, cap))).to.equal(
            outcome(() => gunzipSync(data, {maxOutputLength: Math.max(cap, 1)})),
          )
        },
      ),
      {numRuns: 300},
    )
  })

  it('refuses truncated data, data that is not gzip, and output past the cap', () => {
    const data = gzipSync(Buffer.alloc(100_000, 'CONFIG_KVM=y\n'))
    expect(native.gunzip(data, 100_000).length).to.equal(100_000)
    expect(() => native.gunzip(data, 99_999))
      .to.throw()
      .with.property('code', 'ERR_BUFFER_TOO_LARGE')
    expect(() => native.gunzip(data.subarray(0, data.length - 9), 200_000))
      .to.throw()
      .with.property('code', 'Z_DATA_ERROR')
    expect(() => native.gunzip(Buffer.from('CONFIG_KVM=y\n'), 200_000))
      .to.throw()
      .with.property('code', 'Z_DATA_ERROR')
    expect(() => native.gunzip(Buffer.alloc(0), 100))
      .to.throw()
      .with.property('code', 'Z_DATA_ERROR')
    // As node:zlib: trailing zero bytes are padding, other trailing bytes an error.
    for (const tail of [Buffer.alloc(3), Buffer.from('xx'), Buffer.from([0x1f, 0x8b])]) {
      const data = Buffer.concat([gzipSync('ab'), tail])
      expect(
        outcome(() => native.gunzip(data, 10)),
        tail.toString('hex'),
      ).to.equal(outcome(() => gunzipSync(data)))
    }
  })

  it("reads this machine's /proc/config.gz as node:zlib does", function () {
    let data: Buffer
    try {
      data = readFileSync('/proc/config.gz')
    } catch {
      return this.skip()
    }
    expect(gunzip(data, 1 << 20).equals(gunzipSync(data))).to.equal(true)
  })
})
