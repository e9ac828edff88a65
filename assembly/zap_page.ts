// MADV_DONTNEED of one page (zap_page_range_single over one PTE, 6.1 mm/memory.c), the commonest
// zap of the churn bench and the workloads: a guarded fast path (fastpath.ts) beside zapRange
// (zap.ts). When zapRange's fast loop would zap the PTE, the same guard, stores, statistics,
// gather and flush, in the same order, without the range loop around them; when the page is the
// gather's only entry, tlbFlush's fast put of it inline, its pure counters summed at the batch's
// end (frames.ts noteLateZap: no code reads them during a batch). Performance only.
import {
  PTE_PRESENT, PT_ENTRIES, SCHEME_TLB_BATCH, PG_ALLOCATED, PG_PAGECACHE, ST_PTES_ZAPPED, ST_ATOMIC_MAP,
} from "./abi";
import { bump } from "./stats";
import { rule } from "./scheme";
import { ref, setRef, mapcount, setMapcount, flags, setLastOp, releaseSystemPage, noteFrees, noteLateZap } from "./frames";
import { rangeFastOk, fpNote, FP_ZAP_FAST } from "./fastpath";
import { pgdEntry, pmdEntry, pteOfSlot, shadowOf, ptePfn } from "./pgtable";
import { currentOp } from "./violations";
import { MAX_GATHER, ORDINARY_MASK, tlbFlush, tlbGather, gatheredCount, gatherOwner } from "./mmu_gather";
import { NOT_NORMAL, zapRange } from "./zap";

/**
 * zapRange(mm, vpn, vpn + 1): here when its fast loop would zap that PTE, else (nothing changed)
 * zapRange itself, out of line (zapPageFull). Each test its own if: plain branches in V8; no
 * bool result for the caller to test again (performance only).
 */
@inline export function zapPage(mm: i32, vpn: u32): void {
  if (!rangeFastOk()) return zapPageFull(mm, vpn);
  // The rule itself: its tests here (<= 0, <= 1) say the same as of min(rule, MAX_GATHER), which
  // zapPageGathered takes (performance only)
  const batch = rule(SCHEME_TLB_BATCH);
  if (batch <= 0) return zapPageFull(mm, vpn);
  // pte_offset_map level by level (pgtable.ts), an exit per missing table: no zero result to test
  // again; no PMD mapping exists (rangeFastOk), a slot is a pte table
  const pmd = pgdEntry(mm, vpn);
  if (pmd == 0) return zapPageFull(mm, vpn);
  const slot = pmdEntry(pmd, <i32>((vpn >> 9) & (PT_ENTRIES - 1)));
  if (slot == 0) return zapPageFull(mm, vpn);
  const p = pteOfSlot(slot, vpn);
  const pte = load<u32>(p);
  if ((pte & NOT_NORMAL) != PTE_PRESENT) return zapPageFull(mm, vpn); // pte_none too
  const pfn = ptePfn(pte);
  // no isDevice(pfn) test: a device frame's flags always hold its device kind (zap.ts zapRunFast)
  const fl = flags(pfn);
  if ((fl & ORDINARY_MASK) != PG_ALLOCATED) return zapPageFull(mm, vpn);
  const m = mapcount(pfn);
  if (m <= 0) return zapPageFull(mm, vpn);
  const refs = ref(pfn);
  if (refs > m) { // maybe pinned (the page cache holds one of its own): zapOne. The cache's tested only when there are more
    if ((fl & PG_PAGECACHE) == 0) return zapPageFull(mm, vpn);
    if (refs > m + 1) return zapPageFull(mm, vpn);
  }
  store<u32>(p, 0);
  store<u32>(shadowOf(p), 0);
  setMapcount(pfn, m - 1); // folio_remove_rmap_pte
  setLastOp(pfn, currentOp);
  // __tlb_remove_folio_pages, then tlb_finish_mmu. Into an empty gather with room for more
  // (no flush at the gather), the page is its only entry and tlbFlush's fast put takes it
  // (the guard above is its test, with a reference to drop): put here, the entry never
  // stored (tlbGather's stores, undone by the flush; performance only). Else tlbGather and tlbFlush.
  // Each test an exit of its own (Binaryen would join nested ifs into one and of booleans).
  if (gatheredCount() != 0) return zapPageGathered(mm, pfn, batch);
  if (batch <= 1) return zapPageGathered(mm, pfn, batch);
  const r = refs - 1; // nothing above changed the count
  if (r < 0) return zapPageGathered(mm, pfn, batch);
  gatherOwner(mm); // tlbGather's
  noteLateZap(); // FP_ZAP_FAST, ST_PTES_ZAPPED, ST_ATOMIC_MAP, ST_TLB_FLUSH, ST_ATOMIC_REF, FP_FLUSH_FAST: summed later
  setRef(pfn, r); // folio_put_refs of a small system folio: freed at 0 (__folio_put)
  if (r == 0) { // one test (V8 kept a second one's boolean)
    releaseSystemPage(pfn);
    noteFrees(1);
  }
}

/** zapPage's PTE cleared, its page not put at once: into the gather, then tlb_finish_mmu's flush. */
function zapPageGathered(mm: i32, pfn: u32, batchRule: i32): void {
  tlbGather(mm, pfn, 1, min<i32>(batchRule, MAX_GATHER)); // tlbRemoveFolio's batch
  fpNote(FP_ZAP_FAST);
  bump(ST_PTES_ZAPPED);
  bump(ST_ATOMIC_MAP);
  tlbFlush();
}

/** zapPage's guard did not hold: the range zap of the one page. */
function zapPageFull(mm: i32, vpn: u32): void {
  zapRange(mm, vpn, vpn + 1);
}
