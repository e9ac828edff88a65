/**
 * mmap of a test_hmm file (lib/test_hmm.c dmirror_fops_mmap), as assembly/dmirror_mmap.ts:
 * the driver fills the VMA at mmap time with zeroed pages of its own (alloc_page,
 * vm_insert_page, put_page). vm_insert_page makes the VMA VM_MIXEDMAP and maps each page
 * like a file page (a reference and a file rmap), read-only in a private mapping; the
 * mapping then holds the page alone. No page cache, no LRU, no ->fault (a fault on an
 * empty PTE is SIGBUS), fork copies the PTEs, migrate_vma_setup refuses the VMA.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create();
 * const mm = m.mmNew();
 * const fd = m.dmirrorOpen(m.dmirrorNew("device-private"), mm);
 * const a = m.dmirrorMmap(fd, { length: 4096 });
 * const p = m.page(mm, a)!;
 * console.log(p.refcount, p.mapcount, p.pte.write, m.read(mm, a)); // 1 1 false 0
 * ```
 */
import { PTE_PRESENT, VM_FILE } from "../../assembly/abi.ts";
import { folioGet, folioPut, rmapAdd } from "./refcount.ts";
import { Pte } from "./pgtable.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";

/** dmirror_fops_mmap over [start, start + n) of mm with prot, MAP_PRIVATE (the caller checked room). */
export function dmirrorMmap(m: Machine, mm: Mm, start: number, n: number, prot: number): void {
  const f = m.files.create(n, -1);
  f.dmirrorMap = true;
  m.mms.insertVma(mm, start, start + n, prot | VM_FILE, f.id, 0);
  for (let i = 0; i < n; i++) {
    const vpn = start + i;
    const page = m.frames.allocSystem(); // alloc_page(GFP_KERNEL | __GFP_ZERO): refcount 1
    page.index = i;
    const table = mm.tables.ensureTable(m.tablePool, vpn);
    folioGet(m, page, 1, mm.id, vpn); // insert_page: get_page
    rmapAdd(m, page); // folio_add_file_rmap_pte
    table.entries.set(vpn, new Pte(page.pfn, PTE_PRESENT)); // vm_page_prot of a private mapping: read-only
    table.setExpected(vpn, 0); // the page is zeroed
    folioPut(m, page, 1, mm.id, vpn); // dmirror_fops_mmap: put_page
  }
}
