// /tmp/kvmctl-hugepages.lock: tests that change machine-global state (hugepage pools, mounts,
// groups) hold it exclusively for the whole change-and-restore; tests that compare two live reads
// hold it shared, so the machine cannot change between them.
import {execa} from 'execa'

export const MACHINE_LOCK = '/tmp/kvmctl-hugepages.lock'

/** Holds the lock until release(); wrapped because a subprocess is itself a promise (thenable). */
export async function takeMachineLock(options: {shared?: boolean} = {}): Promise<{release: () => Promise<unknown>}> {
  const holder = execa(
    'flock',
    [...(options.shared ? ['--shared'] : []), MACHINE_LOCK, 'sh', '-c', 'echo locked; exec cat'],
    {stdin: 'pipe', reject: false},
  )
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve())
    holder.on('exit', () => reject(new Error('flock exited before taking the lock')))
  })
  return {
    release: async () => {
      holder.stdin!.end()
      return holder
    },
  }
}
