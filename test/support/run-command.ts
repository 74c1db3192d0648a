// Runs one command class straight from src (no build, no manifest) the way bin/run.js would:
// `node --import tsx test/support/run-command.ts tune hugepages --vm-mem 1024 ...`.
import {handle} from '@oclif/core'
import {fileURLToPath} from 'node:url'

const [topic, name, ...argv] = process.argv.slice(2)
const mod = await import(`../../src/commands/${topic}/${name}.ts`)
const projectRoot = fileURLToPath(new URL('../..', import.meta.url))
try {
  await mod.default.run(argv, projectRoot)
} catch (error) {
  await handle(error as Error)
}
