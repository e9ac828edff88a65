/**
 * Unmapping: zap_pte_range with the mmu_gather batch (mmu_gather.ts). The rmap is
 * removed when a PTE is cleared, but the PTE's page reference is only dropped after
 * the TLB flush. Device-private entries are put at once (zap_nonpresent_ptes).
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
import { V_UAF, FOLIO_NR, PT_ENTRIES } from "../../assembly/abi.ts";
import { folioPut, rmapRemove } from "./refcount.ts";
import { zapHugePmd, splitHugePmd, blockStart, folioPteBatch } from "./thp.ts";
import type { Frame } from "./frames.ts";
import type { Pte, PteTable } from "./pgtable.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";
import { tlbFlush, tlbRemoveFolio } from "./mmu_gather.ts";
import { detachPins } from "./pins.ts";
import { exclusiveKeepsMapcount } from "./exclusive.ts";

/**
 * Clear one PTE: the zap_present_ptes / zap_nonpresent_ptes accounting for it.
 * evenCows is zap_details.even_cows: a hole punch (unmap_mapping_pages(..., 0))
 * passes false, and should_zap_folio keeps anonymous folios, the private COWed
 * copies, whether mapped, device-private or migrating (5.15-7.0 mm/memory.c).
 */
export function zapOne(m: Machine, mm: Mm, vpn: number, table: PteTable, pte: Pte, evenCows = true): void {
  const page = m.frames.all[pte.pfn];
  if (!evenCows && !pte.special && page.anon) return;
  table.entries.delete(vpn);
  table.expected.delete(vpn);
  m.counters.ptesZapped++;
  // A migration entry holds neither rmap nor reference (try_to_migrate_one dropped
  // both): zap_nonpresent_ptes only lowers the rss counter (5.15-7.0 mm/memory.c).
  if (pte.migration) return;
  if (pte.swapLike) {
    if (!page.usable) {
      m.log.record(V_UAF, page.pfn, mm.id, vpn, page.refcount, page.mapcount, 4);
      return;
    }
    rmapRemove(m, page, mm.id, vpn); // device-private entry: rmap and put at once
    folioPut(m, page, 1, mm.id, vpn); // zap_nonpresent_ptes: folio_put
    return;
  }
  if (pte.deviceExclusive) {
    if (!page.usable) {
      m.log.record(V_UAF, page.pfn, mm.id, vpn, page.refcount, page.mapcount, 4);
      return;
    }
    // zap_nonpresent_ptes: the entry's reference is put; its rmap only where it kept one (6.15+)
    if (exclusiveKeepsMapcount(m)) rmapRemove(m, page, mm.id, vpn);
    folioPut(m, page, 1, mm.id, vpn);
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
  if (page.large) {
    if (m.counters.pins > 0) detachPins(m, mm.id, vpn, page.pfn);
  } else if (page.refcount > page.mapcount + m.rules.freeAt(page.kind) + (page.pageCache ? 1 : 0)) {
    // More references than mappings (this one still counted), base and cache: maybe a GUP pin on it.
    detachPins(m, mm.id, vpn, page.pfn);
  }
  rmapRemove(m, page, mm.id, vpn); // zap_present_folio_ptes: folio_remove_rmap_ptes
  tlbRemoveFolio(m, mm.id, page, 1);
}

/** A present, refcounted PTE of a live large folio: where PTE batching applies. */
function batchable(m: Machine, pte: Pte): boolean {
  if (!pte.normalPresent) return false;
  const page = m.frames.all[pte.pfn];
  return page.large && page.usable;
}

/**
 * zap_present_folio_ptes with PTE batching (6.9+): a run of PTEs mapping
 * consecutive pages of one large folio loses its rmap page by page and its
 * references in one gather entry. Returns the run length.
 */
function zapFolioRun(m: Machine, mm: Mm, vpn: number, table: PteTable, pte: Pte, last: number): number {
  const head = m.frames.folioOf(m.frames.all[pte.pfn]);
  const nr = folioPteBatch(m, table, vpn, pte, last);
  for (let i = 0; i < nr; i++) {
    table.entries.delete(vpn + i);
    table.expected.delete(vpn + i);
    if (m.counters.pins > 0) detachPins(m, mm.id, vpn + i, pte.pfn + i);
    rmapRemove(m, m.frames.all[pte.pfn + i], mm.id, vpn + i);
  }
  m.counters.ptesZapped += nr;
  tlbRemoveFolio(m, mm.id, head, nr);
  return nr;
}

/**
 * zap_pmd_range / zap_pte_range over [start, end) of mm in vpn order, then tlb_finish_mmu; evenCows as zapOne's.
 * finish false leaves the last batch gathered, its puts not yet made (zap_window.ts).
 */
export function zapRange(m: Machine, mm: Mm, start: number, end: number, evenCows = true, finish = true): void {
  const batching = m.rules.pteBatch && m.frames.hasLarge && evenCows;
  if (!batching && !mm.tables.hasHuge) {
    for (const [vpn, pte] of mm.tables.entriesIn(start, end)) zapOne(m, mm, vpn, mm.tables.table(vpn)!, pte, evenCows);
    if (finish) tlbFlush(m);
    return;
  }
  for (let vpn = start; vpn < end;) {
    const tableEnd = Math.min(vpn - (vpn % PT_ENTRIES) + PT_ENTRIES, end);
    if (mm.tables.hugeLeaf(vpn)) {
      // a whole PMD goes at once; a partly covered one is split first
      if (vpn === blockStart(vpn) && tableEnd === vpn + FOLIO_NR) {
        zapHugePmd(m, mm, vpn);
        vpn = tableEnd;
        continue;
      }
      splitHugePmd(m, mm, vpn);
    }
    const table = mm.tables.table(vpn);
    if (table) {
      const entries = mm.tables.entriesIn(vpn, tableEnd);
      for (let i = 0; i < entries.length; i++) {
        const [v, pte] = entries[i];
        if (!table.entries.has(v)) continue; // cleared by a batch already
        if (batching && batchable(m, pte)) zapFolioRun(m, mm, v, table, pte, tableEnd);
        else zapOne(m, mm, v, table, pte, evenCows);
      }
    }
    vpn = tableEnd;
  }
  if (finish) tlbFlush(m);
}
