import {expect} from 'chai'

import {UsageError} from '../src/lib/errors.js'
import {checkMemoryFits, defaultHeadroom, memoryFloor, parsePageSize, plannedPages} from '../src/plan/hugepage-math.js'

const MiB = 2 ** 20
const GiB = 2 ** 30
const pages = (vmMemBytes: number, pageSizeBytes: number, vms = 1, headroomPct = defaultHeadroom(pageSizeBytes)) =>
  plannedPages({vmMemBytes, vms, pageSizeBytes, headroomPct})

describe('tune planning math', () => {
  it('turns 1024 MiB into 550 pages of 2 MiB, as the guides do', () => {
    expect(defaultHeadroom(2 * MiB)).to.equal(7.4)
    expect(pages(1024 * MiB, 2 * MiB)).to.equal(550)
  })

  it('scales the same rule to other sizes and to several VMs', () => {
    expect(pages(512 * MiB, 2 * MiB)).to.equal(275) // 256 × 1.074 = 274.9
    expect(pages(4 * GiB, 2 * MiB)).to.equal(2200) // 2048 × 1.074 = 2199.6
    expect(pages(1024 * MiB, 2 * MiB, 3)).to.equal(1650) // 1536 × 1.074 = 1649.7
    expect(pages(1000 * MiB, 2 * MiB, 2)).to.equal(1074) // 500 pages per VM, 1000 × 1.074
  })

  it('rounds each VM up to whole pages before the headroom', () => {
    // 1 MiB + 1 byte needs 2 pages of 2 MiB per VM.
    expect(pages(MiB + 1, 2 * MiB, 2, 0)).to.equal(2)
    expect(pages(3 * MiB, 2 * MiB, 2, 0)).to.equal(4)
  })

  it('adds no headroom to 1 GiB pages by default, and whole pages per VM', () => {
    expect(defaultHeadroom(GiB)).to.equal(0)
    expect(pages(4 * GiB, GiB)).to.equal(4)
    expect(pages(1536 * MiB, GiB)).to.equal(2)
    expect(pages(1536 * MiB, GiB, 3)).to.equal(6)
    expect(pages(4 * GiB, GiB, 1, 10)).to.equal(5) // 4.4 rounds up
  })

  it('honours an explicit headroom exactly (no float drift)', () => {
    expect(pages(1024 * MiB, 2 * MiB, 1, 0)).to.equal(512)
    expect(pages(1024 * MiB, 2 * MiB, 1, 25)).to.equal(640)
    expect(pages(100 * GiB, 2 * MiB, 10, 7.4)).to.equal(549888)
  })

  it('accepts only page sizes the host offers', () => {
    expect(parsePageSize('2M', [2 * MiB, GiB])).to.equal(2 * MiB)
    expect(parsePageSize('1G', [2 * MiB, GiB])).to.equal(GiB)
    expect(() => parsePageSize('4M', [2 * MiB, GiB])).to.throw(
      UsageError,
      /--page-size 4M is not offered by this host; use one of: 2M, 1G/,
    )
    expect(() => parsePageSize('huge', [2 * MiB])).to.throw(UsageError, /--page-size "huge"/)
  })

  it('states the memory floor and refuses requests that break it', () => {
    expect(memoryFloor(8 * GiB)).to.equal(512 * MiB)
    expect(memoryFloor(64 * GiB)).to.equal(Math.ceil(64 * GiB * 0.05))
    expect(() =>
      checkMemoryFits({poolBytesAfter: 7.9 * GiB, memTotalBytes: 8 * GiB, requestText: '--vm-mem 7G'}),
    ).to.throw(UsageError, /below the safe floor of 512 MiB/)
    expect(() =>
      checkMemoryFits({poolBytesAfter: 9 * GiB, memTotalBytes: 8 * GiB, requestText: '--vm-mem 9G'}),
    ).to.throw(UsageError, /more than this host has/)
    expect(() => checkMemoryFits({poolBytesAfter: 7 * GiB, memTotalBytes: 8 * GiB, requestText: 'x'})).not.to.throw()
  })
})
