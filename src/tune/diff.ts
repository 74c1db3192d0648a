// Unified diffs of planned file changes (the `diff -u` format), so the plan shows exactly what
// will be written. Files here are short (fstab, sysctl.d, modprobe.d): an LCS table is enough.

interface Line {
  text: string
  /** False only for a last line that has no trailing newline. */
  eol: boolean
}

function splitLines(text: string): Line[] {
  if (text === '') return []
  const parts = text.split('\n')
  const endsWithNewline = parts[parts.length - 1] === ''
  if (endsWithNewline) parts.pop()
  return parts.map((t, i) => ({text: t, eol: i < parts.length - 1 || endsWithNewline}))
}

type Op = {kind: ' ' | '-' | '+'; line: Line}

function sameLine(a: Line, b: Line): boolean {
  return a.text === b.text && a.eol === b.eol
}

function diffOps(a: Line[], b: Line[]): Op[] {
  const n = a.length
  const m = b.length
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({length: n + 1}, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = sameLine(a[i], b[j]) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
    }
  }
  const ops: Op[] = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && sameLine(a[i], b[j])) {
      ops.push({kind: ' ', line: a[i]})
      i++
      j++
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push({kind: '-', line: a[i]})
      i++
    } else {
      ops.push({kind: '+', line: b[j]})
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
  const ops = diffOps(splitLines(before ?? ''), splitLines(after))
  const header = [before === undefined ? '--- /dev/null' : `--- a${path}`, `+++ b${path}`]
  const hunks: string[] = []
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
    let oldStart = 1
    let newStart = 1
    for (let x = 0; x < start; x++) {
      if (ops[x].kind !== '+') oldStart++
      if (ops[x].kind !== '-') newStart++
    }
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
    hunks.push(`@@ -${range(oldStart, oldLen)} +${range(newStart, newLen)} @@`, ...body)
    k = end
  }
  return [...header, ...hunks].join('\n') + '\n'
}
