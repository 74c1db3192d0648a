// A remedy is data: the kvmctl command that applies the fix (when kvmctl can), and the manual
// steps; rendered one way for every output (text, JUnit, selftest lines). Plain strings only, so
// every layer may use it.

export interface Remedy {
  /**
   * The kvmctl argv (without "kvmctl") that applies the fix, when kvmctl can: built by the same
   * planner tune runs, so the advice and the fix agree. Shown first, as `sudo kvmctl ...`.
   */
  kvmctl?: string[]
  /** Exact commands or steps, in order: what to do by hand (or all there is, without kvmctl). */
  steps: string[]
}

/** A remedy of manual steps only. */
export function manual(...steps: string[]): Remedy {
  return {steps}
}

// Characters a POSIX shell leaves alone in an unquoted word.
const SHELL_SAFE = /^[\w@%+=:,./-]+$/

export function shellQuote(arg: string): string {
  return SHELL_SAFE.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}

/** `sudo kvmctl tune hugepages --vm-mem 1024`: the command line a user types. */
export function kvmctlCommand(argv: readonly string[]): string {
  return ['sudo', 'kvmctl', ...argv].map(shellQuote).join(' ')
}

/**
 * The remedy as lines: the kvmctl command first, then the manual steps ("or by hand:" before the
 * first one when there is a kvmctl command, so no one runs both).
 */
export function remedyLines(remedy: Remedy | undefined): string[] {
  if (!remedy) return []
  if (!remedy.kvmctl) return [...remedy.steps]
  const [first, ...rest] = remedy.steps
  return [kvmctlCommand(remedy.kvmctl), ...(first === undefined ? [] : [`or by hand: ${first}`, ...rest])]
}
