// The kernel log as dmesg prints it. The native addon reads and formats /dev/kmsg (one read() per
// record is too slow in JS for every `kvmctl check`); src/host/kmsg.ts holds the same formatting
// in TypeScript, the reference the native formatter must match on any record.
import {expect} from 'chai'
import {execa} from 'execa'
import fc from 'fast-check'

import {formatKmsgRecord, readKmsg, readKmsgRecords} from '../src/host/kmsg.js'
import {loadNative} from '../src/native.js'

/** formatKmsgRecord over records, as the native reader joins its lines. */
function formatInTypeScript(records: string[]): string {
  return records.flatMap((r) => formatKmsgRecord(r) ?? []).join('\n')
}

/** The log as read(), or the test skipped where /dev/kmsg is unreadable (kernel.dmesg_restrict). */
function logOrSkip(context: Mocha.Context, read: () => string): string {
  try {
    return read()
  } catch (error) {
    context.test!.title += ` (skipped: /dev/kmsg unreadable here, ${(error as NodeJS.ErrnoException).code})`
    return context.skip()
  }
}

describe('kernel log from /dev/kmsg', () => {
  it('formats records as dmesg prints them', () => {
    expect(formatKmsgRecord('6,339,357779,-;kvm-pvm: loaded (native=1)\n')).to.equal(
      '[    0.357779] kvm-pvm: loaded (native=1)',
    )
    expect(formatKmsgRecord('4,287,419733,-;amd_pstate: one.\\x0aPlease two.\n SUBSYSTEM=acpi\n')).to.equal(
      '[    0.419733] amd_pstate: one.\n               Please two.',
    )
    expect(formatKmsgRecord('garbage')).to.equal(undefined)
  })

  it('the native formatter prints every record as formatKmsgRecord does', () => {
    const native = loadNative()
    const escape = fc.integer({min: 0, max: 255}).map((b) => `\\x${b.toString(16).padStart(2, '0')}`)
    // The kernel escapes "\", control and non-ASCII bytes; messages are printable ASCII otherwise.
    const text = fc
      .array(
        fc.oneof(fc.string({unit: fc.constantFrom(...' abcXYZ09:;,.-=\\[]x'.split(''))}), escape, fc.constant('\\X4A')),
      )
      .map((parts) => parts.join(''))
    const header = fc.tuple(
      fc.nat(7),
      fc.nat(100_000),
      fc.oneof(fc.nat(), fc.constant(2 ** 40 + 17)),
      fc.constantFrom('-', 'c', '+,caller=T1'),
    )
    const record = fc.oneof(
      fc
        .tuple(header, text, fc.constantFrom('', '\n', '\n SUBSYSTEM=acpi\n DEVICE=+acpi:x\n'))
        .map(([[pri, seq, usec, flags], message, rest]) => `${pri},${seq},${usec},${flags};${message}${rest}`),
      text, // no header: skipped by both
    )
    fc.assert(
      fc.property(fc.array(record, {maxLength: 6}), (records) => {
        expect(native.formatKernelLog(records.join('\0'))).to.equal(formatInTypeScript(records))
      }),
      {numRuns: 2000},
    )
  })

  it('the native reader gives what the TypeScript reader gives on this machine', function () {
    const log = logOrSkip(this, readKmsgRecords)
    // Records logged between the two reads are the only difference there may be.
    const native = loadNative().readKernelLog()
    expect(native.startsWith(log)).to.equal(true)
    expect(log.split('\n').length).to.be.above(10)
  })

  it('the native reader fails with the errno of its open', () => {
    expect(() => loadNative().readKernelLog('/nonexistent/kmsg'))
      .to.throw()
      .with.property('code', 'ENOENT')
  })

  it('reads the same first lines as dmesg on this machine', async function () {
    const log = logOrSkip(this, readKmsg)
    const dmesg = await execa('dmesg', [], {reject: false})
    if (dmesg.exitCode !== 0) return this.skip()
    expect(log.split('\n').slice(0, 50)).to.deep.equal(String(dmesg.stdout).split('\n').slice(0, 50))
  })
})
