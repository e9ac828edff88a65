// CPU page faults (handle_mm_fault) and the CPU's view of memory: what a load
// returns and what a store changes, with the data check on every load.
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVMAP, PTE_DEVICE_PRIVATE, PTE_DEVICE_EXCLUSIVE, VM_SHARED, PTE_FORM_DEVMAP,
  PG_ANON, PG_ANON_EXCLUSIVE, SCHEME_ANON_EXCLUSIVE, SCHEME_SWAP_FAULT_REF, SCHEME_FSDAX_PTE, SCHEME_DEVDAX_PTE,
  MMU_NOTIFY_MIGRATE, MMU_NOTIFY_CLEAR, SWAP_FAULT_NO_REF, SCHEME_LARGE_ANON_REUSE, KIND_FSDAX, KIND_DEVDAX, KIND_P2PDMA, ST_FAULTS, ST_WP_COPY, ST_WP_REUSE, V_CORRUPTION, V_UAF,
} from "./abi";
import { bump } from "./stats";
import { removeDeviceExclusiveEntry } from "./exclusive";
import { rule } from "./scheme";
import {
  allocSystemPage, ref, mapcount, content, setContent, hasFlag, addFlag, setPageIndex, setLastOp, kindOf, folioRef,
  isLarge, folioOf, folioMapcount,
} from "./frames";
import { folioMappingsIn } from "./rmap";
import { folioGet, folioPut, rmapAdd, rmapRemove, frameUsable } from "./refcount";
import { ptePtr, shadowOf, ptePfn, mkPte } from "./pgtable";
import { vmaFlags, vmaFile, fileIndex, isAnon, anonVmaPrepare } from "./mm";
import { findOrReadPage, diskRead, diskWrite, pageWasNew, isHole, holeHasZeroEntry, setHoleZeroEntry } from "./file";
import { unmapMappingRange } from "./truncate";
import { migratePageToRam } from "./migrate";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { driverOf, pgmapOwner } from "./memremap";
import { dmirrorFaultErase } from "./dmirror";
import { violation, currentOp } from "./violations";

/** A present PTE that vm_normal_page() resolves to a refcounted page. */
@inline export function isNormalPresent(pte: u32): bool { return (pte & (PTE_PRESENT | PTE_SPECIAL)) == PTE_PRESENT; }

/** A fresh anonymous page for vpn of vma v: refcount 1 (the PTE's), mapcount 1, exclusive. */
@inline function newAnonPage(v: i32, vpn: u32, data: u32): u32 {
  anonVmaPrepare(v); // do_anonymous_page / do_cow_fault / wp_page_copy: anon_vma_prepare (6.1 mm/memory.c)
  const pfn = allocSystemPage();
  setPageIndex(pfn, fileIndex(v, vpn)); // folio_add_new_anon_rmap: linear_page_index
  setContent(pfn, data);
  addFlag(pfn, rule(SCHEME_ANON_EXCLUSIVE) != 0 ? PG_ANON | PG_ANON_EXCLUSIVE : PG_ANON);
  rmapAdd(pfn); // folio_add_new_anon_rmap
  return pfn;
}

/**
 * A CPU access to one page of vma v: handle_mm_fault if the PTE does not allow it
 * (the caller checked the access and that 2 frames and 2 tables are free).
 * `at` is the PTE's address when the caller has walked to it already (0: walk,
 * allocating tables). Returns the PTE pointer.
 */
@inline export function handleFault(mm: i32, v: i32, vpn: u32, write: bool, at: usize = 0): usize {
  const p = at != 0 ? at : ptePtr(mm, vpn, true);
  let pte = load<u32>(p);
  // No fault when the PTE already allows the access.
  if ((pte & PTE_PRESENT) != 0 && (!write || (pte & PTE_WRITE) != 0)) return p;
  bump(ST_FAULTS);
  if ((pte & PTE_DEVICE_PRIVATE) != 0) {
    doSwapPage(mm, vpn, pte);
    pte = load<u32>(p);
  } else if ((pte & PTE_DEVICE_EXCLUSIVE) != 0) {
    removeDeviceExclusiveEntry(mm, vpn, p); // do_swap_page: the device loses its atomic access
    pte = load<u32>(p);
  }
  if (pte == 0) {
    doPteMissing(mm, v, vpn, p, write);
  } else if (write && (pte & PTE_PRESENT) != 0 && (pte & PTE_WRITE) == 0) {
    doWpPage(mm, v, vpn, p, pte, true);
  }
  return p;
}

