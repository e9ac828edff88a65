/**
 * Reverse mapping of anonymous pages (rmap_walk_anon): every PTE or
 * device-private entry that maps a page. Anon pages never move in the address
 * space here (no mremap), so page->index is the vpn in every mm that inherited
 * the page by fork; a walk visits each live mm, in id order, at that vpn.
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
import type { Frame } from "./frames.ts";
import type { Pte } from "./pgtable.ts";
import type { Machine } from "./machine.ts";

/** One mapping found by a walk: the entry and its bits as they were when found. */
export interface Mapping {
  mm: number;
  pte: Pte;
  bits: number;
}

/** Collect the refcounted mappings of anon page `page`. */
export function rmapWalk(m: Machine, page: Frame): Mapping[] {
  const vpn = page.index;
  const found: Mapping[] = [];
  for (const mm of m.mms.alive) {
    const v = mm.findVma(vpn);
    if (!v || !v.cow) continue;
    const pte = mm.tables.get(vpn);
    if (!pte || pte.pfn !== page.pfn) continue;
    if (pte.normalPresent || pte.swapLike) found.push({ mm: mm.id, pte, bits: pte.bits });
  }
  return found;
}
