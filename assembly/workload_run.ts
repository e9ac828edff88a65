// Workload generators run inside the core: the host starts one (its parameters, seed and op count
// checked by the host first, as src/workload/ does for every target), then calls workloadStep until
// it returns 0. Each step writes up to a batch of the generator's next ops into the op buffer and
// runs them through runBatch, the same per-op path (checks, fast paths, stats, statuses, counter
// layer) as a host's batch; the host pays one call per batch instead of encoding every op in
// JavaScript, and may read the batch back from the op buffer (recording, tests). Exported functions
// rather than an op: a generator is the user program, not a kernel operation, and an op would put
// one record in a trace for thousands of ops the trace then could not show. No kernel analogue.
import { opBase, batchCap, runBatch } from "./ops";
import { emitHash, setEmitHash, setHashInRun, foldRecord } from "./workload_emit";
import { OP_WORDS } from "./abi";
import { pageFaultBegin, pageFaultFill } from "./workload_page_fault";
import { mmap1Begin, mmap1Fill } from "./workload_mmap1";
import { sharedPagesBegin, sharedPagesFill } from "./workload_shared_pages";
import { forkHeavyBegin, forkHeavyFill, forkHeavyChild } from "./workload_fork_heavy";
import { gpuChurnBegin, gpuChurnFill, gpuChurnMm } from "./workload_gpu_churn";
import { rdmaPinsBegin, rdmaPinsFill } from "./workload_rdma_pins";
import { MIX_KINDS, mixBegin, mixFill, mixWeight, mixStop, mixMismatches, mixWeightsDrawable } from "./workload_mix";

const NONE = 0;
const PAGE_FAULT = 1;
const MMAP1 = 2;
const SHARED_PAGES = 3;
const FORK_HEAVY = 4;
const GPU_CHURN = 5;
const RDMA_PINS = 6;
const MIX = 7;
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
 * Start shared-pages for `ops` ops (whole steps of 2 * cpus: cpus processes mm0.. on CPUs 0..),
 * every process mapping file `file`, continuing the stream hash. Returns 0, or the bad argument's position.
 */
export function workloadSharedPages(cpus: i32, pages: i32, at: i32, flags: i32, mm0: i32, file: i32, ops: i32, hash: i32): i32 {
  const bad = badArgs(cpus, pages, mm0, ops);
  if (bad != 0) return bad;
  if (file < 0) return 5;
  sharedPagesBegin(cpus, pages, at, flags, mm0, file, ops);
  setEmitHash(hash);
  running = SHARED_PAGES;
  return 0;
}

/**
 * Start fork-heavy for parent mm `parent` (its `pages` pages at `at` mapped, not yet written): up to
 * `ops` ops, the last step ending by then (workload_fork_heavy.ts), continuing the stream hash.
 * Returns 0, or the bad argument's position (1 children, 2 pages, 3 parent, 4 ops, 5 burst, 6 slots).
 */
export function workloadForkHeavy(children: i32, pages: i32, at: i32, parent: i32, ops: i32, burst: i32, slots: i32,
  writes: i32, reads: i32, share: f64, budget: f64, before: i32, seed: u32, hash: i32): i32 {
  const bad = badArgs(children, pages, parent, ops);
  if (bad != 0) return bad;
  if (children > MAX_CHILDREN) return 1;
  if (burst < 1) return 5;
  if (slots < 0) return 6;
  forkHeavyBegin(pages, at, parent, children, writes, reads, share, burst, slots, budget, before, seed, ops);
  setEmitHash(hash);
  running = FORK_HEAVY;
  return 0;
}

/** fork-heavy's child slots are allocated in the core: a bound far above any capacity.vmas allows (children + 2 VMAs). */
const MAX_CHILDREN = 1 << 16;

/** fork-heavy's child mm id in slot s after its loop (-1: none): the host's drain exits the live ones. */
export function workloadForkHeavyChild(s: i32): i32 { return forkHeavyChild(s); }

