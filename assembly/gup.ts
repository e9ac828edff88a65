// GUP: get_user_pages (FOLL_GET, +1) and pin_user_pages (FOLL_PIN, +GUP_PIN_COUNTING_BIAS
// on a small folio), one page per call, each returning a handle that is released
// with put_page / unpin_user_page. The handles themselves are the pinner's (pins.ts).
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PG_ANON, PG_ANON_EXCLUSIVE, KIND_SYSTEM, KIND_DEVICE_COHERENT, KIND_FSDAX, KIND_P2PDMA,
  FOLL_WRITE, FOLL_PIN, FOLL_LONGTERM, FOLL_PCI_P2PDMA, SCHEME_ANON_EXCLUSIVE, ST_PINS, ST_GUP_FAILED,
  SCHEME_PIN_ZERO_PAGE, SCHEME_LONGTERM_UNSHARE_COW, SCHEME_LONGTERM_FILE_WRITE_EFAULT, ST_ATOMIC_REF, VM_SHARED, MMU_NOTIFY_CLEAR,
  EBUSY, EOPNOTSUPP, EREMOTEIO, ENOMEM, EFAULT, VM_READ, VM_WRITE,
} from "./abi";
import { bump } from "./stats";
import { rule, pinBias } from "./scheme";
import { hasFlag, kindOf, setLastOp, isAllocated, pageIndex, isLarge, folioRef, folioOf, folioPincount, setFolioPincount, ref, setRef } from "./frames";
import { hugeFault, HUGE_NONE } from "./thp";
import { folioGet, folioPut } from "./refcount";
import { handleFault, doWpPage, takeFaultOom } from "./fault";
import { addPinned, vmaFile, vmaFlags } from "./mm";
import { ptePtr, ptePfn } from "./pgtable";
import { isFilePage, fileDevice, fileIsShmem } from "./file";
import { deviceOwner, driverKind } from "./memremap";
import { migratePageToRam } from "./migrate";
import { currentOp } from "./violations";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { kfail } from "./errno";
import { newHandle, releaseHandle, handlePfn, handleRefs, handleFlags, handleMm, PIN_NO_REF } from "./pins";

/**
 * __get_user_pages for one page: fault it in (a write fault for FOLL_WRITE, a read
 * fault otherwise: untouched anonymous memory gets the shared zero page, or in a THP
 * vma the huge zero page), unshare what gup_must_unshare names before FOLL_PIN,
 * migrate a coherent page to RAM before FOLL_LONGTERM
 * (check_and_migrate_movable_pages), then try_grab_folio. Returns the handle, 0 if
 * the page could not be pinned.
 */
export function gup(mm: i32, v: i32, vpn: u32, flags: i32, at: usize = 0): i32 {
  const write = (flags & FOLL_WRITE) != 0;
  // gup_must_unshare for a page that is not anonymous (6.2+ mm/internal.h): only a
  // R/O FOLL_LONGTERM pin, and only in a COW mapping (is_cow_mapping: private).
  const unshareOther = (flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) == (FOLL_PIN | FOLL_LONGTERM)
    && rule(SCHEME_LONGTERM_UNSHARE_COW) != 0 && (vmaFlags(v) & VM_SHARED) == 0;
  // follow_pmd_mask -> follow_trans_huge_pmd: a PMD mapping (or a THP fault) is
  // returned as it is, the subpage of the THP or the huge zero page (no split).
  const p0 = at != 0 ? at : ptePtr(mm, vpn, false); // at: the caller's walk to vpn's PTE (performance only)
  let known: usize = p0; // the PTE's slot, while no huge fault ran (handleFault's own walk finds the same slot)
  if (p0 == 0 || load<u32>(p0) == 0) {
    const huge = hugeFault(mm, v, vpn, write, (flags & FOLL_PIN) != 0, unshareOther);
    if (huge != HUGE_NONE) return huge != 0 ? grab(mm, v, vpn, huge, flags) : grabZero(mm, vpn, flags, true);
    known = 0;
  }
  // faultin_page: FAULT_FLAG_WRITE only for FOLL_WRITE (6.1 mm/gup.c)
  const p = handleFault(mm, v, vpn, write, known);
  if (takeFaultOom()) return refuse(ENOMEM); // faultin_page: vm_fault_to_errno(VM_FAULT_OOM) (mm/gup.c)
  let pte = load<u32>(p);
  if ((pte & PTE_PRESENT) == 0) return refuse();
  let pfn = ptePfn(pte);
  const special = (pte & PTE_SPECIAL) != 0;
  if (!special && (flags & FOLL_PIN) != 0 && rule(SCHEME_ANON_EXCLUSIVE) != 0
      && hasFlag(pfn, PG_ANON) && !hasFlag(pfn, PG_ANON_EXCLUSIVE)) {
    doWpPage(mm, v, vpn, p, pte, (pte & PTE_WRITE) != 0); // FAULT_FLAG_UNSHARE
    pte = load<u32>(p);
    pfn = ptePfn(pte);
  } else if (unshareOther && (pte & PTE_WRITE) == 0 && (special ? pfn == 0 : !hasFlag(pfn, PG_ANON))) {
    // the zero page or a page-cache page: do_wp_page copies it into an exclusive anon page, left R/O
    doWpPage(mm, v, vpn, p, pte, false); // FAULT_FLAG_UNSHARE (84209e87c696, 6.2)
    pte = load<u32>(p);
    pfn = ptePfn(pte);
  }
  // follow_page_pte: vm_normal_page is NULL, but is_zero_pfn: the zero page is returned
  if ((pte & PTE_SPECIAL) != 0 && pfn == 0) return grabZero(mm, vpn, flags, false);
  if ((flags & FOLL_LONGTERM) != 0 && (pte & PTE_SPECIAL) == 0 && kindOf(pfn) == KIND_DEVICE_COHERENT) {
    // migrate_device_coherent_folio has no migrate_vma: try_to_migrate_one unmaps this mapping too, notifying CLEAR (6.x mm/rmap.c)
    mmuNotifierInvalidate(mm, vpn, vpn + 1, MMU_NOTIFY_CLEAR, -1);
    if (!migratePageToRam(pfn, 0, mm, vpn)) return refuse(EBUSY); // migrate_longterm_unpinnable_folios (6.0+): migrate_device_coherent_folio failed
    pte = load<u32>(p);
    pfn = ptePfn(pte);
  }
  if (pfn == 0 || !isAllocated(pfn)) return refuse();
  return grab(mm, v, vpn, pfn, flags);
}

