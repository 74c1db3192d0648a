// The one loader of the native addon. It tries each place node-gyp may have put the binary and,
// when none loads, fails naming every path tried and why, so a broken install is easy to diagnose.
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export type StepResult = 'ok' | string

/** What really opening the KVM device gave; each step "ok" or an errno name. */
export interface KvmProbe {
  open: StepResult
  apiVersion?: number
  apiVersionError?: string
  createVm?: StepResult
  vcpu?: StepResult
}

/** Raw CPUID bits, read with the instruction itself rather than from /proc/cpuinfo. */
export interface CpuidBits {
  vendor: string
  vmx: boolean
  svm: boolean
  hypervisor: boolean
}

export interface NativeBinding {
  probeKvm(path?: string): KvmProbe
  cpuid(): CpuidBits | null
}

// This file runs from src/ (tests), dist/ or a bundle chunk in dist/chunks/: find the package
// root as the nearest folder up that holds binding.gyp.
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const up = dirname(dir)
    if (up === dir) return join(dirname(fileURLToPath(import.meta.url)), '..')
    dir = up
  }
  return dir
}

const packageRoot = findPackageRoot()
const candidates = ['build/Release/kvmctl_native.node', 'build/Debug/kvmctl_native.node']

let cached: NativeBinding | undefined

export class NativeLoadError extends Error {
  constructor(readonly tried: string[]) {
    super(
      `the native addon is not built (tried ${tried.join('; ')}); ` +
        'run `npm rebuild kvmctl` or `npx node-gyp rebuild` in the package folder (needs g++, make, python3)',
    )
  }
}

export function loadNative(): NativeBinding {
  if (cached) return cached
  const require = createRequire(import.meta.url)
  const tried: string[] = []
  for (const rel of candidates) {
    const file = join(packageRoot, rel)
    try {
      cached = require(file) as NativeBinding
      return cached
    } catch (error) {
      tried.push(`${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
  }
  throw new NativeLoadError(tried)
}
