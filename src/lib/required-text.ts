// A text every match of a regular expression must contain, found from its source: a line without it
// cannot match. The kernel-log scans (hundreds to thousands of lines against dozens of patterns)
// search the whole log for each pattern's texts (String#indexOf, native) and run the expression on
// the lines that hold one, instead of trying every pattern on every line.

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
  return requiredRun(re.source)
}

/** The longest literal run (3 or more) every match of src must contain; undefined when none or alternation. */
function requiredRun(src: string): string | undefined {
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

/**
 * Texts one of which every match of re contains: its required text, or one per top-level
 * alternative (a|b|c); lower-cased, with folded set, for a case-insensitive re. Undefined when an
 * alternative has no literal run of 3 or more.
 */
export function requiredTexts(re: RegExp): {texts: string[]; folded: boolean} | undefined {
  // Patterns are module constants, asked again on every scan: worked out once each.
  if (textsOf.has(re)) return textsOf.get(re)
  const found = textsFromSource(re)
  textsOf.set(re, found)
  return found
}

const textsOf = new WeakMap<RegExp, {texts: string[]; folded: boolean} | undefined>()

function textsFromSource(re: RegExp): {texts: string[]; folded: boolean} | undefined {
  const folded = re.flags.includes('i')
  const texts: string[] = []
  for (const alternative of topLevelAlternatives(re.source)) {
    const text = requiredRun(alternative)
    if (text === undefined) return undefined
    texts.push(folded ? text.toLowerCase() : text)
  }
  return {texts, folded}
}

/** src split at each | outside groups and classes. */
function topLevelAlternatives(src: string): string[] {
  const parts: string[] = []
  let depth = 0
  let from = 0
  for (let i = 0; i < src.length; i++) {
    const c = src[i]
    if (c === '\\') i++
    else if (c === '[') {
      for (i++; i < src.length && src[i] !== ']'; i++) if (src[i] === '\\') i++
    } else if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === '|' && depth === 0) {
      parts.push(src.slice(from, i))
      from = i + 1
    }
  }
  parts.push(src.slice(from))
  return parts
}

export interface LineMatch {
  /** The line, without its newline. */
  line: string
  /** Where the line starts in the text. */
  start: number
  match: RegExpExecArray
}

/** The last text searched, with its lower-cased copy (ASCII only, so offsets stay) made on demand. */
let searched: {text: string; lower?: string | null} | undefined

function lowerCased(text: string): string | null {
  if (searched?.text !== text) searched = {text}
  // Only ASCII lower-cases in place: other characters may change length and move every offset.
  searched.lower ??= /[^\x00-\x7f]/.test(text) ? null : text.toLowerCase()
  return searched.lower
}

/**
 * Each line of text (lines end at "\n") that re matches, in order, at most limit of them: what
 * `text.split('\n')` and re.exec on each line would find, found by searching for re's required texts.
 */
export function matchLines(text: string, re: RegExp, limit = Infinity): LineMatch[] {
  const needles = requiredTexts(re)
  const haystack = needles?.folded ? lowerCased(text) : text
  const found: LineMatch[] = []
  /** Runs re on the line at start; returns where that line's newline is, or -1 for the last line. */
  const tryLine = (start: number) => {
    const newline = text.indexOf('\n', start)
    const line = text.slice(start, newline < 0 ? text.length : newline)
    const match = re.exec(line)
    if (match) found.push({line, start, match})
    return newline
  }
  if (!needles || haystack === null) {
    for (let start = 0, newline = 0; newline >= 0 && found.length < limit; start = newline + 1) newline = tryLine(start)
    return found
  }
  // The start of every line that holds one of the texts, in order.
  const starts = new Set<number>()
  for (const needle of needles.texts) {
    for (let at = haystack.indexOf(needle); at >= 0;) {
      const start = text.lastIndexOf('\n', at) + 1
      starts.add(start)
      const newline = text.indexOf('\n', at)
      if (newline < 0) break
      at = haystack.indexOf(needle, newline + 1)
    }
  }
  const ordered = needles.texts.length > 1 ? [...starts].sort((a, b) => a - b) : [...starts]
  for (const start of ordered) {
    if (found.length >= limit) break
    tryLine(start)
  }
  return found
}
