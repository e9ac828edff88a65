// gpu-churn's setup mappings and main loop inside the core (src/workload/gpu-churn.ts is its TypeScript
// twin, whose driver_new / mm_new, drain and check the host runs): processes share a GPU whose memory is
// smaller than their working set, the HMM/SVM pattern of amdkfd and nouveau. A turn picks a range of
// `chunk` pages and migrates it to a driver (migrate_vma_setup / pages / finalize, v6.1
// mm/migrate_device.c; a full driver first evicts its oldest range), evicts it back, has the CPU read or
// write `touch` of its pages (do_swap_page -> migrate_to_ram for device-private ones, v6.1
// mm/memory.c), zaps it (MADV_DONTNEED), remaps the whole buffer or respawns the process. The same PRNG
// draws in the same order as the twin's, so the same ops and the same data. A respawn's mm_new result
// (the new mm id) is needed by its mmap: a batch ends with the mm_new and the next fill reads the id
// from the result buffer, as fork-heavy does with a fork's child. BO and mm ids are used for good: two
// pacers (the twin's Pacers) spread them over the budget. No kernel analogue for the loop itself: it is
// the user program, and the driver's bookkeeping (which range is where) is its belief, not the core's.
import { OP_EXIT, OP_MADV_DONTNEED, OP_MIGRATE_TO_DEVICE, OP_MIGRATE_TO_RAM, OP_MM_NEW, OP_MMAP, OP_MUNMAP, OP_READ, OP_WRITE, OP_WORDS } from "./abi";
import { resultBase } from "./ops";
import { record3, record7 } from "./workload_emit";
import { pacerAllows } from "./workload_pacer";
import { prngSeed, prngU32, prngBelow as below, prngChance as chance, prngDraw, setWeights } from "./workload_prng";

const TURNS = 7; // migrate, evict, read, write, zap, remap, respawn (the twin's TURNS)
const STAGE_MAX = 3; // records a turn other than read / write issues at most (evict + migrate; exit + mm_new; mmap)
const RECORD_BYTES: usize = OP_WORDS << 2;

let procs: i32 = 0;
let pages: i32 = 0;
let base: i32 = 0;
let vmflags: i32 = 0;
let chunk: i32 = 0;
let touch: i32 = 0;
let nDrv: i32 = 0;
let drv0: i32 = 0;
let drv1: i32 = 0;
let drvPages0: i32 = 0;
let drvPages1: i32 = 0;
let resident0: i32 = 0; // pages believed on each driver
let resident1: i32 = 0;
let head0: i32 = -1; // each driver's ranges in migration order (a list through prev / next): the oldest first
let head1: i32 = -1;
let tail0: i32 = -1;
let tail1: i32 = -1;
let populate: i32 = 0;
let evictFirst: f64 = 0;
let cpp: i32 = 0; // chunks per process
let cppShift: i32 = -1; // log2(cpp) when cpp is a power of two (the defaults' 16), else -1
let nChunks: i32 = 0;
let stepMax: i32 = 0;
let limit: i32 = 0; // the twin's budget - reserve - (ops before the core's first): no turn starts past it
let issued: i32 = 0;
let done0: f64 = 0; // the run's ops before the core's first (the pacers count from the run's start)
let pacerBudget: f64 = 0;
let boSlots: f64 = 0; // the pacers: ids left, spread over pacerBudget ops (doubles, as the twin's)
let bosUsed: f64 = 0;
let respawnSlots: f64 = 0;
let respawnsUsed: f64 = 0;
let finished = false;
let setupProc: i32 = 0; // the setup: the process whose mmap / populate writes are next
let setupK: i32 = -1; // -1: its mmap next; else the page of its next write
let touchLeft: i32 = 0; // a read or write turn: ops left
let touchWrite = false;
let touchMm: i32 = 0;
let touchVpn: i32 = 0;
let staged: i32 = 0; // records in the stage (a turn's ops, copied out as the batch has room)
let stagedOut: i32 = 0;
let respawnProc: i32 = -1; // the process whose mm_new ended the last batch (its result not read yet)
let respawnIndex: i32 = 0;

// the relative weights of the turns, summed in index order as the twin's Weights
let weights: usize = 0;
let weightTotal: f64 = 0;
// per process: mm id; per range: 0 in RAM, d + 1 on driver d, and its neighbours in its driver's list;
// grown, never shrunk (the stub runtime frees nothing)
let procCap: i32 = 0;
let mmOf: usize = 0;
let chunkCap: i32 = 0;
let where: usize = 0;
let prev: usize = 0;
let next: usize = 0;
let stage: usize = 0;

@inline function at(a: usize, i: i32): usize { return a + (<usize>i << 2); }

/** Prng.draw over the turns' weights. */
@inline function drawTurn(): i32 { return prngDraw(weights, TURNS, weightTotal); }

/** The twin's Pacer.allow(done) over the run's budget. */
@inline function allow(used: f64, slots: f64, done: f64): bool { return pacerAllows(used, slots, pacerBudget, done); }

