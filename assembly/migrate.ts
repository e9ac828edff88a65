// Device migration (mm/migrate_device.c): migrate_vma_setup (collect + unmap),
// migrate_vma_pages, migrate_vma_finalize, for a range moving into device
// memory and for single device pages moving back to RAM (migrate_to_ram).
import {
  HMM_DMIRROR_FLAG_FAIL_ALLOC, PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVMAP, PTE_DEVICE_PRIVATE, PTE_MIGRATION, PTE_FORM_DEVMAP,
  PG_ANON, PG_ANON_EXCLUSIVE, PG_OWNER_REF, KIND_DEVICE_PRIVATE, SCHEME_COHERENT_PTE, SCHEME_ANON_EXCLUSIVE,
  ST_MIGRATED, ST_MIGRATE_FAIL, ST_ATOMIC_REF, ST_ATOMIC_MAP, PG_ALLOCATED, PG_HEAD, PG_TAIL, PG_KIND_SHIFT, VM_WRITE, SCHEME_MIGRATE_CHECK_DEVICE_REFS, SCHEME_MIGRATE_SPLIT_LARGE, PG_PAGECACHE, MMU_NOTIFY_MIGRATE, MMU_NOTIFY_CLEAR,
} from "./abi";
import { bump } from "./stats";
import { rule, pinBias, freeAt } from "./scheme";
import {
  ref, mapcount, content, setContent, hasFlag, addFlag, clearFlag, setPageIndex, pageIndex, kindOf, isDevice,
  allocSystemPage, allocSystemPageAs, noteAlloc, freeSystemFrames, isLarge, flags, setMapcount, setLastOp, setRef, freeSystemPage,
} from "./frames";
import { counterOn } from "./counters/layer";
import { currentOp } from "./violations";
import { splitForMigration } from "./thp";
import { folioGet, folioPut, rmapAdd, rmapRemove } from "./refcount";
import { driverKind } from "./memremap";
import { allocDevicePage } from "./driver";
import { dmirrorKind, dmirrorAllocPage, setPageMirror } from "./dmirror";
import { mirrorDevice, mirrorFlags, setMirrorFlags } from "./mirror";
import { ptePtr, ptePfn, mkPte } from "./pgtable";
import { rmapWalk, walkAt, walkPtr, walkMm, walkPte, walkVpn, walkTablesBegin, walkTablesEnd, walkTablesDrop } from "./rmap";
import { findVma, vmaFlags, fileIndex, isAnon, anonVmaPrepare } from "./mm";
import { mmuNotifierInvalidate } from "./mmu_notifier";

let refusedBase: usize = 0; // device pages allocated for sources __migrate_device_pages refused
let refusedCount: i32 = 0;
let migrateEnd: u32 = 0;
let migrateOwner: i32 = -1; // args->pgmap_owner: the owner the collect notifications carry
let holeNotified = false;
// A test_hmm MIGRATE_TO_DEV: the mirror whose device allocates (dmirror_migrate_alloc_and_copy), or -1
let toMirror: i32 = -1;
/** The last page migrateOneToDevice moved: its device page, and whether the source entry was writable (MIGRATE_PFN_WRITE). */
export let lastDst: u32 = 0;
export let lastSrcWrite: bool = false;

/** The allocator of the migration being run: a driver's BO, or a test_hmm mirror's device (setMigrateMirror). */
export function setMigrateMirror(m: i32): void { toMirror = m; }

/**
 * The destination page for one source page: the driver's allocation for BO b, or
 * dmirror_migrate_alloc_and_copy's: HMM_DMIRROR_FLAG_FAIL_ALLOC fails it once
 * (and clears the flag), else dmirror_devmem_alloc_page; the device page records
 * the mirror (rpage->zone_device_data = dmirror).
 */
@inline export function allocDst(d: i32, b: i32): u32 {
  return toMirror < 0 ? allocDevicePage(d, b) : allocMirrorDst();
}

/** allocDst for a test_hmm mirror's migration. */
function allocMirrorDst(): u32 {
  const f = mirrorFlags(toMirror);
  if ((f & HMM_DMIRROR_FLAG_FAIL_ALLOC) != 0) {
    setMirrorFlags(toMirror, f & ~HMM_DMIRROR_FLAG_FAIL_ALLOC);
    return 0;
  }
  const dst = dmirrorAllocPage(mirrorDevice(toMirror));
  if (dst != 0) setPageMirror(dst, toMirror);
  return dst;
}

