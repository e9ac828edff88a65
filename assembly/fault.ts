// CPU page faults (handle_mm_fault) and the CPU's view of memory: what a load
// returns and what a store changes, with the data check on every load.
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVMAP, PTE_DEVICE_PRIVATE, PTE_DEVICE_EXCLUSIVE, VM_SHARED, PTE_FORM_DEVMAP,
  PG_ANON, PG_ANON_EXCLUSIVE, PG_HEAD, PG_TAIL, SCHEME_ANON_EXCLUSIVE, SCHEME_SWAP_FAULT_REF, ST_ATOMIC_MAP, SCHEME_FSDAX_PTE, SCHEME_DEVDAX_PTE,
  MMU_NOTIFY_MIGRATE, MMU_NOTIFY_CLEAR, SWAP_FAULT_NO_REF, SCHEME_LARGE_ANON_REUSE, KIND_FSDAX, KIND_DEVDAX, KIND_P2PDMA, ST_FAULTS, ST_WP_COPY, ST_WP_REUSE, V_CORRUPTION, V_UAF,
  VPN_BITS, VM_READ, VM_WRITE, SIGSEGV, SIGBUS, V_LIVELOCK, FOLIO_NR, NO_FIELD, ERR_NONE, ERR_RANGE,
  ERR_NOMEM_FRAMES, ERR_NOMEM_TABLES, ERR_NOMEM_DEVICE, F_ACCESS_ADDR, F_LOOP_PAGES,
} from "./abi";
import { bump } from "./stats";
import { removeDeviceExclusiveEntry } from "./exclusive";
import { rule } from "./scheme";
import {
  allocSystemPageAs, noteAlloc, ref, mapcount, content, setContent, hasFlag, addFlag, setPageIndex, setLastOp, kindOf, folioRef,
  isLarge, folioOf, folioMapcount, freeSystemFrames, freeHugeFolios, flags,
} from "./frames";
import { folioMappingsIn } from "./rmap";
import { folioGet, folioPut, rmapAdd, rmapRemove, frameUsable } from "./refcount";
import { ptePtr, shadowOf, ptePfn, mkPte, pteAt, hugeLeaf, tablesNeeded, pteTablesLeft, pmdTablesLeft } from "./pgtable";
import { findVma, findVmaAfter, vmaNext, vmaFlags, vmaFile, vmaStart, vmaEnd, vmaPgoff, fileIndex, isAnon, anonVmaPrepare, vmaMm } from "./mm";
import {
  findOrReadPage, diskRead, diskWrite, pageWasNew, isHole, holeHasZeroEntry, setHoleZeroEntry, filePages, fileDevice, needsDevicePage,
  fileIsDmirrorMap,
} from "./file";
import { unmapMappingRange } from "./truncate";
import { migratePageToRam } from "./migrate";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { driverOf, pgmapOwner, driverFree, driverCount, drvNeed, i32At, setI32At } from "./memremap";
import { dmirrorFaultErase, dmirrorTakeFailAlloc } from "./dmirror";
import { violation, currentOp } from "./violations";
import { hugeFault, thpEligible, HUGE_NONE } from "./thp";
import { ksignal } from "./errno";
import { fail, errCode } from "./reject";
import { fileFastAccess, fileFastResult, FILE_FULL, FILE_FAULTED } from "./fastpath_file";
import { fpNote, FP_ACCESS_FULL } from "./fastpath";

/** A present PTE that vm_normal_page() resolves to a refcounted page. */
@inline export function isNormalPresent(pte: u32): bool { return (pte & (PTE_PRESENT | PTE_SPECIAL)) == PTE_PRESENT; }

/** A fresh anonymous page for vpn of vma v: refcount 1 (the PTE's), mapcount 1, exclusive. */
@inline function newAnonPage(v: i32, vpn: u32, data: u32): u32 {
  anonVmaPrepare(v); // do_anonymous_page / do_cow_fault / wp_page_copy: anon_vma_prepare (6.1 mm/memory.c)
  // alloc_anon_folio, then folio_add_new_anon_rmap (PG_anon, its index linear_page_index, mapcount 1)
  // and the data: every field stored once (allocSystemPageAs; performance only)
  const anon = rule(SCHEME_ANON_EXCLUSIVE) != 0 ? PG_ANON | PG_ANON_EXCLUSIVE : PG_ANON;
  const pfn = allocSystemPageAs(1, anon, fileIndex(v, vpn), data);
  noteAlloc(); // allocSystemPage's
  bump(ST_ATOMIC_MAP); // rmapAdd's
  return pfn;
}

