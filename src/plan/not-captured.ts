// A plan that needs a fact the replayed capture did not hold: unknown, never "missing", so the
// planner stops with one line naming the paths instead of planning to create them (exit 2). A
// file that was there but unreadable is named with why.
import {UsageError} from '../lib/errors.js'

export class NotCapturedError extends UsageError {
  constructor(
    readonly paths: string[],
    unreadable: Record<string, string> = {},
  ) {
    const missing = paths.filter((p) => !Object.hasOwn(unreadable, p))
    const bad = paths.filter((p) => Object.hasOwn(unreadable, p)).map((p) => `${p} (${unreadable[p]})`)
    const parts = [
      missing.length ? `not in this capture: ${missing.join(', ')}` : '',
      bad.length ? `unreadable in this capture: ${bad.join(', ')}` : '',
    ]
    super(`${parts.filter(Boolean).join('; ')}; a plan needs them (capture the host again with \`kvmctl capture DIR\`)`)
  }

  /** Gathers the unknown paths a plan needs, then throws once for all of them. */
  static Collector = class {
    private readonly paths: string[] = []
    constructor(private readonly unreadable: Record<string, string> = {}) {}
    add(path: string): void {
      if (!this.paths.includes(path)) this.paths.push(path)
    }
    /** Adds the unreadable files under a folder instead of the folder, when there are any. */
    addUnder(folder: string): void {
      const bad = Object.keys(this.unreadable).filter((p) => p.startsWith(folder))
      for (const p of bad.length ? bad : [folder]) this.add(p)
    }
    throwIfAny(): void {
      if (this.paths.length > 0) throw new NotCapturedError([...this.paths], this.unreadable)
    }
  }
}