export function initMigrate(devFrames: i32): void {
  refusedBase = heap.alloc(<usize>max<i32>(devFrames, 1) << 2);
}

/** Entry bits for a device page of this kind: device-private entry, present PTE, or devmap PTE. */
export function entryBits(kind: i32, writable: bool): u32 {
  const w: u32 = writable ? PTE_WRITE : 0;
  if (kind == KIND_DEVICE_PRIVATE) return PTE_DEVICE_PRIVATE | w;
  if (rule(SCHEME_COHERENT_PTE) == PTE_FORM_DEVMAP) return PTE_PRESENT | PTE_SPECIAL | PTE_DEVMAP | w;
  return PTE_PRESENT | w;
}

/** Install a mapping of page `pfn` with entry bits; refcounted forms take a ref and an rmap. */
@inline function installEntry(p: usize, pfn: u32, bits: u32, mm: i32, vpn: i32): void {
  store<u32>(p, mkPte(pfn, bits));
  if ((bits & PTE_SPECIAL) != 0) return; // devmap: the owner's reference covers every mapping
  folioGet(pfn, 1, mm, vpn); // remove_migration_pte / migrate_vma_insert_page
  rmapAdd(pfn); // folio_add_anon_rmap_pte / folio_add_new_anon_rmap
}

/** migrate_vma_finalize's unlock + put of the allocation ref; the devmap owner keeps it. */
@inline export function dropAllocRef(pfn: u32, bits: u32): void {
  if ((bits & PTE_DEVMAP) != 0) addFlag(pfn, PG_OWNER_REF);
  else folioPut(pfn, 1, -1, -1);
}

/**
 * migrate_vma_collect_pmd + migrate_device_unmap for page src: take the collect
 * reference, make every mapping a migration entry (rmap -1, ref -1 each). Returns
 * the number of entries, or -1 if an exclusive page may be pinned (restored at once).
 * The mapping at (mm, vpn) is the migrate_vma's own (its MIGRATE notification came
 * first); every other one is unmapped by try_to_migrate_one, which notifies CLEAR.
 */
@inline function collect(src: u32, mm: i32, vpn: u32): i32 {
  // A small allocated page, not maybe pinned, no counter layer: folio_get's and the puts' checks
  // cannot fire (getPutQuiet, collectOwn), so the walk may come first and one mapping of its own is
  // unmapped in one step. Performance only: the same counts, entries, statistics and lastOp.
  if (getPutQuiet(src)
      && !(rule(SCHEME_ANON_EXCLUSIVE) != 0 && (flags(src) & PG_ANON_EXCLUSIVE) != 0 && ref(src) + 1 >= pinBias())) {
    const n = rmapWalk(src);
    if (n == 1 && walkAt(walkMm, 0) == mm && <u32>walkAt(walkVpn, 0) == vpn && mapcount(src) > 0) {
      collectOwn(src);
      return 1;
    }
    folioGet(src, 1, -1, -1); // the page is allocated: no violation, the count + 1
    return unmapWalked(src, mm, vpn, n);
  }
  folioGet(src, 1, -1, -1);
  if (collectMaybePinned(src)) {
    folioPut(src, 1, -1, -1);
    return -1;
  }
  return unmapWalked(src, mm, vpn, rmapWalk(src));
}

/**
 * collect of a page whose one mapping the walk found is the migration's own (walk entry 0): folio_get,
 * the migration entry, folio_remove_rmap_pte and folio_put of the mapping's reference in their net
 * effect. The count (above the kind's free trigger) is back where it was; the mapcount, above 0,
 * one lower; two refcount atomics and one mapcount atomic, as collect's.
 */
@inline function collectOwn(src: u32): void {
  const p = <usize>walkAt(walkPtr, 0);
  store<u32>(p, mkPte(src, PTE_MIGRATION | (load<u32>(p) & PTE_WRITE)));
  setMapcount(src, mapcount(src) - 1);
  setLastOp(src, currentOp);
  bump(ST_ATOMIC_REF, 2);
  bump(ST_ATOMIC_MAP);
}

