// The LRU side of a page: code that walks page tables with vm_normal_page() and
// isolates what it finds from the LRU (madvise_cold_or_pageout_pte_range ->
// folio_isolate_lru; NUMA hinting, mlock, KSM and khugepaged do the same).
// ZONE_DEVICE pages are never on an LRU and their folio->lru slot holds pgmap, so
// such code must skip them (mm: handling Non-LRU pages returned by
// vm_normal_pages, 3218f8712d6b, 6.0). Reclaim itself is not modelled: an isolated
// system page stays where it is.
import { PTE_PRESENT, PTE_SPECIAL, PT_ENTRIES, SCHEME_LRU_SKIP_DEVICE, V_UAF, PG_ANON } from "./abi";
import { rule } from "./scheme";
import { isDevice, ref, mapcount, folioOf, hasFlag } from "./frames";
import { findVma, vmaFile } from "./mm";
import { fileIsDmirrorMap } from "./file";
import { pteTableOf, pteTableBase, pteSlot, hugeLeaf, ptePfn } from "./pgtable";
import { violation } from "./violations";

/** madvise(MADV_PAGEOUT) over [start, end): returns how many pages it isolated. */
export function pageout(mm: i32, start: u32, end: u32): i32 {
  let isolated = 0;
  let last: u32 = 0; // a large folio is isolated once, whatever maps it
  for (let vpn = start; vpn < end; vpn++) {
    const leaf = hugeLeaf(mm, vpn);
    if (leaf != 0) {
      // A PMD-mapped THP: the folio as a whole (the huge zero page is not on an LRU)
      if ((leaf & PTE_PRESENT) != 0 && ptePfn(leaf) != 0 && ptePfn(leaf) != last) { isolated++; last = ptePfn(leaf); }
      vpn |= PT_ENTRIES - 1;
      continue;
    }
    const pt = pteTableOf(mm, vpn);
    if (pt == 0) { vpn |= PT_ENTRIES - 1; continue; }
    const pte = load<u32>(pteSlot(pteTableBase(pt), <usize>(vpn & (PT_ENTRIES - 1))));
    if ((pte & (PTE_PRESENT | PTE_SPECIAL)) != PTE_PRESENT) continue; // vm_normal_page() == NULL
    const pfn = ptePfn(pte);
    if (isDevice(pfn)) {
      if (rule(SCHEME_LRU_SKIP_DEVICE) != 0) continue; // folio_is_zone_device: not on any LRU
      // list_del on folio->lru, which for ZONE_DEVICE is the pgmap pointer: corrupts it (S10).
      violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 11);
      continue;
    }
    if (folioOf(pfn) == last) continue;
    // a test_hmm mapping's own page (alloc_page + vm_insert_page) was never put on an LRU: folio_isolate_lru fails
    if (!hasFlag(pfn, PG_ANON) && fileIsDmirrorMap(vmaFile(findVma(mm, vpn)))) continue;
    last = folioOf(pfn);
    isolated++;
  }
  return isolated;
}
