// Turns the selftest's flags into checked options; every bad value is a one-line UsageError.
import {availableParallelism} from 'node:os'

import {parseDuration} from '../lib/duration.js'
import {UsageError} from '../lib/errors.js'
import {formatBytes, parseSize} from '../lib/size.js'
import type {SelftestOptions} from './selftest.js'

export interface SelftestFlags {
  device: string
  vcpus?: string
  mem?: string
  hugepages: boolean
  timeout?: string
}

/** Limits that follow from the probe's memory layout (native/guest/probe_abi.h). */
export const SELFTEST_LIMITS = {
  maxVcpus: 64,
  minMemBytes: 4 * 2 ** 20,
  maxMemBytes: 3 * 2 ** 30,
  memAlign: 2 * 2 ** 20,
}

export const SELFTEST_DEFAULTS = {memBytes: 8 * 2 ** 20, timeoutMs: 2000, maxDefaultVcpus: 4}

export function resolveSelftestOptions(flags: SelftestFlags, hostCpus = availableParallelism()): SelftestOptions {
  const {maxVcpus, minMemBytes, maxMemBytes, memAlign} = SELFTEST_LIMITS
  let vcpus = Math.min(hostCpus, SELFTEST_DEFAULTS.maxDefaultVcpus)
  if (flags.vcpus !== undefined) {
    if (!/^\s*\d+\s*$/.test(flags.vcpus) || Number(flags.vcpus) < 1 || Number(flags.vcpus) > maxVcpus) {
      throw new UsageError(
        `--vcpus ${JSON.stringify(flags.vcpus)} is not a vCPU count; use a whole number from 1 to ${maxVcpus}`,
      )
    }
    vcpus = Number(flags.vcpus)
  }
  let memBytes = SELFTEST_DEFAULTS.memBytes
  if (flags.mem !== undefined) {
    memBytes = parseSize(flags.mem, '--mem')
    if (memBytes < minMemBytes || memBytes > maxMemBytes) {
      throw new UsageError(
        `--mem ${flags.mem} is out of range; use ${formatBytes(minMemBytes)} to ${formatBytes(maxMemBytes)} (e.g. 8M)`,
      )
    }
    if (memBytes % memAlign !== 0) {
      throw new UsageError(
        `--mem ${flags.mem} is not a multiple of 2 MiB (the probe maps 2 MiB pages); use e.g. ${Math.ceil(memBytes / memAlign) * 2}M`,
      )
    }
  }
  const timeoutMs =
    flags.timeout === undefined ? SELFTEST_DEFAULTS.timeoutMs : parseDuration(flags.timeout, '--timeout')
  if (flags.device.trim() === '') throw new UsageError('--device "" is empty; pass the KVM device path, e.g. /dev/kvm')
  return {device: flags.device, vcpus, memBytes, hugepages: flags.hugepages, timeoutMs}
}