/**
 * try_grab_folio on the zero page. Frame 0 stands for the shared zero page and the
 * huge zero folio; its refcount is the GUP references on them (the kernel's own base
 * reference not counted), and it is never freed. FOLL_GET takes 1; FOLL_PIN takes the
 * bias only while pinZeroPage (6.5+ and 6.1.y: nothing, is_zero_page); the huge zero
 * folio is not is_zero_page, so a pin of it takes 1 (a large folio; _pincount not kept).
 */
function grabZero(mm: i32, vpn: u32, flags: i32, huge: bool): i32 {
  const pin = (flags & FOLL_PIN) != 0;
  const refs = !pin || huge ? 1 : rule(SCHEME_PIN_ZERO_PAGE) != 0 ? pinBias() : 0;
  if (refs > 0) {
    setRef(0, ref(0) + refs);
    bump(ST_ATOMIC_REF);
  }
  const h = newHandle(0, refs > 0 ? refs : PIN_NO_REF, mm, flags, -1, <i32>vpn);
  if (pin) addPinned(mm, 1); // MMF_HAS_PINNED
  bump(ST_PINS);
  return h;
}

/** try_grab_folio and a handle: FOLL_GET +1; FOLL_PIN +bias on a small folio, +1 and _pincount +1 on a large one. */
@inline function grab(mm: i32, v: i32, vpn: u32, pfn: u32, flags: i32): i32 {
  if (folioRef(pfn) == 0) return refuse(ENOMEM); // try_grab_folio (6.x): WARN and -ENOMEM on a count-0 folio
  const refs = tryGrabFolio(mm, vpn, pfn, flags);
  if (refs == 0) return refuse(EREMOTEIO); // try_grab_page (6.2+): -EREMOTEIO for a p2pdma page
  if ((flags & FOLL_PIN) != 0) addPinned(mm, 1); // MMF_HAS_PINNED
  return grabHandle(mm, v, vpn, pfn, flags, refs);
}

/**
 * The handle for what try_grab_folio took (slow GUP's grab and GUP-fast's last step):
 * it remembers what the pinner meant, a file block or an address of its own (v: the
 * vma at vpn, -1 when none is left).
 */
@inline export function grabHandle(mm: i32, v: i32, vpn: u32, pfn: u32, flags: i32, refs: i32): i32 {
  const filePage = isFilePage(pfn);
  const file = !filePage ? -1 : kindOf(pfn) == KIND_SYSTEM ? (v >= 0 ? vmaFile(v) : -1) : -deviceOwner(pfn) - 1;
  const h = newHandle(pfn, refs, mm, flags, file, filePage ? <i32>pageIndex(pfn) : <i32>vpn);
  bump(ST_PINS);
  return h;
}

