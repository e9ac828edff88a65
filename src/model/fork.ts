/**
 * fork: dup_mmap -> copy_page_range -> copy_pte_range for each private vma (and
 * anon vma); shared file vmas are refaulted by the child instead (vma_needs_copy).
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * m.write(mm, addr, 1);
 * const child = m.fork(mm);
 * const page = m.page(child, addr)!;
 * console.log(page.refcount, page.mapcount, page.pte.write); // 2 2 false
 * ```
 */
import { PTE_PRESENT, PTE_WRITE, V_UAF } from "../../assembly/abi.ts";
import { folioGet, rmapAdd } from "./refcount.ts";
import { Pte } from "./pgtable.ts";
import type { Frame } from "./frames.ts";
import type { Mm, Vma } from "./mm.ts";
import type { Machine } from "./machine.ts";

/** page_needs_cow_for_dma: the mm has pinned pages and this one may be pinned. */
export function needsCowForDma(m: Machine, mm: Mm, page: Frame): boolean {
  return m.rules.cowPinnedAtFork && mm.pinned > 0 && page.refcount >= m.rules.pinBias;
}

/** Copy one PTE of a private or anon vma from parent to child. */
function copyOne(m: Machine, parent: Mm, child: Mm, cow: boolean, vpn: number, src: Pte): void {
  const table = child.tables.ensureTable(m.tablePool, vpn); // the caller checked table space
  m.counters.ptesCopied++;
  const page = m.frames.all[src.pfn];
  if (page.pfn !== 0 && !page.usable) m.log.record(V_UAF, page.pfn, parent.id, vpn, page.refcount, page.mapcount, 5);
  let dst: Pte;
  if (src.devicePrivate) {
    // copy_nonpresent_pte: device-private entry, folio_try_dup_anon_rmap_pte + get
    folioGet(m, page, 1, parent.id, vpn); // copy_nonpresent_pte: folio_get
    rmapAdd(m, page); // folio_try_dup_anon_rmap_pte
    page.anonExclusive = false;
    if (cow) src.bits &= ~PTE_WRITE; // writable entries become readable in both
    dst = new Pte(src.pfn, src.bits);
  } else if (src.special) {
    // vm_normal_page() == NULL (zero page, devmap): copy the PTE, no ref, no rmap
    if (cow) src.bits &= ~PTE_WRITE;
    dst = new Pte(src.pfn, src.bits);
  } else if (page.anon && needsCowForDma(m, parent, page)) {
    // copy_present_page: a maybe-pinned page stays with the parent; the child gets a copy
    const copy = m.frames.allocSystem();
    copy.index = vpn;
    copy.content = page.content;
    copy.anon = true;
    if (m.rules.anonExclusive) copy.anonExclusive = true;
    rmapAdd(m, copy); // folio_add_new_anon_rmap
    dst = new Pte(copy.pfn, src.bits & (PTE_PRESENT | PTE_WRITE));
    m.counters.wpCopy++;
  } else {
    // copy_present_ptes: share the page, +1 ref, +1 map, both write-protected if COW
    folioGet(m, page, 1, parent.id, vpn); // copy_present_ptes: folio_ref_add
    rmapAdd(m, page); // folio_try_dup_anon_rmap_ptes / folio_dup_file_rmap_ptes
    if (page.anon) page.anonExclusive = false;
    if (cow) src.bits &= ~PTE_WRITE;
    dst = new Pte(src.pfn, src.bits);
  }
  table.entries.set(vpn, dst);
  table.setExpected(vpn, parent.tables.table(vpn)!.expectedAt(vpn));
}

/** copy_pte_range over one vma, in vpn order. */
export function copyRange(m: Machine, parent: Mm, child: Mm, v: Vma): void {
  for (const [vpn, pte] of parent.tables.entriesIn(v.start, v.end)) copyOne(m, parent, child, v.cow, vpn, pte);
}

/** Frames copy_present_page could need in [start, end): present pages that may be pinned. */
export function pinnedPagesIn(m: Machine, parent: Mm, start: number, end: number): number {
  if (parent.pinned === 0) return 0;
  let n = 0;
  for (const [, pte] of parent.tables.entriesIn(start, end)) {
    if (pte.normalPresent && needsCowForDma(m, parent, m.frames.all[pte.pfn])) n++;
  }
  return n;
}
