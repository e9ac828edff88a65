// Transparent huge pages: PMD-mapped anonymous folios of FOLIO_NR pages
// (mm/huge_memory.c). One refcount per folio (on the head page); a PMD mapping
// counts in folio->_entire_mapcount, PTE mappings in each page's own _mapcount;
// FOLL_PIN on a large folio adds 1 to the refcount and 1 to folio->_pincount.
// Paths that do not handle a PMD split it first (__split_huge_pmd), as the kernel
// does, into the pte table deposited when the THP was mapped.
import {
  MMU_NOTIFY_CLEAR, MMU_NOTIFY_MIGRATE, PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVICE_PRIVATE, PTE_PFN_SHIFT, PG_ANON, ST_MIGRATED, ST_MIGRATE_FAIL, PG_DRIVER_HELD, PG_TAIL, PG_ANON_EXCLUSIVE, PG_HEAD, FOLIO_NR, VM_HUGEPAGE,
  SCHEME_ANON_EXCLUSIVE, SCHEME_COW_PINNED, ST_THP_ALLOC, ST_THP_FALLBACK, ST_THP_SPLIT_PMD, ST_THP_SPLIT_FOLIO,
  ST_THP_SPLIT_FAIL, ST_WP_REUSE, ST_FAULTS, ST_PTES_COPIED, ST_PTES_ZAPPED, ST_ATOMIC_MAP, ST_PINS, V_UAF, V_UNDERFLOW,
} from "./abi";
import { bump, stat } from "./stats";
import { rule } from "./scheme";
import {
  allocHugeFolio, ref, flags, addFlag, clearFlag, hasFlag, setPageIndex, mapcount, setMapcount, entireMapcount,
  setEntireMapcount, folioPincount, folioMapcount, splitFolioPages, setLastOp, folioOf, setContent, content, pageIndex,
  setRef, setFlags, noteSplitLarge, isLarge, isDevice,
} from "./frames";
import { folioGet, folioPut, frameUsable } from "./refcount";
import { pageFree, driverBase, driverSize, deviceOwner, driverOf, pgmapOwner } from "./memremap";
import { allocDeviceFolio } from "./driver";
import { hugeLeaf, pmdNone, setHugeLeaf, clearHugeLeaf, zapHugeLeaf, hugeLeafPtr, ptePtr, pteSlot, shadowOf, ptePfn, mkPte } from "./pgtable";
import { mmCount, mmValid, vmaFlags, vmaStart, vmaEnd, isAnon, pinnedIn, fileIndex, anonVmaPrepare } from "./mm";
import { tlbRemoveFolio } from "./mmu_gather";
import { violation, currentOp } from "./violations";
import { pmdAddress, NO_ADDR } from "./rmap";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { migratePageToRam } from "./migrate";
import { detachPins } from "./pins";
import { dmirrorFaultErase, dmirrorTakeFailAlloc } from "./dmirror";

@inline export function blockStart(vpn: u32): u32 { return vpn & ~(FOLIO_NR - 1); }

/** thp_vma_allowable_order + pmd_none: may a fault at vpn map a PMD-sized folio? */
export function thpEligible(mm: i32, v: i32, vpn: u32): bool {
  if ((vmaFlags(v) & VM_HUGEPAGE) == 0 || !isAnon(v)) return false;
  const s = blockStart(vpn);
  return s >= vmaStart(v) && s + FOLIO_NR <= vmaEnd(v) && pmdNone(mm, vpn);
}

/**
 * do_huge_pmd_anonymous_page: a read maps the huge zero page (no ref, no rmap); a
 * write maps a new THP: refcount 1, entire mapcount 1 (folio_add_new_anon_rmap,
 * RMAP_EXCLUSIVE). Returns false when no THP is free (the fault falls back to a
 * small page). The caller checked table space.
 */
export function doHugePmdAnonymousPage(mm: i32, v: i32, vpn: u32, write: bool): bool {
  const s = blockStart(vpn);
  anonVmaPrepare(v); // 6.1 mm/huge_memory.c: before the huge zero page test, so a read sets it too
  if (!write) {
    setHugeLeaf(mm, s, mkPte(0, PTE_PRESENT | PTE_SPECIAL)); // mm_get_huge_zero_folio
    return true;
  }
  const head = allocHugeFolio();
  if (head == 0) {
    bump(ST_THP_FALLBACK);
    return false;
  }
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    setPageIndex(head + i, fileIndex(v, s) + i);
    addFlag(head + i, PG_ANON);
  }
  if (rule(SCHEME_ANON_EXCLUSIVE) != 0) addFlag(head, PG_ANON_EXCLUSIVE);
  setEntireMapcount(head, 1);
  bump(ST_ATOMIC_MAP);
  setHugeLeaf(mm, s, mkPte(head, PTE_PRESENT | PTE_WRITE));
  bump(ST_THP_ALLOC);
  return true;
}

