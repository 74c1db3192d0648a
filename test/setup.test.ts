// The README's set-up section is what a new user types on a fresh machine: two commands, one that
// installs and runs `kvmctl check`, one that runs the tests; the test command (.ci/run) must
// install every Debian package a test names, since a fresh machine has none of them.
import {expect} from 'chai'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {repo} from './support/cli.js'

const read = (file: string) => readFileSync(join(repo, file), 'utf8')

function setupCommands(): string[] {
  const readme = read('README.md')
  const section = /^## Set up on a fresh machine\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? ''
  return section
    .split('\n')
    .filter((line) => line.startsWith('    '))
    .map((line) => line.trim())
}

function testSources(dir = 'test'): string[] {
  return readdirSync(join(repo, dir), {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory()
      ? testSources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [read(join(dir, entry.name))]
        : [],
  )
}

describe('set-up on a fresh machine (README)', () => {
  it('has exactly two commands: install and run `kvmctl check`, and run the tests with .ci/run', () => {
    const commands = setupCommands()
    expect(commands).to.have.length(2)
    expect(commands[0]).to.match(/^npm ci && \.\/bin\/run\.js check$/)
    expect(commands[1]).to.equal('.ci/run')
  })

  it('.ci/run installs every Debian package a test names, then runs npm ci && npm test', () => {
    const script = read('.ci/run')
    const listed = /^packages=\(([^)]*)\)$/m.exec(script)?.[1].split(/\s+/) ?? []
    const named = new Set<string>()
    for (const source of testSources()) {
      for (const m of source.matchAll(/runTool\('[^']+', '([^']+)'/g)) named.add(m[1])
      for (const m of source.matchAll(/is not installed; apt-get install ([a-z0-9][a-z0-9.+-]+)/g)) named.add(m[1])
    }
    expect([...named]).to.include.members(['prometheus', 'libxml2-utils', 'ansible-core'])
    expect(listed).to.include.members([...named])
    expect(script).to.match(/^npm ci && npm test$/m)
  })
})
