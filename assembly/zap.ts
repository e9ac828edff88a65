// Unmapping: zap_pte_range with the mmu_gather batch. The rmap is removed when a
// PTE is cleared, but the PTE's page reference is only dropped after the TLB
// flush (tlb_flush_mmu -> free_pages_and_swap_cache -> folios_put_refs), in
// batches of SCHEME_TLB_BATCH pages. Device-private entries are put at once
// (zap_nonpresent_ptes).
import {
  PTE_PRESENT, PTE_SPECIAL, PTE_DEVICE_PRIVATE, PTE_MIGRATION, PT_ENTRIES, SCHEME_TLB_BATCH,
  SCHEME_RELEASE_PAGES_DEVMAP, ST_TLB_FLUSH, ST_PTES_ZAPPED, ST_ATOMIC_REF, V_UAF, PG_PAGECACHE,
} from "./abi";
import { bump } from "./stats";
import { rule, freeAt } from "./scheme";
import { ref, setRef, mapcount, setLastOp, isDevice, kindOf, hasFlag } from "./frames";
import { detachPins } from "./gup";
import { folioPut, rmapRemove, frameUsable } from "./refcount";
import { pteTableOf, pteTableBase, shadowOf } from "./pgtable";
import { ptePfn } from "./fault";
import { violation, currentOp } from "./violations";
import { counterOn, counterUpdate } from "./counters/layer";

export const MAX_GATHER = 4096;
let gatherPfn: usize = 0;
let gatherCount: i32 = 0;
let gatherMm: i32 = -1;

export function initZap(): void {
  gatherPfn = heap.alloc(MAX_GATHER << 2);
}

/** tlb_flush_mmu: the deferred puts of every gathered page (release_pages). */
export function tlbFlush(): void {
  if (gatherCount == 0) return;
  bump(ST_TLB_FLUSH);
  const routed = rule(SCHEME_RELEASE_PAGES_DEVMAP) != 0;
  for (let i = 0; i < gatherCount; i++) {
    const pfn = load<u32>(gatherPfn + (<usize>i << 2));
    if (!routed && isDevice(pfn)) {
      // Before c5d6c45e90c4 release_pages did put_page_testzero on devmap pages
      // instead of put_devmap_managed_page: the 2->1 page_free never happened (S16).
      setRef(pfn, ref(pfn) - 1);
      bump(ST_ATOMIC_REF);
      if (counterOn) counterUpdate(pfn, -1, ref(pfn));
      continue;
    }
    folioPut(pfn, 1, gatherMm, -1);
  }
  gatherCount = 0;
}

/** __tlb_remove_folio_pages: queue one page's PTE reference. */
function tlbRemovePage(mm: i32, pfn: u32): void {
  const batch = min<i32>(rule(SCHEME_TLB_BATCH), MAX_GATHER);
  if (batch <= 0) {
    folioPut(pfn, 1, mm, -1);
    return;
  }
  gatherMm = mm;
  store<u32>(gatherPfn + (<usize>gatherCount << 2), pfn);
  gatherCount++;
  if (gatherCount >= batch) tlbFlush();
}

/** Clear one PTE: the zap_present_ptes / zap_nonpresent_ptes accounting for it. */
export function zapOne(mm: i32, vpn: u32, p: usize): void {
  const pte = load<u32>(p);
  if (pte == 0) return;
  store<u32>(p, 0);
  store<u32>(shadowOf(p), 0);
  bump(ST_PTES_ZAPPED);
  const pfn = ptePfn(pte);
  if ((pte & (PTE_DEVICE_PRIVATE | PTE_MIGRATION)) != 0) {
    if (!frameUsable(pfn)) {
      violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 4);
      return;
    }
    rmapRemove(pfn, mm, <i32>vpn); // device-private entry: rmap and put at once
    folioPut(pfn, 1, mm, <i32>vpn);
    return;
  }
  if ((pte & PTE_PRESENT) == 0) return;
  if ((pte & PTE_SPECIAL) != 0) {
    // vm_normal_page() == NULL: zero page, devmap, pfnmap. Nothing is dropped.
    if (pfn != 0) {
      setLastOp(pfn, currentOp);
      if (ref(pfn) > freeAt(kindOf(pfn)) + 1) detachPins(mm, vpn, pfn); // beyond base and owner: maybe pinned
    }
    return;
  }
  if (!frameUsable(pfn)) {
    violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 4);
    return;
  }
  // More references than mappings (this one still counted), base and cache: maybe a GUP pin on it.
  if (ref(pfn) > mapcount(pfn) + freeAt(kindOf(pfn)) + (hasFlag(pfn, PG_PAGECACHE) ? 1 : 0)) detachPins(mm, vpn, pfn);
  rmapRemove(pfn, mm, <i32>vpn);
  tlbRemovePage(mm, pfn);
}

/** zap_pte_range over [start, end) of mm, then tlb_finish_mmu. */
export function zapRange(mm: i32, start: u32, end: u32): void {
  let vpn = start;
  while (vpn < end) {
    const tableEnd = min<u32>((vpn | (PT_ENTRIES - 1)) + 1, end);
    const pt = pteTableOf(mm, vpn);
    if (pt != 0) {
      const base = pteTableBase(pt);
      for (let v = vpn; v < tableEnd; v++) zapOne(mm, v, base + (<usize>(v & (PT_ENTRIES - 1)) << 2));
    }
    vpn = tableEnd;
  }
  tlbFlush();
}