/**
 * __split_huge_pmd_locked: the PMD becomes FOLIO_NR PTEs in the deposited table.
 * The folio gains FOLIO_NR - 1 references (folio_ref_add: one atomic), each page a
 * PTE mapping, and loses the PMD mapping; PageAnonExclusive moves to every page.
 */
export function splitHugePmd(mm: i32, vpn: u32): void {
  const s = blockStart(vpn);
  mmuNotifierInvalidate(mm, s, s + FOLIO_NR, MMU_NOTIFY_CLEAR, -1); // __split_huge_pmd
  const leaf = clearHugeLeaf(mm, s);
  bump(ST_THP_SPLIT_PMD);
  const head = ptePfn(leaf);
  const base = ptePtr(mm, s, false);
  if (head == 0) {
    // The huge zero page: every PTE maps the small zero page.
    for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) store<u32>(pteSlot(base, <usize>i), mkPte(0, PTE_PRESENT | PTE_SPECIAL));
    return;
  }
  const bits = leaf & (PTE_PRESENT | PTE_WRITE | PTE_DEVICE_PRIVATE); // a device-private PMD splits into device-private entries
  const exclusive = hasFlag(head, PG_ANON_EXCLUSIVE);
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    store<u32>(pteSlot(base, <usize>i), mkPte(head + i, bits));
    setMapcount(head + i, mapcount(head + i) + 1);
    if (exclusive) addFlag(head + i, PG_ANON_EXCLUSIVE);
  }
  bump(ST_ATOMIC_MAP, FOLIO_NR); // folio_add_anon_rmap_ptes: each page's _mapcount
  folioGet(head, FOLIO_NR - 1, mm, <i32>s);
  setEntireMapcount(head, entireMapcount(head) - 1);
  bump(ST_ATOMIC_MAP);
}

/**
 * migrate_vma_collect_pmd over the PMD mappings [start, end) touches: the huge zero
 * page is split into PTEs; a THP is split whole (split_folio: PMD into PTEs, folio
 * into small folios) when nothing but mappings holds it and no other process maps
 * it by a PMD (splitting those too is not modelled); otherwise it is skipped and
 * stays mapped by its PMD (migrate_vma_collect_skip).
 */
export function splitHugeForMigration(mm: i32, start: u32, end: u32): void {
  for (let b = blockStart(start); b < end; b += FOLIO_NR) {
    const leaf = hugeLeaf(mm, b);
    if (leaf == 0 || (leaf & PTE_PRESENT) == 0) continue; // a device-private PMD is not system memory to migrate
    const head = ptePfn(leaf);
    if (head != 0 && (entireMapcount(head) != 1 || ref(head) != folioMapcount(head))) {
      bump(ST_THP_SPLIT_FAIL);
      continue;
    }
    splitHugePmd(mm, b);
    if (head != 0) {
      splitFolioPages(head);
      bump(ST_THP_SPLIT_FOLIO);
    }
  }
}

/**
 * zap_huge_pmd: clear the PMD mapping and free its deposited table; the folio's
 * entire mapcount drops now and its reference after the TLB flush
 * (tlb_remove_page_size).
 */
export function zapHugePmd(mm: i32, vpn: u32): void {
  const s = blockStart(vpn);
  const t = ptePtr(mm, s, false);
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) store<u32>(shadowOf(pteSlot(t, <usize>i)), 0);
  const leaf = zapHugeLeaf(mm, s); // and zap_deposited_table: the block is pmd_none again
  bump(ST_PTES_ZAPPED);
  const head = ptePfn(leaf);
  if (head == 0) return; // the huge zero page holds nothing
  if (!frameUsable(head)) {
    violation(V_UAF, head, mm, <i32>s, ref(head), entireMapcount(head), 4);
    return;
  }
  if (stat(ST_PINS) > 0) for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) detachPins(mm, s + i, head + i);
  const e = entireMapcount(head);
  bump(ST_ATOMIC_MAP);
  if (e <= 0) violation(V_UNDERFLOW, head, mm, <i32>s, ref(head), e, -1);
  else setEntireMapcount(head, e - 1);
  setLastOp(head, currentOp);
  if ((leaf & PTE_DEVICE_PRIVATE) != 0) folioPut(head, 1, mm, <i32>s); // a device-private PMD is not TLB-batched
  else tlbRemoveFolio(mm, head, 1);
}

