// `kvmctl capture DIR`: write the host's files and host.json into DIR.
import {captureHost, type CaptureResult} from '../../host/capture.js'
import {Host} from '../../host/host.js'
import type {CommandBody} from '../../lib/command-body.js'

export interface CaptureFlagValues {
  force?: boolean
  root?: string
}

export const captureBody: CommandBody<CaptureFlagValues, CaptureResult> = async ({flags, args}, io) => {
  const dir = args.dir!
  const host = await Host.open(flags.root)
  const result = await captureHost(host, dir, {force: flags.force, source: `${io.bin} capture ${io.version}`})
  io.log(`Wrote ${result.files.length} files to ${result.dir}`)
  io.log(`Replay it with: ${io.bin} check --root ${dir}`)
  return {result, failed: false}
}