/** collect's unmap of the n mappings the walk found: each a migration entry (rmap -1, ref -1). */
@inline function unmapWalked(src: u32, mm: i32, vpn: u32, n: i32): i32 {
  for (let i = 0; i < n; i++) {
    const at = <u32>walkAt(walkVpn, i);
    if (walkAt(walkMm, i) != mm || at != vpn) mmuNotifierInvalidate(walkAt(walkMm, i), at, at + 1, MMU_NOTIFY_CLEAR, -1);
    setMigrationEntry(<usize>walkAt(walkPtr, i), src, walkAt(walkMm, i), at);
  }
  return n;
}

/**
 * migrate_vma_collect_pmd's folio_try_share_anon_rmap_pte fails on an exclusive anon page
 * that may be pinned (folio_maybe_dma_pinned): the page is not collected (6.1 mm/migrate_device.c;
 * page_try_share_anon_rmap 5.19-6.6). Shared with migrate_steps.ts's cut collect.
 */
export function collectMaybePinned(pfn: u32): bool {
  return rule(SCHEME_ANON_EXCLUSIVE) != 0 && hasFlag(pfn, PG_ANON_EXCLUSIVE) && ref(pfn) >= pinBias();
}

/**
 * The PTE at p maps pfn at (mm, vpn): make_{writable,readable}_migration_entry in its place,
 * folio_remove_rmap_pte and folio_put of the mapping's reference (migrate_vma_collect_pmd, and
 * try_to_migrate_one for the page's other mappings; 6.1 mm/migrate_device.c, mm/rmap.c).
 */
@inline export function setMigrationEntry(p: usize, pfn: u32, mm: i32, vpn: u32): void {
  store<u32>(p, mkPte(pfn, PTE_MIGRATION | (load<u32>(p) & PTE_WRITE)));
  rmapRemove(pfn, mm, <i32>vpn);
  folioPut(pfn, 1, mm, <i32>vpn);
}

/** remove_migration_ptes(src, src): a failed migration puts the old entries back. */
function restore(src: u32, n: i32): void {
  for (let i = 0; i < n; i++) {
    const p = <usize>walkAt(walkPtr, i);
    store<u32>(p, <u32>walkAt(walkPte, i));
    folioGet(src, 1, walkAt(walkMm, i), walkAt(walkVpn, i));
    rmapAdd(src);
  }
  folioPut(src, 1, -1, -1); // migrate_vma_finalize: the collect ref
  bump(ST_MIGRATE_FAIL);
}

/** Move src's data, index and anon state to dst and point every entry at dst. */
@inline export function moveTo(src: u32, dst: u32, n: i32, dstKind: i32, wasExclusive: bool): void {
  setContent(dst, content(src)); // the driver's copy
  setPageIndex(dst, pageIndex(src));
  addFlag(dst, PG_ANON); // folio_migrate_mapping copies the anon mapping
  if (wasExclusive && rule(SCHEME_ANON_EXCLUSIVE) != 0) addFlag(dst, PG_ANON_EXCLUSIVE);
  for (let i = 0; i < n; i++) {
    const writable = (<u32>walkAt(walkPte, i) & PTE_WRITE) != 0;
    const bits = dstKind < 0 ? PTE_PRESENT | (writable ? PTE_WRITE : 0) : entryBits(dstKind, writable);
    installEntry(<usize>walkAt(walkPtr, i), dst, bits, walkAt(walkMm, i), walkAt(walkVpn, i));
  }
}

/**
 * folio_get then folio_put of one reference on small page pfn cannot report anything nor free it: no
 * counter layer, the page allocated, its count above its kind's free trigger (so the put's floor, that
 * trigger or 0 for a drained pgmap, is not crossed). Then the pair's net effect is its two atomics.
 */
@inline function getPutQuiet(pfn: u32): bool {
  const f = flags(pfn);
  return !counterOn && (f & (PG_ALLOCATED | PG_HEAD | PG_TAIL)) == PG_ALLOCATED && ref(pfn) > freeAt(<i32>((f >> PG_KIND_SHIFT) & 7));
}

