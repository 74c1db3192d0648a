// What a tune run works on: the host (live or a --root tree), the pool backend (the kernel, or a
// test's stand-in) and the effective uid that decides whether applying is allowed.
import type {Host} from '../host/host.js'
import {OperationError} from '../lib/errors.js'
import {type PoolBackend, SysfsPool} from './pool.js'

export interface TuneContext {
  host: Host
  pool: PoolBackend
  uid: number
}

export function liveContext(host: Host): TuneContext {
  return {host, pool: new SysfsPool(host), uid: process.geteuid?.() ?? -1}
}

/** Applying changes the kernel and /etc: root only. --dry-run is for everyone. */
export function requireRoot(ctx: TuneContext, what: string): void {
  if (ctx.uid !== 0) {
    throw new OperationError(
      `${what} needs root (running as uid ${ctx.uid}); run it with sudo, or add --dry-run to only see the plan`,
    )
  }
}
