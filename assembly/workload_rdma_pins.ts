// rdma-pins' setup writes, main loop and unpins of its drain inside the core (src/workload/rdma-pins.ts is
// its TypeScript twin, whose driver_new / mm_new, exits and check the host runs): RDMA applications
// register memory regions (ibv_reg_mr -> pin_user_pages(FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE), v6.1
// mm/gup.c) and deregister them (unpin_user_page), while a driver migrates ranges of every process to
// its device (migrate_vma_*, v6.1 mm/migrate_device.c: pinned pages stay in place), processes fork (a
// child writes and reads some pages and exits: copy_present_page copies maybe-pinned pages, v6.1
// mm/memory.c) and the CPU reads and writes. The same PRNG draws in the same order as the twin's, so the
// same ops and the same data. Results the loop needs come back from the result buffer after each batch:
// every GUP's handle (kept for its region's deregistration; a deregistration of a region whose pins are
// in the batch not yet run ends the batch first) and a fork's child id (the fork ends its batch, as in
// fork-heavy). BO and mm ids are used for good: two pacers (the twin's Pacers) spread them over the
// budget. No kernel analogue for the loop itself: it is the user program.
import { OP_EXIT, OP_FORK, OP_GUP, OP_MADV_DONTNEED, OP_MIGRATE_TO_DEVICE, OP_MIGRATE_TO_RAM, OP_MMAP, OP_READ, OP_UNPIN, OP_WRITE,
  OP_WORDS, FOLL_PIN, FOLL_LONGTERM, FOLL_WRITE } from "./abi";
import { resultBase } from "./ops";
import { record3, record7 } from "./workload_emit";
import { pacerAllows } from "./workload_pacer";
import { prngSeed, prngU32, prngBelow as below, prngDraw, setWeights } from "./workload_prng";

const TURNS = 8; // register, deregister, migrate, evict, fork, read, write, dontneed (the twin's TURNS)
const STAGE_MAX = 2; // records a staged turn issues at most (evict + migrate)
const RECORD_BYTES: usize = OP_WORDS << 2;
const PIN_FLAGS = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;

const SETUP = 0;
const LOOP = 1;
const DRAIN = 2; // the loop is over: every live region's unpins
const OVER = 3;

let procs: i32 = 0;
let pinners: i32 = 0;
let pages: i32 = 0;
let base: i32 = 0;
let vmflags: i32 = 0;
let mrPages: i32 = 0;
let maxMrs: i32 = 0;
let chunk: i32 = 0;
let touch: i32 = 0;
let childWrites: i32 = 0;
let childReads: i32 = 0;
let driver: i32 = 0;
let devicePages: i32 = 0;
let fitStep: i32 = 0; // the twin's stepMax + mrPages
let cpp: i32 = 0;
let limit: i32 = 0; // the twin's budget - (exits + check) - (ops before the core's first)
let issued: i32 = 0;
let done0: f64 = 0;
let pacerBudget: f64 = 0;
let boSlots: f64 = 0;
let bosUsed: f64 = 0;
let forkSlots: f64 = 0;
let forksUsed: f64 = 0;
let phase: i32 = OVER;
let setupProc: i32 = 0;
let setupK: i32 = -1; // -1: the process's mmap next; else the page of its next write
let liveMrs: i32 = 0;
let resident: i32 = 0; // pages believed on the device
let head: i32 = -1; // ranges on the device in migration order (a list through prev / next): the oldest first
let tail: i32 = -1;
// a turn in progress
let gupLeft: i32 = 0; // register: pins still to issue, of region gupMr at gupVpn in gupMm
let gupMr: i32 = 0;
let gupMm: i32 = 0;
let gupVpn: i32 = 0;
let unpinMr: i32 = -1; // deregister: the region whose unpins are issued, the next of its pages
let unpinI: i32 = 0;
let drainMr: i32 = 0; // the drain: the next region to look at
let touchLeft: i32 = 0;
let touchWrite = false;
let touchMm: i32 = 0;
let forkIndex: i32 = -1; // the fork that ended the last batch (its result not read yet)
let child: i32 = -1; // a forked child whose writes, reads and exit are being issued
let childW: i32 = 0;
let childR: i32 = 0;
let staged: i32 = 0;
let stagedOut: i32 = 0;
let batchGups: i32 = 0; // GUPs in the batch being filled: (op index, handle slot) pairs in gupAt / gupDst

