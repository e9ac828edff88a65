// mix's whole run inside the core (src/workload/mix.ts is its TypeScript twin and reference): setup (2 mms,
// a file, a driver), the random loop over every op kind, the drain and the quiesce check, with the same
// PRNG draws in the same order, so the same ops and the same stream hash. The twin reads results through
// its encoder, whose flushes decide what it can know when: an op whose result the next draw needs (mm_new,
// fork, file_new, driver_new, mmap(-1), a migrate_to_device whose BO is used again) is its batch's last op
// here, and its result is read at the next step; a GUP's handle is ready once the twin's encoder would have
// flushed it (a full buffer of `chunk` ops, a result, the counters); the counters (system frames in use)
// are read directly once the batch has run. A step that needs a batch to run before it can go on (the
// counters, or a handle whose op is still in the batch) goes back to where it began (the PRNG and the few
// words it changed) and runs the batch first: nothing of it was issued. No kernel analogue: the user program.
import { OP_CHECK, OP_DMA_WRITE, OP_DRIVER_NEW, OP_DRIVER_TEARDOWN, OP_DROP_CACHE, OP_EVICT_BO, OP_EXIT, OP_FILE_NEW, OP_FORK, OP_GUP,
  OP_MADV_DONTNEED, OP_MADV_PAGEOUT, OP_MIGRATE_TO_DEVICE, OP_MIGRATE_TO_RAM, OP_MM_NEW, OP_MMAP, OP_MUNMAP, OP_READ, OP_TEARDOWN,
  OP_TRUNCATE, OP_UNPIN, OP_WRITE, VM_READ, VM_WRITE, VM_SHARED, VM_ANON, VM_FILE, FOLL_WRITE, FOLL_PIN, FOLL_LONGTERM,
  KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT, ST_LIVE_FRAMES, ST_DEV_ALLOC, ST_DEV_FREED } from "./abi";
import { resultBase } from "./ops";
import {
  K_MM_NEW, K_MMAP, K_MUNMAP, K_READ, K_WRITE, K_FORK, K_EXIT, K_MADVISE_DONTNEED, K_FILE_NEW, K_DRIVER_NEW, K_MIGRATE_TO_DEVICE, K_MIGRATE_TO_RAM, K_GUP, K_UNPIN, K_CHECK, K_DROP_CACHE, K_TEARDOWN, K_MADVISE_PAGEOUT, K_TRUNCATE, K_DMA_WRITE, K_EVICT_BO, K_DRIVER_TEARDOWN, MIX_KIND_COUNT,
} from "./workload_mix_kinds";
import { stat } from "./stats";
import { record3, record7 } from "./workload_emit";
import { pacerAllows } from "./workload_pacer";
import { prngSeed, prngU32, prngBelowSmall as below, prngBelow as belowFile, prngChance as chance, prngDrawStepped, stepWeights, stepsBytes, prngState, prngSetState } from "./workload_prng";

export const MIX_KINDS = MIX_KIND_COUNT;
const MAP_BASE = 0x10000; // src/workload/common.ts MAP_BASE
const RW = VM_READ | VM_WRITE;


// phases
const SETUP = 0;
const LOOP = 1;
const END = 2; // the loop is over: the last check, then the drain's flush
const DRAIN = 3; // unpins, exits, drop caches, check
const OVER = 4;

// what the next step does first (a result read back, or the rest of an op after one)
const C_NONE = 0;
const C_MM_NEW = 1;
const C_FORK = 2;
const C_FILE = 3;
const C_DRIVER = 4;
const C_MMAP = 5;
const C_BO = 6;
const C_EVICT = 7;
const C_PRESSURE = 8; // the pressure loop's resync after a freeing op

// parameters
let maxP: i32 = 0;
let maxV: i32 = 0;
let arenaPages: i32 = 0;
let maxMapPages: i32 = 0;
let hintRatio: f64 = 0;
let fileRatio: f64 = 0;
let sharedRatio: f64 = 0;
let readOnlyRatio: f64 = 0;
let maxFiles: i32 = 0;
let maxFilePages: i32 = 0;
let maxDrivers: i32 = 0;
let driverPages: i32 = 0;
let maxMigratePages: i32 = 0;
let boReuse: f64 = 0;
let maxPins: i32 = 0;
let span: i32 = 0;
let low: i32 = 0;
let capSystem: f64 = 0;
let capFilePages: i32 = 0;
let capDevicePages: i32 = 0;
let chunk: i32 = 0;
let budget: f64 = 0;
// the twin's Pacers: uses so far of mm ids, files, drivers, BOs
let mmSlots: f64 = 0;
let mmUsed: f64 = 0;
let fileSlots: f64 = 0;
let fileUsed: f64 = 0;
let drvSlots: f64 = 0;
let drvUsed: f64 = 0;
let boSlots: f64 = 0;
let boUsed: f64 = 0;

