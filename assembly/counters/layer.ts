// The counter layer: how _refcount is stored and updated, separate from who takes
// and drops references (the scheme). The core's own count stays the source of
// truth; refcount.ts and zap.ts feed every update to counterUpdate (pfn, delta,
// value after, on the current CPU), and the chosen implementation models its
// storage, cache lines, atomics and zero detection. Ownership outcomes are
// therefore the same under every implementation. Off by default: the hot path then
// pays one load and branch on counterOn.
//
// Writes of the count that are not get/put (allocation's set_page_refcounted,
// freezing, resets) are plain stores: the layer notices them at the next update
// (the value before differs from its shadow) and applies the difference as a store.
import { reserveHeap } from "../heap";
import {
  OP_CPU, MAX_CPUS, CTR_WORDS, COST_WORDS, CTR_COUNTER, CTR_CPUS, CTR_CPUS_PER_SOCKET, CTR_SNZI_LEAF_CPUS, CTR_SNZI_ARITY,
  CTR_REVIEW_EPOCHS, COST_EPOCH, COST_GRACE, COUNTER_ATOMIC, COUNTER_PERCPU, COUNTER_REFCACHE, COUNTER_SNZI, COUNTER_KINDS,
  ST_CTR_UPDATES,
} from "../abi";
import { bump } from "../stats";
import { initCpus, curCpu, clockOf, chargeOp, now, idleUntil, ncpus, lineStateBytes, clockBase, cpuStatBase } from "../cpus";
import { initZero, shadow, setShadow, trueZero, stampZero, reused, pendingZeros, histBase } from "./zero";
import { atomicGet, atomicPut, atomicStore } from "./atomic";
import { initPercpu, percpuGet, percpuPut, percpuStore, percpuTick, percpuPending, percpuBytes, percpuNextDue } from "./percpu";
import { initRefcache, refcacheAdd, refcacheRevive, refcacheStore, refcacheTick, refcachePending, refcacheBytes, refcacheNextDue } from "./refcache";
import { initSnzi, snziGet, snziPut, snziStore, snziNodes, snziBytes } from "./snzi";

export let counterOn: bool = false;
/** CPUs an OP_CPU may name (1 unless the host said otherwise). */
export let cpuLimit: i32 = 1;
let kind: i32 = COUNTER_ATOMIC;
let configBuf: usize = 0;
let stateBytes: u64 = 0;
let epochNs: f64 = 0;
let graceNs: f64 = 0;

/** CTR_WORDS i32 words, then COST_WORDS f64 words; written by the host before counterInit. */
export function counterConfigPtr(): usize {
  if (configBuf == 0) {
    configBuf = heap.alloc((CTR_WORDS << 2) + (COST_WORDS << 3));
    memory.fill(configBuf, 0, (CTR_WORDS << 2) + (COST_WORDS << 3));
  }
  return configBuf;
}

@inline function cfg(i: i32): i32 { return load<i32>(configBuf + (<usize>i << 2)); }
@inline function cost(i: i32): f64 { return load<f64>(configBuf + (CTR_WORDS << 2) + (<usize>i << 3)); }

/** Bytes the layer needs for `frames` frames with the configuration written (0: invalid). */
export function counterBytes(frames: u32): u64 {
  const n = cfg(CTR_CPUS);
  const k = cfg(CTR_COUNTER);
  let lines = frames;
  let b: u64 = <u64>frames * 13;
  if (k == COUNTER_PERCPU) b += percpuBytes(frames, n);
  else if (k == COUNTER_REFCACHE) b += refcacheBytes(frames, n);
  else if (k == COUNTER_SNZI) {
    const t = snziNodes(n, cfg(CTR_SNZI_LEAF_CPUS), cfg(CTR_SNZI_ARITY));
    lines += frames * <u32>t;
    b += snziBytes(frames, t);
  }
  return b + lineStateBytes(lines);
}

/**
 * Allocate and start the layer (once, before any op). Returns 0, or 1 + the CTR_*
 * word that is invalid, or 101 + the COST_* word.
 */
