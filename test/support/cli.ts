// Runs the built CLI (bin/run.js over dist/, as installed) and tells which commands it has, so
// tests of commands that land in other branches (selftest, tune) start running once they exist.
import {execa} from 'execa'
import {readFileSync} from 'node:fs'

export function runCli(args: string[], options: {env?: Record<string, string>} = {}) {
  return execa('node', ['bin/run.js', ...args], {reject: false, stripFinalNewline: false, env: {NO_COLOR: '1', ...options.env}})
}

export function cliHasCommand(id: string): boolean {
  const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as {commands: Record<string, unknown>}
  return id in manifest.commands
}
