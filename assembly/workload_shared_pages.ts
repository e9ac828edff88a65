// RadixVM's page-sharing loop inside the core (src/workload/shared-pages.ts is its TypeScript twin,
// whose setup and drain the host runs): one process per simulated CPU maps the same `pages` pages of
// one file MAP_SHARED, reads each page and munmaps them, in lockstep: each step (mmap, read page i,
// munmap) is issued on every CPU in turn, a cpu op before each. The same ops in the same order as the
// twin's; the faults are the core's (filemap_fault's folio_get per mapping, the zap's put, v6.1
// mm/filemap.c and mm/memory.c), as for any host's ops. No PRNG: the workload makes no random choice.
import { OP_CPU, OP_MMAP, OP_MUNMAP, OP_READ } from "./abi";
import { record3, record7 } from "./workload_emit";

let cpus: i32 = 0;
let pages: i32 = 0;
let base: i32 = 0;
let vmflags: i32 = 0;
let mm0: i32 = 0;
let file: i32 = 0;
let left: i32 = 0; // ops still to issue
let pos: i32 = -1; // -1: mmap next; 0..pages-1: read that page; pages: munmap
let cpu: i32 = 0; // the CPU whose pair of ops (cpu, then the step's op) is next
let half: i32 = 0; // 0: its cpu op is next; 1: its step op

/** Start the loop: `ops` ops (whole steps of 2 * cpus) for processes mm0.. on CPUs 0.., mapping `shared`. */
export function sharedPagesBegin(ncpus: i32, npages: i32, at: i32, flags: i32, firstMm: i32, shared: i32, ops: i32): void {
  cpus = ncpus;
  pages = npages;
  base = at;
  vmflags = flags;
  mm0 = firstMm;
  file = shared;
  left = ops;
  pos = -1;
  cpu = 0;
  half = 0;
}

/** Write up to `room` of the next ops into the op buffer at `buf`; returns how many. */
export function sharedPagesFill(buf: usize, room: i32): i32 {
  const n = min<i32>(room, left);
  let c = cpu, p = pos, hf = half;
  const nc = cpus, np = pages, at = base, m0 = mm0;
  for (let i = 0; i < n; i++) {
    if (hf == 0) {
      record3(buf, i, OP_CPU, c, 0, 0);
      hf = 1;
      continue;
    }
    if (p >= 0 && p < np) record3(buf, i, OP_READ, m0 + c, at + p, 0);
    else if (p < 0) record7(buf, i, OP_MMAP, m0 + c, at, np, vmflags, file, 0, 0);
    else record3(buf, i, OP_MUNMAP, m0 + c, at, np);
    hf = 0;
    if (++c == nc) { // the step is done on every CPU
      c = 0;
      p = p < np ? p + 1 : -1;
    }
  }
  cpu = c;
  pos = p;
  half = hf;
  left -= n;
  return n;
}