/**
 * try_grab_folio (mm/gup.c), shared by slow GUP's grab and GUP-fast's walk, on a page
 * whose count the caller found above 0: refuse a p2pdma page without FOLL_PCI_P2PDMA
 * (6.2+, 4003f107fa2e; no era gate: refsim's p2pdma mmap is the same series), else take
 * FOLL_GET +1, FOLL_PIN +bias on a small folio, +1 and _pincount +1 on a large one.
 * Returns the references taken, 0 when it refused (nothing taken).
 */
@inline export function tryGrabFolio(mm: i32, vpn: u32, pfn: u32, flags: i32): i32 {
  if (kindOf(pfn) == KIND_P2PDMA && (flags & FOLL_PCI_P2PDMA) == 0) return 0;
  const large = isLarge(pfn);
  const refs = (flags & FOLL_PIN) != 0 && !large ? pinBias() : 1;
  folioGet(pfn, refs, mm, <i32>vpn);
  if ((flags & FOLL_PIN) != 0 && large) setFolioPincount(folioOf(pfn), folioPincount(folioOf(pfn)) + 1);
  return refs;
}

/**
 * check_vma_flags (mm/gup.c 6.x, called by __get_user_pages for each VMA before any
 * fault): may this GUP use the VMA at all? 0, or the errno. (refsim has no FOLL_FORCE.)
 */
@inline export function checkVmaFlags(v: i32, flags: i32): i32 {
  // 5.13+ (before: check_dax_vmas after the pin, the same errno): no longterm pin of fsdax
  if ((flags & FOLL_LONGTERM) != 0 && vmaIsFsdax(v)) return EOPNOTSUPP;
  // 6.5+ (476c1dfefab8): writable_file_mapping_allowed refuses a longterm write pin that needs dirty tracking
  if ((flags & (FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM)) == (FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM)
      && rule(SCHEME_LONGTERM_FILE_WRITE_EFAULT) != 0 && vmaNeedsDirtyTracking(v)) return EFAULT;
  // FOLL_WRITE needs VM_WRITE, a read needs VM_READ
  if ((vmaFlags(v) & ((flags & FOLL_WRITE) != 0 ? VM_WRITE : VM_READ)) == 0) return EFAULT;
  return 0;
}

/**
 * vma_needs_dirty_tracking (6.5+ mm/mmap.c, 6.12 mm/vma.c): a shared writable file
 * mapping whose file can write back (mapping_can_writeback). refsim's plain files are
 * a disk filesystem's; shmem, device-dax and p2pmem files have no writeback.
 */
function vmaNeedsDirtyTracking(v: i32): bool {
  const f = vmaFile(v);
  if (f < 0 || (vmaFlags(v) & (VM_SHARED | VM_WRITE)) != (VM_SHARED | VM_WRITE)) return false;
  return !fileIsShmem(f) && fileDevice(f) < 0;
}

/** vma_is_fsdax: a file on a DAX filesystem (not device-dax, not p2pmem). */
function vmaIsFsdax(v: i32): bool {
  const f = vmaFile(v);
  return f >= 0 && fileDevice(f) >= 0 && driverKind(fileDevice(f)) == KIND_FSDAX;
}

/** GUP took no page: -errno where the kernel names one, else 0 pages (errno 0). */
export function refuse(errno: i32 = 0): i32 {
  bump(ST_GUP_FAILED);
  return errno != 0 ? kfail(errno) : 0;
}

/** unpin_user_page / put_page for a handle (gup_put_folio). */
export function unpin(h: i32): void {
  const pfn = handlePfn(h);
  const refs = handleRefs(h);
  releaseHandle(h);
  // MMF_HAS_PINNED stays set once set: fork keeps copying maybe-pinned pages.
  bump(ST_PINS, -1);
  if (pfn == 0) {
    // gup_put_folio on the zero page: what grabZero took (a 6.5+ pin took nothing)
    if (refs > 0) {
      setRef(0, ref(0) - refs);
      bump(ST_ATOMIC_REF);
    }
    return;
  }
  setLastOp(pfn, currentOp);
  gupPutFolio(pfn, refs, handleFlags(h), handleMm(h), -1);
}

/**
 * gup_put_folio (mm/gup.c) of what try_grab_folio took, for unpin and GUP-fast's put-back:
 * a large folio's _pincount (a split needs no pins, so it is still large), then
 * folio_put_refs of 1 or the pin bias.
 */
@inline export function gupPutFolio(pfn: u32, refs: i32, flags: i32, mm: i32, vpn: i32): void {
  if ((flags & FOLL_PIN) != 0 && isLarge(pfn)) setFolioPincount(folioOf(pfn), folioPincount(folioOf(pfn)) - 1);
  folioPut(pfn, refs, mm, vpn);
}
