// The kernel-log scans skip a line for a pattern when the line lacks the text every match of the
// pattern contains (src/lib/required-text.ts). That text must really be in every match, or a
// pattern would miss lines: proved here for every pattern kvmctl scans, on strings made to match it.
import {expect} from 'chai'
import fc from 'fast-check'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {CONFIDENTIAL_LOG} from '../src/host/confidential.js'
import {IOMMU_LOG} from '../src/host/iommu.js'
import {LOG_PATTERNS} from '../src/host/kernel-log.js'
import {readKmsg} from '../src/host/kmsg.js'
import {execLine, requiredText} from '../src/lib/required-text.js'

const PATTERNS = [...LOG_PATTERNS.map((p) => p.re), ...Object.values(CONFIDENTIAL_LOG), ...Object.values(IOMMU_LOG)]

describe('required text of a pattern (kernel-log scans)', () => {
  it('is the longest top-level literal run, never from a class, group, quantified character or bounds', () => {
    expect(requiredText(/kvm_amd: SEV (enabled|disabled) \(ASIDs (\d+)\)/)).to.equal('kvm_amd: SEV ')
    expect(requiredText(/SEV-ES (?:and SEV-SNP )?supported: (\d+) ASIDs/)).to.equal('supported: ')
    expect(requiredText(/x86\/tme: enabled by BIOS/)).to.equal('x86/tme: enabled by BIOS')
    expect(requiredText(/(\S+): Device is ineligible/)).to.equal(': Device is ineligible')
    expect(requiredText(/abcd?e/)).to.equal('abc')
    expect(requiredText(/ab{2,3}cdef/)).to.equal('cdef')
    expect(requiredText(/[abcdef]xy\.z/)).to.equal('xy.z')
  })

  it('is none for alternation at the top, case folding, or no run of 3', () => {
    expect(requiredText(/tdx: module initialized|TDX-Module initialized/)).to.equal(undefined)
    expect(requiredText(/kvm: disabled by bios/i)).to.equal(undefined)
    expect(requiredText(/\d+ab\s/)).to.equal(undefined)
  })

  // fast-check cannot make strings for \b (without it a pattern matches more: a stronger proof) nor
  // with case folding (strings for the exact case still match, and the required text skips /i).
  const matching = (re: RegExp) =>
    fc.stringMatching(new RegExp(re.source.replaceAll('\\b', ''), re.flags.replace('i', '')))

  for (const re of PATTERNS) {
    it(`is in every match of /${re.source.slice(0, 60)}/`, () => {
      const text = requiredText(re)
      if (text === undefined) return
      fc.assert(
        fc.property(matching(re), (s) => s.includes(text)),
        {numRuns: 200},
      )
    })
  }

  it('leaves every scan result as it was, on lines made to match any of the patterns', () => {
    const index = fc.integer({min: 0, max: PATTERNS.length - 1})
    const line = index.chain((i) => fc.tuple(fc.string(), matching(PATTERNS[i]), fc.string()))
    fc.assert(
      fc.property(line, index, ([before, middle, after], j) => {
        const text = before + middle + after
        expect(execLine(PATTERNS[j], text)).to.deep.equal(PATTERNS[j].exec(text))
      }),
      {numRuns: 3000},
    )
  })

  it("leaves every scan result as it was on the fixtures' kernel logs and this machine's", () => {
    const logs = readdirSync('fixtures', {withFileTypes: true})
      .filter((d) => d.isDirectory())
      .map((d) => JSON.parse(readFileSync(join('fixtures', d.name, 'host.json'), 'utf8')).dmesg as string | null)
      .map((log) => log ?? '')
    const live = (() => {
      try {
        return readKmsg()
      } catch {
        return '' // not readable here (dmesg_restrict): the fixtures still cover every kind of line
      }
    })()
    const lines = [...logs, live].join('\n').split('\n')
    expect(lines.length).to.be.above(30)
    for (const re of PATTERNS) {
      for (const l of lines) expect(execLine(re, l), `${re} on ${l}`).to.deep.equal(re.exec(l))
    }
  })
})