// the run
let phase: i32 = OVER;
let setupI: i32 = 0;
let drainI: i32 = 0;
let issued: i32 = 0; // ops of earlier batches
let n: i32 = 0; // ops of the batch being filled
let endBatch = false;
let mustRun = false;
let cont: i32 = C_NONE;
let contAfterPressure = false;
let contResultAt: i32 = -1;
let result: i32 = 0;
let stop: i32 = 0; // 1: frames exhausted, 2: no op could be issued (the twin's notes)
let mismatches: i32 = 0;
let sysUsed: f64 = 0;
let pressure = false;
let encN: i32 = 0; // ops in the twin's encoder buffer (flushed when full, on a result and on the counters)

// a continuation's saved words
let cSlot: i32 = 0;
let cLen: i32 = 0;
let cFlags: i32 = 0;
let cFile: i32 = 0;
let cPgoff: i32 = 0;
let cPredicted: i32 = 0;
let cTake = false;
let cReuse = false;
let cEvict = false;
let cDrv: i32 = 0;
let cBo: i32 = 0;

// processes: slots and their VMAs
let slotMm: usize = 0;
let liveList: usize = 0;
let slotPos: usize = 0;
let nLive: i32 = 0;
let vHead: usize = 0;
let vCount: usize = 0;
let vStart: usize = 0;
let vEnd: usize = 0;
let vFlags: usize = 0;
let vFile: usize = 0;
let vPgoff: usize = 0;
let vNext: usize = 0;
let vFree: usize = 0;
// per slot its VMAs in list order (maxV + 1 words each), rebuilt by vPick after its list changed (VmaTracker's #order)
let vOrder: usize = 0;
let vStale: usize = 0;
let vFreeTop: i32 = 0;
// files, drivers, GUP handles
let fileId: usize = 0;
let fileLen: usize = 0;
let nFiles: i32 = 0;
let filePagesUsed: i32 = 0;
let drvId: usize = 0;
let nDrv: i32 = 0;
let drvCreated: i32 = 0;
let devicePagesUsed: i32 = 0;
let handles: usize = 0;
let handleWrites: usize = 0;
let nHandles: i32 = 0;
let wantWrites: usize = 0; // per GUP issued (ring of maxPins by its number): FOLL_PIN | FOLL_WRITE
let wantResult: usize = 0; // per GUP that ran: its result
let wantIssued: i32 = 0;
let wantCount: i32 = 0; // issued, not taken
let wantReady: i32 = 0; // GUPs the twin's encoder has flushed
let wantRun: i32 = 0; // GUPs whose batch ran
let batchGups: i32 = 0;
let gupAt: usize = 0;
let weights: usize = 0;
let weightTotal: f64 = 0;
let freeing: usize = 0;
let freeingTotal: f64 = 0;
// both tables' steps for prngDrawStepped (stepWeights, made in mixBegin)
let weightSteps: usize = 0;
let freeingSteps: usize = 0;

// the snapshot a step goes back to
let snapS: usize = 0; // the PRNG's four words
let snapSys: f64 = 0;
let snapPressure = false;
let snapEncN: i32 = 0;
let snapReady: i32 = 0;
let snapHandles: i32 = 0;
let snapCount: i32 = 0;

// Every n mix draws below(n) from is at most 2^20 (prngBelowSmall's bound): workloadMix bounds mms, VMAs,
// files, drivers, pins and migrate lengths by MIX_MAX = 2^20 and the arena (so every VMA's length) by
// MIX_ARENA < 2^18; only a file's length (up to the capacity's filePages) is not, its draws take belowFile.

@inline function at(a: usize, i: i32): usize { return a + (<usize>i << 2); }
@inline function get(a: usize, i: i32): i32 { return load<i32>(at(a, i)); }
@inline function set(a: usize, i: i32, v: i32): void { store<i32>(at(a, i), v); }
let block: usize = 0;
let blockWords: i32 = 0;
let carved: usize = 0;
/** The next `count` i32s of the run's block. */
function words(count: i32): usize {
  const a = carved;
  carved += <usize>count << 2;
  return a;
}

/** Relative weight of kind k and its weight under memory pressure (before mixBegin). */
export function mixWeight(k: i32, w: f64, f: f64): void {
  ensureWeights();
  store<f64>(weights + (<usize>k << 3), w);
  store<f64>(freeing + (<usize>k << 3), f);
}

function ensureWeights(): void {
  if (weights != 0) return;
  snapS = heap.alloc(16);
  weights = heap.alloc(<usize>MIX_KINDS << 3);
  freeing = heap.alloc(<usize>MIX_KINDS << 3);
  weightSteps = heap.alloc(stepsBytes(MIX_KINDS));
  freeingSteps = heap.alloc(stepsBytes(MIX_KINDS));
  memory.fill(weights, 0, <usize>MIX_KINDS << 3);
  memory.fill(freeing, 0, <usize>MIX_KINDS << 3);
}

/** After mixBegin: some kind can be drawn, in the loop and under memory pressure. */
export function mixWeightsDrawable(): bool {
  return weightTotal > 0 && weightTotal < Infinity && freeingTotal > 0 && freeingTotal < Infinity;
}