let weights: usize = 0;
let weightTotal: f64 = 0;
let stage: usize = 0;
// grown, never shrunk (the stub runtime frees nothing)
let procCap: i32 = 0;
let mmOf: usize = 0;
let mrCap: i32 = 0;
let mrLive: usize = 0;
let mrProc: usize = 0;
let mrVpn: usize = 0;
let mrPending: usize = 0; // pins of the region whose handles are not back yet
let handleCap: i32 = 0;
let handles: usize = 0;
let chunkCap: i32 = 0;
let onDevice: usize = 0;
let prev: usize = 0;
let next: usize = 0;
let gupCap: i32 = 0;
let gupAt: usize = 0;
let gupDst: usize = 0;

@inline function at(a: usize, i: i32): usize { return a + (<usize>i << 2); }
@inline function get(a: usize, i: i32): i32 { return load<i32>(at(a, i)); }
@inline function set(a: usize, i: i32, v: i32): void { store<i32>(at(a, i), v); }

/** The twin's Pacer.allow(done) over the run's budget. */
@inline function allow(used: f64, slots: f64, done: f64): bool { return pacerAllows(used, slots, pacerBudget, done); }

/** Room for n i32s at *a (its capacity cap): a fresh block when it is too small. */
function grown(a: usize, cap: i32, n: i32): usize {
  return n > cap ? heap.alloc(<usize>n << 2) : a;
}

/**
 * Start the run for processes mm0.. (buffers not mapped yet; the first `npinners` register regions) and
 * driver `drv`: the setup mmaps and writes, turns while one fits in `ops` (the twin's s.fits, its
 * reserve without the exits and check), then the unpins of the regions still live; migrations and
 * forks paced as Pacer(bos, budget) and Pacer(forks, budget) from `before` ops into the run.
 */
export function rdmaPinsBegin(nprocs: i32, npinners: i32, npages: i32, atVpn: i32, flags: i32, mm0: i32, nmrPages: i32, nmaxMrs: i32,
  nchunk: i32, ntouch: i32, writes: i32, drv: i32, ndevicePages: i32,
  w0: f64, w1: f64, w2: f64, w3: f64, w4: f64, w5: f64, w6: f64, w7: f64,
  bos: f64, forks: f64, budget: f64, before: f64, seed: u32, ops: i32, room: i32): void {
  procs = nprocs;
  pinners = npinners;
  pages = npages;
  base = atVpn;
  vmflags = flags;
  mrPages = nmrPages;
  maxMrs = nmaxMrs;
  chunk = nchunk;
  touch = ntouch;
  childWrites = writes;
  childReads = writes >> 2;
  driver = drv;
  devicePages = ndevicePages;
  let step = nmrPages; // the twin's stepMax: max(mrPages, 2 + childWrites + childReads, touch, 2)
  if (2 + writes + childReads > step) step = 2 + writes + childReads;
  if (ntouch > step) step = ntouch;
  fitStep = step + nmrPages;
  cpp = npages / nchunk;
  limit = ops;
  issued = 0;
  done0 = before;
  pacerBudget = budget;
  boSlots = bos;
  bosUsed = 0;
  forkSlots = forks;
  forksUsed = 0;
  phase = SETUP;
  setupProc = 0;
  setupK = -1;
  liveMrs = 0;
  resident = 0;
  head = tail = -1;
  gupLeft = 0;
  unpinMr = -1;
  drainMr = 0;
  touchLeft = 0;
  forkIndex = -1;
  child = -1;
  staged = stagedOut = 0;
  batchGups = 0;
  if (weights == 0) {
    weights = heap.alloc(TURNS << 3);
    stage = heap.alloc(<usize>STAGE_MAX * RECORD_BYTES);
  }
  weightTotal = setWeights(weights, TURNS, w0, w1, w2, w3, w4, w5, w6, w7);
  mmOf = grown(mmOf, procCap, nprocs);
  if (nprocs > procCap) procCap = nprocs;
  for (let i = 0; i < nprocs; i++) set(mmOf, i, mm0 + i);
  if (nmaxMrs > mrCap) {
    mrLive = heap.alloc(<usize>nmaxMrs << 2);
    mrProc = heap.alloc(<usize>nmaxMrs << 2);
    mrVpn = heap.alloc(<usize>nmaxMrs << 2);
    mrPending = heap.alloc(<usize>nmaxMrs << 2);
    mrCap = nmaxMrs;
  }
  memory.fill(mrLive, 0, <usize>nmaxMrs << 2);
  const nh = nmaxMrs * nmrPages;
  handles = grown(handles, handleCap, nh);
  if (nh > handleCap) handleCap = nh;
  const nChunks = nprocs * cpp;
  if (nChunks > chunkCap) {
    onDevice = heap.alloc(<usize>nChunks << 2);
    prev = heap.alloc(<usize>nChunks << 2);
    next = heap.alloc(<usize>nChunks << 2);
    chunkCap = nChunks;
  }
  memory.fill(onDevice, 0, <usize>nChunks << 2);
  if (room > gupCap) {
    gupAt = heap.alloc(<usize>room << 2);
    gupDst = heap.alloc(<usize>room << 2);
    gupCap = room;
  }
  prngSeed(seed);
}