/**
 * A CPU access to one page of vma v: handle_mm_fault if the PTE does not allow it
 * (the caller checked the access and that 2 frames and 2 tables are free).
 * `at` is the PTE's address when the caller has walked to it already (0: walk,
 * allocating tables). Returns the PTE pointer.
 */
@inline export function handleFault(mm: i32, v: i32, vpn: u32, write: bool, at: usize = 0): usize {
  faultOom = false;
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

// The last handleFault returned VM_FAULT_OOM (test_hmm's migrate_to_ram with FAIL_ALLOC set): nothing changed.
let faultOom = false;

/** Did the last handleFault end in VM_FAULT_OOM? (Read once: the caller decides what the kernel does with it.) */
export function takeFaultOom(): bool {
  const r = faultOom;
  faultOom = false;
  return r;
}

/** do_swap_page on a device-private entry -> pgmap->ops->migrate_to_ram, uncontended. */
function doSwapPage(mm: i32, vpn: u32, pte: u32): void {
  const pfn = ptePfn(pte);
  // 6.1+ (CVE-2022-3523 fix) takes a page reference under the PTL first; before, none.
  const takeRef = rule(SCHEME_SWAP_FAULT_REF) != SWAP_FAULT_NO_REF;
  if (takeRef) folioGet(pfn, 1, mm, <i32>vpn);
  // the driver's migrate_to_ram runs migrate_vma_setup over the page: MIGRATE, owner = its pgmap
  mmuNotifierInvalidate(mm, vpn, vpn + 1, MMU_NOTIFY_MIGRATE, pgmapOwner(driverOf(pfn)));
  // dmirror_devmem_fault_alloc_and_copy (lib/test_hmm.c, linux-mm 05ab5121): with vmf->pte the order is 0, and
  // the mirror's one-shot FAIL_ALLOC (cleared) leaves it no page: VM_FAULT_OOM before its xa_erase;
  // migrate_vma_finalize puts the device-private entry back. The caller sees the OOM (takeFaultOom).
  if (dmirrorTakeFailAlloc(pfn)) {
    faultOom = true;
    if (takeRef) folioPut(pfn, 1, mm, <i32>vpn);
    return;
  }
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
  // the old page's flags read once for the reuse tests (performance only: nothing changes them on the way)
  const f = (pte & PTE_SPECIAL) == 0 ? flags(pfn) : 0;
  if ((f & PG_ANON) != 0) {
    // 5.19+: reuse at once if PageAnonExclusive; otherwise wp_can_reuse_anon_folio decides
    // (a small folio: its one reference is this mapping, as there).
    const exclusive = rule(SCHEME_ANON_EXCLUSIVE) != 0 && (f & PG_ANON_EXCLUSIVE) != 0;
    if (exclusive || ((f & (PG_HEAD | PG_TAIL)) == 0 ? ref(pfn) == 1 : wpCanReuseAnonFolio(mm, pfn))) {
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

// The CPU access itself, do_user_addr_fault (arch/x86/mm/fault.c) into handle_mm_fault (mm/memory.c),
// with the room checks the dispatcher makes before it (refsim's capacity, a fail() rejection, not a
// kernel result); here and not in ops.ts because hmm_vma_fault (mm/hmm.c) calls handle_mm_fault too.

const VPN_LIMIT: i64 = <i64>1 << VPN_BITS;

/** Room for a fault, if the access needs one: two frames (a migrate_to_ram and a copy) and its page tables. */
export function faultRoom(mm: i32, vpn: u32, write: bool): i32 {
  return faultRoomFor(mm, vpn, write, pteAt(mm, vpn));
}

@inline function faultRoomFor(mm: i32, vpn: u32, write: bool, pte: u32, hasTable: bool = false): i32 {
  if ((pte & PTE_PRESENT) != 0 && (!write || (pte & PTE_WRITE) != 0)) return 0; // no fault
  if (freeSystemFrames() < 2) return fail(ERR_NOMEM_FRAMES, NO_FIELD, 2);
  const t = hasTable ? 0 : tablesNeeded(mm, vpn); // the caller may have found the pte table already
  if (pteTablesLeft() < 1 || (t == 2 && pmdTablesLeft() < 1)) return fail(ERR_NOMEM_TABLES, NO_FIELD, t);
  return 0;
}

/** Would a fault at vpn of file VMA v take a page from the file's device (a DAX block's page, a p2pmem page)? */
function needsDeviceFault(mm: i32, v: i32, vpn: u32, write: bool): bool {
  const f = vmaFile(v);
  // past EOF there is no page to look up (the caller's beyondEof check fails the access): reading the
  // cache slot there was out of bounds (doGup checks the room first; found by the differential trace)
  if (f < 0 || beyondEof(v, vpn)) return false;
  const blockWrite = write && (vmaFlags(v) & VM_SHARED) != 0;
  const pte = pteAt(mm, vpn);
  // a shared write on a DAX hole's zero page allocates its block (wp_pfn_shared -> pfn_mkwrite)
  if (pte != 0 && !(blockWrite && (pte & (PTE_PRESENT | PTE_SPECIAL)) == (PTE_PRESENT | PTE_SPECIAL) && ptePfn(pte) == 0)) return false;
  return needsDevicePage(f, vmaPgoff(v) + (vpn - vmaStart(v)), blockWrite);
}

/** A fault on a file living on a device needs a free device page there (else SIGBUS). */
@inline export function deviceRoom(mm: i32, v: i32, vpn: u32, write: bool): i32 {
  if (needsDeviceFault(mm, v, vpn, write) && driverFree(fileDevice(vmaFile(v))) < 1) return fail(ERR_NOMEM_DEVICE, F_ACCESS_ADDR);
  return 0;
}

/**
 * deviceRoom for every fault of a range op over [vpn, vpn + n) at once (the user loops' faults,
 * hmm_range_fault's and make_device_exclusive's GUP faults), checked before any of them runs so
 * a refusal changes nothing; the error names the range's length (F_LOOP_PAGES: "length" of
 * write_range / read_range, "npages" of the dmirror ops). One pass counts each driver's pages; a
 * VMA without a file is skipped whole (a range over anonymous memory walks its VMAs, no page).
 */
export function deviceRoomRange(mm: i32, vpn: u32, n: u32, write: bool): i32 {
  let any = false;
  const end = vpn + n;
  // the VMAs over [vpn, end) in address order, from the first ending above vpn (holes take no page)
  for (let v = findVmaAfter(mm, vpn); v >= 0 && vmaStart(v) < end; v = vmaNext(v)) {
    const f = vmaFile(v);
    if (f < 0) continue; // anonymous memory takes no device page
    const d = fileDevice(f);
    const stop = min<u32>(vmaEnd(v), end);
    for (let q = max<u32>(vpn, vmaStart(v)); q < stop; q++) {
      if (!needsDeviceFault(mm, v, q, write)) continue;
      if (!any) memory.fill(drvNeed, 0, <usize>driverCount << 2);
      any = true;
      setI32At(drvNeed, d, i32At(drvNeed, d) + 1);
    }
  }
  if (!any) return 0;
  for (let d = 0; d < driverCount; d++) { // in driver id order, as the model
    const need = i32At(drvNeed, d);
    if (need > 0 && driverFree(d) < need) return fail(ERR_NOMEM_DEVICE, F_LOOP_PAGES, need);
  }
  return 0;
}

/** A fault on a device-private PMD moves the whole folio back: a THP, or 512 small pages (devicePmdFault). */
@inline export function folioRoom(leaf: u32): i32 {
  if ((leaf & PTE_DEVICE_PRIVATE) == 0 || freeHugeFolios() > 0 || freeSystemFrames() >= <u32>FOLIO_NR) return 0;
  return fail(ERR_NOMEM_FRAMES, NO_FIELD, FOLIO_NR);
}

/**
 * A file VMA's page past the end of its file (a VMA mremap grew, or a file truncated under it),
 * or an empty PTE of a test_hmm mapping, whose VMA has no ->fault (do_fault: VM_FAULT_SIGBUS).
 */
@inline export function beyondEof(v: i32, vpn: u32): bool {
  const f = vmaFile(v);
  if (fileIsDmirrorMap(f)) return pteAt(vmaMm(v), vpn) == 0;
  return f >= 0 && fileIndex(v, vpn) >= filePages(f);
}

/**
 * A CPU load or store at vpn (touch false: only the fault, as handle_mm_fault for
 * hmm_range_fault's hmm_vma_fault). Returns the load's value, 0, or a signal.
 */
export function access(mm: i32, vpn: i32, write: bool, value: i32, touch: bool = true): i32 {
  if (vpn < 0 || <i64>vpn >= VPN_LIMIT) return fail(ERR_RANGE, F_ACCESS_ADDR);
  const v = findVma(mm, <u32>vpn);
  if (v < 0) return ksignal(SIGSEGV); // do_user_addr_fault -> bad_area (SEGV_MAPERR)
  return accessVma(mm, v, vpn, write, value, touch);
}

/**
 * access() once find_vma found v for vpn (in range): the rest of do_user_addr_fault and handle_mm_fault.
 * Inlined (into access() and fastpath_anon.ts's file-VMA calls, `write` a constant there; performance only).
 */
@inline export function accessVma(mm: i32, v: i32, vpn: i32, write: bool, value: i32, touch: bool = true): i32 {
  // access_error (SEGV_ACCERR): a write needs VM_WRITE, a read an accessible VMA (not PROT_NONE)
  if ((vmaFlags(v) & (write ? VM_WRITE : VM_READ)) == 0) return ksignal(SIGSEGV);
  if (touch && vmaFile(v) >= 0) { // an ordinary file's cached page: the same work, guarded (fastpath_file.ts)
    const how = fileFastAccess(mm, v, <u32>vpn, write, value);
    if (how != FILE_FULL) {
      if (how == FILE_FAULTED) faultOom = false; // as handleFault
      return fileFastResult;
    }
  }
  return accessPte(mm, v, vpn, write, value, touch);
}

/**
 * accessVma past its permission check and a file's fast path: the PTE, the fault, the load or
 * store. A function of its own so that the file fast path's callers do not pay this one's
 * frame and spills (performance only).
 */
function accessPte(mm: i32, v: i32, vpn: i32, write: bool, value: i32, touch: bool): i32 {
  const cur = ptePtr(mm, <u32>vpn, false);
  let pte = cur == 0 ? 0 : load<u32>(cur);
  // The common case: the PTE already allows the access; no fault, no allocation.
  if ((pte & PTE_PRESENT) != 0 && (!write || (pte & PTE_WRITE) != 0)) {
    if (!touch) return 0;
    if (!write) return <i32>loadChecked(mm, v, <u32>vpn, cur);
    storeValue(mm, v, <u32>vpn, cur, <u32>value);
    return 0;
  }
  // A store to a present read-only PTE of a vma without a file (a COW write after fork): wpStore.
  if (write && touch && (pte & (PTE_PRESENT | PTE_DEVICE_PRIVATE | PTE_DEVICE_EXCLUSIVE)) == PTE_PRESENT && vmaFile(v) < 0) {
    return wpStore(mm, v, <u32>vpn, cur, pte, <u32>value);
  }
  if (pte == 0) {
    // pte_none: a PMD may map the block (a THP or the huge zero page; MADV_COLLAPSE makes one in any anon vma),
    // or in a huge-page vma a THP fault may map one (thpEligible).
    const leaf = hugeLeaf(mm, <u32>vpn);
    if (leaf != 0 || thpEligible(mm, v, <u32>vpn)) {
      if (leaf == 0 || (leaf & PTE_PRESENT) == 0 || (write && (leaf & PTE_WRITE) == 0)) {
        const room = faultRoomFor(mm, <u32>vpn, write, 0);
        if (room < 0) return room;
      }
      const folio = folioRoom(leaf);
      if (folio < 0) return folio;
      const pfn = hugeFault(mm, v, <u32>vpn, write, false);
      if (pfn != HUGE_NONE) {
        if (!touch) return 0;
        const at = ptePtr(mm, <u32>vpn, false); // the deposited table's shadow holds the expected data
        if (!write) return <i32>loadPage(mm, v, <u32>vpn, at, pfn);
        storePage(mm, v, <u32>vpn, at, pfn, <u32>value);
        return 0;
      }
      pte = pteAt(mm, <u32>vpn); // split into PTEs, or no THP was free: the PTE path faults
    }
  }
  if (beyondEof(v, <u32>vpn)) return ksignal(SIGBUS); // filemap_fault / shmem_fault: index >= i_size
  const room = faultRoomFor(mm, <u32>vpn, write, pte, cur != 0);
  if (room < 0) return room;
  const dev = deviceRoom(mm, v, <u32>vpn, write);
  if (dev < 0) return dev;
  let p = handleFault(mm, v, <u32>vpn, write, cur); // a THP split above keeps the (deposited) table cur points into
  // VM_FAULT_OOM: the #PF handler's pagefault_out_of_memory (mm/oom_kill.c since 5.16, 60e2793d440a) only
  // returns, and the instruction faults again (handleFault clears the spent flag); hmm_range_fault's fault reports it (hmm.ts)
  if (faultOom) {
    if (!touch) return 0; // the flag stays for hmm_vma_fault
    p = handleFault(mm, v, <u32>vpn, write, cur);
  }
  if ((load<u32>(p) & PTE_PRESENT) == 0) {
    // migrate_to_ram failed and nothing will change that: the CPU refaults forever.
    const pfn = ptePfn(load<u32>(p));
    violation(V_LIVELOCK, pfn, mm, vpn, ref(pfn), mapcount(pfn), 0);
    return 0;
  }
  if (!touch) return 0;
  if (!write) return <i32>loadChecked(mm, v, <u32>vpn, p);
  storeValue(mm, v, <u32>vpn, p, <u32>value);
  return 0;
}

/**
 * accessPte's store to the present read-only PTE `pte` at p of vma v without a file: the same
 * room check, handleFault's do_wp_page and the store, without the tests that cannot hold for it
 * on the way (no THP block over a present PTE, no end of file, no device page, no device entry,
 * no VM_FAULT_OOM: doWpPage leaves a present PTE). Performance only.
 */
function wpStore(mm: i32, v: i32, vpn: u32, p: usize, pte: u32, value: u32): i32 {
  const room = faultRoomFor(mm, vpn, true, pte, true);
  if (room < 0) return room;
  faultOom = false; // as handleFault
  bump(ST_FAULTS);
  doWpPage(mm, v, vpn, p, pte, true);
  storePage(mm, v, vpn, p, ptePfn(load<u32>(p)), value);
  return 0;
}

/**
 * fastAccess's store (fastpath_anon.ts) to the present read-only PTE `pte` at p of v, a private
 * anonymous vma without VM_HUGEPAGE that holds vpn (in range) and allows writes: what its fullAccess
 * would come to, access() finding v and p again, accessVma's checks passing, accessPte's wpStore
 * (performance only: the same FP_ACCESS_FULL, faults and store).
 */
export function wpStoreFast(mm: i32, v: i32, vpn: i32, p: usize, pte: u32, value: i32): i32 {
  fpNote(FP_ACCESS_FULL);
  if ((pte & (PTE_DEVICE_PRIVATE | PTE_DEVICE_EXCLUSIVE)) != 0) return access(mm, vpn, true, value);
  return wpStore(mm, v, <u32>vpn, p, pte, <u32>value);
}

/** handle_mm_fault for hmm_range_fault (hmm.ts): the fault of a CPU access, no load or store; 0, or -1 when rejected. */
export function faultIn(mm: i32, vpn: u32, write: bool): i32 {
  const r = access(mm, <i32>vpn, write, 0, false);
  return errCode != ERR_NONE ? -1 : r;
}
