// Refcache (Clements, Kaashoek, Zeldovich, RadixVM, EuroSys'13; sv6 include/refcache.hh):
// each object keeps a global count; each CPU keeps a direct-mapped cache of deltas
// (4096 ways), so get/put touch only a CPU-local slot. A way taken by another
// object is evicted: its delta goes to that object's global count (one RMW).
// Every CPU flushes all its ways once per epoch, on its own tick (ticks are
// staggered across CPUs, as real timer ticks are). When a flush leaves a global
// count at zero the object is queued for review; it is freed only if its global
// count is still zero and no flush touched it (not dirtied: any flush of a way
// holding it, zero deltas included) while every CPU flushed `reviewEpochs` (1) more
// times, a whole epoch. Zero is therefore seen 2-3 epochs late, as sv6 states.
// One round suffices here because a flush is atomic per CPU: a reference held when
// the object was queued sits as a positive delta in some CPU's way, and that way's
// flush in the round dirties the object.
// With reviewEpochs 0 the object is freed the moment a flush leaves it at zero,
// which is unsafe (another CPU may still cache a +1): the invariant catches it.
import { ST_CTR_FLUSHES, ST_CTR_EVICTIONS, ST_CTR_TICKS, MAX_CPUS } from "../abi";
import { bump } from "../stats";
import { ncpus, lineRmw, lineWrite, lineRead, localAccess, clockOf, now } from "../cpus";
import { declareZero } from "./zero";

export const SLOTS = 4096;
const SLOT_MASK: u32 = SLOTS - 1;

let frames: u32 = 0;
let tagBase: usize = 0; //    i32 [cpu][slot]: pfn cached there, -1 empty
let deltaBase: usize = 0; //  i32 [cpu][slot]
let usedBase: usize = 0; //   u16 [cpu][slot]: stack of ways in use
let usedTop: usize = 0; //    i32 per CPU
let globalBase: usize = 0; // i32 per pfn
let queuedBase: usize = 0; // u8 per pfn: 1 queued, 2 queued and dirtied
let stampBase: usize = 0; //  i32 per pfn: the most flushes any CPU had when it was (re)queued
let reviewerBase: usize = 0; // i32 per pfn: CPU whose review queue holds it
let qBase: usize = 0;
let qHead: u32 = 0;
let qLen: u32 = 0;
let flushCount: usize = 0; // i32 per CPU
let nextTick: usize = 0; //   f64 per CPU
let epoch: f64 = 0;
let reviewEpochs: i32 = 1;
let maxFlushes: i32 = 0;
let minFlushes: i32 = 0;

export function refcacheBytes(nFrames: u32, cpus: i32): u64 {
  return <u64>cpus * SLOTS * 10 + <u64>nFrames * 17;
}

export function initRefcache(nFrames: u32, epochNs: f64, review: i32): void {
  frames = nFrames;
  epoch = epochNs;
  reviewEpochs = review;
  const ways = <usize>ncpus * SLOTS;
  tagBase = heap.alloc(ways << 2);
  memory.fill(tagBase, 0xff, ways << 2);
  deltaBase = heap.alloc(ways << 2);
  memory.fill(deltaBase, 0, ways << 2);
  usedBase = heap.alloc(ways << 1);
  usedTop = heap.alloc(MAX_CPUS << 2);
  memory.fill(usedTop, 0, MAX_CPUS << 2);
  globalBase = heap.alloc(<usize>nFrames << 2);
  memory.fill(globalBase, 0, <usize>nFrames << 2);
  queuedBase = heap.alloc(<usize>nFrames);
  memory.fill(queuedBase, 0, <usize>nFrames);
  stampBase = heap.alloc(<usize>nFrames << 2);
  reviewerBase = heap.alloc(<usize>nFrames << 2);
  qBase = heap.alloc(<usize>nFrames << 2);
  flushCount = heap.alloc(MAX_CPUS << 2);
  memory.fill(flushCount, 0, MAX_CPUS << 2);
  nextTick = heap.alloc(MAX_CPUS << 3);
  // Staggered ticks: CPU c's first tick is at epoch * (1 + c / ncpus).
  for (let c = 0; c < ncpus; c++) store<f64>(nextTick + (<usize>c << 3), epoch * (1 + <f64>c / <f64>ncpus));
}

@inline function global(pfn: u32): i32 { return load<i32>(globalBase + (<usize>pfn << 2)); }
@inline function queued(pfn: u32): u8 { return load<u8>(queuedBase + <usize>pfn); }
@inline function setQueued(pfn: u32, q: u8): void { store<u8>(queuedBase + <usize>pfn, q); }
@inline function flushesOf(c: i32): i32 { return load<i32>(flushCount + (<usize>c << 2)); }

function enqueue(pfn: u32, c: i32): void {
  setQueued(pfn, 1);
  store<i32>(stampBase + (<usize>pfn << 2), maxFlushes);
  store<i32>(reviewerBase + (<usize>pfn << 2), c);
  store<u32>(qBase + (<usize>((qHead + qLen) % frames) << 2), pfn);
  qLen++;
}