export function mixBegin(nmaxP: i32, nmaxV: i32, narena: i32, nmaxMap: i32, nhint: f64, nfile: f64, nshared: f64, nreadOnly: f64,
  nmaxFiles: i32, nmaxFilePages: i32, nmaxDrivers: i32, ndriverPages: i32, nmaxMigrate: i32, nboReuse: f64, nmaxPins: i32,
  ncapSystem: f64, ncapFilePages: i32, ncapDevicePages: i32, sysLive: f64, nmmSlots: f64, nfileSlots: f64, ndrvSlots: f64, nboSlots: f64,
  nbudget: f64, nchunk: i32, seed: u32, room: i32): void {
  maxP = nmaxP; maxV = nmaxV; arenaPages = narena; maxMapPages = nmaxMap;
  hintRatio = nhint; fileRatio = nfile; sharedRatio = nshared; readOnlyRatio = nreadOnly;
  maxFiles = nmaxFiles; maxFilePages = nmaxFilePages; maxDrivers = nmaxDrivers; driverPages = ndriverPages;
  maxMigratePages = nmaxMigrate; boReuse = nboReuse; maxPins = nmaxPins;
  span = narena + nmaxMap;
  low = 4 * nmaxMigrate + 16;
  if (low < 64) low = 64;
  capSystem = ncapSystem; capFilePages = ncapFilePages; capDevicePages = ncapDevicePages;
  sysUsed = sysLive;
  mmSlots = nmmSlots; fileSlots = nfileSlots; drvSlots = ndrvSlots; boSlots = nboSlots;
  mmUsed = fileUsed = drvUsed = boUsed = 0;
  budget = nbudget;
  chunk = nchunk;
  ensureWeights();
  weightTotal = 0;
  freeingTotal = 0;
  for (let k = 0; k < MIX_KINDS; k++) {
    weightTotal += load<f64>(weights + (<usize>k << 3));
    freeingTotal += load<f64>(freeing + (<usize>k << 3));
  }
  if (mixWeightsDrawable()) { // the steps hold for finite totals (the run does not start otherwise)
    stepWeights(weights, MIX_KINDS, weightTotal, weightSteps);
    stepWeights(freeing, MIX_KINDS, freeingTotal, freeingSteps);
  }
  // every array carved from one block, taken anew only when a run needs more than the last (the stub runtime frees nothing)
  const nv = (maxP + 1) * (maxV + 1);
  const need = 7 * maxP + maxP * (maxV + 1) + 7 * nv + 2 * maxFiles + maxDrivers + 4 * maxPins + (room > 0 ? room : 1);
  if (need > blockWords) {
    block = heap.alloc(<usize>need << 2);
    blockWords = need;
  }
  carved = block;
  slotMm = words(maxP); liveList = words(maxP); slotPos = words(maxP);
  for (let i = 0; i < maxP; i++) set(slotMm, i, -1);
  nLive = 0;
  vHead = words(maxP); vCount = words(maxP);
  vOrder = words(maxP * (maxV + 1)); vStale = words(maxP);
  for (let i = 0; i < maxP; i++) { set(vHead, i, -1); set(vCount, i, 0); set(vStale, i, 1); }
  vStart = words(nv); vEnd = words(nv); vFlags = words(nv); vFile = words(nv); vPgoff = words(nv); vNext = words(nv); vFree = words(nv);
  for (let i = 0; i < nv; i++) set(vFree, i, nv - 1 - i);
  vFreeTop = nv;
  fileId = words(maxFiles); fileLen = words(maxFiles);
  nFiles = 0; filePagesUsed = 0;
  drvId = words(maxDrivers);
  nDrv = 0; drvCreated = 0; devicePagesUsed = 0;
  handles = words(maxPins); handleWrites = words(maxPins); wantWrites = words(maxPins); wantResult = words(maxPins);
  nHandles = 0; wantIssued = wantCount = wantReady = wantRun = 0;
  gupAt = words(room > 0 ? room : 1); batchGups = 0;
  phase = SETUP; setupI = 0; drainI = 0;
  issued = 0; n = 0; endBatch = false; mustRun = false;
  cont = C_NONE; contAfterPressure = false; contResultAt = -1;
  stop = 0; mismatches = 0; pressure = false; encN = 0;
  prngSeed(seed);
}

/** Why the loop ended early (0: it did not; 1: system frames exhausted; 2: no op could be issued). */
export function mixStop(): i32 { return stop; }
/** Times mmap(-1) returned another address than the generator's get_unmapped_area predicted. */
export function mixMismatches(): i32 { return mismatches; }

// ---- the twin's encoder: its buffer fills, flushes, and the batch here ends where a result is needed

/** The twin's flush: every GUP issued so far has its handle ready. */
@inline function encFlush(): void {
  wantReady = wantIssued;
  encN = 0;
}
/** Slot n of the batch for the next op (the twin's slot(): a full buffer is flushed first). */
@inline function slot(): i32 {
  if (encN == chunk) encFlush();
  encN++;
  return n++;
}
/** The op just issued is needed at once (the twin's enc.result): it ends the batch. */
function wantResultOf(c: i32): void {
  encFlush();
  cont = c;
  contResultAt = n - 1;
  endBatch = true;
}
@inline function done(): f64 { return <f64>(issued + n); }
@inline function allow(used: f64, slots: f64): bool { return pacerAllows(used, slots, budget, done()); }