/**
 * Start gpu-churn for processes mm0.. (mm ids made, buffers not mapped yet) and 1 or 2 drivers (drvA,
 * drvB) sharing devicePages: the setup's mmaps and `populate` writes each, then turns while one fits in
 * `ops` (workload_gpu_churn.ts), migrations and respawns paced over `budget` from `before` ops into the
 * run, continuing the stream hash. Returns 0, or the bad argument's position (1 processes, 2 pages, 3 mm0,
 * 4 ops, 5 chunk, 6 touch, 7 drivers, 8 devicePages, 9 populate, 10 evictFirst, 11 weights, 12 boSlots,
 * 13 respawnSlots, 14 budget, 15 before).
 */
export function workloadGpuChurn(processes: i32, pages: i32, at: i32, flags: i32, mm0: i32, chunk: i32, touch: i32,
  drivers: i32, drvA: i32, drvB: i32, devicePages: i32, populate: i32, evictFirst: f64,
  wMigrate: f64, wEvict: f64, wRead: f64, wWrite: f64, wZap: f64, wRemap: f64, wRespawn: f64,
  boSlots: f64, respawnSlots: f64, budget: f64, before: f64, seed: u32, ops: i32, hash: i32): i32 {
  const bad = badArgs(processes, pages, mm0, ops);
  if (bad != 0) return bad;
  if (processes > MAX_PROCESSES || <i64>processes * pages > MAX_GPU_PAGES) return 1;
  if (chunk < 1 || pages % chunk != 0) return 5;
  if (touch < 1) return 6;
  if (drivers < 1 || drivers > 2 || drvA < 0 || (drivers == 2 && drvB < 0)) return 7;
  if (devicePages < drivers) return 8;
  if (populate < 0 || populate > pages) return 9;
  if (<i64>processes * (1 + populate) > <i64>ops) return 4; // the setup alone must fit
  if (!(evictFirst >= 0 && evictFirst <= 1)) return 10;
  if (!weight(wMigrate) || !weight(wEvict) || !weight(wRead) || !weight(wWrite) || !weight(wZap) || !weight(wRemap) || !weight(wRespawn)) return 11;
  if (wMigrate + wEvict + wRead + wWrite + wZap + wRemap + wRespawn == 0) return 11; // some turn must be drawn
  if (!(boSlots >= 0 && boSlots < Infinity)) return 12;
  if (!(respawnSlots >= 0 && respawnSlots < Infinity)) return 13;
  if (!(budget >= 1 && budget < Infinity)) return 14;
  if (!(before >= 0 && before < Infinity)) return 15;
  gpuChurnBegin(processes, pages, at, flags, mm0, chunk, touch, drivers, drvA, drvB, devicePages, populate, evictFirst,
    wMigrate, wEvict, wRead, wWrite, wZap, wRemap, wRespawn, boSlots, respawnSlots, budget, before, seed, ops);
  setEmitHash(hash);
  running = GPU_CHURN;
  return 0;
}

/** A turn's relative weight: finite and >= 0. */
function weight(w: f64): bool { return w >= 0 && w < Infinity; }

/** gpu-churn's per-process and per-range state is allocated in the core: bounds far above any capacity allows. */
const MAX_PROCESSES = 1 << 16;
const MAX_GPU_PAGES: i64 = 1 << 28;

/** gpu-churn's mm id of process i after its loop (respawns give new ones): the host's drain exits each. */
export function workloadGpuChurnMm(i: i32): i32 { return gpuChurnMm(i); }

/**
 * Start rdma-pins for processes mm0.. (mm ids made, buffers not mapped yet; the first `pinners` register
 * regions of mrPages pins, at most maxMrs at once) and driver `driver` with devicePages: the setup's mmaps
 * and writes, turns while one fits in `ops` with the live regions' unpins, then those unpins
 * (workload_rdma_pins.ts); migrations and forks paced over `budget` from `before` ops into the run,
 * continuing the stream hash. Returns 0, or the bad argument's position (1 processes, 2 pages, 3 mm0,
 * 4 ops, 5 pinners, 6 mrPages, 7 maxMrs, 8 chunk, 9 touch, 10 childWrites, 11 driver, 12 devicePages,
 * 13 weights, 14 boSlots, 15 forkSlots, 16 budget, 17 before).
 */
