#!/usr/bin/env node
// Entry point: the bundled CLI (dist/cli.js) holds oclif and every command's module graph.
import {run} from '../dist/cli.js'

await run(import.meta.url)
