// Help, the generated command reference in README.md, and shell completion, through the real CLI.
import {expect} from 'chai'
import {execa} from 'execa'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {runCli} from './support/cli.js'
import {scratchDir} from './support/pack.js'

const commandsSection = (text: string) => {
  const m = /^<!-- commands -->$([\s\S]*?)^<!-- commandsstop -->$/m.exec(text)
  return m?.[1]
}

describe('help, command reference and completion', () => {
  const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as {
    commands: Record<string, {examples?: string[]}>
  }

  it('`kvmctl help` lists every command, and each shows its examples', async () => {
    const top = await runCli(['help'])
    expect(top.exitCode).to.equal(0)
    for (const [id, command] of Object.entries(manifest.commands)) {
      expect(command.examples?.length ?? 0, `${id} has static examples`).to.be.greaterThan(0)
      expect(top.stdout, id).to.contain(`  ${id.split(':')[0]}`)
      const help = await runCli(['help', ...id.split(':')])
      expect(help.exitCode, id).to.equal(0)
      expect(help.stdout, id).to.match(/^EXAMPLES$/m)
      expect(help.stdout, id).to.contain(`$ kvmctl ${id.replaceAll(':', ' ')}`)
    }
  })

  it('README.md carries the command reference `npm run docs` generates from the commands', async () => {
    const generated = await execa('npx', ['oclif', 'readme', '--no-aliases', '--no-source-links', '--dry-run'], {
      env: {npm_config_loglevel: 'error'},
    })
    const expected = commandsSection(generated.stdout)
    expect(expected, 'oclif readme output has the commands markers').to.be.a('string')
    for (const id of Object.keys(manifest.commands))
      expect(expected).to.contain(`## \`kvmctl ${id.replaceAll(':', ' ')}`)
    expect(commandsSection(readFileSync('README.md', 'utf8')), 'README.md is stale: run npm run docs').to.equal(
      expected,
    )
  })

  it('bash completion offers the check flags', async () => {
    const home = scratchDir('kvmctl-complete-')
    const env = {HOME: home, XDG_CACHE_HOME: join(home, 'cache')}
    const refresh = await runCli(['autocomplete', '--refresh-cache'], {env})
    expect(refresh.exitCode, refresh.stderr).to.equal(0)
    const setup = await runCli(['autocomplete', 'script', 'bash'], {env})
    // Source the generated setup in a real bash and ask it to complete `kvmctl check --fo`.
    const complete = await execa(
      'bash',
      [
        '-c',
        `${setup.stdout.trim()}\nCOMP_WORDS=(kvmctl check --fo); COMP_CWORD=2; COMP_LINE="kvmctl check --fo"; _kvmctl_autocomplete; echo "\${COMPREPLY[@]}"`,
      ],
      {env: {...process.env, ...env}},
    )
    expect(complete.stdout.trim().split(/\s+/)).to.include('--format')
  })
})
