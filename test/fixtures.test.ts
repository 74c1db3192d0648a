// Every folder under fixtures/ is a replayable host capture: its host.json must pass the host
// layer's validator, each fixture must agree with itself (the facts in host.json match the files
// beside it), and no file may leak an identifier from the public capture it was copied from.
import {expect} from 'chai'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

import {Host, pathCovered, validateHostJson} from '../src/host/host.js'
import type {HostJson} from '../src/host/types.js'

const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url))
const fixtureNames = readdirSync(fixturesDir).filter((name) => statSync(join(fixturesDir, name)).isDirectory())

function filesUnder(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  )
}

function hostJson(name: string): HostJson {
  return JSON.parse(readFileSync(join(fixturesDir, name, 'host.json'), 'utf8')) as HostJson
}

async function cpuFlags(name: string): Promise<string[] | undefined> {
  const host = await Host.open(join(fixturesDir, name))
  const cpuinfo = await host.read('/proc/cpuinfo')
  if (cpuinfo === undefined) return undefined
  return [...cpuinfo.matchAll(/^flags\s*:(.*)$/gm)].flatMap((m) => m[1].trim().split(/\s+/))
}

// Strings that would identify the machine or person a public capture came from.
const leakPatterns: Array<[string, RegExp]> = [
  ['IPv4 address', /\b(?:\d{1,3}\.){3}\d{1,3}\b/],
  ['MAC address', /\b[\da-f]{2}(?::[\da-f]{2}){5}\b/i],
  ['UUID', /\b[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}\b/i],
  ['home directory', /\/home\/[^/\s]+/],
]
// Host and user names that appear in the cited sources (see fixtures/README.md); none may be copied.
const sourceIdentifiers = ['ThinkPad-T430', 'giulio', 'Elderbrain', 'vaporwave', 'DESKTOP-', 'A5E3D2884115']