// ---- bookkeeping (the twin's)
function addSlot(mm: i32): i32 {
  let s = 0;
  while (get(slotMm, s) >= 0) s++;
  set(slotMm, s, mm);
  set(slotPos, s, nLive);
  set(liveList, nLive++, s);
  return s;
}
function dropSlot(s: i32): void {
  vDrop(s);
  set(slotMm, s, -1);
  const p = get(slotPos, s);
  const last = get(liveList, --nLive);
  set(liveList, p, last);
  set(slotPos, last, p);
}
// randomSlot, slotWithVma, vPick and access are inlined (performance only): reads and writes are three
// quarters of mix's ops, and each V8 call of a wasm function costs a frame and reloads the instance's registers.
@inline function randomSlot(): i32 {
  return nLive == 0 ? -1 : get(liveList, below(nLive));
}
@inline function slotWithVma(): i32 {
  for (let t = 0; t < 4; t++) {
    const s = randomSlot();
    if (s >= 0 && get(vCount, s) > 0) return s;
  }
  for (let i = 0; i < nLive; i++) if (get(vCount, get(liveList, i)) > 0) return get(liveList, i);
  return -1;
}

// ---- the VMA lists (src/workload/vmas.ts VmaTracker)
function vInsert(s: i32, start: i32, end: i32, flags: i32, file: i32, pgoff: i32): void {
  const v = get(vFree, --vFreeTop);
  set(vStart, v, start); set(vEnd, v, end); set(vFlags, v, flags); set(vFile, v, file); set(vPgoff, v, pgoff);
  let prev = -1;
  let cur = get(vHead, s);
  while (cur >= 0 && get(vStart, cur) < start) { prev = cur; cur = get(vNext, cur); }
  set(vNext, v, cur);
  if (prev < 0) set(vHead, s, v);
  else set(vNext, prev, v);
  set(vCount, s, get(vCount, s) + 1);
  set(vStale, s, 1);
}
function vUnlink(s: i32, v: i32, prev: i32): void {
  if (prev < 0) set(vHead, s, get(vNext, v));
  else set(vNext, prev, get(vNext, v));
  set(vFree, vFreeTop++, v);
  set(vCount, s, get(vCount, s) - 1);
  set(vStale, s, 1);
}
function vSetRange(v: i32, start: i32, end: i32): void {
  if (get(vFile, v) >= 0) set(vPgoff, v, get(vPgoff, v) + start - get(vStart, v));
  set(vStart, v, start);
  set(vEnd, v, end);
}
function vUnmapRange(s: i32, start: i32, end: i32): void {
  let prev = -1;
  let v = get(vHead, s);
  while (v >= 0) {
    const nx = get(vNext, v);
    const vs = get(vStart, v), ve = get(vEnd, v);
    if (ve <= start) { prev = v; v = nx; continue; }
    if (vs >= end) break;
    const zs = vs > start ? vs : start;
    const ze = ve < end ? ve : end;
    if (zs == vs && ze == ve) {
      vUnlink(s, v, prev);
    } else if (zs == vs) {
      vSetRange(v, ze, ve);
      prev = v;
    } else if (ze == ve) {
      vSetRange(v, vs, zs);
      prev = v;
    } else {
      const tailPgoff = get(vPgoff, v) + (ze - vs);
      vSetRange(v, vs, zs);
      vInsert(s, ze, ve, get(vFlags, v), get(vFile, v), tailPgoff);
      break;
    }
    v = nx;
  }
}
function vOverlaps(s: i32, start: i32, end: i32): bool {
  for (let v = get(vHead, s); v >= 0; v = get(vNext, v)) if (get(vStart, v) < end && start < get(vEnd, v)) return true;
  return false;
}
function vUnmappedArea(s: i32, len: i32, base: i32): i32 {
  let cand = base;
  for (let v = get(vHead, s); v >= 0; v = get(vNext, v)) {
    if (get(vEnd, v) > cand) {
      if (get(vStart, v) >= cand + len) break;
      cand = get(vEnd, v);
    }
  }
  return cand;
}
/**
 * VmaTracker.pick: the k-th VMA of the list, k drawn; from the slot's order array, rebuilt after the list
 * changed (reads and writes pick far more often than the lists change; performance only, the same VMA).
 */
@inline function vPick(s: i32): i32 {
  const k = below(get(vCount, s));
  const o = vOrder + (<usize>(s * (maxV + 1)) << 2);
  if (get(vStale, s) != 0) {
    let i = 0;
    for (let v = get(vHead, s); v >= 0; v = get(vNext, v)) set(o, i++, v);
    set(vStale, s, 0);
  }
  return get(o, k);
}
function vCopy(from: i32, to: i32): void {
  for (let v = get(vHead, from); v >= 0; v = get(vNext, v)) vInsert(to, get(vStart, v), get(vEnd, v), get(vFlags, v), get(vFile, v), get(vPgoff, v));
}
function vDrop(s: i32): void {
  let v = get(vHead, s);
  while (v >= 0) {
    const nx = get(vNext, v);
    set(vFree, vFreeTop++, v);
    v = nx;
  }
  set(vHead, s, -1);
  set(vCount, s, 0);
  set(vStale, s, 1);
}