export function counterInit(frames: u32): i32 {
  if (counterOn || configBuf == 0) return -1;
  const k = cfg(CTR_COUNTER);
  const n = cfg(CTR_CPUS);
  if (k < 0 || k >= COUNTER_KINDS) return CTR_COUNTER + 1;
  if (n < 1 || n > MAX_CPUS) return CTR_CPUS + 1;
  if (cfg(CTR_CPUS_PER_SOCKET) < 1) return CTR_CPUS_PER_SOCKET + 1;
  if (cfg(CTR_SNZI_LEAF_CPUS) < 1) return CTR_SNZI_LEAF_CPUS + 1;
  if (cfg(CTR_SNZI_ARITY) < 2) return CTR_SNZI_ARITY + 1;
  if (cfg(CTR_REVIEW_EPOCHS) < 0) return CTR_REVIEW_EPOCHS + 1;
  for (let i = 0; i < COST_WORDS; i++) {
    const v = cost(i);
    if (!(v >= 0) || !isFinite(v)) return 101 + i;
  }
  if (!(cost(COST_EPOCH) > 0)) return 101 + COST_EPOCH;
  if (!(cost(COST_GRACE) > 0)) return 101 + COST_GRACE;
  kind = k;
  cpuLimit = n;
  epochNs = cost(COST_EPOCH);
  graceNs = cost(COST_GRACE);
  stateBytes = counterBytes(frames);
  reserveHeap(stateBytes + 4096); // + the blocks' headers and alignment
  let lines = frames;
  if (k == COUNTER_SNZI) lines += frames * <u32>snziNodes(n, cfg(CTR_SNZI_LEAF_CPUS), cfg(CTR_SNZI_ARITY));
  initCpus(n, cfg(CTR_CPUS_PER_SOCKET), configBuf + (CTR_WORDS << 2), lines);
  initZero(frames, k);
  if (k == COUNTER_PERCPU) initPercpu(frames, graceNs);
  else if (k == COUNTER_REFCACHE) initRefcache(frames, epochNs, cfg(CTR_REVIEW_EPOCHS));
  else if (k == COUNTER_SNZI) initSnzi(frames, cfg(CTR_SNZI_LEAF_CPUS), cfg(CTR_SNZI_ARITY));
  counterOn = true;
  return 0;
}

/** Only the CPU count, with the layer off: OP_CPU then validates against it. */
export function setCpuLimit(n: i32): i32 {
  if (n < 1 || n > MAX_CPUS) return -1;
  cpuLimit = n;
  return 0;
}

/** A _refcount update: delta references on pfn (folio_ref_add / folio_put_refs), value after. */
export function counterUpdate(pfn: u32, delta: i32, after: i32): void {
  const c = curCpu;
  bump(ST_CTR_UPDATES);
  const before = after - delta;
  const sh = shadow(pfn);
  if (before != sh) {
    setShadow(pfn, before);
    if (before != 0) reused(pfn);
    const diff = before - sh;
    if (kind == COUNTER_ATOMIC) atomicStore(pfn, c);
    else if (kind == COUNTER_PERCPU) percpuStore(pfn, diff, c);
    else if (kind == COUNTER_REFCACHE) refcacheStore(pfn, diff, c);
    else snziStore(pfn, diff, c);
  }
  setShadow(pfn, after);
  if (after == 0) trueZero(pfn);
  else reused(pfn);
  if (delta > 0) {
    if (before == 0 && kind == COUNTER_REFCACHE) refcacheRevive(pfn);
    if (kind == COUNTER_ATOMIC) atomicGet(pfn, c);
    else if (kind == COUNTER_PERCPU) percpuGet(pfn, delta, c);
    else if (kind == COUNTER_REFCACHE) refcacheAdd(pfn, delta, c);
    else snziGet(pfn, delta, c);
  } else if (delta < 0) {
    if (kind == COUNTER_ATOMIC) atomicPut(pfn, c);
    else if (kind == COUNTER_PERCPU) percpuPut(pfn, -delta, c);
    else if (kind == COUNTER_REFCACHE) refcacheAdd(pfn, delta, c);
    else snziPut(pfn, -delta, c);
  }
  if (after == 0) stampZero(pfn, clockOf(c));
  tick();
}

/** Timers (Refcache ticks and reviews, percpu_ref grace periods) due by the run's time. */
function tick(): void {
  if (kind == COUNTER_REFCACHE) refcacheTick();
  else if (kind == COUNTER_PERCPU) percpuTick();
}

/** After each op: charge its unitemized work to the current CPU, fire due timers. */
export function counterOpEnd(opcode: i32): void {
  if (opcode == OP_CPU) return;
  chargeOp();
  tick();
}

/** Zeros some timer will still detect. */
function timersPending(): bool {
  if (kind == COUNTER_REFCACHE) return pendingZeros > 0 || refcachePending();
  if (kind == COUNTER_PERCPU) return percpuPending();
  return false;
}

/**
 * Let simulated time pass with no ops (every CPU idle, timers firing) until no
 * detection is pending or `limitNs` has passed. Returns the run's time after.
 */
export function counterDrain(limitNs: f64): f64 {
  if (!counterOn) return 0;
  const end = now + limitNs;
  while (timersPending() && now < end) {
    const due = kind == COUNTER_REFCACHE ? refcacheNextDue() : percpuNextDue();
    idleUntil(min<f64>(max<f64>(due, now), end));
    tick();
  }
  return now;
}

export function counterNow(): f64 { return now; }
export function counterPendingZeros(): i32 { return pendingZeros; }
export function counterStateBytes(): f64 { return <f64>stateBytes; }
export function counterCpus(): i32 { return counterOn ? ncpus : cpuLimit; }
export function counterClocksPtr(): usize { return clockBase; }
export function counterCpuStatsPtr(): usize { return cpuStatBase; }
export function counterDelayHistPtr(): usize { return histBase; }