/** Apply one way's delta to the object's global count (flush or eviction), at time t. */
function flushWay(c: i32, pfn: u32, d: i32, t: f64): void {
  if (d != 0) {
    lineRmw(pfn, c);
    store<i32>(globalBase + (<usize>pfn << 2), global(pfn) + d);
    bump(ST_CTR_FLUSHES);
  }
  const q = queued(pfn);
  if (q != 0) { setQueued(pfn, 2); return; } // dirtied while under review
  if (global(pfn) != 0) return;
  if (reviewEpochs == 0) { declareZero(pfn, t); return; } // unsafe: no review
  enqueue(pfn, c);
}

/** get (+n) or put (-n) on CPU c: a local delta; a conflicting way is evicted first. */
export function refcacheAdd(pfn: u32, d: i32, c: i32): void {
  const w = <usize>c * SLOTS + <usize>(pfn & SLOT_MASK);
  const tp = tagBase + (w << 2);
  const dp = deltaBase + (w << 2);
  const tag = load<i32>(tp);
  localAccess(c);
  if (tag == <i32>pfn) {
    store<i32>(dp, load<i32>(dp) + d);
    return;
  }
  if (tag >= 0) {
    bump(ST_CTR_EVICTIONS);
    flushWay(c, <u32>tag, load<i32>(dp), clockOf(c));
  } else {
    const top = usedTop + (<usize>c << 2);
    const k = load<i32>(top);
    store<u16>(usedBase + ((<usize>c * SLOTS + <usize>k) << 1), <u16>(pfn & SLOT_MASK));
    store<i32>(top, k + 1);
  }
  store<i32>(tp, <i32>pfn);
  store<i32>(dp, d);
}


/**
 * A get on an object whose true count is zero revives it, as a weak reference does
 * (sv6 include/refcache.hh get_weakref clears the dying bit, so the review requeues
 * it instead of freeing): page counts do come back from zero (a DAX or device page
 * idle at 0 mapped again, get_page_unless_zero's speculative lookups).
 */
export function refcacheRevive(pfn: u32): void {
  if (queued(pfn) != 0) setQueued(pfn, 2);
}

/** A plain store of the count (allocation) goes straight to the global count. */
export function refcacheStore(pfn: u32, diff: i32, c: i32): void {
  store<i32>(globalBase + (<usize>pfn << 2), global(pfn) + diff);
  lineWrite(pfn, c);
  if (queued(pfn) != 0) setQueued(pfn, 2);
}

/** CPU c's epoch tick at time t: flush every way it uses. */
function tick(c: i32, t: f64): void {
  const top = usedTop + (<usize>c << 2);
  const n = load<i32>(top);
  for (let k = 0; k < n; k++) {
    const slot = <usize>load<u16>(usedBase + ((<usize>c * SLOTS + <usize>k) << 1));
    const w = <usize>c * SLOTS + slot;
    const tag = load<i32>(tagBase + (w << 2));
    localAccess(c);
    if (tag >= 0) flushWay(c, <u32>tag, load<i32>(deltaBase + (w << 2)), t);
    store<i32>(tagBase + (w << 2), -1);
    store<i32>(deltaBase + (w << 2), 0);
  }
  store<i32>(top, 0);
  const f = flushesOf(c) + 1;
  store<i32>(flushCount + (<usize>c << 2), f);
  if (f > maxFlushes) maxFlushes = f;
  bump(ST_CTR_TICKS);
}

/** Review at time t: free what stayed zero and clean while every CPU flushed reviewEpochs times. */
function review(t: f64): void {
  while (qLen > 0) {
    const pfn = load<u32>(qBase + (<usize>qHead << 2));
    if (load<i32>(stampBase + (<usize>pfn << 2)) + reviewEpochs > minFlushes) return; // queue is in stamp order
    qHead = (qHead + 1) % frames;
    qLen--;
    const c = load<i32>(reviewerBase + (<usize>pfn << 2));
    lineRead(pfn, c);
    const q = queued(pfn);
    setQueued(pfn, 0);
    if (global(pfn) != 0) continue; // alive again; requeued when a flush next leaves it at zero
    if (q == 2) { enqueue(pfn, c); continue; } // dirtied: give it another full round
    declareZero(pfn, t);
  }
}

/** Fire every tick due by now, earliest first, and review after each. */
export function refcacheTick(): void {
  for (;;) {
    let c = -1;
    let t: f64 = Infinity;
    for (let o = 0; o < ncpus; o++) {
      const x = load<f64>(nextTick + (<usize>o << 3));
      if (x < t) { t = x; c = o; }
    }
    if (c < 0 || t > now) return;
    tick(c, t);
    store<f64>(nextTick + (<usize>c << 3), t + epoch);
    let lo = flushesOf(0);
    for (let o = 1; o < ncpus; o++) lo = min<i32>(lo, flushesOf(o));
    minFlushes = lo;
    review(t);
  }
}

export function refcachePending(): bool { return qLen > 0; }
export function refcacheNextDue(): f64 {
  let t: f64 = Infinity;
  for (let o = 0; o < ncpus; o++) t = min<f64>(t, load<f64>(nextTick + (<usize>o << 3)));
  return t;
}
