/**
 * Unmapping: zap_pte_range with the mmu_gather batch. The rmap is removed when a
 * PTE is cleared, but the PTE's page reference is only dropped after the TLB
 * flush (tlb_flush_mmu -> free_pages_and_swap_cache -> folios_put_refs), in
 * batches of the scheme's tlbBatch pages. Device-private entries are put at once
 * (zap_nonpresent_ptes).
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 3 * 4096 });
 * for (let i = 0; i < 3; i++) m.write(mm, addr + i * 4096, i);
 * m.munmap(mm, addr, 3 * 4096);
 * const s = m.stats();
 * console.log(s.ptesZapped, s.tlbFlushes, s.frames.live); // 3 1 0
 * ```
 */
import { V_UAF } from "../../assembly/abi.ts";
import { folioPut, rmapRemove } from "./refcount.ts";
import { detachPins } from "./gup.ts";
import type { Frame } from "./frames.ts";
import type { Pte, PteTable } from "./pgtable.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";

/** The core's gather array size: batches larger than this are cut to it. */
export const MAX_GATHER = 4096;

/** struct mmu_gather: pages whose PTE reference is put after the next TLB flush. */
export class Gather {
  readonly pages: Frame[] = [];
  /** The mm the gathered pages were unmapped from. */
  mm = -1;
}

/** tlb_flush_mmu: the deferred puts of every gathered page, in gather order (release_pages). */
export function tlbFlush(m: Machine): void {
  const g = m.gather;
  if (g.pages.length === 0) return;
  m.counters.tlbFlushes++;
  for (const page of g.pages) {
    if (!m.rules.releasePagesDevmap && m.frames.isDevice(page.pfn)) {
      // Before c5d6c45e90c4 release_pages did put_page_testzero on devmap pages
      // instead of put_devmap_managed_page: the 2->1 page_free never happened (S16).
      page.refcount--;
      m.counters.atomicRef++;
      continue;
    }
    folioPut(m, page, 1, g.mm, -1); // folios_put_refs
  }
  g.pages.length = 0;
}

/** __tlb_remove_folio_pages: queue one page's PTE reference. */
function tlbRemovePage(m: Machine, mm: number, page: Frame): void {
  const batch = Math.min(m.rules.tlbBatch, MAX_GATHER);
  if (batch <= 0) {
    folioPut(m, page, 1, mm, -1); // no batching: folio_put at once
    return;
  }
  m.gather.mm = mm;
  m.gather.pages.push(page);
  if (m.gather.pages.length >= batch) tlbFlush(m);
}

/** Clear one PTE: the zap_present_ptes / zap_nonpresent_ptes accounting for it. */
export function zapOne(m: Machine, mm: Mm, vpn: number, table: PteTable, pte: Pte): void {
  table.entries.delete(vpn);
  table.expected.delete(vpn);
  m.counters.ptesZapped++;
  const page = m.frames.all[pte.pfn];
  if (pte.swapLike) {
    if (!page.usable) {
      m.log.record(V_UAF, page.pfn, mm.id, vpn, page.refcount, page.mapcount, 4);
      return;
    }
    rmapRemove(m, page, mm.id, vpn); // device-private entry: rmap and put at once
    folioPut(m, page, 1, mm.id, vpn); // zap_nonpresent_ptes: folio_put
    return;
  }
  if (!pte.present) return;
  if (pte.special) {
    // vm_normal_page() == NULL: zero page, devmap, pfnmap. Nothing is dropped.
    if (page.pfn !== 0) {
      page.lastOp = m.log.currentOp;
      if (page.refcount > m.rules.freeAt(page.kind) + 1) detachPins(m, mm.id, vpn, page.pfn); // beyond base and owner: maybe pinned
    }
    return;
  }
  if (!page.usable) {
    m.log.record(V_UAF, page.pfn, mm.id, vpn, page.refcount, page.mapcount, 4);
    return;
  }
  // More references than mappings (this one still counted), base and cache: maybe a GUP pin on it.
  if (page.refcount > page.mapcount + m.rules.freeAt(page.kind) + (page.pageCache ? 1 : 0)) detachPins(m, mm.id, vpn, page.pfn);
  rmapRemove(m, page, mm.id, vpn); // zap_present_folio_ptes: folio_remove_rmap_ptes
  tlbRemovePage(m, mm.id, page);
}

/** zap_pte_range over [start, end) of mm in vpn order, then tlb_finish_mmu. */
export function zapRange(m: Machine, mm: Mm, start: number, end: number): void {
  for (const [vpn, pte] of mm.tables.entriesIn(start, end)) zapOne(m, mm, vpn, mm.tables.table(vpn)!, pte);
  tlbFlush(m);
}