/**
 * moveTo for the one mapping the walk found (entry 0), of a refcounted form, then dropAllocRef's
 * folio_put (the caller checked getPutQuiet(dst)): the data, index and anon state, the entry, the
 * mapping's rmap; the count stays (installEntry's folio_get and the put), two refcount atomics.
 */
@inline function moveOneTo(src: u32, dst: u32, dstKind: i32, wasExclusive: bool): void {
  setContent(dst, content(src)); // the driver's copy
  setPageIndex(dst, pageIndex(src));
  addFlag(dst, wasExclusive && rule(SCHEME_ANON_EXCLUSIVE) != 0 ? PG_ANON | PG_ANON_EXCLUSIVE : PG_ANON);
  const writable = (<u32>walkAt(walkPte, 0) & PTE_WRITE) != 0;
  installEntryQuiet(<usize>walkAt(walkPtr, 0), dst, entryBits(dstKind, writable));
}

/**
 * installEntry of a refcounted entry (not devmap), then dropAllocRef's folio_put, on a page where the
 * pair cannot report anything (getPutQuiet): the entry and the rmap; the count stays, two refcount atomics.
 */
@inline function installEntryQuiet(p: usize, dst: u32, bits: u32): void {
  store<u32>(p, mkPte(dst, bits));
  setMapcount(dst, mapcount(dst) + 1); // folio_add_anon_rmap_pte / folio_add_new_anon_rmap
  bump(ST_ATOMIC_REF, 2);
  bump(ST_ATOMIC_MAP);
}

/**
 * Migrate one system anon page (or a hole) at vpn of mm into a page of driver d for
 * BO b. Returns true if the vpn now maps device memory.
 */
export function migrateOneToDevice(mm: i32, vpn: u32, d: i32, b: i32): bool {
  const v = findVma(mm, vpn);
  const writable = (vmaFlags(v) & VM_WRITE) != 0;
  const kind = toMirror >= 0 ? dmirrorKind(mirrorDevice(toMirror)) : driverKind(d);
  const at = ptePtr(mm, vpn, false);
  const pte = at == 0 ? 0 : load<u32>(at);
  const pfn = ptePfn(pte);
  if (pte == 0 || ((pte & PTE_SPECIAL) != 0 && pfn == 0)) {
    // a hole or the zero page: migrate_vma_collect_hole and migrate_vma_insert_page
    // populate only anonymous memory (vma_is_anonymous): elsewhere it is skipped
    if (!isAnon(v)) return false;
    notifyHole(mm, vpn);
    if (at == 0) walkTablesDrop(); // the tables the hole needs are allocated: a pgd or pmd slot changes
    const p = at != 0 ? at : ptePtr(mm, vpn, true);
    const dst = allocDst(d, b);
    if (dst == 0) { bump(ST_MIGRATE_FAIL); return false; }
    anonVmaPrepare(v); // migrate_vma_insert_page (6.1 mm/migrate_device.c)
    // __page_set_anon_rmap returns early on a page that already looks anon: with a
    // stale mapping (S15) the index is never set, and rmap walks will miss the page.
    if (!hasFlag(dst, PG_ANON)) setPageIndex(dst, fileIndex(v, vpn));
    addFlag(dst, rule(SCHEME_ANON_EXCLUSIVE) != 0 ? PG_ANON | PG_ANON_EXCLUSIVE : PG_ANON);
    const bits = entryBits(kind, writable);
    if ((bits & PTE_SPECIAL) == 0 && getPutQuiet(dst)) {
      installEntryQuiet(p, dst, bits); // the count stays (performance only)
    } else {
      installEntry(p, dst, bits, mm, <i32>vpn);
      dropAllocRef(dst, bits);
    }
    bump(ST_MIGRATED);
    lastDst = dst;
    lastSrcWrite = false; // migrate_vma_collect_hole: MIGRATE_PFN_MIGRATE only (the zero page too)
    return true;
  }
  if ((pte & (PTE_PRESENT | PTE_SPECIAL)) != PTE_PRESENT || isDevice(pfn)) return false;
  if (!hasFlag(pfn, PG_ANON)) return refuseFilePage(pfn, d, b);
  // A page of a PTE-mapped THP: before the device-private THP series the PTE walk skips it
  // (PageTransCompound -> mpfn 0; migrate_vma_check_page refuses compound pages: 5.15
  // mm/migrate.c, 6.1 mm/migrate_device.c); from it, migrate_vma_split_folio splits the folio.
  if (isLarge(pfn) && rule(SCHEME_MIGRATE_SPLIT_LARGE) == 0) { bump(ST_MIGRATE_FAIL); return false; }
  if (isLarge(pfn) && !splitForMigration(pfn, 0)) { bump(ST_MIGRATE_FAIL); return false; } // a small page: nothing to split
  const wasExclusive = hasFlag(pfn, PG_ANON_EXCLUSIVE);
  const n = collect(pfn, mm, vpn);
  if (n < 0) { bump(ST_MIGRATE_FAIL); return false; }
  clearFlag(pfn, PG_ANON_EXCLUSIVE);
  // migrate_vma_check_page / folio_migrate_mapping: only the collect ref may remain
  const dst = ref(pfn) == 1 ? allocDst(d, b) : 0;
  if (dst == 0) {
    restore(pfn, n); // remove_migration_pte restores PageAnonExclusive with the entry
    if (wasExclusive) addFlag(pfn, PG_ANON_EXCLUSIVE);
    return false;
  }
  const bits = entryBits(kind, writable);
  // one mapping of a refcounted form (not devmap): installEntry's folio_get and rmap, then dropAllocRef's put
  if (n == 1 && (bits & PTE_SPECIAL) == 0 && getPutQuiet(dst)) moveOneTo(pfn, dst, kind, wasExclusive);
  else {
    moveTo(pfn, dst, n, kind, wasExclusive);
    dropAllocRef(dst, bits);
  }
  // the collect ref: the system page goes back to the buddy (folio_put -> __folio_put, free_unref_folios)
  if (!counterOn && (flags(pfn) & (PG_ALLOCATED | PG_HEAD | PG_TAIL | (7 << PG_KIND_SHIFT))) == PG_ALLOCATED && ref(pfn) == 1) {
    setRef(pfn, 0); // folioPut's checks cannot fire on a small allocated system page at 1 (performance only)
    bump(ST_ATOMIC_REF);
    freeSystemPage(pfn);
  } else folioPut(pfn, 1, mm, <i32>vpn);
  bump(ST_MIGRATED);
  lastDst = dst;
  lastSrcWrite = (pte & PTE_WRITE) != 0; // migrate_vma_collect_pmd: pte_write -> MIGRATE_PFN_WRITE
  return true;
}

