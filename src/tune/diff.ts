// Unified diffs of planned file changes (the `diff -u` format), so the plan shows exactly what
// will be written. The editors change a few lines of files that can be large (a 5 MB fstab), so
// the diff trims the common head and tail first (linear time, no copy of the unchanged lines) and
// runs an exact LCS only over the changed middle when that is small; a large changed middle is
// shown as removed then added, which is still a correct diff. Time and memory stay linear.

interface Line {
  text: string
  /** False only for a last line that has no trailing newline. */
  eol: boolean
}

/** The LCS table of the changed middle is used up to this many cells (8 MB of Int32). */
const MAX_LCS_CELLS = 2_000_000

function splitLines(text: string): Line[] {
  if (text === '') return []
  const parts = text.split('\n')
  const endsWithNewline = parts[parts.length - 1] === ''
  if (endsWithNewline) parts.pop()
  return parts.map((t, i) => ({text: t, eol: i < parts.length - 1 || endsWithNewline}))
}

type Kind = ' ' | '-' | '+'
interface Op {
  kind: Kind
  line: Line
}

const sameLine = (a: Line, b: Line) => a.text === b.text && a.eol === b.eol

/** Edit script of a[lo..ahi) against b[lo..bhi): exact LCS when small, else delete-all then add-all. */
function middleOps(a: Line[], b: Line[], lo: number, ahi: number, bhi: number): Op[] {
  const n = ahi - lo
  const m = bhi - lo
  const ops: Op[] = []
  if (n === 0 || m === 0 || (n + 1) * (m + 1) > MAX_LCS_CELLS) {
    for (let i = lo; i < ahi; i++) ops.push({kind: '-', line: a[i]})
    for (let j = lo; j < bhi; j++) ops.push({kind: '+', line: b[j]})
    return ops
  }
  const w = m + 1
  // lcs[i*w+j]: length of the longest common subsequence of a[lo+i..ahi) and b[lo+j..bhi).
  const lcs = new Int32Array((n + 1) * w)
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = sameLine(a[lo + i], b[lo + j])
        ? lcs[(i + 1) * w + j + 1] + 1
        : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1])
    }
  }
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && sameLine(a[lo + i], b[lo + j])) {
      ops.push({kind: ' ', line: a[lo + i]})
      i++
      j++
    } else if (i < n && (j === m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
      ops.push({kind: '-', line: a[lo + i]})
      i++
    } else {
      ops.push({kind: '+', line: b[lo + j]})
      j++
    }
  }
  return ops
}

/**
 * A unified diff from `before` to `after` of host file `path`, or '' when they are equal.
 * `before` undefined means the file does not exist yet.
 */
export function unifiedDiff(path: string, before: string | undefined, after: string, context = 3): string {
  if (before === after) return ''
  const a = splitLines(before ?? '')
  const b = splitLines(after)
  let head = 0
  while (head < a.length && head < b.length && sameLine(a[head], b[head])) head++
  let tail = 0
  while (tail < a.length - head && tail < b.length - head && sameLine(a[a.length - 1 - tail], b[b.length - 1 - tail]))
    tail++
  // Only the changed middle and `context` lines either side become ops; line numbers are counted.
  const start = Math.max(0, head - context)
  const ops: Op[] = []
  for (let i = start; i < head; i++) ops.push({kind: ' ', line: a[i]})
  ops.push(...middleOps(a, b, head, a.length - tail, b.length - tail))
  for (let i = a.length - tail; i < Math.min(a.length, a.length - tail + context); i++)
    ops.push({kind: ' ', line: a[i]})
  const header = [before === undefined ? '--- /dev/null' : `--- a${path}`, `+++ b${path}`]
  return [...header, ...hunks(ops, start + 1, start + 1, context)].join('\n') + '\n'
}

/** Groups ops into hunks; `oldLine`/`newLine` are the 1-based numbers of the first op's lines. */
function hunks(ops: Op[], oldLine: number, newLine: number, context: number): string[] {
  const out: string[] = []
  // Line numbers before each op.
  const oldAt: number[] = []
  const newAt: number[] = []
  for (const op of ops) {
    oldAt.push(oldLine)
    newAt.push(newLine)
    if (op.kind !== '+') oldLine++
    if (op.kind !== '-') newLine++
  }
  let k = 0
  while (k < ops.length) {
    if (ops[k].kind === ' ') {
      k++
      continue
    }
    // Grow a hunk from this change until `context * 2` unchanged lines separate it from the next.
    const start = Math.max(0, k - context)
    let end = k
    let lastChange = k
    while (end < ops.length) {
      if (ops[end].kind !== ' ') lastChange = end
      else if (end - lastChange > context * 2) break
      end++
    }
    end = Math.min(ops.length, lastChange + context + 1)
    const body: string[] = []
    let oldLen = 0
    let newLen = 0
    for (let x = start; x < end; x++) {
      const op = ops[x]
      if (op.kind !== '+') oldLen++
      if (op.kind !== '-') newLen++
      body.push(op.kind + op.line.text)
      if (!op.line.eol) body.push('\\ No newline at end of file')
    }
    const range = (s: number, len: number) => (len === 0 ? `${s - 1},0` : len === 1 ? `${s}` : `${s},${len}`)
    out.push(`@@ -${range(oldAt[start], oldLen)} +${range(newAt[start], newLen)} @@`, ...body)
    k = end
  }
  return out
}
