// The kernel log read straight from /dev/kmsg and printed as `dmesg` prints it. Reading the
// device takes about 2 ms; spawning dmesg costs a process start, which `kvmctl check` cannot
// afford. Callers fall back to dmesg when this fails.
import {closeSync, constants, openSync, readSync} from 'node:fs'

import {nativeIfBuilt} from '../native.js'

/** One /dev/kmsg record ("6,339,357779,-;kvm-pvm: loaded") as a dmesg line ("[    0.357779] kvm-pvm: loaded"). */
export function formatKmsgRecord(record: string): string | undefined {
  const header = /^\d+,\d+,(\d+),[^;]*;/.exec(record)
  if (!header) return undefined
  // Continuation lines (" KEY=value") carry device metadata that dmesg does not print.
  const end = record.indexOf('\n', header[0].length)
  const message = record.slice(header[0].length, end < 0 ? undefined : end)
  const usec = Number(header[1])
  const stamp = `[${String(Math.floor(usec / 1e6)).padStart(5)}.${String(usec % 1e6).padStart(6, '0')}] `
  // Most records have no escapes and one line: skip the work for them (hundreds per run).
  const unescape = (_: string, hex: string) => String.fromCharCode(parseInt(hex, 16))
  const text = message.includes('\\') ? message.replace(/\\x([0-9a-f]{2})/gi, unescape) : message
  return stamp + (text.includes('\n') ? text.split('\n').join('\n' + ' '.repeat(stamp.length)) : text)
}

/**
 * The whole kernel log, or throws (EACCES under kernel.dmesg_restrict, ENOENT without the device).
 * Read by the native addon (one read() per record, formatted as formatKmsgRecord does, about 1 ms
 * instead of 5 here); by readKmsgRecords when the addon is not built.
 */
export function readKmsg(path = '/dev/kmsg'): string {
  return nativeIfBuilt()?.readKernelLog(path) ?? readKmsgRecords(path)
}

/** The kernel log read record by record in TypeScript: the reference the native reader is tested against. */
export function readKmsgRecords(path = '/dev/kmsg'): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  const buf = Buffer.alloc(16 * 1024)
  const lines: string[] = []
  try {
    for (;;) {
      let n: number
      try {
        n = readSync(fd, buf, 0, buf.length, null)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'EAGAIN') break // the end of the log so far
        if (code === 'EPIPE') continue // records were overwritten while reading: go on with the next
        throw error
      }
      if (n === 0) break
      const line = formatKmsgRecord(buf.toString('utf8', 0, n))
      if (line !== undefined) lines.push(line)
    }
  } finally {
    closeSync(fd)
  }
  return lines.join('\n')
}
