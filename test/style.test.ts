// The sources stay formatted as `npm run format` leaves them (prettier, lines up to 120 characters;
// a string literal longer than that is the one thing it cannot break).
import {expect} from 'chai'
import {readdirSync, readFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import * as prettier from 'prettier'

import {repo} from './support/cli.js'

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return /\.(ts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

describe('style', () => {
  it('every source file is as `npm run format` leaves it', async () => {
    const files = ['src', 'test', 'scripts', 'bench'].flatMap((dir) => sources(join(repo, dir)))
    const options = await prettier.resolveConfig(join(repo, 'src', 'cli.ts'))
    const unformatted: string[] = []
    for (const file of files) {
      const ok = await prettier.check(readFileSync(file, 'utf8'), {...options, filepath: file})
      if (!ok) unformatted.push(relative(repo, file))
    }
    expect(unformatted, 'run `npm run format`').to.deep.equal([])
  })
})