/** do_swap_page on a device-private entry -> pgmap->ops->migrate_to_ram, uncontended. */
function doSwapPage(mm: i32, vpn: u32, pte: u32): void {
  const pfn = ptePfn(pte);
  // 6.1+ (CVE-2022-3523 fix) takes a page reference under the PTL first; before, none.
  const takeRef = rule(SCHEME_SWAP_FAULT_REF) != SWAP_FAULT_NO_REF;
  if (takeRef) folioGet(pfn, 1, mm, <i32>vpn);
  // the driver's migrate_to_ram runs migrate_vma_setup over the page: MIGRATE, owner = its pgmap
  mmuNotifierInvalidate(mm, vpn, vpn + 1, MMU_NOTIFY_MIGRATE, pgmapOwner(driverOf(pfn)));
  dmirrorFaultErase(pfn, vpn); // a test_hmm chunk's page: dmirror_devmem_fault
  migratePageToRam(pfn, takeRef ? 1 : 0, mm, vpn);
  if (takeRef) folioPut(pfn, 1, mm, <i32>vpn);
}

/** do_anonymous_page / do_read_fault / do_cow_fault / do_shared_fault. */
function doPteMissing(mm: i32, v: i32, vpn: u32, p: usize, write: bool): void {
  if (isAnon(v)) {
    if (!write) {
      store<u32>(p, mkPte(0, PTE_PRESENT | PTE_SPECIAL)); // the shared zero page: no ref, no rmap
      return;
    }
    store<u32>(p, mkPte(newAnonPage(v, vpn, 0), PTE_PRESENT | PTE_WRITE)); // do_anonymous_page
    return;
  }
  const f = vmaFile(v);
  const idx = fileIndex(v, vpn);
  const shared = (vmaFlags(v) & VM_SHARED) != 0;
  if (isHole(f, idx)) {
    if (!write) {
      setHoleZeroEntry(f, idx); // dax_load_hole (6.1 fs/dax.c; every era): the zero page, no block allocated
      store<u32>(p, mkPte(0, PTE_PRESENT | PTE_SPECIAL)); // vmf_insert_mixed of the zero pfn: no ref, no rmap
      store<u32>(shadowOf(p), 0);
      return;
    }
    if (!shared) {
      store<u32>(p, mkPte(newAnonPage(v, vpn, 0), PTE_PRESENT | PTE_WRITE)); // do_cow_fault -> dax_fault_cow_page: zeroes
      store<u32>(shadowOf(p), 0);
      return;
    }
    // A shared write allocates a block (ext4_iomap_begin); dax_insert_entry replacing a
    // zero-page entry first unmaps the zero page everywhere (unmap_mapping_pages, 6.1 fs/dax.c).
    if (holeHasZeroEntry(f, idx)) unmapMappingRange(f, idx, 1, false);
  }
  const page = findOrReadPage(f, idx);
  const fresh = pageWasNew;
  const kind = kindOf(page);
  if (write && !shared) {
    store<u32>(p, mkPte(newAnonPage(v, vpn, content(page)), PTE_PRESENT | PTE_WRITE)); // do_cow_fault
    store<u32>(shadowOf(p), content(page)); // the private copy starts with the file's data
    if (fresh && kind == KIND_P2PDMA) folioPut(page, 1, mm, <i32>vpn);
    return;
  }
  const w: u32 = write ? PTE_WRITE : 0;
  const form = kind == KIND_FSDAX ? rule(SCHEME_FSDAX_PTE) : kind == KIND_DEVDAX ? rule(SCHEME_DEVDAX_PTE) : 0;
  if (form == PTE_FORM_DEVMAP) {
    store<u32>(p, mkPte(page, PTE_PRESENT | PTE_SPECIAL | PTE_DEVMAP | w)); // vmf_insert_mixed: no ref, no rmap
    return;
  }
  // finish_fault -> set_pte_range, vmf_insert_page_mkwrite (DAX, 6.15+), vm_insert_page (p2pmem)
  folioGet(page, 1, mm, <i32>vpn);
  rmapAdd(page); // folio_add_file_rmap_pte
  store<u32>(p, mkPte(page, PTE_PRESENT | w));
  if (fresh && kind == KIND_P2PDMA) folioPut(page, 1, mm, <i32>vpn); // p2pmem_alloc_mmap's put_page after insert
}

/**
 * do_wp_page: write (or, for FOLL_PIN, unshare) fault on a present read-only PTE.
 * Shared mappings are made writable in place (wp_page_shared); private ones reuse
 * the anon page when the era allows it (wp_can_reuse_anon_folio), otherwise copy
 * (wp_page_copy).
 */