/** Range id joins driver d's list, the newest. */
function push(d: i32, id: i32): void {
  const t = d == 0 ? tail0 : tail1;
  store<i32>(at(prev, id), t);
  store<i32>(at(next, id), -1);
  if (t >= 0) store<i32>(at(next, t), id);
  else if (d == 0) head0 = id;
  else head1 = id;
  if (d == 0) tail0 = id;
  else tail1 = id;
}

/** Range id leaves its driver (evicted, zapped or unmapped): its pages are no longer believed there. */
function leave(id: i32): void {
  const d = load<i32>(at(where, id)) - 1;
  if (d < 0) return;
  const p = load<i32>(at(prev, id));
  const q = load<i32>(at(next, id));
  if (p >= 0) store<i32>(at(next, p), q);
  else if (d == 0) head0 = q;
  else head1 = q;
  if (q >= 0) store<i32>(at(prev, q), p);
  else if (d == 0) tail0 = p;
  else tail1 = p;
  if (d == 0) resident0 -= chunk;
  else resident1 -= chunk;
  store<i32>(at(where, id), 0);
}

@inline function vpnOf(id: i32, proc: i32): i32 { return base + (id - proc * cpp) * chunk; }

/** The process owning range id: id / cpp, a shift where cpp is a power of two (an integer division is ~25 cycles). */
@inline function procOf(id: i32): i32 { return cppShift >= 0 ? id >> cppShift : id / cpp; }

/** The driver moves range id back to RAM (the twin's evictRange). */
function stageEvict(id: i32): void {
  const proc = procOf(id);
  record3(stage, staged++, OP_MIGRATE_TO_RAM, load<i32>(at(mmOf, proc)), vpnOf(id, proc), chunk);
  leave(id);
}

/** Every range of proc is back in RAM: its buffer was unmapped (the twin's forget). */
function forget(proc: i32): void {
  for (let id = proc * cpp, end = id + cpp; id < end; id++) leave(id);
}

/**
 * Start the run for processes mm0.. (their buffers not mapped yet) and drivers drvA (drvB: the second,
 * device-coherent one, if drivers is 2) sharing devicePages: the setup mmaps and populate writes, then
 * turns while one of up to stepMax ops fits in `ops` (the twin's s.fits), migrations and respawns paced
 * as Pacer(bos, budget) and Pacer(respawns, budget) from `before` ops into the run.
 */
export function gpuChurnBegin(nprocs: i32, npages: i32, atVpn: i32, flags: i32, mm0: i32, nchunk: i32, ntouch: i32,
  drivers: i32, drvA: i32, drvB: i32, devicePages: i32, npopulate: i32, evict: f64,
  wMigrate: f64, wEvict: f64, wRead: f64, wWrite: f64, wZap: f64, wRemap: f64, wRespawn: f64,
  bos: f64, respawns: f64, budget: f64, before: f64, seed: u32, ops: i32): void {
  procs = nprocs;
  pages = npages;
  base = atVpn;
  vmflags = flags;
  chunk = nchunk;
  touch = ntouch;
  nDrv = drivers;
  drv0 = drvA;
  drv1 = drvB;
  drvPages0 = (devicePages + drivers - 1) / drivers; // the twin's ceil and floor of devicePages / drivers
  drvPages1 = devicePages / drivers;
  resident0 = 0;
  resident1 = 0;
  head0 = head1 = tail0 = tail1 = -1;
  populate = npopulate;
  evictFirst = evict;
  cpp = npages / nchunk;
  cppShift = cpp > 0 && (cpp & (cpp - 1)) == 0 ? ctz(cpp) : -1;
  nChunks = nprocs * cpp;
  stepMax = ntouch > 3 ? ntouch : 3;
  limit = ops;
  issued = 0;
  done0 = before;
  pacerBudget = budget;
  boSlots = bos;
  bosUsed = 0;
  respawnSlots = respawns;
  respawnsUsed = 0;
  finished = false;
  setupProc = 0;
  setupK = -1;
  touchLeft = 0;
  staged = stagedOut = 0;
  respawnProc = -1;
  if (weights == 0) {
    weights = heap.alloc(TURNS << 3);
    stage = heap.alloc(<usize>STAGE_MAX * RECORD_BYTES);
  }
  weightTotal = setWeights(weights, TURNS, wMigrate, wEvict, wRead, wWrite, wZap, wRemap, wRespawn, 0);
  if (nprocs > procCap) {
    procCap = nprocs;
    mmOf = heap.alloc(<usize>nprocs << 2);
  }
  for (let i = 0; i < nprocs; i++) store<i32>(at(mmOf, i), mm0 + i);
  if (nChunks > chunkCap) {
    chunkCap = nChunks;
    where = heap.alloc(<usize>nChunks << 2);
    prev = heap.alloc(<usize>nChunks << 2);
    next = heap.alloc(<usize>nChunks << 2);
  }
  memory.fill(where, 0, <usize>nChunks << 2);
  prngSeed(seed);
}

/** Process i's mm id once the loop has stopped (-1: none): the host's drain exits each. */
export function gpuChurnMm(i: i32): i32 {
  return i >= 0 && i < procs ? load<i32>(at(mmOf, i)) : -1;
}