/**
 * folio_pte_batch: how many PTEs from p (vpn, before `last`) map consecutive pages
 * of its large folio with the same bits, so fork and zap can handle them as one.
 */
export function folioPteBatch(p: usize, vpn: u32, last: u32): u32 {
  const pte = load<u32>(p);
  const pfn = ptePfn(pte);
  const end = folioOf(pfn) + FOLIO_NR;
  let nr: u32 = 1;
  while (vpn + nr < last && pfn + nr < end && load<u32>(pteSlot(p, <usize>nr)) == pte + (nr << PTE_PFN_SHIFT)) nr++;
  return nr;
}

/** folio_maybe_dma_pinned for a large folio: the exact _pincount. */
@inline export function largeMaybePinned(head: u32): bool { return folioPincount(head) > 0; }

/**
 * copy_huge_pmd: share the THP with the child (+1 ref, +1 entire mapcount, both
 * PMDs write-protected, PageAnonExclusive cleared), unless it may be pinned: then
 * the PMD is split and copy_pte_range copies each page for the child. Returns
 * false when the caller must copy the (now split) range by PTEs.
 */
export function copyHugePmd(parent: i32, child: i32, cow: bool, vpn: u32): bool {
  const s = blockStart(vpn);
  const lp = hugeLeafPtr(parent, s);
  const leaf = load<u32>(lp);
  const head = ptePfn(leaf);
  if (head != 0 && !frameUsable(head)) violation(V_UAF, head, parent, <i32>s, ref(head), entireMapcount(head), 5);
  if (head != 0 && rule(SCHEME_COW_PINNED) != 0 && pinnedIn(parent) > 0 && largeMaybePinned(head)) {
    splitHugePmd(parent, s); // folio_try_dup_anon_rmap_pmd failed: __split_huge_pmd, -EAGAIN
    return false;
  }
  const shared = cow ? leaf & ~PTE_WRITE : leaf;
  store<u32>(lp, shared);
  setHugeLeaf(child, s, shared);
  const to = ptePtr(child, s, false), from = ptePtr(parent, s, false);
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) store<u32>(shadowOf(pteSlot(to, <usize>i)), load<u32>(shadowOf(pteSlot(from, <usize>i))));
  bump(ST_PTES_COPIED);
  if (head == 0) return true;
  folioGet(head, 1, parent, <i32>s);
  setEntireMapcount(head, entireMapcount(head) + 1);
  bump(ST_ATOMIC_MAP);
  clearFlag(head, PG_ANON_EXCLUSIVE);
  return true;
}

/**
 * do_huge_pmd_wp_page (a write, or FOLL_PIN's unshare): reuse the THP when it is
 * PageAnonExclusive, or when its only reference is this mapping; otherwise split
 * the PMD and let do_wp_page copy the one 4 KiB page (the huge zero page too).
 * Returns true if the PMD was reused, false if it was split.
 */
export function doHugePmdWpPage(mm: i32, vpn: u32, makeWritable: bool): bool {
  const s = blockStart(vpn);
  const lp = hugeLeafPtr(mm, s);
  const leaf = load<u32>(lp);
  const head = ptePfn(leaf);
  if (head != 0) {
    const exclusive = rule(SCHEME_ANON_EXCLUSIVE) != 0 && hasFlag(head, PG_ANON_EXCLUSIVE);
    if (exclusive || ref(head) == 1) {
      if (rule(SCHEME_ANON_EXCLUSIVE) != 0) addFlag(head, PG_ANON_EXCLUSIVE);
      if (makeWritable) store<u32>(lp, leaf | PTE_WRITE);
      bump(ST_WP_REUSE);
      return true;
    }
  }
  splitHugePmd(mm, s);
  return false;
}

/**
 * can_split_folio + split_folio, before migrating a PTE-mapped THP page by page:
 * refused while another mapping is a PMD or anything but mappings holds a
 * reference (a pin, a GUP ref, an in-flight fault). Returns true when split.
 */
