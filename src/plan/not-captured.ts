// A plan that needs a fact the replayed capture did not hold: unknown, never "missing", so the
// planner stops with one line naming the paths instead of planning to create them (exit 2).
import {UsageError} from '../lib/errors.js'

export class NotCapturedError extends UsageError {
  constructor(readonly paths: string[]) {
    super(`not in this capture: ${paths.join(', ')}; a plan needs them (capture the host again with \`kvmctl capture DIR\`)`)
  }

  /** Gathers the unknown paths a plan needs, then throws once for all of them. */
  static Collector = class {
    private readonly paths: string[] = []
    add(path: string): void {
      if (!this.paths.includes(path)) this.paths.push(path)
    }
    throwIfAny(): void {
      if (this.paths.length > 0) throw new NotCapturedError([...this.paths])
    }
  }
}
