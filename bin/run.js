#!/usr/bin/env node
// Entry point: oclif reads the command manifest, so only the command that runs is imported.
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