export function trySplitFolio(head: u32): bool {
  if ((flags(head) & PG_HEAD) == 0) return true;
  if (entireMapcount(head) != 0 || ref(head) != folioMapcount(head)) {
    bump(ST_THP_SPLIT_FAIL);
    return false;
  }
  splitFolioPages(head);
  bump(ST_THP_SPLIT_FOLIO);
  return true;
}

/**
 * E5 migrate_vma of a whole PMD-mapped THP into a large device-private folio
 * (MIGRATE_VMA_SELECT_COMPOUND): when the THP lies wholly in [start, end), only this
 * PMD maps it and nothing else holds it, and driver d has a free 2 MiB block, the
 * data moves and the PMD becomes a device-private PMD entry (one reference, one
 * entire mapping); the THP goes back to its pool. Others are left to the split path.
 */
export function migrateHugeToDevice(mm: i32, start: u32, end: u32, d: i32, b: i32): void {
  for (let blk = (start + <u32>FOLIO_NR - 1) & ~(<u32>FOLIO_NR - 1); blk + <u32>FOLIO_NR <= end; blk += FOLIO_NR) {
    const leaf = hugeLeaf(mm, blk);
    const src = ptePfn(leaf);
    if (leaf == 0 || src == 0 || (leaf & PTE_PRESENT) == 0) continue;
    if (!wholeThp(src)) continue;
    const dst = allocDeviceFolio(d, b);
    if (dst == 0) continue;
    mapDeviceFolioPmd(mm, -1, blk, src, dst, (leaf & PTE_WRITE) != 0);
  }
}

/** migrate_vma_check_page for a PMD-mapped THP: only its one PMD mapping holds it (no pin, no other mapping). */
export function wholeThp(src: u32): bool { return entireMapcount(src) == 1 && ref(src) == 1; }

/**
 * E5: block blk of mm maps the large device-private folio dst by a device-private
 * PMD. From a THP src (remove_migration_pmd after folio_copy): the data and anon
 * state move and the THP's last reference goes. From a hole or the huge zero page
 * (src 0, migrate_vma_insert_huge_pmd_page, 6.19 mm/migrate_device.c): a cleared
 * new anon folio (folio_add_new_anon_rmap, RMAP_EXCLUSIVE) of VMA v, writable when
 * the VMA is, replacing the huge zero PMD without a reference to drop. Either way
 * dst ends at one reference (the allocation's put by migrate_vma_finalize) and one
 * entire mapping. The caller checked table space.
 */
export function mapDeviceFolioPmd(mm: i32, v: i32, blk: u32, src: u32, dst: u32, write: bool): void {
  if (src != 0) {
    copyFolio(src, dst);
  } else {
    anonVmaPrepare(v);
    for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
      setContent(dst + i, 0); // clear_highpage
      setPageIndex(dst + i, fileIndex(v, blk) + i);
      addFlag(dst + i, PG_ANON);
    }
    if (rule(SCHEME_ANON_EXCLUSIVE) != 0) addFlag(dst, PG_ANON_EXCLUSIVE);
  }
  const entry = mkPte(dst, PTE_DEVICE_PRIVATE | (write ? PTE_WRITE : 0));
  if (hugeLeaf(mm, blk) != 0) store<u32>(hugeLeafPtr(mm, blk), entry); // over the THP's or the huge zero page's PMD
  else setHugeLeaf(mm, blk, entry); // pmd_none: pgtable_trans_huge_deposit + set_pmd_at
  folioGet(dst, 1, mm, <i32>blk);
  setEntireMapcount(dst, 1);
  bump(ST_ATOMIC_MAP);
  folioPut(dst, 1, -1, -1); // migrate_vma_finalize: the driver's allocation reference
  if (src != 0) {
    setEntireMapcount(src, 0);
    bump(ST_ATOMIC_MAP);
    folioPut(src, 1, mm, <i32>blk); // the THP's last reference: back to the pool
  }
  bump(ST_MIGRATED, FOLIO_NR);
}

/**
 * folio_split of a large device-private folio (E5): every PMD mapping of it, in
 * any process, becomes 512 device-private entries, then the folio splits into small
 * device pages holding their own mappings' references; pages nothing maps are
 * freed. Refused (false) while anything but mappings, and the caller's `held`
 * references (which stay with heldPage), holds it.
 */
