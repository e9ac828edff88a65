// The mmu_gather window of a zap, held open for the interleaving explorer
// (src/races/zap-steps.ts): madvise(MADV_DONTNEED) on one VMA as two steps.
//   begin: zap_pte_range under the PTL clears each PTE and removes its rmap, and
//          __tlb_remove_folio_pages queues the PTE's reference in the mmu_gather
//          (6.1 mm/memory.c zap_pte_range: page_remove_rmap, __tlb_remove_page;
//          newest: folio_remove_rmap_ptes, __tlb_remove_folio_pages); the PTL is dropped.
//   end:   tlb_finish_mmu -> tlb_flush_mmu -> free_pages_and_swap_cache: the puts
//          (6.1 and newest mm/mmu_gather.c).
// In between a page may hold a reference nothing maps: a migration's refcount check
// sees it (the migration fails), a GUP finds no PTE and faults a new page.
// ZAP_ORDER_PUT_FIRST is a mutation, not a kernel: the reference is put at begin and
// the PTE cleared at end, so the page may be freed while a PTE still maps it.
import {
  ZAP_ORDER_PUT_FIRST, ZAP_WINDOW_SLOTS, ZAP_WINDOW_PAGES, MMU_NOTIFY_CLEAR, ST_PTES_ZAPPED, PTE_PRESENT, PTE_SPECIAL,
} from "./abi";
import { bump } from "./stats";
import { zapRange } from "./zap";
import { gatheredCount, gatheredPfn, gatheredRefs, gatherForget, gatherRestore, tlbFlush } from "./mmu_gather";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { ptePtr, ptePfn, shadowOf } from "./pgtable";
import { folioPut, rmapRemove, frameUsable } from "./refcount";
import { isDevice } from "./frames";

const slotMm = memory.data(ZAP_WINDOW_SLOTS * 4); // -1: free
const slotOrder = memory.data(ZAP_WINDOW_SLOTS * 4);
const slotCount = memory.data(ZAP_WINDOW_SLOTS * 4);
const slotPfn = memory.data(ZAP_WINDOW_SLOTS * ZAP_WINDOW_PAGES * 4);
const slotArg = memory.data(ZAP_WINDOW_SLOTS * ZAP_WINDOW_PAGES * 4); // refs to put (kernel order) or the PTE's vpn (put first)

@inline function at(base: usize, s: i32): usize { return base + (<usize>s << 2); }
@inline function entry(base: usize, s: i32, i: i32): usize { return base + (<usize>(s * ZAP_WINDOW_PAGES + i) << 2); }

export function initZapWindow(): void {
  for (let s = 0; s < ZAP_WINDOW_SLOTS; s++) store<i32>(at(slotMm, s), -1);
}

/** A free slot, lowest first (deterministic), or -1. */
export function zapWindowFree(): i32 {
  for (let s = 0; s < ZAP_WINDOW_SLOTS; s++) if (load<i32>(at(slotMm, s)) < 0) return s;
  return -1;
}

export function zapWindowValid(w: i32): bool {
  return w >= 1 && w <= ZAP_WINDOW_SLOTS && load<i32>(at(slotMm, w - 1)) >= 0;
}

/** Queued entries of window slot s (0 if free, or if its order queues none), for the quiesce check. */
export function zapWindowQueued(s: i32): i32 {
  if (load<i32>(at(slotMm, s)) < 0 || load<i32>(at(slotOrder, s)) == ZAP_ORDER_PUT_FIRST) return 0;
  return load<i32>(at(slotCount, s));
}
export function zapWindowPfn(s: i32, i: i32): u32 { return load<u32>(entry(slotPfn, s, i)); }
export function zapWindowRefs(s: i32, i: i32): i32 { return load<i32>(entry(slotArg, s, i)); }

/**
 * madvise_dontneed_single_vma over [start, end) of mm (one VMA, at most
 * ZAP_WINDOW_PAGES pages) up to tlb_finish_mmu. Returns the window (1-based).
 */
export function zapWindowBegin(mm: i32, start: u32, end: u32, order: i32): i32 {
  const s = zapWindowFree();
  store<i32>(at(slotMm, s), mm);
  store<i32>(at(slotOrder, s), order);
  mmuNotifierInvalidate(mm, start, end, MMU_NOTIFY_CLEAR, -1); // zap_page_range_single's invalidate_range_start
  let c = 0;
  if (order == ZAP_ORDER_PUT_FIRST) {
    for (let v = start; v < end; v++) {
      const p = ptePtr(mm, v, false);
      if (p == 0) continue;
      const pte = load<u32>(p);
      const pfn = ptePfn(pte);
      if ((pte & (PTE_PRESENT | PTE_SPECIAL)) != PTE_PRESENT || isDevice(pfn) || !frameUsable(pfn)) continue;
      folioPut(pfn, 1, mm, <i32>v); // mutated: the PTE's reference before the PTE and rmap go
      store<u32>(entry(slotPfn, s, c), pfn);
      store<u32>(entry(slotArg, s, c), v);
      c++;
    }
  } else {
    zapRange(mm, start, end, true, false); // the batch stays gathered: tlb_finish_mmu is the end step
    const n = gatheredCount();
    for (let i = 0; i < n; i++) {
      store<u32>(entry(slotPfn, s, i), gatheredPfn(i));
      store<i32>(entry(slotArg, s, i), gatheredRefs(i));
    }
    gatherForget();
    c = n;
  }
  store<i32>(at(slotCount, s), c);
  return s + 1;
}

/** The window's end: tlb_finish_mmu's puts (kernel order), or the PTEs and rmaps (put first). */
export function zapWindowEnd(w: i32): void {
  const s = w - 1;
  const mm = load<i32>(at(slotMm, s));
  const c = load<i32>(at(slotCount, s));
  if (load<i32>(at(slotOrder, s)) == ZAP_ORDER_PUT_FIRST) {
    for (let i = 0; i < c; i++) {
      const pfn = load<u32>(entry(slotPfn, s, i));
      const v = load<u32>(entry(slotArg, s, i));
      const p = ptePtr(mm, v, false);
      if (p == 0 || (load<u32>(p) & PTE_PRESENT) == 0 || ptePfn(load<u32>(p)) != pfn) continue;
      store<u32>(p, 0);
      store<u32>(shadowOf(p), 0);
      bump(ST_PTES_ZAPPED);
      if (frameUsable(pfn)) rmapRemove(pfn, mm, <i32>v);
    }
  } else {
    for (let i = 0; i < c; i++) gatherRestore(mm, load<u32>(entry(slotPfn, s, i)), load<i32>(entry(slotArg, s, i)));
    tlbFlush();
  }
  store<i32>(at(slotMm, s), -1);
}
