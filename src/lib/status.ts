// The status of a check or a selftest stage: the domain word every renderer and report shares.
// It sits at the bottom layer so lib/style (the colours) and the layers above can all import it.

/**
 * fail: VMs cannot run. warn: they run, but a typical VM suffers. info: optional tuning, or a
 * fact worth knowing; a healthy host may show it. pass: fine. skip: not judged (not applicable,
 * not captured, or reported under another check).
 */
export type Status = 'pass' | 'info' | 'warn' | 'fail' | 'skip'

/** Every status, in the order reports list them. */
export const STATUSES: readonly Status[] = ['pass', 'info', 'warn', 'fail', 'skip']

/** The statuses that ask for action: --quiet shows only these. */
export function needsAction(status: Status): boolean {
  return status === 'warn' || status === 'fail'
}
