// `check` says what the next boot will do: runtime state against the boot configuration.
import {expect} from 'chai'
import {cp, mkdir, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {nextBootChecks} from '../src/checks/next-boot.js'
import {cmdlineDefaultPages} from '../src/host/cmdline.js'
import {runCheck} from '../src/checks/run.js'
import {type BootConfig, UNKNOWN_BOOT_CONFIG} from '../src/host/boot-config.js'
import {gatherFacts} from '../src/host/facts.js'
import {captureHost} from '../src/host/capture.js'
import {Host} from '../src/host/host.js'
import {applyHugepages, planHugepages} from '../src/tune/hugepages.js'
import {SysfsPool} from '../src/tune/pool.js'
import {LAYOUTS, makeBootRoot} from './support/boot-roots.js'
import {intelHost} from './support/facts.js'
import {fixture} from './support/cli.js'
import {restoreTools, testContext, useStandInTools} from './support/tune-root.js'
import {tempDir} from './support/temp.js'

const known: BootConfig = {
  cmdline: null,
  nrHugepages: null,
  nested: {},
  fstabHugetlbfs: ['/dev/hugepages'],
  ksmRun: null,
  tuned: null,
  init: 'systemd',
  sources: {},
}
const boot = (over: Partial<BootConfig>): BootConfig => ({...known, ...over})
const warnings = (facts: Parameters<typeof nextBootChecks>[0]) =>
  nextBootChecks(facts).filter((c) => c.status !== 'pass')

describe('next boot vs now (pure checks)', () => {
  it('warns with the exact cause when nothing persists the pool, passes when sysctl.d does', () => {
    expect(nextBootChecks(intelHost({boot: known}))).to.deep.equal([
      {
        id: 'hugepages.next-boot',
        area: 'hugepages',
        title: 'hugepages after a reboot',
        status: 'warn',
        detail: '512 pages now, 0 after a reboot: nothing persists them',
        remedy: {
          kvmctl: ['tune', 'hugepages', '--vm-mem', '1024M', '--headroom', '0'],
          steps: ['keep 512 pages: echo "vm.nr_hugepages = 512" | sudo tee /etc/sysctl.d/40-hugepage.conf'],
        },
      },
    ])
    const persisted = nextBootChecks(
      intelHost({boot: boot({nrHugepages: {value: '512', file: '/etc/sysctl.d/40-hugepage.conf'}})}),
    )
    expect(persisted.map((c) => [c.status, c.detail])).to.deep.equal([
      ['pass', '512 pages now and after a reboot (/etc/sysctl.d/40-hugepage.conf)'],
    ])
  })

  it('names the later sysctl file or the tuned profile that wins, and reads the pool from the command line', () => {
    const later = nextBootChecks(
      intelHost({boot: boot({nrHugepages: {value: '256', file: '/etc/sysctl.d/80-hugepages.conf'}})}),
    )
    expect(later[0].detail).to.equal(
      '512 pages now, 256 after a reboot: /etc/sysctl.d/80-hugepages.conf sets vm.nr_hugepages = 256 and is applied last of the sysctl files',
    )
    const tuned = nextBootChecks(
      intelHost({
        boot: boot({
          nrHugepages: {value: '512', file: '/etc/sysctl.d/40-hugepage.conf'},
          tuned: {
            name: 'virtual-host',
            thp: null,
            nrHugepages: {value: '0', file: '/etc/tuned/virtual-host/tuned.conf'},
          },
        }),
      }),
    )
    expect(tuned[0].detail).to.match(
      /^512 pages now, 0 after a reboot: the tuned profile virtual-host sets vm.nr_hugepages = 0/,
    )
    // tune hugepages writes 40-hugepage.conf: a later file or a tuned profile would override it.
    expect([later[0].remedy?.kvmctl, tuned[0].remedy?.kvmctl]).to.deep.equal([undefined, undefined])
    const sysctlConf = {nrHugepages: {value: '1', file: '/etc/sysctl.conf'}}
    expect(nextBootChecks(intelHost({boot: boot(sysctlConf)}))[0].remedy?.kvmctl).to.equal(undefined)
    const onCmdline = nextBootChecks(
      intelHost({
        boot: boot({cmdline: {loader: 'grub', text: 'ro quiet hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=512'}}),
      }),
    )
    expect(onCmdline[0]).to.include({
      status: 'pass',
      detail: '512 pages now and after a reboot (the kernel command line)',
    })
    expect(cmdlineDefaultPages('hugepages=0:300,1:212', 2048)).to.equal(512)
    expect(cmdlineDefaultPages('default_hugepagesz=2M hugepagesz=1G hugepages=4', 2048)).to.equal(null)
  })

  it('nested: modprobe.d or the command line against the module parameter', () => {
    const off = nextBootChecks(
      intelHost({
        boot: boot({
          nrHugepages: {value: '512', file: 'x'},
          nested: {kvm_intel: {value: '0', file: '/etc/modprobe.d/kvm.conf'}},
        }),
      }),
    )
    expect(off.find((c) => c.id === 'nested.next-boot')).to.include({
      status: 'warn',
      detail: 'nested=Y now, nested=0 after the next load of kvm_intel: /etc/modprobe.d/kvm.conf sets it',
    })
    const cmd = nextBootChecks(
      intelHost({
        boot: boot({
          nrHugepages: {value: '512', file: 'x'},
          cmdline: {loader: 'grubby', text: 'ro kvm_intel.nested=1'},
          nested: {kvm_intel: {value: '0', file: 'f'}},
        }),
      }),
    )
    expect(cmd.find((c) => c.id === 'nested.next-boot')).to.include({
      status: 'pass',
      detail: 'nested=Y now and after a reboot (the kernel command line (grubby))',
    })
  })

  it('mounts, THP and KSM: runtime-only settings are named; systemd mounts /dev/hugepages itself', () => {
    const persisted = {nrHugepages: {value: '512', file: 'x'}}
    expect(warnings(intelHost({boot: boot({...persisted, fstabHugetlbfs: []})}))).to.deep.equal([])
    const sysv = warnings(intelHost({boot: boot({...persisted, fstabHugetlbfs: [], init: 'init'})}))
    expect(sysv[0]).to.include({
      id: 'hugepages.mount-next-boot',
      detail: 'hugetlbfs is mounted on /dev/hugepages now, not after a reboot: /etc/fstab has no hugetlbfs line for it',
    })
    const thp = warnings(
      intelHost({
        thp: 'always',
        kernelConfig: {source: 'x', options: {TRANSPARENT_HUGEPAGE_MADVISE: 'y'}},
        boot: boot(persisted),
      }),
    )
    expect(thp[0]).to.include({
      id: 'hugepages.thp-next-boot',
      detail:
        'transparent hugepages always now, madvise after a reboot: the kernel default (CONFIG_TRANSPARENT_HUGEPAGE_MADVISE) applies at boot; nothing persists the current mode',
    })
    expect(thp[0].remedy?.kvmctl).to.deep.equal(['tune', 'thp', '--mode', 'always'])
    const tunedThp = warnings(
      intelHost({
        boot: boot({
          ...persisted,
          tuned: {
            name: 'throughput-performance',
            thp: {value: 'always', file: '/usr/lib/tuned/throughput-performance/tuned.conf'},
            nrHugepages: null,
          },
        }),
      }),
    )
    expect(tunedThp[0].detail).to.equal(
      'transparent hugepages madvise now, always after a reboot: the tuned profile throughput-performance sets transparent_hugepages=always (/usr/lib/tuned/throughput-performance/tuned.conf)',
    )
    const ksm = warnings(intelHost({ksm: '1', boot: boot(persisted)}))
    expect(ksm[0]).to.include({
      id: 'hugepages.ksm-next-boot',
      detail: 'KSM run=1 now, run=0 after a reboot: nothing persists it',
    })
  })

  it('says nothing where the boot configuration is unknown (a capture without it)', () => {
    expect(nextBootChecks(intelHost({boot: UNKNOWN_BOOT_CONFIG, thp: 'always', ksm: '1'}))).to.deep.equal([])
  })
})

describe('next boot on a fixture copy (pvm-guest with its /etc), before and after tune hugepages', () => {
  let root: string
  before(async () => {
    useStandInTools()
    root = await tempDir('kvmctl-nextboot-')
    await cp(fixture('pvm-guest'), root, {recursive: true})
    const put = async (p: string, text: string) => {
      await mkdir(join(root, p, '..'), {recursive: true})
      await writeFile(join(root, p), text)
    }
    // The capture plus the boot configuration of a Debian host: sysctl.d, fstab, groups.
    await put('etc/sysctl.conf', '# /etc/sysctl.conf - Configuration file for setting system variables\n')
    await mkdir(join(root, 'etc/sysctl.d'), {recursive: true})
    await symlink('../sysctl.conf', join(root, 'etc/sysctl.d/99-sysctl.conf'))
    await put('etc/sysctl.d/10-local.conf', '# an older setting\nvm.nr_hugepages = 100\n')
    await put('etc/fstab', 'UUID=0a1b2c3d-1111-2222-3333-444455556666 / ext4 errors=remount-ro 0 1\n')
    await put('etc/group', 'root:x:0:\nkvm:x:994:\n')
    await put('proc/sys/vm/compact_memory', '')
    await mkdir(join(root, 'dev'), {recursive: true})
    // 550 pages reserved at runtime by hand (echo 550 > nr_hugepages).
    await put('sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', '550\n')
  })
  after(async () => {
    restoreTools()
    await rm(root, {recursive: true, force: true})
  })

  it('reads the boot configuration: the last sysctl file by name wins', async () => {
    const config = (await gatherFacts(await Host.open(root))).boot
    expect(config.nrHugepages).to.deep.equal({value: '100', file: '/etc/sysctl.d/10-local.conf'})
  })

  it('warns "550 pages now, 100 after a reboot" naming the file; after tune hugepages persisted the pool, no drift', async () => {
    const drift = (await runCheck(root)).checks.find((c) => c.id === 'hugepages.next-boot')
    expect(drift).to.include({
      status: 'warn',
      detail:
        '550 pages now, 100 after a reboot: /etc/sysctl.d/10-local.conf sets vm.nr_hugepages = 100 and is applied last of the sysctl files',
    })
    // 40-hugepage.conf is applied after 10-local.conf: tune hugepages fixes this drift.
    expect(drift?.remedy?.kvmctl).to.deep.equal(['tune', 'hugepages', '--vm-mem', '1100M', '--headroom', '0'])

    const ctx = await testContext(root, (host) => new SysfsPool(host))
    const {result} = await applyHugepages(ctx, {vmMem: '1024'}, await planHugepages(ctx, {vmMem: '1024'}))
    expect(result.messages.join('\n')).to.contain('updated /etc/fstab')
    const report = await runCheck(root)
    expect(report.checks.find((c) => c.id === 'hugepages.next-boot')).to.include({
      status: 'pass',
      detail: '550 pages now and after a reboot (/etc/sysctl.d/40-hugepage.conf)',
    })
    expect(report.checks.filter((c) => c.id.endsWith('next-boot') && c.status !== 'pass')).to.deep.equal([])
  })
})

describe('capture keeps the boot configuration (parity on real boot loader layouts)', () => {
  const dirs: string[] = []
  after(async () => {
    for (const d of dirs) await rm(d, {recursive: true, force: true})
  })

  for (const layout of LAYOUTS) {
    it(`${layout}: a capture replays the same next-boot facts, with the boot files cut to what kvmctl reads`, async () => {
      const root = await makeBootRoot(layout)
      dirs.push(root)
      await mkdir(join(root, 'etc/tmpfiles.d'), {recursive: true})
      await writeFile(
        join(root, 'etc/tmpfiles.d/kvmctl-ksm.conf'),
        '# KSM for virtual machines.\nw /sys/kernel/mm/ksm/run - - - - 1\n',
      )
      await mkdir(join(root, 'etc/tuned/virtual-host'), {recursive: true})
      await writeFile(join(root, 'etc/tuned/active_profile'), 'virtual-host\n')
      await writeFile(
        join(root, 'etc/tuned/virtual-host/tuned.conf'),
        '[main]\nsummary=For KVM hosts\n[vm]\ntransparent_hugepages=never\n',
      )
      await mkdir(join(root, 'proc/1'), {recursive: true})
      await writeFile(join(root, 'proc/1/comm'), 'systemd\n')
      const dir = join(await tempDir('kvmctl-bootcap-'), 'host')
      dirs.push(join(dir, '..'))
      await captureHost(await Host.open(root), dir, {source: 'test'})
      const [source, replay] = await Promise.all([
        gatherFacts(await Host.open(root)),
        gatherFacts(await Host.open(dir)),
      ])
      const {sources, ...facts} = source.boot
      expect(facts.cmdline?.loader).to.be.a('string')
      expect(facts.ksmRun).to.deep.equal({value: '1', file: '/etc/tmpfiles.d/kvmctl-ksm.conf'})
      expect(facts.tuned?.thp?.value).to.equal('never')
      expect({...replay.boot, sources: undefined}).to.deep.equal({...facts, sources: undefined})
      expect(replay.boot.sources).to.deep.equal(sources)
      // Only the lines kvmctl reads: no summary= from tuned, no menu entries or comments from GRUB.
      expect(JSON.stringify(sources)).not.to.contain('summary=').and.not.to.contain('GRUB_TIMEOUT')
    })
  }
})
