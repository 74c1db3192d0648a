import {expect} from 'chai'
import {readdirSync} from 'node:fs'
import {join, relative} from 'node:path'

import {COMMANDS} from '../src/cli.js'

/** Command ids as oclif's pattern strategy would derive them from src/commands. */
function commandFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory()
      ? commandFiles(join(dir, e.name), base)
      : [relative(base, join(dir, e.name)).replace(/\.ts$/, '').split('/').join(':')],
  )
}

describe('the explicit command index', () => {
  it('lists every command file in src/commands, and nothing else', () => {
    expect(Object.keys(COMMANDS).sort()).to.deep.equal(commandFiles('src/commands').sort())
  })
})
