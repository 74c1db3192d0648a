// Creating the VM group (kvm) as a journaled step, for tune hugepages and tune access alike.
import {groupNow} from '../host/accounts.js'
import {OperationError} from '../lib/errors.js'
import type {Transaction} from './journal.js'
import {runTool} from './tools.js'

const NOTHING_CREATED = 'groupadd failed: nothing was created'

/**
 * Creates group `name` with `groupadd --system` unless it exists by now (under the lock, look
 * again: a group made since the plan is used, never created, nor deleted). Returns a message, or
 * undefined when the group was there. A failed groupadd throws (and is never undone with groupdel).
 */
export async function createGroup(tx: Transaction, name: string): Promise<string | undefined> {
  const {host} = tx.ctx
  if ((await groupNow(host, name)) !== undefined) return undefined
  const args = [...(host.root ? ['--prefix', host.root] : []), '--system', name]
  const made = await tx.change(
    {kind: 'group', name},
    async () => ({run: await runTool(host, 'groupadd', args), gid: (await groupNow(host, name))?.gid}),
    // A failed groupadd made nothing (even when the group turned out to exist): never undo it.
    (r) => (r.run.exitCode === 0 && r.gid !== undefined ? {gid: r.gid} : {state: 'reverted', note: NOTHING_CREATED}),
  )
  if (made.run.exitCode !== 0) {
    throw new OperationError(`${made.run.command} failed (exit ${made.run.exitCode}): ${made.run.output}`)
  }
  return `created group ${name} (gid ${made.gid})`
}
