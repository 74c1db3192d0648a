// The kernel-log scans search the whole log for the texts every match of a pattern contains and run
// the pattern only on the lines that hold one (src/lib/required-text.ts). Those texts must really be
// in every match, or a pattern would miss lines: proved here for every pattern kvmctl scans, on
// strings made to match it; and the lines found must be exactly those a line-by-line scan finds.
import {expect} from 'chai'
import fc from 'fast-check'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {CONFIDENTIAL_LOG} from '../src/host/confidential.js'
import {IOMMU_LOG} from '../src/host/iommu.js'
import {LOG_PATTERNS} from '../src/host/kernel-log.js'
import {readKmsg} from '../src/host/kmsg.js'
import {matchLines, requiredText, requiredTexts} from '../src/lib/required-text.js'

const PATTERNS = [...LOG_PATTERNS.map((p) => p.re), ...Object.values(CONFIDENTIAL_LOG), ...Object.values(IOMMU_LOG)]

/** What a line-by-line scan finds: every line re matches, with where it starts. */
function naive(text: string, re: RegExp) {
  let start = 0
  return text.split('\n').flatMap((line) => {
    const match = re.exec(line)
    const found = match ? [{line, start, match}] : []
    start += line.length + 1
    return found
  })
}

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

  for (const re of PATTERNS) {
    it(`one of its texts is in every match of /${re.source.slice(0, 60)}/${re.flags}`, () => {
      const needles = requiredTexts(re)
      if (needles === undefined) return
      fc.assert(
        fc.property(matching(re), (s) => needles.texts.some((t) => (needles.folded ? s.toLowerCase() : s).includes(t))),
        {numRuns: 200},
      )
    })
  }

  it('texts per alternative, lower-cased under case folding; none when an alternative has none', () => {
    expect(requiredTexts(/tdx: module initialized|TDX-Module initialized/)).to.deep.equal({
      texts: ['tdx: module initialized', 'TDX-Module initialized'],
      folded: false,
    })
    expect(requiredTexts(/kvm: disabled by bios/i)).to.deep.equal({texts: ['kvm: disabled by bios'], folded: true})
    expect(requiredTexts(/(?:a|b)cdef|[|]xyz/)).to.deep.equal({texts: ['cdef', 'xyz'], folded: false})
    expect(requiredTexts(/abcdef|\d+/)).to.equal(undefined)
  })

  it('finds the lines a line-by-line scan finds, on logs made of lines that match the patterns', () => {
    const index = fc.integer({min: 0, max: PATTERNS.length - 1})
    const line = index.chain((i) => fc.tuple(fc.string(), matching(PATTERNS[i]), fc.string()))
    // Lines of any text (newlines inside make more lines), some made to match, one pattern asked.
    const log = fc.array(
      fc.oneof(
        line.map((parts) => parts.join('')),
        fc.string(),
      ),
      {maxLength: 8},
    )
    fc.assert(
      fc.property(log, index, fc.constantFrom('', '\n'), (lines, j, end) => {
        const text = lines.join('\n') + end
        expect(matchLines(text, PATTERNS[j])).to.deep.equal(naive(text, PATTERNS[j]))
        expect(matchLines(text, PATTERNS[j], 1)).to.deep.equal(naive(text, PATTERNS[j]).slice(0, 1))
      }),
      {numRuns: 3000},
    )
  })

  it('folds case on ASCII text only, and scans line by line otherwise', () => {
    const re = /kvm: disabled by bios/i
    const text = '[1] KVM: Disabled by BIOS\n[2] kvm: disabled by bios \u0130\n[3] other'
    expect(matchLines(text, re).map((m) => m.start)).to.deep.equal([0, 26])
    expect(matchLines(text.replace(' \u0130', ''), re).map((m) => m.start)).to.deep.equal([0, 26])
  })

  it("finds the lines a line-by-line scan finds on the fixtures' kernel logs and this machine's", () => {
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
    const text = [...logs, live].join('\n')
    expect(text.split('\n').length).to.be.above(30)
    let found = 0
    for (const re of PATTERNS) {
      const lines = matchLines(text, re)
      expect(lines, String(re)).to.deep.equal(naive(text, re))
      found += lines.length
    }
    expect(found).to.be.above(30)
  })
})