export function workloadRdmaPins(processes: i32, pinners: i32, pages: i32, at: i32, flags: i32, mm0: i32, mrPages: i32, maxMrs: i32,
  chunk: i32, touch: i32, childWrites: i32, driver: i32, devicePages: i32,
  w0: f64, w1: f64, w2: f64, w3: f64, w4: f64, w5: f64, w6: f64, w7: f64,
  boSlots: f64, forkSlots: f64, budget: f64, before: f64, seed: u32, ops: i32, hash: i32): i32 {
  const bad = badArgs(processes, pages, mm0, ops);
  if (bad != 0) return bad;
  if (processes > MAX_PROCESSES || <i64>processes * pages > MAX_GPU_PAGES) return 1;
  if (<i64>processes * (1 + <i64>pages) > <i64>ops) return 4; // the setup alone must fit
  if (pinners < 1 || pinners > processes) return 5;
  if (mrPages < 1 || mrPages > pages) return 6;
  if (maxMrs < 1 || <i64>maxMrs * mrPages > MAX_PINS) return 7;
  if (chunk < 1 || pages % chunk != 0) return 8;
  if (touch < 1) return 9;
  if (childWrites < 0 || childWrites > MAX_CHILD_WRITES) return 10;
  if (driver < 0) return 11;
  if (devicePages < 1) return 12;
  if (!weight(w0) || !weight(w1) || !weight(w2) || !weight(w3) || !weight(w4) || !weight(w5) || !weight(w6) || !weight(w7)) return 13;
  if (w0 + w1 + w2 + w3 + w4 + w5 + w6 + w7 == 0) return 13; // some turn must be drawn
  if (!(boSlots >= 0 && boSlots < Infinity)) return 14;
  if (!(forkSlots >= 0 && forkSlots < Infinity)) return 15;
  if (!(budget >= 1 && budget < Infinity)) return 16;
  if (!(before >= 0 && before < Infinity)) return 17;
  rdmaPinsBegin(processes, pinners, pages, at, flags, mm0, mrPages, maxMrs, chunk, touch, childWrites, driver, devicePages,
    w0, w1, w2, w3, w4, w5, w6, w7, boSlots, forkSlots, budget, before, seed, ops, batchCap);
  setEmitHash(hash);
  running = RDMA_PINS;
  return 0;
}

/** rdma-pins' handle slots are allocated in the core; a forked child's writes are one turn (its steps are i32s). */
const MAX_PINS: i64 = 1 << 24;
const MAX_CHILD_WRITES = 1 << 28;

/** mix's weight of op kind k (MIX_KINDS order) and under memory pressure, before workloadMix: 0, or 1 if k or a weight is bad. */
export function workloadMixWeight(k: i32, w: f64, freeing: f64): i32 {
  if (k < 0 || k >= MIX_KINDS || !weight(w) || !weight(freeing)) return 1;
  mixWeight(k, w, freeing);
  return 0;
}

/**
 * Start mix (workload_mix.ts: setup, loop, drain and check, the whole run) over `budget` ops with the
 * weights workloadMixWeight set, continuing the stream hash. Returns 0, or the bad argument's position
 * (1 maxProcesses, 2 maxVmas, 3 arenaPages, 4 maxMapPages, 5 hintRatio, 6 fileRatio, 7 sharedRatio,
 * 8 readOnlyRatio, 9 maxFiles, 10 maxFilePages, 11 maxDrivers, 12 driverPages, 13 maxMigratePages,
 * 14 boReuse, 15 maxPins, 16 systemPages, 17 filePages, 18 devicePages, 19 systemLive, 20 mmSlots,
 * 21 fileSlots, 22 driverSlots, 23 boSlots, 24 budget, 25 chunk, 26 weights).
 */
