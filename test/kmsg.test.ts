import {expect} from 'chai'
import {execa} from 'execa'

import {formatKmsgRecord, readKmsg} from '../src/host/kmsg.js'

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

  it('reads the same first lines as dmesg on this machine', async function () {
    let log: string
    try {
      log = readKmsg()
    } catch (error) {
      this.test!.title += ` (skipped: /dev/kmsg unreadable here, ${(error as NodeJS.ErrnoException).code})`
      return this.skip()
    }
    const dmesg = await execa('dmesg', [], {reject: false})
    if (dmesg.exitCode !== 0) return this.skip()
    expect(log.split('\n').slice(0, 50)).to.deep.equal(String(dmesg.stdout).split('\n').slice(0, 50))
  })
})
