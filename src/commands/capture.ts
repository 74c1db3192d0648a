import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {captureHost, type CaptureResult} from '../host/capture.js'
import {Host} from '../host/host.js'
import {BaseCommand} from '../lib/base-command.js'

export default class Capture extends BaseCommand {
  static override description =
    'Write the host files `kvmctl check` reads, plus host.json, into DIR (sanitised: no hostnames, serials, user names), to attach to a bug report or replay with `kvmctl check --root DIR`'
  static override examples = ['<%= config.bin %> capture ./my-host', '<%= config.bin %> capture ./my-host --force', '<%= config.bin %> check --root ./my-host']
  static override args = {
    dir: Args.string({description: 'folder to write; must not exist or be empty (see --force)', required: true}),
  }
  static override flags = {
    force: Flags.boolean({description: 'replace DIR when it exists and is not empty'}),
    root: Flags.string({description: 'capture a replayed host folder instead of the live machine', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<CaptureResult> {
    const {args, flags} = await this.parse(Capture)
    const host = await Host.open(flags.root)
    const result = await captureHost(host, args.dir, {force: flags.force, source: `kvmctl capture ${this.config.version}`})
    if (!this.jsonEnabled()) {
      this.log(`Wrote ${result.files.length} files to ${result.dir}`)
      this.log(`Replay it with: ${this.config.bin} check --root ${args.dir}`)
    }
    return result
  }
}
