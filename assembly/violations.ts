// Violation records: appended in op order, each naming the op (global sequence
// number) that caused or detected it. Past capacity they are counted, not stored.
import { VIOLATION_WORDS, ST_VIOLATIONS, ST_VIOLATIONS_DROPPED } from "./abi";
import { bump } from "./stats";

export let violationBase: usize = 0;
export let violationCap: i32 = 0;
export let violationCount: i32 = 0;
/** Global sequence number of the op being executed (set by the dispatcher). */
export let currentOp: i32 = 0;

export function initViolations(cap: i32): void {
  violationCap = cap;
  violationBase = heap.alloc(<usize>cap * VIOLATION_WORDS * 4);
  violationCount = 0;
}

export function setCurrentOp(seq: i32): void {
  currentOp = seq;
}

/** Record a violation of `kind` at frame `pfn` seen from (mm, vpn). */
export function violation(kind: i32, pfn: u32, mm: i32, vpn: i32, refcount: i32, mapcount: i32, extra: i32, op: i32 = -1): void {
  bump(ST_VIOLATIONS + kind);
  if (violationCount >= violationCap) {
    bump(ST_VIOLATIONS_DROPPED);
    return;
  }
  const p = violationBase + <usize>violationCount * VIOLATION_WORDS * 4;
  store<i32>(p, kind);
  store<i32>(p, op >= 0 ? op : currentOp, 4);
  store<i32>(p, <i32>pfn, 8);
  store<i32>(p, mm, 12);
  store<i32>(p, vpn, 16);
  store<i32>(p, refcount, 20);
  store<i32>(p, mapcount, 24);
  store<i32>(p, extra, 28);
  violationCount++;
}