describe('fixtures', () => {
  it('has the six non-local fixtures the checks refer to, each saying what it captured', () => {
    for (const name of ['intel-vtx', 'intel-vtx-disabled', 'amd-svm', 'container-no-kvm', 'kvm-no-group', 'arm64']) {
      expect(fixtureNames, name).to.include(name)
      // Assembled from sparse public sources: without a list, a missing file would mean absent.
      expect(hostJson(name).captured, name).to.be.an('array').that.includes('/dev/kvm')
    }
  })

  for (const name of fixtureNames) {
    describe(name, () => {
      it('has a host.json the host layer accepts', async () => {
        expect(validateHostJson(hostJson(name))).to.equal(undefined)
        const host = await Host.open(join(fixturesDir, name))
        expect((await host.facts()).uname.machine).to.be.a('string')
      })

      it('leaks no address, identifier or source host name', () => {
        for (const file of filesUnder(join(fixturesDir, name))) {
          const text = readFileSync(file, 'utf8')
          const where = relative(fixturesDir, file)
          for (const [what, pattern] of leakPatterns) expect(text, `${what} in ${where}`).not.to.match(pattern)
          for (const id of sourceIdentifiers) expect(text, `${id} in ${where}`).not.to.contain(id)
        }
      })

      it('keeps /proc/mounts to hugetlbfs and cgroup lines and cuts /proc/cmdline at " -- "', () => {
        const dir = join(fixturesDir, name)
        const mounts = filesUnder(dir).find((f) => f.endsWith('/proc/mounts'))
        if (mounts) {
          for (const line of readFileSync(mounts, 'utf8').trim().split('\n')) {
            expect(line.split(' ')[2]).to.match(/^(hugetlbfs|cgroup2?)$/)
          }
        }
        const cmdline = filesUnder(dir).find((f) => f.endsWith('/proc/cmdline'))
        if (cmdline) expect(readFileSync(cmdline, 'utf8')).not.to.contain(' -- ')
      })

      it('holds no file outside its `captured` list', () => {
        const {captured} = hostJson(name)
        if (!captured) return
        const dir = join(fixturesDir, name)
        for (const file of filesUnder(dir)) {
          const hostPath = '/' + relative(dir, file)
          if (hostPath === '/host.json' || hostPath.endsWith('/.keep')) continue
          expect(pathCovered(captured, hostPath), `${hostPath} is not in captured`).to.equal(true)
        }
      })

      it('has CPUID bits that agree with its /proc/cpuinfo flags', async () => {
        const {cpuid} = hostJson(name)
        const flags = await cpuFlags(name)
        if (!cpuid || !flags) return
        // The kernel can hide vmx (firmware-disabled) but never invents it, and never hides svm
        // before 6.7: a flag present in cpuinfo must be set in raw CPUID.
        if (flags.includes('vmx')) expect(cpuid.vmx).to.equal(true)
        if (flags.includes('svm')) expect(cpuid.svm).to.equal(true)
        expect(cpuid.hypervisor).to.equal(flags.includes('hypervisor'))
      })
    })
  }

  it('intel-vtx: an Intel CPU with vmx, kvm_intel loaded and a /dev/kvm that opens', async () => {
    const facts = hostJson('intel-vtx')
    expect(await cpuFlags('intel-vtx')).to.include('vmx')
    expect(facts.cpuid).to.include({vendor: 'GenuineIntel', vmx: true})
    expect(facts.devices['/dev/kvm']).to.not.equal(null)
    expect(facts.kvm.open).to.equal('ok')
    const host = await Host.open(join(fixturesDir, 'intel-vtx'))
    expect(await host.readValue('/sys/module/kvm_intel/parameters/nested')).to.match(/^(Y|N|1|0)$/)
  })

  it('intel-vtx-disabled: CPUID has VMX, cpuinfo hides it, the kernel log says firmware disabled it', async () => {
    const facts = hostJson('intel-vtx-disabled')
    const flags = await cpuFlags('intel-vtx-disabled')
    expect(flags).to.include('smx') // the CPU reports its Intel TXT feature bits, so this is no VM view
    expect(flags).not.to.include('vmx')
    expect(flags).not.to.include('hypervisor')
    expect(facts.cpuid).to.include({vendor: 'GenuineIntel', vmx: true, hypervisor: false})
    expect(facts.dmesg).to.match(
      /VMX \(outside TXT\) disabled by BIOS|VMX not enabled \(by BIOS\) in MSR_IA32_FEAT_CTL/,
    )
    expect(facts.devices['/dev/kvm']).to.equal(null)
    expect(facts.kvm.open).to.equal('ENOENT')
    // The kernel only deletes the vmx flag for firmware-disabled VT-x since 5.6.
    const [major, minor] = facts.uname.release.split('.').map(Number)
    expect(major * 100 + minor).to.be.at.least(506)
  })

  it('amd-svm: an AMD CPU with SVM, kvm_amd loaded and a /dev/kvm that opens', async () => {
    const facts = hostJson('amd-svm')
    expect(facts.cpuid).to.include({vendor: 'AuthenticAMD', svm: true, vmx: false})
    const host = await Host.open(join(fixturesDir, 'amd-svm'))
    expect(await host.exists('/sys/module/kvm_amd')).to.equal(true)
    expect(facts.kvm.open).to.equal('ok')
  })

  it('container-no-kvm: the host has kvm_amd loaded but the container has no /dev/kvm', async () => {
    const facts = hostJson('container-no-kvm')
    const host = await Host.open(join(fixturesDir, 'container-no-kvm'))
    expect(await host.exists('/sys/module/kvm_amd')).to.equal(true)
    expect(facts.devices['/dev/kvm']).to.equal(null)
    expect(facts.kvm.open).to.equal('ENOENT')
  })

  it('kvm-no-group: /dev/kvm is 0660 and group-owned, the user is outside that group and open fails', () => {
    const facts = hostJson('kvm-no-group')
    const kvm = facts.devices['/dev/kvm']
    expect(kvm).to.include({mode: '0660', group: 'kvm'})
    expect(facts.user.uid).to.not.equal(kvm!.uid)
    expect(facts.user.gid).to.not.equal(kvm!.gid)
    expect(facts.user.groups).to.not.include(kvm!.gid)
    expect(facts.kvm.open).to.equal('EACCES')
  })

  it('arm64: an aarch64 CPU, no CPUID, and the kernel log says EL2 was not available', async () => {
    const facts = hostJson('arm64')
    expect(facts.uname.machine).to.equal('aarch64')
    expect(facts.cpuid).to.equal(null)
    const host = await Host.open(join(fixturesDir, 'arm64'))
    const cpuinfo = (await host.read('/proc/cpuinfo')) ?? ''
    expect(cpuinfo).to.match(/^CPU implementer\s*: 0x[\da-f]+$/m)
    expect(cpuinfo).to.match(/^Features\s*:.*\basimd\b/m)
    expect(facts.dmesg).to.match(/HYP mode not available/)
    expect(facts.devices['/dev/kvm']).to.equal(null)
  })
})
