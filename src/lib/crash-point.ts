// Crash points for the kill tests: tuning calls crashPoint(name) between every durable step
// (journal written, file renamed, ...). When KVMCTL_TEST_CRASH_AT=N is set (only tests set it),
// the Nth point reached SIGKILLs the process, as a power cut or `kill -9` would at that instant.
// KVMCTL_TEST_CRASH_LOG=FILE appends each point's number and name, so a test can list them.
import {appendFileSync} from 'node:fs'

let reached = 0

export function crashPoint(name: string): void {
  const at = process.env.KVMCTL_TEST_CRASH_AT
  const log = process.env.KVMCTL_TEST_CRASH_LOG
  if (at === undefined && log === undefined) return
  reached++
  if (log) appendFileSync(log, `${reached} ${name}\n`)
  if (at !== undefined && Number(at) === reached) process.kill(process.pid, 'SIGKILL')
}
