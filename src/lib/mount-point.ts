// A mount point given on the command line, checked before it goes into fstab and mount(8).
import {UsageError} from './errors.js'

/**
 * Checks a mount point given on the command line before it goes into fstab and mount(8): an
 * absolute, normalised path (so /proc/mounts shows it the same way and a rerun finds it) without
 * NUL or control characters other than tab and newline (those two are escaped). One-line
 * UsageError otherwise.
 */
export function checkMountPoint(value: string, flag = '--mount'): string {
  const shown = JSON.stringify(value)
  if (!value.startsWith('/'))
    throw new UsageError(`${flag} ${shown} must be an absolute path; e.g. ${flag} /dev/hugepages`)
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(value))
    throw new UsageError(
      `${flag} ${shown} contains a control character that fstab cannot hold; pick a plain directory name`,
    )
  const parts = value.split('/').slice(1)
  const normal = '/' + parts.filter((p) => p !== '' && p !== '.').join('/')
  if (parts.some((p) => p === '..') || (normal !== value && value !== '/')) {
    throw new UsageError(
      `${flag} ${shown} is not a normalised absolute path; write it without '.', '..', '//' or a trailing '/', e.g. ${flag} ${JSON.stringify(normal.replace(/\/\.\.(\/|$)/g, '/'))}`,
    )
  }
  if (value === '/') throw new UsageError(`${flag} / cannot be a hugetlbfs mount point; e.g. ${flag} /dev/hugepages`)
  return value
}
