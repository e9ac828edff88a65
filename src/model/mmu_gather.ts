/**
 * struct mmu_gather (mm/mmu_gather.c): a zap clears PTEs and removes their rmap at
 * once, but queues the pages' PTE references and drops them only after the TLB
 * flush (tlb_flush_mmu -> free_pages_and_swap_cache -> folios_put_refs), in batches
 * of the scheme's tlbBatch pages. zap.ts and thp.ts's zap_huge_pmd queue into it.
 */
import { folioPut } from "./refcount.ts";
import type { Frame } from "./frames.ts";
import type { Machine } from "./machine.ts";

/** The core's gather array size: batches larger than this are cut to it. */
export const MAX_GATHER = 4096;

/** struct mmu_gather: pages whose PTE reference is put after the next TLB flush. */
export class Gather {
  readonly pages: Frame[] = [];
  /** References to drop for each gathered entry (nr of a PTE batch, else 1). */
  readonly refs: number[] = [];
  /** The mm the gathered pages were unmapped from. */
  mm = -1;
}

/** tlb_flush_mmu: the deferred puts of every gathered page, in gather order (release_pages). */
export function tlbFlush(m: Machine): void {
  const g = m.gather;
  if (g.pages.length === 0) return;
  m.counters.tlbFlushes++;
  for (let i = 0; i < g.pages.length; i++) {
    const page = g.pages[i];
    if (!m.rules.releasePagesDevmap && m.frames.isDevice(page.pfn)) {
      // Before c5d6c45e90c4 release_pages did put_page_testzero on devmap pages
      // instead of put_devmap_managed_page: the 2->1 page_free never happened (S16).
      page.refcount--;
      m.counters.atomicRef++;
      continue;
    }
    folioPut(m, page, g.refs[i], g.mm, -1); // folios_put_refs
  }
  g.pages.length = 0;
  g.refs.length = 0;
}

/** __tlb_remove_folio_pages: queue the PTE references (nr of them) of one folio. */
export function tlbRemoveFolio(m: Machine, mm: number, page: Frame, nr: number): void {
  const batch = Math.min(m.rules.tlbBatch, MAX_GATHER);
  if (batch <= 0) {
    folioPut(m, page, nr, mm, -1); // no batching: folio_put at once
    return;
  }
  m.gather.mm = mm;
  m.gather.pages.push(page);
  m.gather.refs.push(nr);
  if (m.gather.pages.length >= batch) tlbFlush(m);
}
