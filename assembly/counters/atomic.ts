// The shared atomic counter: today's atomic_t _refcount in struct page. Every get
// and put is one lock-prefixed RMW on the page's line (folio_ref_add(n) included:
// one RMW for n references); put is dec-and-test, so zero is seen at once.
import { lineRmw, lineWrite, clockOf } from "../cpus";
import { shadow, declareZero } from "./zero";

export function atomicGet(pfn: u32, c: i32): void { lineRmw(pfn, c); }

export function atomicPut(pfn: u32, c: i32): void {
  lineRmw(pfn, c);
  if (shadow(pfn) == 0) declareZero(pfn, clockOf(c));
}

export function atomicStore(pfn: u32, c: i32): void { lineWrite(pfn, c); }