export function doWpPage(mm: i32, v: i32, vpn: u32, p: usize, pte: u32, makeWritable: bool): void {
  if ((vmaFlags(v) & VM_SHARED) != 0) {
    if ((pte & PTE_SPECIAL) != 0 && ptePfn(pte) == 0 && vmaFile(v) >= 0) {
      // a DAX hole's zero page: wp_pfn_shared -> pfn_mkwrite (ext4_dax_fault) -> dax_iomap_pte_fault, a write
      doPteMissing(mm, v, vpn, p, true);
      return;
    }
    store<u32>(p, pte | PTE_WRITE); // wp_page_shared / wp_pfn_shared
    return;
  }
  const pfn = ptePfn(pte);
  if ((pte & PTE_SPECIAL) == 0 && hasFlag(pfn, PG_ANON)) {
    // 5.19+: reuse at once if PageAnonExclusive; otherwise wp_can_reuse_anon_folio decides.
    const exclusive = rule(SCHEME_ANON_EXCLUSIVE) != 0 && hasFlag(pfn, PG_ANON_EXCLUSIVE);
    if (exclusive || wpCanReuseAnonFolio(mm, pfn)) {
      if (rule(SCHEME_ANON_EXCLUSIVE) != 0) addFlag(pfn, PG_ANON_EXCLUSIVE);
      store<u32>(p, makeWritable ? pte | PTE_WRITE : pte);
      bump(ST_WP_REUSE);
      return;
    }
  }
  // wp_page_copy: the copy is an ordinary system page even if the old one was device memory.
  const copy = newAnonPage(v, vpn, content(pfn));
  store<u32>(p, mkPte(copy, makeWritable ? PTE_PRESENT | PTE_WRITE : PTE_PRESENT | (pte & PTE_WRITE)));
  // A copy of a file page starts with the file's data; an anon page's copy already matches.
  if (vmaFile(v) >= 0 && ((pte & PTE_SPECIAL) != 0 || !hasFlag(pfn, PG_ANON))) store<u32>(shadowOf(p), content(pfn));
  bump(ST_WP_COPY);
  mmuNotifierInvalidate(mm, vpn, vpn + 1, MMU_NOTIFY_CLEAR, -1); // wp_page_copy
  if ((pte & PTE_SPECIAL) == 0) {
    rmapRemove(pfn, mm, <i32>vpn); // folio_remove_rmap_pte(old)
    folioPut(pfn, 1, mm, <i32>vpn); // folio_put(old)
  } else if (pfn != 0) {
    setLastOp(pfn, currentOp); // a devmap/special mapping goes away without any put
  }
}

/**
 * wp_can_reuse_anon_folio for a page that is not PageAnonExclusive. A small folio, or a
 * large one before 6.15: only when its one reference is this mapping (folio_ref_count
 * == 1; 5.15 page_count reads the head), so a large folio only at its last mapping. A
 * large one from 6.15 (__wp_can_reuse_large_anon_folio, 1da190f4d0a6): when more than
 * one page is mapped, every mapping is this process's (!maybe_mapped_shared) and every
 * reference is a mapping (folio_large_mapcount == folio_ref_count).
 */
function wpCanReuseAnonFolio(mm: i32, pfn: u32): bool {
  if (!isLarge(pfn) || rule(SCHEME_LARGE_ANON_REUSE) == 0) return folioRef(pfn) == 1;
  const head = folioOf(pfn);
  const mapped = folioMapcount(head);
  if (mapped <= 1) return false; // one page left mapped: copy it and let the large folio go
  if (ref(head) != mapped) return false; // a GUP reference or a pin besides the mappings
  return folioMappingsIn(mm, head) == mapped; // no other process maps it
}

/** The value the CPU sees at a present PTE, checked against what this process expects. */
export function loadChecked(mm: i32, v: i32, vpn: u32, p: usize): u32 {
  return loadPage(mm, v, vpn, p, ptePfn(load<u32>(p)));
}

/** A load from page pfn mapped at vpn (through a PTE or a PMD); p's shadow holds the expected data. */
export function loadPage(mm: i32, v: i32, vpn: u32, p: usize, pfn: u32): u32 {
  if (pfn != 0 && !frameUsable(pfn)) violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 2);
  const got = content(pfn);
  // A file vma's page that is not an anon COW copy shows the file's data, cached or not.
  const expected = pfn != 0 && vmaFile(v) >= 0 && !hasFlag(pfn, PG_ANON) ? diskRead(vmaFile(v), fileIndex(v, vpn)) : load<u32>(shadowOf(p));
  if (got != expected) violation(V_CORRUPTION, pfn, mm, <i32>vpn, <i32>got, <i32>expected, 0);
  return got;
}

/** A CPU store to a writable present PTE: the page changes, and so does what we expect. */
export function storeValue(mm: i32, v: i32, vpn: u32, p: usize, value: u32): void {
  storePage(mm, v, vpn, p, ptePfn(load<u32>(p)), value);
}

/** A store to page pfn mapped writable at vpn (through a PTE or a PMD). */
@inline export function storePage(mm: i32, v: i32, vpn: u32, p: usize, pfn: u32, value: u32): void {
  if (pfn != 0 && !frameUsable(pfn)) violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 3);
  setContent(pfn, value);
  store<u32>(shadowOf(p), value);
  if (vmaFile(v) >= 0 && !hasFlag(pfn, PG_ANON)) diskWrite(vmaFile(v), fileIndex(v, vpn), value);
}
