// will-it-scale's page_fault1 and page_fault3 main loops inside the core (src/workload/page-fault1.ts
// and page-fault3.ts are their TypeScript twins, whose setup and drain the host still runs): each
// task mmaps `pages` pages at MAP_BASE (private anonymous, or its own file MAP_SHARED), writes one word
// to every page, munmaps, again; the tasks' ops interleaved round-robin, one op of each task in turn.
// The same ops in the same order as the twin's, the same data ((salt + page) ^ task, salt a fresh
// PRNG draw after each munmap round). The faults themselves are the core's: do_anonymous_page or
// do_shared_fault through handle_mm_fault (v6.1 mm/memory.c), as for any host's write op.
import { OP_MMAP, OP_MUNMAP, OP_WRITE, OP_WORDS } from "./abi";
import { record3, record7 } from "./workload_emit";
import { prngSeed, prngU32 } from "./workload_prng";

let tasks: i32 = 0;
let pages: i32 = 0;
let base: i32 = 0;
let vmflags: i32 = 0;
let mm0: i32 = 0;
let file0: i32 = -1; // -1: anonymous (every mmap's file is -1); else task t maps file file0 + t
let left: i32 = 0; // ops still to issue
let pos: i32 = -1; // -1: mmap next; 0..pages-1: write that page; pages: munmap
let task: i32 = 0; // the task whose op is next in the round-robin
let salt: i32 = 0;

/**
 * Start the loop: `ops` ops (a whole number of rounds of `tasks` ops) for tasks whose mm ids are
 * mm0.. and files file0.. (-1: anonymous), the PRNG seeded with `seed`, its first draw the salt.
 */
export function pageFaultBegin(ntasks: i32, npages: i32, at: i32, flags: i32, firstMm: i32, firstFile: i32, seed: u32, ops: i32): void {
  tasks = ntasks;
  pages = npages;
  base = at;
  vmflags = flags;
  mm0 = firstMm;
  file0 = firstFile;
  left = ops;
  pos = -1;
  task = 0;
  prngSeed(seed);
  salt = prngU32();
}

/** Write up to `room` of the next ops into the op buffer at `buf`; returns how many. runBatch hashes them (hashInRun). */
export function pageFaultFill(buf: usize, room: i32): i32 {
  const n = min<i32>(room, left);
  let t = task, p = pos;
  const nt = tasks, np = pages, at = base, m0 = mm0;
  let i = 0;
  while (i < n) {
    if (p >= 0 && p < np) {
      // the writes, until the munmap step or the room: a loop of its own without calls, so its
      // values stay in registers (performance only: the same records as record3's, in order)
      const s = salt;
      let w = buf + (<usize>i * OP_WORDS << 2);
      while (true) {
        store<i32>(w, OP_WRITE);
        store<i32>(w, m0 + t, 4);
        store<i32>(w, at + p, 8);
        store<i32>(w, (s + p) ^ t, 12);
        store<i64>(w, 0, 16);
        store<i64>(w, 0, 24);
        w += OP_WORDS << 2;
        i++;
        if (++t == nt) { // the round is done: every task has written page p
          t = 0;
          if (++p == np) break;
        }
        if (i == n) break;
      }
      continue;
    }
    if (p < 0) {
      record7(buf, i, OP_MMAP, m0 + t, at, np, vmflags, file0 < 0 ? -1 : file0 + t, 0, 0);
    } else {
      record3(buf, i, OP_MUNMAP, m0 + t, at, np);
    }
    i++;
    if (++t == nt) { // the round is done: every task has issued this step's op
      t = 0;
      if (p >= np) {
        salt = prngU32();
        p = -1;
      } else {
        p++;
      }
    }
  }
  task = t;
  pos = p;
  left -= n;
  return n;
}
