// Workload generators run inside the core: the host starts one (its parameters, seed and op count
// checked by the host first, as src/workload/ does for every target), then calls workloadStep until
// it returns 0. Each step writes up to a batch of the generator's next ops into the op buffer and
// runs them through runBatch, the same per-op path (checks, fast paths, stats, statuses, counter
// layer) as a host's batch; the host pays one call per batch instead of encoding every op in
// JavaScript, and may read the batch back from the op buffer (recording, tests). Exported functions
// rather than an op: a generator is the user program, not a kernel operation, and an op would put
// one record in a trace for thousands of ops the trace then could not show. No kernel analogue.
import { opBase, batchCap, runBatch } from "./ops";
import { emitHash, setEmitHash } from "./workload_emit";
import { pageFaultBegin, pageFaultFill } from "./workload_page_fault";
import { mmap1Begin, mmap1Fill } from "./workload_mmap1";

const NONE = 0;
const PAGE_FAULT = 1;
const MMAP1 = 2;
let running: i32 = NONE;

/** Arguments the generators cannot work with: 0 if fine, else the 1-based position of the first bad one. */
function badArgs(tasks: i32, pages: i32, mm0: i32, ops: i32): i32 {
  if (tasks < 1) return 1;
  if (pages < 1) return 2;
  if (mm0 < 0) return 3;
  if (ops < 0) return 4;
  return 0;
}

/**
 * Start page_fault1 (file0 -1: private anonymous) or page_fault3 (file0: task t maps file file0 + t)
 * for `ops` ops, continuing the stream hash `hash`. Returns 0, or the bad argument's position.
 */
export function workloadPageFault(tasks: i32, pages: i32, at: i32, flags: i32, mm0: i32, file0: i32, seed: u32, ops: i32, hash: i32): i32 {
  const bad = badArgs(tasks, pages, mm0, ops);
  if (bad != 0) return bad;
  pageFaultBegin(tasks, pages, at, flags, mm0, file0, seed, ops);
  setEmitHash(hash);
  running = PAGE_FAULT;
  return 0;
}

/** Start mmap1 for `ops` ops, continuing the stream hash `hash`. Returns 0, or the bad argument's position. */
export function workloadMmap1(tasks: i32, pages: i32, at: i32, flags: i32, mm0: i32, ops: i32, hash: i32): i32 {
  const bad = badArgs(tasks, pages, mm0, ops);
  if (bad != 0) return bad;
  mmap1Begin(tasks, pages, at, flags, mm0, ops);
  setEmitHash(hash);
  running = MMAP1;
  return 0;
}

/**
 * Issue and run the running generator's next batch: returns how many ops it issued (0: done).
 * batchRan() < the count means an op was rejected (the error block says which); the generator stops.
 */
export function workloadStep(): i32 {
  let n = 0;
  if (running == PAGE_FAULT) n = pageFaultFill(opBase, batchCap);
  else if (running == MMAP1) n = mmap1Fill(opBase, batchCap);
  if (n == 0) {
    running = NONE;
    return 0;
  }
  if (runBatch(n) < n) running = NONE;
  return n;
}

/** The stream hash (FNV-1a of every op word issued) after the generator's ops so far. */
export function workloadHash(): i32 { return emitHash; }
