// systeminformation's memory module on its own: importing the package root loads every module
// (about 50 ms); this one loads in a few.
declare module 'systeminformation/lib/memory.js' {
  import type {Systeminformation} from 'systeminformation'
  export function mem(): Promise<Systeminformation.MemData>
}
