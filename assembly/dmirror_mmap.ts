// mmap of a test_hmm file (lib/test_hmm.c dmirror_fops_mmap, 5.16+ and current): the
// driver fills the whole VMA at mmap time, one page each, with alloc_page(__GFP_ZERO)
// and vm_insert_page, then put_page. vm_insert_page (mm/memory.c) makes the VMA
// VM_MIXEDMAP and maps each page like a file page: a reference (get_page) and a file
// rmap (folio_add_file_rmap_pte), with the VMA's vm_page_prot, read-only in a private
// mapping. After the driver's put_page the mapping holds the page alone (refcount 1,
// mapcount 1); it is not anonymous, in no page cache and on no LRU. The VMA has no
// ->fault (vma_dummy_vm_ops), so a fault on an empty PTE there is SIGBUS; a write fault
// on a read-only PTE copies the page (do_wp_page -> wp_page_copy); fork copies the PTEs
// (vma_needs_copy: VM_MIXEDMAP); migrate_vma_setup refuses the VMA (VM_SPECIAL).
import { PTE_PRESENT, VM_FILE } from "./abi";
import { allocSystemPage, setPageIndex } from "./frames";
import { folioGet, folioPut, rmapAdd } from "./refcount";
import { newFile, markDmirrorMap } from "./file";
import { insertVma } from "./mm";
import { ptePtr, mkPte, shadowOf } from "./pgtable";

/**
 * dmirror_fops_mmap over [start, start + n) of mm with prot (VM_READ | VM_WRITE bits),
 * MAP_PRIVATE (the caller checked the range, frames, tables and file room).
 */
export function dmirrorMmap(mm: i32, start: u32, n: u32, prot: i32): void {
  const f = newFile(n, -1);
  markDmirrorMap(f);
  insertVma(mm, start, start + n, prot | VM_FILE, f, 0);
  for (let i: u32 = 0; i < n; i++) {
    const vpn = start + i;
    const pfn = allocSystemPage(); // alloc_page(GFP_KERNEL | __GFP_ZERO): refcount 1
    setPageIndex(pfn, i);
    const p = ptePtr(mm, vpn, true);
    folioGet(pfn, 1, mm, <i32>vpn); // insert_page: get_page
    rmapAdd(pfn); // folio_add_file_rmap_pte
    store<u32>(p, mkPte(pfn, PTE_PRESENT)); // vm_page_prot of a private mapping: read-only
    store<u32>(shadowOf(p), 0); // the page is zeroed
    folioPut(pfn, 1, mm, <i32>vpn); // dmirror_fops_mmap: put_page
  }
}

