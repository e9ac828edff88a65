/**
 * The LRU side of a page: code that walks page tables with vm_normal_page() and
 * isolates what it finds from the LRU (madvise_cold_or_pageout_pte_range ->
 * folio_isolate_lru; NUMA hinting, mlock, KSM and khugepaged do the same).
 * ZONE_DEVICE pages are never on an LRU and their folio->lru slot holds pgmap, so
 * such code must skip them (mm: handling Non-LRU pages returned by
 * vm_normal_pages, 3218f8712d6b, 6.0). Reclaim itself is not modelled: an
 * isolated system page stays where it is.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E0" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 2 * 4096 });
 * m.write(mm, addr, 1);
 * m.write(mm, addr + 4096, 2);
 * m.migrateToDevice(mm, addr, 4096, m.driverNew("device-coherent", 4));
 * console.log(m.madvisePageout(mm, addr, 2 * 4096), m.violations()[0].kind); // 1 use_after_free
 * ```
 */
import { V_UAF, PT_ENTRIES } from "../../assembly/abi.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";

/** madvise(MADV_PAGEOUT) over [start, end): returns how many pages it isolated. */
export function pageout(m: Machine, mm: Mm, start: number, end: number): number {
  let isolated = 0;
  let last = 0; // a large folio is isolated once, whatever maps it
  // PMD-mapped THPs (whole folios; the huge zero page is not on an LRU), in vpn order with the PTEs
  const blocks = mm.tables.hugeBlocksIn(start, end);
  let next = 0;
  const pmd = (b: number) => {
    const leaf = mm.tables.hugeLeaf(b * PT_ENTRIES)!;
    const pfn = leaf.pfn;
    if (leaf.present && pfn !== 0 && pfn !== last) {
      isolated++;
      last = pfn;
    }
  };
  for (const [vpn, pte] of mm.tables.entriesIn(start, end)) {
    while (next < blocks.length && blocks[next] * PT_ENTRIES < vpn) pmd(blocks[next++]);
    if (!pte.normalPresent) continue; // vm_normal_page() == NULL
    if (m.frames.isDevice(pte.pfn)) {
      if (m.rules.lruSkipDevice) continue; // folio_is_zone_device: not on any LRU
      // list_del on folio->lru, which for ZONE_DEVICE is the pgmap pointer: corrupts it (S10).
      const page = m.frames.all[pte.pfn];
      m.log.record(V_UAF, page.pfn, mm.id, vpn, page.refcount, page.mapcount, 11);
      continue;
    }
    const folio = m.frames.folioOf(m.frames.all[pte.pfn]).pfn;
    if (folio === last) continue;
    // a test_hmm mapping's own page (alloc_page + vm_insert_page) was never put on an LRU: folio_isolate_lru fails
    const v = mm.findVma(vpn)!;
    if (!m.frames.all[pte.pfn].anon && v.file >= 0 && m.files.all[v.file].dmirrorMap) continue;
    last = folio;
    isolated++;
  }
  while (next < blocks.length) pmd(blocks[next++]);
  return isolated;
}