// ---- the twin's helpers
/** The twin's collect(); false (mustRun) if a ready handle's op has not run yet. */
function collect(): bool {
  if (wantReady > wantRun) {
    mustRun = true;
    return false;
  }
  let k = wantIssued - wantCount;
  while (k < wantReady) {
    const h = get(wantResult, k % maxPins);
    const w = get(wantWrites, k % maxPins);
    wantCount--;
    k++;
    if (h > 0) {
      set(handleWrites, nHandles, w);
      set(handles, nHandles++, h);
    }
  }
  return true;
}
@inline function handlesOut(): i32 { return nHandles + wantCount; }
@inline function reserve(): i32 { return handlesOut() + nLive + nFiles + 1; }
/**
 * The twin's done() + stepOps + reserve() <= budget, the sum taken in integers and converted once (performance
 * only: each term is an integer, and a double sum of integers below 2^53 is exact, so it is the same number).
 */
@inline function fits(stepOps: i32): bool {
  return <f64>(<i64>(issued + n) + <i64>stepOps + <i64>reserve()) <= budget;
}
/** The twin's resync (enc.stats() flushes first); false (mustRun) while the batch has ops not run. */
function resync(): bool {
  if (n > 0) {
    mustRun = true;
    return false;
  }
  encFlush();
  sysUsed = <f64>(stat(ST_LIVE_FRAMES) - (stat(ST_DEV_ALLOC) - stat(ST_DEV_FREED)));
  return true;
}
function room(needFree: i32, alloc: i32): bool {
  const want = <f64>(needFree > low ? needFree : low);
  if (capSystem - sysUsed - <f64>alloc < want) {
    if (!resync()) return false;
    if (capSystem - sysUsed - <f64>alloc < want) {
      pressure = true;
      return false;
    }
  }
  sysUsed += <f64>alloc;
  return true;
}
function newFile(take: bool): bool {
  const len = 1 + belowFile(maxFilePages);
  if (nFiles == maxFiles || filePagesUsed + len > capFilePages) return false;
  const i = slot();
  record3(opBuf, i, OP_FILE_NEW, len, 0, 0);
  cLen = len;
  cTake = take;
  wantResultOf(C_FILE);
  return true;
}
function newDriver(take: bool): bool {
  if (drvCreated == maxDrivers || devicePagesUsed + driverPages > capDevicePages) return false;
  const kind = chance(0.5) ? KIND_DEVICE_PRIVATE : KIND_DEVICE_COHERENT;
  record3(opBuf, slot(), OP_DRIVER_NEW, kind, driverPages, 0);
  cTake = take;
  wantResultOf(C_DRIVER);
  return true;
}
let rangeStart: i32 = 0;
let rangeLen: i32 = 0;
function subRange(v: i32, max: i32): void {
  const len = get(vEnd, v) - get(vStart, v);
  rangeLen = 1 + below(max < len ? max : len);
  rangeStart = get(vStart, v) + below(len - rangeLen + 1);
}
function anonVma(s: i32): i32 {
  for (let t = 0; t < 4; t++) {
    const v = vPick(s);
    if ((get(vFlags, v) & VM_ANON) != 0) return v;
  }
  return -1;
}

let opBuf: usize = 0;
let roomG: i32 = 0;