export function splitDeviceFolio(head: u32, heldPage: u32, held: i32): bool {
  if ((flags(head) & PG_HEAD) == 0) return true;
  for (let mm = 0; mm < mmCount; mm++) {
    if (!mmValid(mm)) continue;
    const blk = pmdAddress(mm, head); // rmap: where this mm maps the folio by a PMD
    if (blk != NO_ADDR) splitHugePmd(mm, blk);
  }
  if (ref(head) != folioMapcount(head) + held) {
    bump(ST_THP_SPLIT_FAIL);
    return false;
  }
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    const pfn = head + i;
    setRef(pfn, mapcount(pfn) + (pfn == heldPage ? held : 0));
    setFlags(pfn, flags(pfn) & ~(PG_HEAD | PG_TAIL));
  }
  setEntireMapcount(head, 0);
  noteSplitLarge();
  bump(ST_THP_SPLIT_FOLIO);
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) if (ref(head + i) == 0) pageFree(head + i, -1, -1); // unmapped pages go back
  return true;
}

/** The large device folios mapped by PMDs in [start, end) of mm, split (driver-initiated migrate_vma to RAM). */
export function splitDevicePmdsIn(mm: i32, start: u32, end: u32): void {
  for (let b = blockStart(start); b < end; b += FOLIO_NR) {
    const leaf = hugeLeaf(mm, b);
    if (leaf != 0 && (leaf & PTE_DEVICE_PRIVATE) != 0) splitDeviceFolio(ptePfn(leaf), 0, 0);
  }
}

/** Every large device folio of driver d (of BO b if b > 0) that processes map, split (migrate_device_range). */
export function splitDeviceFoliosOf(d: i32, b: i32): void {
  const base = <u32>driverBase(d);
  const end = base + <u32>driverSize(d);
  for (let pfn = base; pfn < end; pfn++) {
    const f = flags(pfn);
    if ((f & PG_HEAD) == 0 || (f & PG_DRIVER_HELD) != 0 || (b > 0 && deviceOwner(pfn) != b)) continue;
    splitDeviceFolio(pfn, 0, 0);
  }
}

/** The small pages devicePmdFault's fallback moved (dmirror_successful_migrated_pages counts them). */
export let pmdFaultMoved: i32 = 0;

/** hugeFault's answer when the access must go through a PTE instead. */
export const HUGE_NONE: u32 = 0xffffffff;

/**
 * The PMD part of handle_mm_fault (create_huge_pmd, do_huge_pmd_wp_page) for an
 * access at vpn: returns the page the access reaches through a PMD mapping
 * (0 for the huge zero page), or HUGE_NONE when the PTE path must handle it (no
 * PMD could be mapped, or it was split). `unshare` is FOLL_PIN's unshare fault of
 * a shared anon THP; `unshareZero` that of the huge zero page (a R/O longterm pin in
 * a COW mapping, 6.2+), which splits it (do_huge_pmd_wp_page's fallback). The caller
 * checked room for a fault.
 */
export function hugeFault(mm: i32, v: i32, vpn: u32, write: bool, unshare: bool, unshareZero: bool = false): u32 {
  let leaf = hugeLeaf(mm, vpn);
  if (leaf == 0) {
    if (!thpEligible(mm, v, vpn) || !doHugePmdAnonymousPage(mm, v, vpn, write)) return HUGE_NONE;
    bump(ST_FAULTS);
    leaf = hugeLeaf(mm, vpn);
  }
  let head = ptePfn(leaf);
  if ((leaf & PTE_DEVICE_PRIVATE) != 0) {
    bump(ST_FAULTS);
    if (!devicePmdFault(mm, blockStart(vpn), head, dmirrorTakeFailAlloc(head))) return HUGE_NONE; // now mapped by PTEs
    leaf = hugeLeaf(mm, vpn); // a THP mapped by the PMD
    head = ptePfn(leaf);
  }
  const needsWp = write && (leaf & PTE_WRITE) == 0;
  const needsUnshare = unshare && head != 0 && rule(SCHEME_ANON_EXCLUSIVE) != 0 && !hasFlag(head, PG_ANON_EXCLUSIVE);
  if (needsWp || needsUnshare || (unshareZero && head == 0)) {
    if (!doHugePmdWpPage(mm, vpn, needsWp)) return HUGE_NONE;
    bump(ST_FAULTS);
    head = ptePfn(hugeLeaf(mm, vpn));
  }
  return head == 0 ? 0 : head + (vpn & (FOLIO_NR - 1));
}

