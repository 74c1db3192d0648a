// The hugepage pool as /proc/meminfo shows it, read through the host layer.
import type {Host} from '../host/host.js'

export interface HugepagePool {
  pageBytes: number
  total: number
  free: number
}

/** Reads HugePages_Total/Free and Hugepagesize; undefined when meminfo has no hugepage lines. */
export async function readHugepagePool(host: Host): Promise<HugepagePool | undefined> {
  const text = await host.read('/proc/meminfo')
  if (!text) return undefined
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)
    return m ? Number(m[1]) : undefined
  }
  const total = field('HugePages_Total')
  const free = field('HugePages_Free')
  const sizeKb = field('Hugepagesize')
  if (total === undefined || free === undefined || sizeKb === undefined) return undefined
  return {pageBytes: sizeKb * 1024, total, free}
}
