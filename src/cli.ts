// The explicit command index (oclif "explicit" discovery) and the CLI entry. The build bundles
// this file with @oclif/core into dist/cli.js, so start-up loads one file instead of hundreds.
import {execute} from '@oclif/core'

import Capture from './commands/capture.js'
import Check from './commands/check.js'

export const COMMANDS = {
  capture: Capture,
  check: Check,
}

export async function run(dir: string): Promise<void> {
  await execute({dir})
}
