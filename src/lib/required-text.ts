// A text every match of a regular expression must contain, found from its source: a line without it
// cannot match, and String#includes rejects it far faster than running the expression. The kernel
// log scans (hundreds to thousands of lines against dozens of patterns) try each pattern only on the
// lines that hold its text.

/** Characters that stand for themselves in a pattern's source (outside a class). */
const PLAIN = /[A-Za-z0-9 :_\-,=/<>'"!@#%&~`;]/
/** Escaped characters that stand for themselves (\( \) \[ \. ...). */
const ESCAPED_PLAIN = /[()[\]{}.*+?^$|\\/\-:]/

/**
 * The longest run of literal characters at the top level of re's source, when every match must
 * contain it (no top-level alternation, no case folding); undefined when there is none of 3 or more.
 */
export function requiredText(re: RegExp): string | undefined {
  if (re.flags.includes('i')) return undefined
  const src = re.source
  const runs: string[] = []
  let run = ''
  let depth = 0
  const end = () => {
    if (run.length > 0) runs.push(run)
    run = ''
  }
  for (let i = 0; i < src.length; i++) {
    const c = src[i]
    if (c === '\\') {
      const next = src[i + 1] ?? ''
      i++
      if (depth === 0 && ESCAPED_PLAIN.test(next) && !isQuantifier(src[i + 1])) run += next
      else end()
      continue
    }
    if (c === '[') {
      // A class: skip to its closing bracket (escapes inside included).
      end()
      for (i++; i < src.length && src[i] !== ']'; i++) if (src[i] === '\\') i++
      continue
    }
    if (c === '{') {
      // A quantifier's bounds ({2,3}): not text.
      end()
      while (i < src.length && src[i] !== '}') i++
      continue
    }
    if (c === '(') {
      end()
      depth++
      continue
    }
    if (c === ')') {
      depth--
      continue
    }
    if (c === '|' && depth === 0) return undefined
    if (depth === 0 && PLAIN.test(c) && !isQuantifier(src[i + 1])) run += c
    else end()
  }
  end()
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a), '')
  return longest.length >= 3 ? longest : undefined
}

function isQuantifier(c: string | undefined): boolean {
  return c === '?' || c === '*' || c === '+' || c === '{'
}

const required = new WeakMap<RegExp, string | null>()

/** re.exec(line), or null at once when the line lacks the text every match of re contains. */
export function execLine(re: RegExp, line: string): RegExpExecArray | null {
  let text = required.get(re)
  if (text === undefined) required.set(re, (text = requiredText(re) ?? null))
  return text !== null && !line.includes(text) ? null : re.exec(line)
}