// ---- one op of each kind (the twin's methods); false if it cannot be issued now
function mmap(): bool {
  const s = randomSlot();
  if (s < 0 || get(vCount, s) >= maxV) return false;
  let len = 1 + below(maxMapPages);
  let flags = chance(readOnlyRatio) ? VM_READ : RW;
  let file = -1;
  let pgoff = 0;
  if (nFiles > 0 && chance(fileRatio)) {
    const f = below(nFiles);
    const fl = get(fileLen, f);
    if (len > fl) len = fl;
    file = get(fileId, f);
    pgoff = belowFile(fl - len + 1);
    flags |= VM_FILE | (chance(sharedRatio) ? VM_SHARED : 0);
  } else {
    flags |= VM_ANON;
  }
  const mm = get(slotMm, s);
  if (chance(hintRatio)) {
    const predicted = vUnmappedArea(s, len, MAP_BASE);
    if (predicted + len > MAP_BASE + span) return false;
    record7(opBuf, slot(), OP_MMAP, mm, -1, len, flags, file, pgoff, 0);
    cSlot = s; cLen = len; cFlags = flags; cFile = file; cPgoff = pgoff; cPredicted = predicted;
    wantResultOf(C_MMAP);
    return true;
  }
  for (let t = 0; t < 3; t++) {
    const start = MAP_BASE + below(arenaPages - len + 1);
    if (vOverlaps(s, start, start + len)) continue;
    record7(opBuf, slot(), OP_MMAP, mm, start, len, flags, file, pgoff, 0);
    vInsert(s, start, start + len, flags, file, pgoff);
    return true;
  }
  return false;
}
function munmap(): bool {
  const s = slotWithVma();
  if (s < 0 || get(vCount, s) >= maxV) return false;
  // VmaTracker.munmapRange
  const mode = below(10);
  let start: i32, end: i32;
  if (mode < 5) {
    const v = vPick(s);
    start = get(vStart, v);
    end = get(vEnd, v);
  } else if (mode < 8) {
    const v = vPick(s);
    const len = get(vEnd, v) - get(vStart, v);
    const a = below(len);
    start = get(vStart, v) + a;
    end = start + 1 + below(len - a);
  } else {
    start = MAP_BASE + below(span);
    end = start + 1 + below(2 * maxMapPages);
    if (end > MAP_BASE + span) end = MAP_BASE + span;
  }
  record3(opBuf, slot(), OP_MUNMAP, get(slotMm, s), start, end - start);
  vUnmapRange(s, start, end);
  return true;
}
@inline function access(write: bool): bool {
  const s = slotWithVma();
  if (s < 0) return false;
  const v = vPick(s);
  const vpn = get(vStart, v) + below(get(vEnd, v) - get(vStart, v));
  if (write && (get(vFlags, v) & VM_WRITE) != 0) {
    if (!room(2, 2)) return false;
    record3(opBuf, slot(), OP_WRITE, get(slotMm, s), vpn, prngU32());
  } else {
    if (!room(2, 1)) return false;
    record3(opBuf, slot(), OP_READ, get(slotMm, s), vpn, 0);
  }
  return true;
}
function fork(): bool {
  if (nLive >= maxP || !allow(mmUsed, mmSlots)) return false;
  const parent = randomSlot();
  if (parent < 0) return false;
  if (!collect()) return false;
  const out = handlesOut();
  if (!room(out + 2, out)) return false;
  record3(opBuf, slot(), OP_FORK, get(slotMm, parent), 0, 0);
  cSlot = parent;
  wantResultOf(C_FORK);
  return true;
}
function exit(): bool {
  const s = randomSlot();
  if (s < 0 || (nLive == 1 && mmSlots - mmUsed <= 0)) return false;
  record3(opBuf, slot(), OP_EXIT, get(slotMm, s), 0, 0);
  dropSlot(s);
  return true;
}
function mmNew(take: bool): bool {
  if (take && (nLive >= maxP || mmSlots - mmUsed <= 0 || (nLive > 0 && !allow(mmUsed, mmSlots)))) return false;
  record3(opBuf, slot(), OP_MM_NEW, 0, 0, 0);
  cTake = take;
  wantResultOf(C_MM_NEW);
  return true;
}
function fileNew(): bool {
  return allow(fileUsed, fileSlots) && newFile(true);
}
function driverNew(): bool {
  return allow(drvUsed, drvSlots) && newDriver(true);
}
function migrateToDevice(evictAtOnce: bool): bool {
  if (nDrv == 0 || !allow(boUsed, boSlots)) return false;
  const s = slotWithVma();
  if (s < 0) return false;
  const v = anonVma(s);
  if (v < 0) return false;
  const d = get(drvId, below(nDrv));
  subRange(v, maxMigratePages);
  record7(opBuf, slot(), OP_MIGRATE_TO_DEVICE, get(slotMm, s), rangeStart, rangeLen, d, 0, 0, 0);
  boUsed++;
  const reuse = chance(boReuse);
  if (!reuse && !evictAtOnce) return true;
  cReuse = reuse; cEvict = evictAtOnce; cDrv = d;
  wantResultOf(C_BO);
  return true;
}
function migrateToRam(): bool {
  const s = slotWithVma();
  if (s < 0) return false;
  subRange(vPick(s), maxMigratePages);
  if (!room(rangeLen, rangeLen)) return false;
  record3(opBuf, slot(), OP_MIGRATE_TO_RAM, get(slotMm, s), rangeStart, rangeLen);
  return true;
}
function dontneed(): bool {
  const s = slotWithVma();
  if (s < 0) return false;
  subRange(vPick(s), 4 * maxMigratePages);
  record3(opBuf, slot(), OP_MADV_DONTNEED, get(slotMm, s), rangeStart, rangeLen);
  return true;
}
function gupFlags(i: i32): i32 { // the twin's GUP_FLAGS
  if (i == 0) return 0;
  if (i == 1) return FOLL_WRITE;
  if (i == 2) return FOLL_PIN;
  if (i == 3) return FOLL_PIN | FOLL_WRITE;
  if (i == 4) return FOLL_PIN | FOLL_LONGTERM;
  return FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;
}
function gup(): bool {
  const s = slotWithVma();
  if (s < 0 || handlesOut() >= maxPins) return false;
  const v = vPick(s);
  const vpn = get(vStart, v) + below(get(vEnd, v) - get(vStart, v));
  let flags = gupFlags(below(6));
  if ((get(vFlags, v) & VM_WRITE) == 0) flags &= ~FOLL_WRITE;
  if (!room(3, 3)) return false;
  const i = slot();
  record3(opBuf, i, OP_GUP, get(slotMm, s), vpn, flags);
  set(gupAt, batchGups++, i);
  set(wantWrites, wantIssued % maxPins, (flags & (FOLL_PIN | FOLL_WRITE)) == (FOLL_PIN | FOLL_WRITE) ? 1 : 0);
  wantIssued++;
  wantCount++;
  return true;
}
function unpin(): bool {
  if (!collect()) return false;
  if (nHandles == 0) return false;
  const i = below(nHandles);
  record3(opBuf, slot(), OP_UNPIN, get(handles, i), 0, 0);
  set(handles, i, get(handles, --nHandles));
  set(handleWrites, i, get(handleWrites, nHandles));
  return true;
}
function dropCache(): bool {
  if (nFiles == 0) return false;
  record3(opBuf, slot(), OP_DROP_CACHE, get(fileId, below(nFiles)), 0, 0);
  return true;
}
function pageout(): bool {
  const s = slotWithVma();
  if (s < 0) return false;
  subRange(vPick(s), 4 * maxMigratePages);
  record3(opBuf, slot(), OP_MADV_PAGEOUT, get(slotMm, s), rangeStart, rangeLen);
  return true;
}
function truncate(): bool {
  if (nFiles == 0) return false;
  const f = below(nFiles);
  const fl = get(fileLen, f);
  const index = belowFile(fl);
  const rest = fl - index;
  const len = 1 + below(maxMigratePages < rest ? maxMigratePages : rest);
  record3(opBuf, slot(), OP_TRUNCATE, get(fileId, f), index, len);
  return true;
}
function dmaWrite(): bool {
  if (!collect()) return false;
  if (nHandles == 0) return false;
  const i = below(nHandles);
  if (get(handleWrites, i) == 0) return false;
  record3(opBuf, slot(), OP_DMA_WRITE, get(handles, i), prngU32(), 0);
  return true;
}
function driverTeardown(): bool {
  if (nDrv == 0) return false;
  const i = below(nDrv);
  const evict = chance(0.5);
  if (evict && !room(driverPages, driverPages)) return false;
  record3(opBuf, slot(), OP_DRIVER_TEARDOWN, get(drvId, i), evict ? 1 : 0, 0);
  set(drvId, i, get(drvId, --nDrv));
  return true;
}
function teardown(): bool {
  if (mmSlots - mmUsed <= 0) return false;
  record3(opBuf, slot(), OP_TEARDOWN, 0, 0, 0);
  while (nLive > 0) dropSlot(get(liveList, 0));
  return true;
}

