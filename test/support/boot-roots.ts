// Temporary tune roots with a real boot loader layout (test/boot-layouts, sources cited in its
// README.md) over the realistic /proc, /sys and /etc of makeHugepageRoot.
import {cp, mkdir, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {makeHugepageRoot, restoreTools, type RootOptions, TEST_BIN, useStandInTools} from './tune-root.js'

export type Layout = 'debian-12-grub' | 'fedora-40-bls' | 'debian-12-systemd-boot'

export const LAYOUTS: Layout[] = ['debian-12-grub', 'fedora-40-bls', 'debian-12-systemd-boot']

export async function makeBootRoot(layout: Layout, opts: RootOptions = {}): Promise<string> {
  const root = await makeHugepageRoot(opts)
  await cp(join(TEST_BIN, '..', 'boot-layouts', layout), root, {recursive: true})
  if (layout === 'debian-12-grub') {
    await mkdir(join(root, 'boot/grub'), {recursive: true})
    await mkdir(join(root, 'usr/sbin'), {recursive: true})
    await writeFile(
      join(root, 'usr/sbin/update-grub'),
      '#!/bin/sh\nset -e\nexec grub-mkconfig -o /boot/grub/grub.cfg "$@"\n',
      {mode: 0o755},
    )
  }
  if (layout === 'fedora-40-bls') await mkdir(join(root, 'boot/grub2'), {recursive: true})
  await writeFile(
    join(root, 'proc/cmdline'),
    'BOOT_IMAGE=/vmlinuz-6.1.0-28-amd64 root=UUID=2c1d0e3f-5a6b-4c7d-8e9f-0a1b2c3d4e5f ro quiet\n',
  )
  return root
}

const BOOT_TOOLS = {
  KVMCTL_GRUBBY: 'grubby',
  KVMCTL_UPDATE_GRUB: 'update-grub',
  KVMCTL_GRUB_MKCONFIG: 'grub-mkconfig',
  KVMCTL_GRUB2_MKCONFIG: 'grub-mkconfig',
} as const

/** Points the boot loader tools at the stand-ins in test/bin; undo with restoreBootTools(). */
export function useBootStandIns(): void {
  for (const [env, tool] of Object.entries(BOOT_TOOLS)) process.env[env] = join(TEST_BIN, tool)
}

export function restoreBootTools(): void {
  for (const env of Object.keys(BOOT_TOOLS)) delete process.env[env]
}

/** A suite's hooks: every tool (boot loader ones too) a stand-in while it runs; then its roots removed. */
export function withAllStandIns(roots: string[]): void {
  before(() => {
    useStandInTools()
    useBootStandIns()
  })
  after(async () => {
    restoreTools()
    restoreBootTools()
    for (const r of roots) await rm(r, {recursive: true, force: true})
  })
}