/** Stage one turn's records (the twin's run() switch); read and write turns are issued op by op instead. */
function turn(done: f64): void {
  const t = drawTurn();
  const id = below(nChunks);
  const proc = procOf(id);
  const vpn = vpnOf(id, proc);
  const mm = load<i32>(at(mmOf, proc));
  if (t == 0) { // migrate: a new BO on a driver, evicting its oldest range first if it is full
    if (load<i32>(at(where, id)) != 0 || !allow(bosUsed, boSlots, done)) return;
    const d = nDrv == 1 ? 0 : below(nDrv);
    if ((d == 0 ? resident0 : resident1) + chunk > (d == 0 ? drvPages0 : drvPages1) && chance(evictFirst)) {
      const victim = d == 0 ? head0 : head1;
      if (victim >= 0) stageEvict(victim);
    }
    record7(stage, staged++, OP_MIGRATE_TO_DEVICE, mm, vpn, chunk, d == 0 ? drv0 : drv1, 0, 0, 0);
    bosUsed++;
    store<i32>(at(where, id), d + 1);
    if (d == 0) resident0 += chunk;
    else resident1 += chunk;
    push(d, id);
  } else if (t == 1) { // evict: back to RAM (a range the driver thinks is home finds little to move)
    if (load<i32>(at(where, id)) != 0) stageEvict(id);
    else record3(stage, staged++, OP_MIGRATE_TO_RAM, mm, vpn, chunk);
  } else if (t == 2 || t == 3) { // the CPU reads or writes touch pages of the range
    touchLeft = touch;
    touchWrite = t == 3;
    touchMm = mm;
    touchVpn = vpn;
  } else if (t == 4) { // zap: MADV_DONTNEED of the range
    record3(stage, staged++, OP_MADV_DONTNEED, mm, vpn, chunk);
    leave(id);
  } else if (t == 5) { // remap: munmap and mmap the whole buffer
    record3(stage, staged++, OP_MUNMAP, mm, base, pages);
    record7(stage, staged++, OP_MMAP, mm, base, pages, vmflags, -1, 0, 0);
    forget(proc);
  } else { // respawn: exit, and a new process (its mm id the mm_new's result) maps the buffer again
    if (!allow(respawnsUsed, respawnSlots, done)) return;
    record3(stage, staged++, OP_EXIT, mm, 0, 0);
    record3(stage, staged++, OP_MM_NEW, 0, 0, 0);
    respawnsUsed++;
    respawnProc = proc;
  }
}

/** Write up to `room` of the next ops into the op buffer at `buf`; returns how many (0: the run is over). */
export function gpuChurnFill(buf: usize, room: i32): i32 {
  if (respawnProc >= 0 && stagedOut == staged) { // the twin's enc.result(enc.mmNew()): it ran as the last batch's last op
    const proc = respawnProc;
    const mm = load<i32>(resultBase + (<usize>respawnIndex << 2));
    store<i32>(at(mmOf, proc), mm);
    staged = stagedOut = 0;
    record7(stage, staged++, OP_MMAP, mm, base, pages, vmflags, -1, 0, 0);
    forget(proc);
    respawnProc = -1;
  }
  if (finished) return 0;
  let n = 0;
  while (n < room) {
    if (stagedOut < staged) { // the staged turn's next record
      const src = stage + <usize>stagedOut * RECORD_BYTES;
      memory.copy(buf + <usize>n * RECORD_BYTES, src, RECORD_BYTES);
      stagedOut++;
      if (load<i32>(src) == OP_MM_NEW) { // its result is the next mmap's mm: the batch runs first
        respawnIndex = n++;
        break;
      }
      n++;
      if (stagedOut == staged) staged = stagedOut = 0;
      continue;
    }
    if (touchLeft > 0) { // as many of the turn's reads or writes as fit, their values in locals (V8 reloads a global at each use)
      const k = min<i32>(touchLeft, room - n);
      const mm = touchMm, v0 = touchVpn, c = chunk;
      const stop = n + k;
      if (touchWrite) {
        while (n < stop) {
          const vpn = v0 + below(c);
          record3(buf, n++, OP_WRITE, mm, vpn, prngU32());
        }
      } else {
        while (n < stop) record3(buf, n++, OP_READ, mm, v0 + below(c), 0);
      }
      touchLeft -= k;
      continue;
    }
    if (setupProc < procs) { // the setup: each process maps its buffer and writes its first `populate` pages
      const mm = load<i32>(at(mmOf, setupProc));
      if (setupK < 0) record7(buf, n++, OP_MMAP, mm, base, pages, vmflags, -1, 0, 0);
      else record3(buf, n++, OP_WRITE, mm, base + setupK, prngU32());
      if (++setupK == populate) {
        setupProc++;
        setupK = -1;
      }
      continue;
    }
    if (<i64>issued + n + stepMax > <i64>limit) { // the twin's while (s.fits(stepMax, reserve))
      finished = true;
      break;
    }
    turn(done0 + <f64>(issued + n));
  }
  issued += n;
  return n;
}
