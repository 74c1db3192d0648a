import {expect} from 'chai'

import {UsageError} from '../src/lib/errors.js'
import {parseSize} from '../src/lib/size.js'

describe('parseSize', () => {
  it('reads MiB by default and the usual units', () => {
    expect(parseSize('1024', '--vm-mem')).to.equal(1024 * 2 ** 20)
    expect(parseSize('512M', '--vm-mem')).to.equal(512 * 2 ** 20)
    expect(parseSize('1G', '--vm-mem')).to.equal(2 ** 30)
    expect(parseSize('1GiB', '--vm-mem')).to.equal(2 ** 30)
    expect(parseSize('2m', '--mem')).to.equal(2 * 2 ** 20)
  })

  for (const bad of ['abc', '-1', '0', '', '1X', '1.2.3']) {
    it(`rejects ${JSON.stringify(bad)} with a one-line usage error`, () => {
      expect(() => parseSize(bad, '--vm-mem'))
        .to.throw(UsageError)
        .with.property('message')
        .that.matches(/^--vm-mem /)
    })
  }
})
