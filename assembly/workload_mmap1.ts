// will-it-scale's mmap1 main loop inside the core (src/workload/mmap1.ts is its TypeScript twin,
// whose setup and drain the host runs): each task mmaps `pages` private anonymous pages at MAP_BASE
// and munmaps them, never touching them (do_mmap, then do_mas_align_munmap over empty page tables, v6.1
// mm/mmap.c; __do_munmap before the maple tree); every task's mmap, then every task's munmap, round after round.
import { OP_MMAP, OP_MUNMAP } from "./abi";
import { record3, record7 } from "./workload_emit";

let tasks: i32 = 0;
let pages: i32 = 0;
let base: i32 = 0;
let vmflags: i32 = 0;
let mm0: i32 = 0;
let left: i32 = 0;
let step: i32 = 0; // 0..tasks-1: task step's mmap; tasks..2*tasks-1: task step-tasks's munmap

/** Start the loop: `ops` ops (whole rounds of 2 * tasks) for tasks whose mm ids are mm0... */
export function mmap1Begin(ntasks: i32, npages: i32, at: i32, flags: i32, firstMm: i32, ops: i32): void {
  tasks = ntasks;
  pages = npages;
  base = at;
  vmflags = flags;
  mm0 = firstMm;
  left = ops;
  step = 0;
}

/** Write up to `room` of the next ops into the op buffer at `buf`; returns how many. runBatch hashes them (hashInRun). */
export function mmap1Fill(buf: usize, room: i32): i32 {
  const n = min<i32>(room, left);
  let s = step;
  const nt = tasks;
  for (let i = 0; i < n; i++) {
    if (s < nt) record7(buf, i, OP_MMAP, mm0 + s, base, pages, vmflags, -1, 0, 0);
    else record3(buf, i, OP_MUNMAP, mm0 + s - nt, base, pages);
    if (++s == 2 * nt) s = 0;
  }
  step = s;
  left -= n;
  return n;
}
