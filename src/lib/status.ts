// The status of a check or a selftest stage: the domain word every renderer and report shares.
// It sits at the bottom layer so lib/style (the colours) and the layers above can all import it.

export type Status = 'pass' | 'warn' | 'fail' | 'skip'
