// Writing to stdout and stderr straight to their file descriptors. process.stdout is a stream: on a
// pipe or terminal its creation loads Node's net, tty and stream modules, about 6 ms of every run
// here, for output a command writes once at its end. On Linux, stdio writes are synchronous either
// way, so these and stream writes keep their order.
import {fstatSync, writeSync} from 'node:fs'
import {createRequire} from 'node:module'

/** Writes all of text to fd (1 stdout, 2 stderr); a reader that went away (EPIPE) ends it quietly. */
export function writeOut(text: string, fd: 1 | 2 = 1): void {
  const stream = () => (fd === 1 ? process.stdout : process.stderr)
  if (streamed.has(fd)) return void stream().write(text)
  const bytes = Buffer.from(text, 'utf8')
  for (let done = 0; done < bytes.length;) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EPIPE') return
      if (code !== 'EAGAIN') throw error
      // A non-blocking descriptor a parent handed over: the stream waits for it to drain, and
      // takes every later write too, so nothing overtakes what it still holds.
      streamed.add(fd)
      return void stream().write(bytes.subarray(done))
    }
  }
}

/** The descriptors that were found full and non-blocking once: written through their stream from then on. */
const streamed = new Set<number>()

/**
 * Whether fd is a terminal. A pipe, socket or file is not one, which fstat tells without loading
 * node:tty (and with it the stream modules); only a character device is asked with isatty.
 */
export function isTerminal(fd: number): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false
  } catch {
    return false
  }
  const tty = createRequire(import.meta.url)('node:tty') as typeof import('node:tty')
  return tty.isatty(fd)
}
