// The refcount and mapcount primitives every operation is built from. Each RMW is
// counted as one atomic, as the kernel performs one per call (folio_ref_add counts
// once for n references, which is what PTE batching saves).
import { ST_ATOMIC_REF, ST_ATOMIC_MAP, V_UNDERFLOW, V_UAF, KIND_SYSTEM } from "./abi";
import { bump } from "./stats";
import { ref, setRef, mapcount, setMapcount, isAllocated, kindOf, setLastOp, freeSystemPage } from "./frames";
import { freeAt } from "./scheme";
import { pageFree } from "./device";
import { violation, currentOp } from "./violations";

/** folio_ref_add / folio_get: take n references. */
export function folioGet(pfn: u32, n: i32, mm: i32, vpn: i32): void {
  if (!isAllocated(pfn)) violation(V_UAF, pfn, mm, vpn, ref(pfn), mapcount(pfn), 1);
  setRef(pfn, ref(pfn) + n);
  bump(ST_ATOMIC_REF);
}

/**
 * folio_put_refs: drop n references; at the kind's free trigger hand the frame back:
 * system pages to the buddy (__folio_put), device pages to the driver
 * (E0 put_devmap_managed_page at 2->1; E1+ free_zone_device_folio at 1->0).
 */
export function folioPut(pfn: u32, n: i32, mm: i32, vpn: i32): void {
  const r = ref(pfn);
  if (!isAllocated(pfn)) {
    violation(V_UAF, pfn, mm, vpn, r, mapcount(pfn), -n);
    return;
  }
  const kind = kindOf(pfn);
  const floor = freeAt(kind);
  bump(ST_ATOMIC_REF);
  if (r - n < floor) {
    violation(V_UNDERFLOW, pfn, mm, vpn, r, mapcount(pfn), -n);
    return;
  }
  setRef(pfn, r - n);
  if (r - n == floor) releaseFrame(pfn, mm, vpn);
}

/** The last reference is gone: free the frame to wherever its kind goes. */
export function releaseFrame(pfn: u32, mm: i32, vpn: i32): void {
  if (kindOf(pfn) == KIND_SYSTEM) freeSystemPage(pfn);
  else pageFree(pfn, mm, vpn);
}

/** folio_add_*_rmap_pte / folio_dup_*_rmap: one more mapping. */
export function rmapAdd(pfn: u32): void {
  setMapcount(pfn, mapcount(pfn) + 1);
  bump(ST_ATOMIC_MAP);
}

/** folio_remove_rmap_pte: one mapping fewer. */
export function rmapRemove(pfn: u32, mm: i32, vpn: i32): void {
  const m = mapcount(pfn);
  bump(ST_ATOMIC_MAP);
  if (m <= 0) {
    violation(V_UNDERFLOW, pfn, mm, vpn, ref(pfn), m, -1);
    return;
  }
  setMapcount(pfn, m - 1);
  setLastOp(pfn, currentOp);
}