// issue and step are inlined into mixFill (performance only, V8's call frames again: one step per op)
@inline function issue(kind: i32): bool {
  switch (kind) {
    case K_MM_NEW: return mmNew(true);
    case K_MMAP: return mmap();
    case K_MUNMAP: return munmap();
    case K_READ: return access(false);
    case K_WRITE: return access(true);
    case K_FORK: return fork();
    case K_EXIT: return exit();
    case K_MADVISE_DONTNEED: return dontneed();
    case K_FILE_NEW: return fileNew();
    case K_DRIVER_NEW: return driverNew();
    case K_MIGRATE_TO_DEVICE: return migrateToDevice(false);
    case K_MIGRATE_TO_RAM: return migrateToRam();
    case K_GUP: return gup();
    case K_UNPIN: return unpin();
    case K_CHECK: { record3(opBuf, slot(), OP_CHECK, 0, 0, 0); return true; }
    case K_DROP_CACHE: return dropCache();
    case K_TEARDOWN: return teardown();
    case K_MADVISE_PAGEOUT: return pageout();
    case K_TRUNCATE: return truncate();
    case K_DMA_WRITE: return dmaWrite();
    case K_EVICT_BO: return migrateToDevice(true);
    case K_DRIVER_TEARDOWN: return driverTeardown();
  }
  return false;
}

function snap(): void {
  prngState(snapS);
  snapSys = sysUsed;
  snapPressure = pressure;
  snapEncN = encN;
  snapReady = wantReady;
  snapHandles = nHandles;
  snapCount = wantCount;
}
function restore(): void {
  prngSetState(snapS);
  sysUsed = snapSys;
  pressure = snapPressure;
  encN = snapEncN;
  wantReady = snapReady;
  nHandles = snapHandles;
  wantCount = snapCount;
  mustRun = false;
}

/** The pressure loop's resync after a freeing op (needs the batch run). */
function pressureResync(): bool {
  if (!resync()) { mustRun = false; return false; }
  if (capSystem - sysUsed >= <f64>(2 * low)) pressure = false;
  return true;
}

