// CPU 0's model-specific registers, read as kvm-ok does: pread(2) of 8 bytes at the register's
// number on /dev/cpu/0/msr (the msr driver, root only). They tell from the CPU itself whether
// firmware locked virtualization or memory encryption off, which still holds when the kernel log
// has wrapped. Live only; a capture records the values in host.json `msr`.
import {closeSync, openSync, readSync} from 'node:fs'

import {MSR_DEVICE} from './paths.js'

/** The registers read: IA32_FEATURE_CONTROL (Intel), VM_CR and SYSCFG (AMD). */
export const MSR = {
  featureControl: 0x3a,
  vmCr: 0xc0010114,
  syscfg: 0xc0010010,
} as const

export type MsrName = keyof typeof MSR

/** What reading the registers gave: the device opened ("ok") or its errno name; each value as hex or an errno name. */
export interface MsrProbe {
  device: string
  values: Partial<Record<MsrName, string>>
}

/** Reads the named registers; never throws (a missing driver or an unreadable register is an errno name). */
export function readMsrs(names: readonly MsrName[], device = MSR_DEVICE): MsrProbe {
  let fd: number
  try {
    fd = openSync(device, 'r')
  } catch (error) {
    return {device: errnoName(error), values: {}}
  }
  const values: Partial<Record<MsrName, string>> = {}
  try {
    for (const name of names) {
      const buf = Buffer.alloc(8)
      try {
        const n = readSync(fd, buf, 0, 8, MSR[name])
        values[name] = n === 8 ? '0x' + buf.readBigUInt64LE().toString(16) : 'EIO'
      } catch (error) {
        values[name] = errnoName(error)
      }
    }
  } finally {
    closeSync(fd)
  }
  return {device: 'ok', values}
}

function errnoName(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'EIO'
}

/** A recorded register value as a bigint; undefined when it was not read or is not hex. */
export function msrValue(probe: MsrProbe | undefined, name: MsrName): bigint | undefined {
  const text = probe?.values[name]
  return text !== undefined && /^0x[0-9a-f]{1,16}$/i.test(text) ? BigInt(text) : undefined
}

/** Whether bit n of a register is set; undefined when the register was not read. */
export function msrBit(probe: MsrProbe | undefined, name: MsrName, bit: number): boolean | undefined {
  const value = msrValue(probe, name)
  return value === undefined ? undefined : ((value >> BigInt(bit)) & 1n) === 1n
}