/**
 * do_huge_pmd_device_private -> pgmap->ops->migrate_to_ram with vmf->pte == NULL,
 * as lib/test_hmm.c's dmirror_devmem_fault does it: the whole folio (order 9,
 * MIGRATE_VMA_SELECT_COMPOUND) goes back into a THP from the pool, and every PMD
 * that mapped the device folio, in any process, maps the THP
 * (remove_migration_pmd); the device folio is freed. With no THP free the driver
 * allocates 512 small pages instead: the folio is split (migrate_vma_split_unmapped_folio)
 * and every page moves back. A folio also mapped by PTEs somewhere, or held by
 * anything but its mappings, takes the small-page way. Returns true when a THP
 * now maps blk. The caller checked room for a THP or 512 pages.
 */
export function devicePmdFault(mm: i32, blk: u32, head: u32, failAlloc: bool): bool {
  mmuNotifierInvalidate(mm, blk, blk + FOLIO_NR, MMU_NOTIFY_MIGRATE, pgmapOwner(driverOf(head))); // migrate_vma_collect
  // dmirror_devmem_fault_alloc_and_copy: xa_erase of every page's pt entry (its own notification was skipped)
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) dmirrorFaultErase(head + i, blk + i);
  const pmds = entireMapcount(head);
  const whole = folioMapcount(head) == pmds && ref(head) == pmds; // migrate_vma_check_page, folio_migrate_mapping
  // vma_alloc_folio(order 9), unless test_hmm's FAIL_ALLOC makes the driver take order 0
  const dst = whole && !failAlloc ? allocHugeFolio() : 0;
  pmdFaultMoved = 0;
  if (dst == 0) {
    splitDeviceFolio(head, 0, 0);
    for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
      const p = ptePtr(mm, blk + i, false);
      const pte = load<u32>(p);
      if ((pte & PTE_DEVICE_PRIVATE) != 0 && migratePageToRam(ptePfn(pte), 0, mm, blk + i)) pmdFaultMoved++;
    }
    return false;
  }
  copyFolio(head, dst);
  for (let m = 0; m < mmCount; m++) {
    if (!mmValid(m)) continue;
    const at = pmdAddress(m, head);
    if (at == NO_ADDR) continue;
    const lp = hugeLeafPtr(m, at);
    store<u32>(lp, mkPte(dst, PTE_PRESENT | (load<u32>(lp) & PTE_WRITE))); // remove_migration_pmd
    folioGet(dst, 1, m, <i32>at);
    setEntireMapcount(dst, entireMapcount(dst) + 1);
    setEntireMapcount(head, entireMapcount(head) - 1);
    bump(ST_ATOMIC_MAP, 2);
    folioPut(head, 1, m, <i32>at); // the device PMD's reference
  }
  bump(ST_THP_ALLOC);
  bump(ST_MIGRATED, FOLIO_NR);
  folioPut(dst, 1, -1, -1); // migrate_vma_finalize: the new folio's allocation reference
  return true;
}

/**
 * A migration source in a large folio is split first (migrate_vma_collect_pmd /
 * the device folio's folio_split); false when it cannot be, and nothing moves.
 */
export function splitForMigration(pfn: u32, held: i32): bool {
  if (!isLarge(pfn)) return true;
  return isDevice(pfn) ? splitDeviceFolio(folioOf(pfn), pfn, held) : trySplitFolio(folioOf(pfn));
}

/** Frames copy_present_page would need at fork for the PMD-mapped, maybe-pinned THPs of a range. */
export function pinnedHugeIn(parent: i32, start: u32, end: u32): i32 {
  if (rule(SCHEME_COW_PINNED) == 0 || pinnedIn(parent) == 0) return 0;
  let n = 0;
  for (let b = blockStart(start); b < end; b += FOLIO_NR) {
    const leaf = hugeLeaf(parent, b);
    const head = ptePfn(leaf);
    if (head != 0 && largeMaybePinned(head)) n += FOLIO_NR;
  }
  return n;
}

/** The driver's copy of a whole anonymous folio (folio_copy / copy_highpage per page): data, index, anon, exclusive. */
function copyFolio(src: u32, dst: u32): void {
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    setContent(dst + i, content(src + i));
    setPageIndex(dst + i, pageIndex(src + i));
    addFlag(dst + i, PG_ANON);
  }
  if (hasFlag(src, PG_ANON_EXCLUSIVE)) addFlag(dst, PG_ANON_EXCLUSIVE);
}
