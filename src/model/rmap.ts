/**
 * Reverse mapping of anonymous pages (rmap_walk_anon), as assembly/rmap.ts:
 * page->index is the page's linear index, kept by fork and mremap (copy_vma
 * carries vm_pgoff), so in each live mm the page sits where a private VMA's pgoff
 * range holds its index (vma_address). A walk visits each live mm, in id order.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * import { rmapWalk } from "./rmap.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * m.write(mm, addr, 1);
 * m.fork(mm);
 * const pfn = m.page(mm, addr)!.pfn;
 * console.log(rmapWalk(m.machine, m.machine.frames.all[pfn]).map((e) => e.mm)); // [ 0, 1 ]
 * ```
 */
import { FOLIO_NR } from "../../assembly/abi.ts";
import type { Frame } from "./frames.ts";
import type { Pte } from "./pgtable.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";

/** One mapping found by a walk: the entry, its bits as they were when found, and where. */
export interface Mapping {
  mm: number;
  vpn: number;
  pte: Pte;
  bits: number;
}

/** vma_address: the vpn in mm where a private VMA holding index idx maps pfn there, if any. */
export function anonAddress(mm: Mm, idx: number, pfn: number): number | undefined {
  for (const v of mm.vmas) {
    if (!v.cow || idx < v.pgoff || idx - v.pgoff >= v.end - v.start) continue;
    const vpn = v.start + (idx - v.pgoff);
    if (mm.tables.get(vpn)?.pfn === pfn) return vpn;
  }
  return undefined;
}

/** The block vpn where mm maps large folio head by a PMD, if any. */
export function pmdAddress(mm: Mm, head: Frame): number | undefined {
  for (const v of mm.vmas) {
    if (!v.cow || head.index < v.pgoff || head.index - v.pgoff >= v.end - v.start) continue;
    const vpn = v.start + (head.index - v.pgoff);
    if (mm.tables.hugeLeaf(vpn)?.pfn === head.pfn) return vpn;
  }
  return undefined;
}

/**
 * How many of large folio head's mappings are in mm: its PMD there, and each page's PTE
 * at the page's address (an anon page is mapped at most once per mm). Equal to the
 * folio's mapcount when no other process maps it (what the folio's per-MM mapcount
 * slots tell folio_test_large_maybe_mapped_shared, 6.15 include/linux/mm.h).
 */
export function folioMappingsIn(m: Machine, mm: Mm, head: Frame): number {
  let n = pmdAddress(mm, head) !== undefined ? 1 : 0;
  for (let i = 0; i < FOLIO_NR; i++) {
    const page = m.frames.all[head.pfn + i];
    if (page.mapcount > 0 && anonAddress(mm, page.index, page.pfn) !== undefined) n++;
  }
  return n;
}

/** Collect the refcounted mappings of anon page `page`. */
export function rmapWalk(m: Machine, page: Frame): Mapping[] {
  const found: Mapping[] = [];
  for (const mm of m.mms.alive) {
    const vpn = anonAddress(mm, page.index, page.pfn);
    if (vpn === undefined) continue;
    const pte = mm.tables.get(vpn)!;
    if (pte.normalPresent || pte.swapLike) found.push({ mm: mm.id, vpn, pte, bits: pte.bits });
  }
  return found;
}
