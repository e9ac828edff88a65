// The refcount and mapcount primitives every operation is built from. Each RMW is
// counted as one atomic, as the kernel performs one per call (folio_ref_add counts
// once for n references, which is what PTE batching saves).
import {
  ST_ATOMIC_REF, ST_ATOMIC_MAP, V_UNDERFLOW, V_UAF, KIND_SYSTEM, KIND_FSDAX, KIND_DEVDAX, PG_ALLOCATED, PG_EARLY_FREED,
  PG_GONE, SCHEME_PGMAP_REF, PGMAP_REF_PER_PAGE, PG_HEAD,
} from "./abi";
import { bump } from "./stats";
import { ref, setRef, mapcount, setMapcount, flags, kindOf, setLastOp, freeSystemPage, folioOf, freeHugeFolio } from "./frames";
import { freeAt, rule } from "./scheme";
import { pageFree, pgmapKilled, pgmapPutPage } from "./memremap";
import { wakeUpVar } from "./wait_bit";
import { violation, currentOp } from "./violations";
import { counterOn, counterUpdate } from "./counters/layer";

/** A frame a reference may be taken on: allocated, or early-freed but not yet torn down. */
@inline export function frameUsable(pfn: u32): bool {
  const f = flags(pfn);
  return (f & PG_ALLOCATED) != 0 || (f & (PG_EARLY_FREED | PG_GONE)) == PG_EARLY_FREED;
}

/** folio_ref_add / folio_get: take n references (on the folio's head page). */
@inline export function folioGet(page: u32, n: i32, mm: i32, vpn: i32): void {
  const pfn = folioOf(page);
  if (!frameUsable(pfn)) violation(V_UAF, pfn, mm, vpn, ref(pfn), mapcount(pfn), 1);
  setRef(pfn, ref(pfn) + n);
  bump(ST_ATOMIC_REF);
  if (counterOn) counterUpdate(pfn, n, ref(pfn));
}

/**
 * folio_put_refs: drop n references; at the kind's free trigger release the frame:
 * system pages to the buddy (__folio_put), device pages to the driver
 * (E0 put_devmap_managed_page at 2->1; E1+ free_zone_device_folio at 1->0), DAX
 * pages wake their waiters. Once memunmap_pages has put an E0 pgmap's base
 * references, counts drain to 0 and each 0 drops a pgmap reference (__put_page).
 */
@inline export function folioPut(page: u32, n: i32, mm: i32, vpn: i32): void {
  const pfn = folioOf(page);
  const r = ref(pfn);
  const f = flags(pfn);
  bump(ST_ATOMIC_REF);
  if ((f & PG_ALLOCATED) == 0) {
    if ((f & (PG_EARLY_FREED | PG_GONE)) != PG_EARLY_FREED) {
      violation(V_UAF, pfn, mm, vpn, r, mapcount(pfn), -n);
      return;
    }
    // page_free already ran while it was mapped (reported then); the rest drains.
    if (r - n < 0) { violation(V_UNDERFLOW, pfn, mm, vpn, r, mapcount(pfn), -n); return; }
    setRef(pfn, r - n);
    if (counterOn) counterUpdate(pfn, -n, r - n);
    if (r - n == 0) pgmapPutPage(pfn);
    return;
  }
  const kind = kindOf(pfn);
  const drained = kind != KIND_SYSTEM && rule(SCHEME_PGMAP_REF) == PGMAP_REF_PER_PAGE && pgmapKilled(pfn);
  const trigger = kind == KIND_SYSTEM ? 0 : freeAt(kind); // freeAt once (system RAM's 0 without its tests; performance only)
  const floor = drained ? 0 : trigger;
  if (r - n < floor) {
    violation(V_UNDERFLOW, pfn, mm, vpn, r, mapcount(pfn), -n);
    return;
  }
  setRef(pfn, r - n);
  if (counterOn) counterUpdate(pfn, -n, r - n);
  if (r - n == trigger) releaseFrame(pfn, mm, vpn);
  if (drained && r - n == 0) pgmapPutPage(pfn);
}

/** The count reached the kind's trigger: free the frame, or wake its waiters. */
export function releaseFrame(pfn: u32, mm: i32, vpn: i32): void {
  const kind = kindOf(pfn);
  if (kind == KIND_SYSTEM) {
    if ((flags(pfn) & PG_HEAD) != 0) freeHugeFolio(pfn);
    else freeSystemPage(pfn);
  }
  else if (kind == KIND_FSDAX) wakeUpVar(pfn); // wake_up_var(&page->_refcount): truncate may go on
  else if (kind != KIND_DEVDAX) pageFree(pfn, mm, vpn); // device-dax is never freed (reset to 1)
}

/** folio_add_*_rmap_pte / folio_dup_*_rmap: one more mapping. */
@inline export function rmapAdd(pfn: u32): void {
  setMapcount(pfn, mapcount(pfn) + 1);
  bump(ST_ATOMIC_MAP);
}

/** folio_remove_rmap_pte: one mapping fewer. */
@inline export function rmapRemove(pfn: u32, mm: i32, vpn: i32): void {
  const m = mapcount(pfn);
  bump(ST_ATOMIC_MAP);
  if (m <= 0) {
    violation(V_UNDERFLOW, pfn, mm, vpn, ref(pfn), m, -1);
    return;
  }
  setMapcount(pfn, m - 1);
  setLastOp(pfn, currentOp);
}
