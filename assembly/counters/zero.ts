// Zero detection bookkeeping shared by every counter implementation. The layer
// keeps a shadow of the true _refcount (the core's value, fed on every update),
// notes when it reaches zero, and checks each zero an implementation declares:
// declaring zero while the true count is not zero is the one thing a counter must
// never do (V_COUNTER_ZERO). The delay from true zero to declared zero is recorded.
import {
  V_COUNTER_ZERO, ST_CTR_ZEROS, ST_CTR_DETECTED, ST_CTR_DELAY_SUM, ST_CTR_DELAY_MAX, ST_CTR_REUSED, DELAY_BUCKETS,
} from "../abi";
import { bump, stat, setStat } from "../stats";
import { violation } from "../violations";
import { mapcount } from "../frames";

let shadowBase: usize = 0; //  i32: true count as last fed
let zeroAtBase: usize = 0; //  f64: when it reached zero (-1: during the update in progress)
let pendBase: usize = 0; //    u8: a zero not yet detected
export let histBase: usize = 0; // i64 x DELAY_BUCKETS
export let pendingZeros: i32 = 0;
export let counterKind: i32 = 0;

export function initZero(frames: u32, kind: i32): void {
  counterKind = kind;
  shadowBase = heap.alloc(<usize>frames << 2);
  memory.fill(shadowBase, 0, <usize>frames << 2);
  zeroAtBase = heap.alloc(<usize>frames << 3);
  memory.fill(zeroAtBase, 0, <usize>frames << 3);
  pendBase = heap.alloc(<usize>frames);
  memory.fill(pendBase, 0, <usize>frames);
  histBase = heap.alloc(DELAY_BUCKETS << 3);
  memory.fill(histBase, 0, DELAY_BUCKETS << 3);
}

@inline export function shadow(pfn: u32): i32 { return load<i32>(shadowBase + (<usize>pfn << 2)); }
@inline export function setShadow(pfn: u32, v: i32): void { store<i32>(shadowBase + (<usize>pfn << 2), v); }
@inline function pending(pfn: u32): bool { return load<u8>(pendBase + <usize>pfn) != 0; }
@inline function setPending(pfn: u32, on: bool): void {
  if (on == pending(pfn)) return;
  store<u8>(pendBase + <usize>pfn, on ? 1 : 0);
  pendingZeros += on ? 1 : -1;
}

/** The true count reached zero now (time filled in when the update completes). */
export function trueZero(pfn: u32): void {
  if (pending(pfn)) return;
  setPending(pfn, true);
  store<f64>(zeroAtBase + (<usize>pfn << 3), -1);
  bump(ST_CTR_ZEROS);
}

/** Stamp a zero noted during the update that just completed at time t. */
export function stampZero(pfn: u32, t: f64): void {
  const p = zeroAtBase + (<usize>pfn << 3);
  if (pending(pfn) && load<f64>(p) < 0) store<f64>(p, t);
}

/** The count became non-zero again before the implementation saw the zero. */
export function reused(pfn: u32): void {
  if (!pending(pfn)) return;
  setPending(pfn, false);
  bump(ST_CTR_REUSED);
}

/** The implementation declares pfn's count zero at time t. */
export function declareZero(pfn: u32, t: f64): void {
  const s = shadow(pfn);
  if (s != 0) {
    violation(V_COUNTER_ZERO, pfn, -1, -1, s, mapcount(pfn), counterKind);
    return;
  }
  if (!pending(pfn)) return;
  setPending(pfn, false);
  const at = load<f64>(zeroAtBase + (<usize>pfn << 3));
  const d = at < 0 ? 0 : max<f64>(0, t - at);
  const ns = <i64>Math.round(d);
  bump(ST_CTR_DETECTED);
  bump(ST_CTR_DELAY_SUM, ns);
  if (ns > stat(ST_CTR_DELAY_MAX)) setStat(ST_CTR_DELAY_MAX, ns);
  let b = 0;
  while (b < DELAY_BUCKETS - 1 && (<i64>1 << <i64>b) <= ns) b++;
  const p = histBase + (<usize>b << 3);
  store<i64>(p, load<i64>(p) + 1);
}
