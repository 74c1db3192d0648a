// gzip data (a kernel's /proc/config.gz) decompressed, up to maxBytes. Through the native addon
// when it loads: Node's zlib module brings Node's whole stream stack, about 5 ms of every
// `kvmctl check` here; through node:zlib otherwise (a replay on a machine without the addon).
import {createRequire} from 'node:module'

import {nativeIfBuilt} from '../native.js'

/** The decompressed bytes; throws on data that is not gzip or that decompresses past maxBytes. */
export function gunzip(data: Buffer, maxBytes: number): Buffer {
  const native = nativeIfBuilt()
  if (native) return native.gunzip(data, maxBytes)
  const zlib = createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib')
  return zlib.gunzipSync(data, {maxOutputLength: maxBytes})
}