/**
 * A page-cache page (a private file mapping's unCOWed page, a shared or shmem
 * page) in the migrated range: migrate_vma_collect_pmd collects it (it has a
 * mapping) and, unless something holds it beyond its mappings and the cache
 * (migrate_vma_check_page), the driver allocates a device page for it; then
 * __migrate_device_pages refuses it (not folio_test_anon, into device memory) and
 * migrate_vma_finalize restores its entries and puts that device page. The
 * entries end as they were; the device page is put when the op finalizes.
 */
function refuseFilePage(pfn: u32, d: i32, b: i32): bool {
  if (!hasFlag(pfn, PG_PAGECACHE)) return false; // truncated: page->mapping is NULL, not collected
  bump(ST_MIGRATE_FAIL);
  if (ref(pfn) != mapcount(pfn) + 1) return false; // the check failed before the driver allocated
  const dst = allocDst(d, b);
  if (dst != 0) {
    store<u32>(refusedBase + (<usize>refusedCount << 2), dst);
    refusedCount++;
  }
  return false;
}

/** __migrate_device_pages: one MIGRATE notification, from the first hole the migration populates to its end. */
@inline export function notifyHole(mm: i32, vpn: u32): void {
  if (!holeNotified) notifyHoleFirst(mm, vpn); // once per migration: the test inline, the notification out of line
}

function notifyHoleFirst(mm: i32, vpn: u32): void {
  holeNotified = true;
  mmuNotifierInvalidate(mm, vpn, migrateEnd, MMU_NOTIFY_MIGRATE, migrateOwner);
}

/** The start of a migrate_vma over [.., end): collect's MIGRATE notification, a fresh finalize list. */
export function migrateBegin(mm: i32, start: u32, end: u32, owner: i32): void {
  mmuNotifierInvalidate(mm, start, end, MMU_NOTIFY_MIGRATE, owner); // migrate_vma_collect
  walkTablesBegin();
  migrateOwner = owner;
  migrateEnd = end;
  holeNotified = false;
  refusedCount = 0;
}