/** The twin's collect(): every GUP of the batch that just ran hands its result to its region's handle slot. */
function collect(): void {
  for (let k = 0; k < batchGups; k++) {
    const dst = get(gupDst, k);
    const r = load<i32>(resultBase + (<usize>get(gupAt, k) << 2));
    set(handles, dst, r > 0 ? r : 0); // 0 pages or -errno: no handle
    const m = dst / mrPages;
    set(mrPending, m, get(mrPending, m) - 1);
  }
  batchGups = 0;
}

/** A live region picked at random, or -1 (the twin's randomMr). */
function randomMr(): i32 {
  if (liveMrs == 0) return -1;
  let m = below(maxMrs);
  while (get(mrLive, m) == 0) m = m + 1 == maxMrs ? 0 : m + 1;
  return m;
}

/** The driver moves range id back to RAM (the twin's evictRange). */
function stageEvict(id: i32): void {
  const proc = id / cpp;
  record3(stage, staged++, OP_MIGRATE_TO_RAM, get(mmOf, proc), base + (id - proc * cpp) * chunk, chunk);
  set(onDevice, id, 0);
  resident -= chunk;
  const p = get(prev, id), q = get(next, id);
  if (p >= 0) set(next, p, q);
  else head = q;
  if (q >= 0) set(prev, q, p);
  else tail = p;
}

/** Region m's unpins are next (its pins' handles must all be back: the batch ends first if not). */
@inline function deregister(m: i32): void {
  unpinMr = m;
  unpinI = 0;
  set(mrLive, m, 0);
  liveMrs--;
}

/** One turn of the twin's run() switch; returns false when the batch must end first (results needed). */
function turn(done: f64): bool {
  const t = prngDraw(weights, TURNS, weightTotal);
  const proc = below(procs);
  if (t == 0) { // register: pin mrPages pages of a pinner's buffer
    if (liveMrs == maxMrs) return true;
    let m = 0;
    while (get(mrLive, m) != 0) m++;
    const owner = below(pinners);
    const vpn = base + below(pages - mrPages + 1);
    set(mrLive, m, 1);
    set(mrProc, m, owner);
    set(mrVpn, m, vpn);
    set(mrPending, m, mrPages);
    liveMrs++;
    gupMr = m;
    gupMm = get(mmOf, owner);
    gupVpn = vpn;
    gupLeft = mrPages;
  } else if (t == 1) { // deregister a region at random
    const m = randomMr();
    if (m >= 0) {
      deregister(m);
      if (get(mrPending, m) > 0) return false;
    }
  } else if (t == 2) { // migrate a range of proc's buffer, evicting the oldest first if the device is full
    const id = proc * cpp + below(cpp);
    if (get(onDevice, id) != 0 || !allow(bosUsed, boSlots, done)) return true;
    if (resident + chunk > devicePages && head >= 0) stageEvict(head);
    record7(stage, staged++, OP_MIGRATE_TO_DEVICE, get(mmOf, proc), base + (id - proc * cpp) * chunk, chunk, driver, 0, 0, 0);
    bosUsed++;
    set(onDevice, id, 1);
    resident += chunk;
    set(prev, id, tail);
    set(next, id, -1);
    if (tail >= 0) set(next, tail, id);
    else head = id;
    tail = id;
  } else if (t == 3) { // evict a range of proc's buffer if the driver believes it on the device
    const id = proc * cpp + below(cpp);
    if (get(onDevice, id) != 0) stageEvict(id);
  } else if (t == 4) { // fork: the child's id is the fork's result, so the batch runs first
    if (!allow(forksUsed, forkSlots, done)) return true;
    record3(stage, staged++, OP_FORK, get(mmOf, proc), 0, 0);
    forksUsed++;
  } else if (t == 5 || t == 6) { // the CPU reads or writes touch pages of proc's buffer
    touchLeft = touch;
    touchWrite = t == 6;
    touchMm = get(mmOf, proc);
  } else { // MADV_DONTNEED of a registered range: its pinned pages lose their mapping
    const m = randomMr();
    if (m >= 0) record3(stage, staged++, OP_MADV_DONTNEED, get(mmOf, get(mrProc, m)), get(mrVpn, m), mrPages);
  }
  return true;
}