export function workloadMix(maxP: i32, maxV: i32, arena: i32, maxMap: i32, hint: f64, file: f64, shared: f64, readOnly: f64,
  maxFiles: i32, maxFilePages: i32, maxDrivers: i32, driverPages: i32, maxMigrate: i32, boReuse: f64, maxPins: i32,
  systemPages: f64, filePages: i32, devicePages: i32, systemLive: f64, mmSlots: f64, fileSlots: f64, drvSlots: f64, boSlots: f64,
  budget: i32, chunk: i32, seed: u32, hash: i32): i32 {
  if (maxP < 1 || maxP > MIX_MAX) return 1;
  if (maxV < 2 || <i64>(maxP + 1) * (maxV + 1) > <i64>MIX_MAX) return 2;
  if (arena < 16 || arena >= MIX_ARENA) return 3;
  if (maxMap < 1 || maxMap > arena || arena + maxMap > MIX_ARENA) return 4;
  if (!ratio(hint)) return 5;
  if (!ratio(file)) return 6;
  if (!ratio(shared)) return 7;
  if (!ratio(readOnly)) return 8;
  if (maxFiles < 1 || maxFiles > MIX_MAX) return 9;
  if (maxFilePages < 1 || maxFilePages > filePages) return 10;
  if (maxDrivers < 1 || maxDrivers > MIX_MAX) return 11;
  if (driverPages < 1 || driverPages > devicePages) return 12;
  if (maxMigrate < 1 || maxMigrate > MIX_MAX) return 13;
  if (!ratio(boReuse)) return 14;
  if (maxPins < 1 || maxPins > MIX_MAX) return 15;
  if (!(systemPages >= 0 && systemPages < Infinity)) return 16;
  if (filePages < 1) return 17;
  if (devicePages < 1) return 18;
  if (!(systemLive >= 0 && systemLive <= systemPages)) return 19;
  if (!finite(mmSlots)) return 20;
  if (!finite(fileSlots)) return 21;
  if (!finite(drvSlots)) return 22;
  if (!finite(boSlots)) return 23;
  if (budget < 11) return 24; // the setup and the drain's last ops
  if (chunk < 1) return 25;
  mixBegin(maxP, maxV, arena, maxMap, hint, file, shared, readOnly, maxFiles, maxFilePages, maxDrivers, driverPages, maxMigrate, boReuse,
    maxPins, systemPages, filePages, devicePages, systemLive, mmSlots, fileSlots, drvSlots, boSlots, budget, chunk, seed, batchCap);
  if (!mixWeightsDrawable()) return 26;
  setEmitHash(hash);
  running = MIX;
  return 0;
}

/** mix's per-mm, per-VMA and per-handle state is allocated in the core: a bound far above any capacity allows. */
const MIX_MAX: i32 = 1 << 20;
/** An arena and its longest mapping fit one pmd table above MMAP_BASE (src/workload/mix.ts checks the same). */
const MIX_ARENA: i32 = (1 << 18) - 0x10000;
function ratio(r: f64): bool { return r >= 0 && r <= 1; }
function finite(x: f64): bool { return x > -Infinity && x < Infinity; }

/** mix's end: 0, or why its loop stopped early (1 system frames exhausted, 2 no op could be issued). */
export function workloadMixStop(): i32 { return mixStop(); }
/** mix's mmap(-1) calls that returned another address than its get_unmapped_area predicted. */
export function workloadMixMismatches(): i32 { return mixMismatches(); }

/**
 * Issue and run the running generator's next batch: returns how many ops it issued (0: done).
 * batchRan() < the count means an op was rejected (the error block says which); the generator stops.
 */
export function workloadStep(): i32 {
  let n = 0;
  if (running == PAGE_FAULT) n = pageFaultFill(opBase, batchCap);
  else if (running == MMAP1) n = mmap1Fill(opBase, batchCap);
  else if (running == SHARED_PAGES) n = sharedPagesFill(opBase, batchCap);
  else if (running == FORK_HEAVY) n = forkHeavyFill(opBase, batchCap);
  else if (running == GPU_CHURN) n = gpuChurnFill(opBase, batchCap);
  else if (running == RDMA_PINS) n = rdmaPinsFill(opBase, batchCap);
  else if (running == MIX) n = mixFill(opBase, batchCap);
  if (n == 0) {
    running = NONE;
    return 0;
  }
  // the generators write their records unhashed: runBatch folds each into the stream hash as it runs it
  setHashInRun(true);
  const ran = runBatch(n);
  setHashInRun(false);
  if (ran < n) {
    // the batch stopped at op `ran` (rejected, already folded): the rest was issued too, so it is hashed too
    let h = emitHash;
    for (let i = ran + 1; i < n; i++) h = foldRecord(h, opBase + (<usize>i * OP_WORDS << 2));
    setEmitHash(h);
    running = NONE;
  }
  return n;
}

/** The stream hash (FNV-1a of every op word issued) after the generator's ops so far. */
export function workloadHash(): i32 { return emitHash; }
