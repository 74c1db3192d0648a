// The explicit command index (oclif "explicit" discovery) and the CLI entry. The build bundles
// this file with @oclif/core into dist/cli.js, so start-up loads one file instead of hundreds.
// test/commands-index.test.ts keeps this list and src/commands/ in step.
import {execute} from '@oclif/core/execute'

import Capture from './commands/capture.js'
import Check from './commands/check.js'
import Selftest from './commands/selftest.js'
import TuneAccess from './commands/tune/access.js'
import TuneHugepages from './commands/tune/hugepages.js'
import TuneIommu from './commands/tune/iommu.js'
import TuneKsm from './commands/tune/ksm.js'
import TuneNested from './commands/tune/nested.js'
import TuneThp from './commands/tune/thp.js'
import TuneUndo from './commands/tune/undo.js'
import {isDefaultParse} from './lib/base-command.js'
import {type FlagTables, flagTableOf} from './lib/flag-table.js'

export const COMMANDS = {
  capture: Capture,
  check: Check,
  selftest: Selftest,
  'tune:access': TuneAccess,
  'tune:hugepages': TuneHugepages,
  'tune:iommu': TuneIommu,
  'tune:ksm': TuneKsm,
  'tune:nested': TuneNested,
  'tune:thp': TuneThp,
  'tune:undo': TuneUndo,
}

export async function run(dir: string): Promise<void> {
  await execute({dir})
}

/** Every command's flag table, made from the classes above; the build writes it to dist/flag-table.json. */
export function flagTables(bin: string, version: string): FlagTables {
  const commands = Object.fromEntries(
    Object.entries(COMMANDS).map(([id, command]) => [id, flagTableOf(id, command, bin, isDefaultParse)]),
  )
  return {bin, version, commands}
}