/** migrate_vma_finalize: the device pages allocated for refused sources are put, in order. */
export function migrateFinalize(): void {
  walkTablesEnd();
  for (let i = 0; i < refusedCount; i++) folioPut(load<u32>(refusedBase + (<usize>i << 2)), 1, -1, -1);
  refusedCount = 0;
}

/**
 * Move device page src back to system RAM with all its mappings: the driver's
 * migrate_to_ram on a CPU fault, a driver-initiated migrate_vma with
 * SELECT_DEVICE_*, or migrate_device_range by pfn. The caller holds `held` extra
 * references of its own (do_swap_page's fault ref) and drops them itself.
 * Returns true on success.
 */
export function migratePageToRam(src: u32, held: i32, mm: i32, vpn: u32): bool {
  const large = isLarge(src);
  if (large && !splitForMigration(src, held)) { // a page of a large device folio (E5); a small page: nothing to split
    bump(ST_MIGRATE_FAIL);
    return false;
  }
  if (large) walkTablesDrop(); // the split's split_huge_pmd in each mapper: pmd slots changed
  const wasExclusive = hasFlag(src, PG_ANON_EXCLUSIVE);
  const n = collect(src, mm, vpn);
  if (n < 0) {
    bump(ST_MIGRATE_FAIL);
    return false;
  }
  clearFlag(src, PG_ANON_EXCLUSIVE);
  // migrate_vma_check_page / folio_migrate_mapping: only the era's base count, the
  // collect ref and the caller's refs may remain; anything else is a pin or a user.
  const exact = ref(src) == freeAt(kindOf(src)) + 1 + held;
  // Before ffa65753c431 migrate_vma_check_page passed device-private pages whatever
  // their count, but migrate_page_move_mapping (5.15 mm/migrate.c, expected_page_refs)
  // still wants the exact count: the driver's new page is allocated, then put (S17).
  const checked = kindOf(src) != KIND_DEVICE_PRIVATE || rule(SCHEME_MIGRATE_CHECK_DEVICE_REFS) != 0;
  if ((checked && !exact) || freeSystemFrames() == 0) {
    restore(src, n);
    if (wasExclusive) addFlag(src, PG_ANON_EXCLUSIVE);
    return false;
  }
  if (exact && n > 0 && !counterOn) {
    // alloc_page, moveTo's copy and n present entries, each folio_get and rmap, then finalize's put of
    // the allocation ref: the new page's fields stored once, in their final values (allocSystemPageAs;
    // no check can fire on a fresh page at count 1 + n). Performance only: the same frame, counts,
    // entries and statistics (n + 1 refcount atomics, n mapcount atomics; n > 0: the put does not free it).
    const excl = wasExclusive && rule(SCHEME_ANON_EXCLUSIVE) != 0 ? PG_ANON_EXCLUSIVE : 0;
    const dst = allocSystemPageAs(n, PG_ANON | excl, pageIndex(src), content(src));
    noteAlloc();
    setRef(dst, n);
    for (let i = 0; i < n; i++) {
      const writable = (<u32>walkAt(walkPte, i) & PTE_WRITE) != 0;
      store<u32>(<usize>walkAt(walkPtr, i), mkPte(dst, PTE_PRESENT | (writable ? PTE_WRITE : 0)));
    }
    bump(ST_ATOMIC_REF, n + 1);
    bump(ST_ATOMIC_MAP, n);
  } else {
    const dst = allocSystemPage(); // refcount 1: the allocation ref, dropped at finalize
    if (!exact) {
      folioPut(dst, 1, mm, <i32>vpn); // migrate_vma_finalize: the unused new page
      restore(src, n);
      if (wasExclusive) addFlag(src, PG_ANON_EXCLUSIVE);
      return false;
    }
    moveTo(src, dst, n, -1, wasExclusive);
    folioPut(dst, 1, mm, <i32>vpn);
  }
  folioPut(src, 1, mm, <i32>vpn); // migrate_vma_finalize: the collect ref
  bump(ST_MIGRATED);
  return true;
}