/** Write up to `room` of the next ops into the op buffer at `buf`; returns how many (0: the run is over). */
export function rdmaPinsFill(buf: usize, room: i32): i32 {
  collect(); // the last batch's GUP handles
  if (forkIndex >= 0) { // the twin's enc.result(enc.fork(mm)): it ran as the last batch's last op
    child = load<i32>(resultBase + (<usize>forkIndex << 2));
    childW = childWrites;
    childR = childReads;
    forkIndex = -1;
  }
  if (phase == OVER) return 0;
  let n = 0;
  while (n < room) {
    if (stagedOut < staged) {
      const src = stage + <usize>stagedOut * RECORD_BYTES;
      memory.copy(buf + <usize>n * RECORD_BYTES, src, RECORD_BYTES);
      stagedOut++;
      if (stagedOut == staged) staged = stagedOut = 0;
      if (load<i32>(src) == OP_FORK) {
        forkIndex = n++;
        break;
      }
      n++;
      continue;
    }
    if (gupLeft > 0) { // register's pins, each handle collected after its batch
      const i = mrPages - gupLeft;
      set(gupAt, batchGups, n);
      set(gupDst, batchGups++, gupMr * mrPages + i);
      record3(buf, n++, OP_GUP, gupMm, gupVpn + i, PIN_FLAGS);
      gupLeft--;
      continue;
    }
    if (unpinMr >= 0) { // deregisterMr: unpin every page that was pinned (handle 0: the pin failed)
      const first = unpinMr * mrPages;
      while (unpinI < mrPages && get(handles, first + unpinI) == 0) unpinI++;
      if (unpinI == mrPages) {
        unpinMr = -1;
        continue;
      }
      record3(buf, n++, OP_UNPIN, get(handles, first + unpinI++), 0, 0);
      continue;
    }
    if (child >= 0) { // the forked child writes and reads random pages, then exits
      if (childW + childR > 0) {
        const vpn = base + below(pages);
        if (below(childW + childR) < childW) {
          record3(buf, n++, OP_WRITE, child, vpn, prngU32());
          childW--;
        } else {
          record3(buf, n++, OP_READ, child, vpn, 0);
          childR--;
        }
      } else {
        record3(buf, n++, OP_EXIT, child, 0, 0);
        child = -1;
      }
      continue;
    }
    if (touchLeft > 0) {
      const vpn = base + below(pages);
      if (touchWrite) record3(buf, n++, OP_WRITE, touchMm, vpn, prngU32());
      else record3(buf, n++, OP_READ, touchMm, vpn, 0);
      touchLeft--;
      continue;
    }
    if (phase == SETUP) { // each process maps its buffer and writes every page
      const mm = get(mmOf, setupProc);
      if (setupK < 0) record7(buf, n++, OP_MMAP, mm, base, pages, vmflags, -1, 0, 0);
      else record3(buf, n++, OP_WRITE, mm, base + setupK, prngU32());
      if (++setupK == pages) {
        setupK = -1;
        if (++setupProc == procs) phase = LOOP;
      }
      continue;
    }
    if (phase == DRAIN) { // the twin's drain: deregister every live region, in order
      while (drainMr < maxMrs && get(mrLive, drainMr) == 0) drainMr++;
      if (drainMr == maxMrs) {
        phase = OVER;
        break;
      }
      deregister(drainMr);
      continue;
    }
    // the twin's while (s.fits(stepMax + mrPages, liveMrs * mrPages + exits + check))
    if (<i64>issued + n + fitStep + <i64>liveMrs * mrPages > <i64>limit) {
      phase = DRAIN;
      if (batchGups > 0) break; // the drain unpins by handle: this batch's pins run first
      continue;
    }
    if (!turn(done0 + <f64>(issued + n))) break;
  }
  issued += n;
  return n;
}