/** The rest of an op after its result (the result in `result`); false if the batch must end first. */
function continuation(): bool {
  const c = cont;
  if (c == C_MM_NEW) {
    cont = C_NONE;
    addSlot(result);
    if (cTake) mmUsed++;
  } else if (c == C_FORK) {
    cont = C_NONE;
    mmUsed++;
    const child = addSlot(result);
    vCopy(cSlot, child);
  } else if (c == C_FILE) {
    cont = C_NONE;
    set(fileId, nFiles, result);
    set(fileLen, nFiles++, cLen);
    filePagesUsed += cLen;
    if (cTake) fileUsed++;
  } else if (c == C_DRIVER) {
    cont = C_NONE;
    set(drvId, nDrv++, result);
    drvCreated++;
    devicePagesUsed += driverPages;
    if (cTake) drvUsed++;
  } else if (c == C_MMAP) {
    cont = C_NONE;
    if (result != cPredicted) mismatches++;
    vInsert(cSlot, result, result + cLen, cFlags, cFile, cPgoff);
  } else if (c == C_BO) {
    cBo = result;
    cont = cEvict ? C_EVICT : C_NONE;
    if (cReuse) {
      const s2 = slotWithVma();
      const v2 = s2 < 0 ? -1 : anonVma(s2);
      if (v2 >= 0) {
        subRange(v2, maxMigratePages);
        record7(opBuf, slot(), OP_MIGRATE_TO_DEVICE, get(slotMm, s2), rangeStart, rangeLen, cDrv, cBo, 0, 0);
      }
    }
    if (cont == C_EVICT) return continuation();
  } else if (c == C_EVICT) {
    if (n >= roomG) return false;
    if (!room(driverPages, 2 * maxMigratePages)) {
      if (mustRun) { mustRun = false; return false; }
      cont = C_NONE;
    } else {
      record3(opBuf, slot(), OP_EVICT_BO, cBo, 0, 0);
      cont = C_NONE;
    }
  } else if (c == C_PRESSURE) {
    if (!pressureResync()) return false;
    cont = C_NONE;
    contAfterPressure = false;
    return true;
  }
  if (cont == C_NONE && contAfterPressure) {
    cont = C_PRESSURE;
    return continuation();
  }
  return true;
}

/** One turn of the twin's loop (fits() held); false if the batch must end first. */
@inline function step(): bool {
  snap();
  if (pressure) {
    let freed = false;
    for (let t = 0; t < 8 && !freed && !mustRun; t++) freed = issue(prngDrawStepped(freeingSteps, MIX_KINDS));
    if (mustRun) { restore(); return false; }
    if (!freed) {
      stop = 1;
      phase = END;
      return true;
    }
    contAfterPressure = true;
    if (cont == C_NONE) cont = C_PRESSURE;
    if (endBatch) return false;
    return continuation();
  }
  let ok = false;
  // up to 8 draws until one issues or the batch must run: the tests as branches after each try, not one
  // combined test per turn (performance only: the same draws)
  if (!mustRun) {
    for (let t = 0; t < 8; t++) {
      ok = issue(prngDrawStepped(weightSteps, MIX_KINDS));
      if (ok) break;
      if (mustRun) break;
    }
  }
  if (ok && !mustRun) return !endBatch; // the common turn: the tests below would all pass (performance only)
  if (!ok && !pressure && !mustRun) ok = mmNew(true) || mmap() || access(false);
  if (mustRun) { restore(); return false; }
  if (!ok && !pressure) {
    stop = 2;
    phase = END;
  }
  return !endBatch;
}

/** Write up to `room` of the next ops into the op buffer at `buf` (the last batch has run); returns how many. */
export function mixFill(buf: usize, roomOps: i32): i32 {
  opBuf = buf;
  roomG = roomOps;
  // the last batch's results: its GUPs' handles, and the op whose result the next step needs
  for (let k = 0; k < batchGups; k++) set(wantResult, (wantRun + k) % maxPins, load<i32>(resultBase + (<usize>get(gupAt, k) << 2)));
  wantRun += batchGups;
  batchGups = 0;
  if (contResultAt >= 0) {
    result = load<i32>(resultBase + (<usize>contResultAt << 2));
    contResultAt = -1;
  }
  issued += n;
  n = 0;
  endBatch = false;
  if (phase == OVER) return 0;
  while (n < roomOps) {
    if (endBatch) break; // a test of its own, not and-ed with the first (performance only)
    if (cont != C_NONE) {
      if (!continuation()) break;
      continue;
    }
    if (phase == SETUP) {
      if (setupI < 2) mmNew(false);
      else if (setupI == 2) newFile(false);
      else newDriver(false);
      if (++setupI == 4) phase = LOOP;
      continue;
    }
    if (phase == LOOP) {
      if (!fits(2)) { phase = END; continue; }
      if (!step()) break;
      continue;
    }
    if (phase == END) {
      if (stop == 0 && fits(1)) record3(opBuf, slot(), OP_CHECK, 0, 0, 0);
      encFlush();
      phase = DRAIN;
      drainI = -1;
      if (n > 0) break;
      continue;
    }
    // the drain: every handle unpinned, every mm exits, every page cache dropped, a quiesce check
    if (drainI < 0) {
      collect();
      drainI = 0;
    }
    if (drainI < nHandles) {
      record3(opBuf, slot(), OP_UNPIN, get(handles, drainI++), 0, 0);
      continue;
    }
    if (nLive > 0) {
      const s = get(liveList, 0);
      record3(opBuf, slot(), OP_EXIT, get(slotMm, s), 0, 0);
      dropSlot(s);
      continue;
    }
    const f = drainI - nHandles;
    if (f < nFiles) {
      record3(opBuf, slot(), OP_DROP_CACHE, get(fileId, f), 0, 0);
      drainI++;
      continue;
    }
    record3(opBuf, slot(), OP_CHECK, 0, 0, 0);
    phase = OVER;
    break;
  }
  return n;
}
