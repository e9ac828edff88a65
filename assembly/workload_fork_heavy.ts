// fork-heavy's main loop inside the core (src/workload/fork-heavy.ts is its TypeScript twin, whose
// mm_new, mmap and drain the host runs): the parent writes every page of its mapping, then forks again
// and again (dup_mmap -> copy_page_range, v6.1 kernel/fork.c and mm/memory.c); each child COW-writes
// (do_wp_page -> wp_page_copy) and reads random pages in bursts and exits, while the parent keeps
// writing. The same PRNG draws in the same order as the twin's, so the same ops and the same data.
// A fork's result (the child's mm id) is needed by the next ops: a batch ends with the fork and the
// next fill reads the id from the result buffer. Forks use mm ids for good: a pacer (the twin's
// Pacer) spreads them over the budget. No kernel analogue for the loop itself: it is the user program.
import { OP_EXIT, OP_FORK, OP_READ, OP_WRITE } from "./abi";
import { resultBase } from "./ops";
import { record3 } from "./workload_emit";
import { pacerAllows } from "./workload_pacer";
import { prngSeed, prngU32, prngBelow as below } from "./workload_prng";

const NO_TURN = 0;
const PARENT = 1;
const CHILD = 2;

let pages: i32 = 0;
let base: i32 = 0;
let parent: i32 = 0;
let children: i32 = 0;
let quotaW: i32 = 0;
let quotaR: i32 = 0;
let parentShare: f64 = 0;
let burst: i32 = 0;
let limit: i32 = 0; // the twin's budget - reserve - (ops before the core's first): no step starts past it
let issued: i32 = 0;
let done0: f64 = 0; // the run's ops before the core's first (the pacer counts from the run's start)
let forkSlots: f64 = 0; // the pacer: mm ids left for forks, spread over `budget` ops (doubles, as the twin's)
let forkBudget: f64 = 0;
let forksUsed: f64 = 0;
let setupLeft: i32 = 0; // the parent's first writes, one per page, still to issue
let finished = false;
let live: i32 = 0;
let forkSlot: i32 = -1; // the slot of the fork that ended the last batch (its result not read yet)
let forkIndex: i32 = 0;
let turn: i32 = NO_TURN;
let k: i32 = 0; // ops of the turn so far
let slot: i32 = 0; // a child's turn: whose
let w: i32 = 0; // a child's turn: writes and reads left
let r: i32 = 0;

// per child slot: mm id (-1: free), writes and reads left; grown, never shrunk (the stub runtime frees nothing)
let slotCap: i32 = 0;
let childMm: usize = 0;
let writesLeft: usize = 0;
let readsLeft: usize = 0;

@inline function at(a: usize, i: i32): usize { return a + (<usize>i << 2); }

/**
 * Start the loop for parent mm `par` whose `npages` pages at `at` are mapped and not yet written: the
 * setup writes, then steps while one of up to burst + 1 ops fits in `ops` (the twin's s.fits), forks
 * paced as Pacer(slots, budget) from `before` ops into the run. The PRNG is seeded with `seed`.
 */
export function forkHeavyBegin(npages: i32, atVpn: i32, par: i32, nchildren: i32, writes: i32, reads: i32, share: f64,
  nburst: i32, slots: i32, budget: f64, before: i32, seed: u32, ops: i32): void {
  pages = npages;
  base = atVpn;
  parent = par;
  children = nchildren;
  quotaW = writes;
  quotaR = reads;
  parentShare = share;
  burst = nburst;
  limit = ops;
  issued = 0;
  done0 = before;
  forkSlots = slots;
  forkBudget = budget;
  forksUsed = 0;
  setupLeft = npages;
  finished = false;
  live = 0;
  forkSlot = -1;
  turn = NO_TURN;
  if (nchildren > slotCap) {
    slotCap = nchildren;
    childMm = heap.alloc(<usize>nchildren << 2);
    writesLeft = heap.alloc(<usize>nchildren << 2);
    readsLeft = heap.alloc(<usize>nchildren << 2);
  }
  for (let s = 0; s < nchildren; s++) {
    store<i32>(at(childMm, s), -1);
    store<i32>(at(writesLeft, s), 0);
    store<i32>(at(readsLeft, s), 0);
  }
  prngSeed(seed);
}

/** The child mm id in `s` (-1: none) once the loop has stopped: the host exits the live ones. */
export function forkHeavyChild(s: i32): i32 {
  return s >= 0 && s < children ? load<i32>(at(childMm, s)) : -1;
}

/** Write up to `room` of the next ops into the op buffer at `buf`; returns how many (0: the loop is over). */
export function forkHeavyFill(buf: usize, room: i32): i32 {
  if (forkSlot >= 0) { // the twin's enc.result(enc.fork(parent)): the fork ran as the last batch's last op
    store<i32>(at(childMm, forkSlot), load<i32>(resultBase + (<usize>forkIndex << 2)));
    forkSlot = -1;
  }
  if (finished) return 0;
  let n = 0;
  const np = pages, b = base;
  while (n < room) {
    if (setupLeft > 0) { // before the loop: the parent writes every page once
      record3(buf, n++, OP_WRITE, parent, b + np - setupLeft, prngU32());
      setupLeft--;
      continue;
    }
    if (turn == NO_TURN) {
      if (<i64>issued + n + burst + 1 > <i64>limit) { // the twin's while (s.fits(stepMax, reserve))
        finished = true;
        break;
      }
      const done = done0 + <f64>(issued + n);
      if (live < children && pacerAllows(forksUsed, forkSlots, forkBudget, done)) {
        let s = 0;
        while (load<i32>(at(childMm, s)) >= 0) s++;
        forkSlot = s;
        forkIndex = n;
        record3(buf, n++, OP_FORK, parent, 0, 0);
        forksUsed++;
        store<i32>(at(writesLeft, s), quotaW);
        store<i32>(at(readsLeft, s), quotaR);
        live++;
        break; // the child's id is the fork's result: the batch runs first
      }
      if (live == 0 || <f64><u32>prngU32() < parentShare * 4294967296.0) { // Prng.chance
        turn = PARENT;
      } else {
        let pick = below(live);
        let s = 0;
        for (; s < children; s++) if (load<i32>(at(childMm, s)) >= 0 && pick-- == 0) break;
        slot = s;
        w = load<i32>(at(writesLeft, s));
        r = load<i32>(at(readsLeft, s));
        turn = CHILD;
      }
      k = 0;
      continue;
    }
    if (turn == PARENT) { // mostly writes (a COW copy while shared, reuse after), every fourth op a read
      const vpn = b + below(np);
      if ((k & 3) == 3) record3(buf, n++, OP_READ, parent, vpn, 0);
      else record3(buf, n++, OP_WRITE, parent, vpn, prngU32());
      if (++k == burst) turn = NO_TURN;
      continue;
    }
    const mm = load<i32>(at(childMm, slot));
    if (k < burst && w + r > 0) {
      const vpn = b + below(np);
      if (below(w + r) < w) {
        record3(buf, n++, OP_WRITE, mm, vpn, prngU32());
        w--;
      } else {
        record3(buf, n++, OP_READ, mm, vpn, 0);
        r--;
      }
      k++;
      continue;
    }
    store<i32>(at(writesLeft, slot), w);
    store<i32>(at(readsLeft, slot), r);
    if (w + r == 0) { // its quota done: the child exits
      record3(buf, n++, OP_EXIT, mm, 0, 0);
      store<i32>(at(childMm, slot), -1);
      live--;
    }
    turn = NO_TURN;
  }
  issued += n;
  return n;
}
