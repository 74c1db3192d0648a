import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {CaptureResult} from '../host/capture.js'
import {BaseCommand} from '../lib/base-command.js'
import {captureBody} from '../report/bodies/capture.js'

export default class Capture extends BaseCommand {
  static override description =
    'Write the host files `kvmctl check` reads, plus host.json, into DIR (sanitised: no hostnames, serials, user names), to attach to a bug report or replay with `kvmctl check --root DIR`'
  static override examples = [
    '<%= config.bin %> capture ./my-host',
    '<%= config.bin %> capture ./my-host --force',
    '<%= config.bin %> check --root ./my-host',
  ]
  static override args = {
    dir: Args.string({description: 'folder to write; must not exist or be empty (see --force)', required: true}),
  }
  static override flags = {
    force: Flags.boolean({description: 'replace DIR when it exists and is not empty'}),
    root: Flags.string({description: 'capture a replayed host folder instead of the live machine', env: 'KVMCTL_ROOT'}),
  }

  async run(): Promise<CaptureResult> {
    return this.runBody(captureBody)
  }
}
