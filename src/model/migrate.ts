/**
 * Device migration (mm/migrate_device.c): migrate_vma_setup (collect + unmap),
 * migrate_vma_pages, migrate_vma_finalize, for a range moving into device memory
 * and for single device pages moving back to RAM (migrate_to_ram).
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E2" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * m.write(mm, addr, 3);
 * const gpu = m.driverNew("device-private", 4);
 * m.migrateToDevice(mm, addr, 4096, gpu);
 * console.log(m.page(mm, addr)!.kind, m.read(mm, addr), m.page(mm, addr)!.kind); // device-private 3 system
 * ```
 */
import {
  HMM_DMIRROR_FLAG_FAIL_ALLOC, PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVMAP, PTE_DEVICE_PRIVATE, PTE_MIGRATION,
  KIND_DEVICE_PRIVATE, VM_WRITE, MMU_NOTIFY_MIGRATE, MMU_NOTIFY_CLEAR,
} from "../../assembly/abi.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { folioGet, folioPut, rmapAdd, rmapRemove } from "./refcount.ts";
import type { Driver } from "./memremap.ts";
import { allocDevicePage, type BufferObject } from "./driver.ts";
import { dmirrorAllocPage } from "./dmirror.ts";
import { Pte } from "./pgtable.ts";
import { rmapWalk, type Mapping } from "./rmap.ts";
import { splitForMigration } from "./thp.ts";
import type { Frame } from "./frames.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";

/**
 * The destination page for one source (as the core's allocDst): the driver's for
 * BO bo, or dmirror_migrate_alloc_and_copy's, which FAIL_ALLOC fails once.
 */
export function allocDst(m: Machine, d: Driver | null, bo: BufferObject | null): Frame | null {
  const f = m.migration.toMirror;
  if (!f) return allocDevicePage(m, d!, bo);
  if ((f.flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) !== 0) {
    f.flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC;
    return null;
  }
  const dst = dmirrorAllocPage(m, f.device);
  if (dst) m.dmirrors.pageMirror.set(dst.pfn, f.id);
  return dst;
}

/** Entry bits for a device page of this kind: device-private entry, present PTE, or devmap PTE. */
export function entryBits(m: Machine, kind: number, writable: boolean): number {
  const w = writable ? PTE_WRITE : 0;
  if (kind === KIND_DEVICE_PRIVATE) return PTE_DEVICE_PRIVATE | w;
  if (m.rules.coherentDevmap) return PTE_PRESENT | PTE_SPECIAL | PTE_DEVMAP | w;
  return PTE_PRESENT | w;
}

/** Point an entry at `page`; refcounted forms take a ref and an rmap. */
function installEntry(m: Machine, pte: Pte, page: Frame, bits: number, mm: number, vpn: number): void {
  pte.pfn = page.pfn;
  pte.bits = bits;
  if ((bits & PTE_SPECIAL) !== 0) return; // devmap: the owner's reference covers every mapping
  folioGet(m, page, 1, mm, vpn); // remove_migration_pte / migrate_vma_insert_page
  rmapAdd(m, page); // folio_add_anon_rmap_pte / folio_add_new_anon_rmap
}

/** migrate_vma_finalize's unlock + put of the allocation ref; the devmap owner keeps it. */
export function dropAllocRef(m: Machine, page: Frame, bits: number): void {
  if ((bits & PTE_DEVMAP) !== 0) page.ownerRef = true;
  else folioPut(m, page, 1, -1, -1); // migrate_vma_finalize: folio_unlock + folio_put
}

/**
 * migrate_vma_collect_pmd + migrate_device_unmap for page src: take the collect
 * reference, make every mapping a migration entry (rmap -1, ref -1 each). Returns
 * the mappings, or null if an exclusive page may be pinned (nothing changed).
 */
function collect(m: Machine, src: Frame, mm: number, vpn: number): Mapping[] | null {
  folioGet(m, src, 1, -1, -1); // migrate_vma_collect_pmd: folio_get
  if (collectMaybePinned(m, src)) {
    folioPut(m, src, 1, -1, -1);
    return null;
  }
  const maps = rmapWalk(m, src);
  for (const e of maps) {
    if (e.mm !== mm || e.vpn !== vpn) mmuNotifierInvalidate(m, e.mm, e.vpn, e.vpn + 1, MMU_NOTIFY_CLEAR, -1); // try_to_migrate_one
    setMigrationEntry(m, e.pte, src, e.mm, e.vpn);
  }
  return maps;
}

/**
 * migrate_vma_collect_pmd's folio_try_share_anon_rmap_pte fails on an exclusive anon page
 * that may be pinned (folio_maybe_dma_pinned): the page is not collected (6.1 mm/migrate_device.c;
 * page_try_share_anon_rmap 5.19-6.6). Shared with migrate_steps.ts's cut collect.
 */
export function collectMaybePinned(m: Machine, page: Frame): boolean {
  return m.rules.anonExclusive && page.anonExclusive && page.refcount >= m.rules.pinBias;
}

/**
 * pte maps page at (mm, vpn): make_{writable,readable}_migration_entry in its place,
 * folio_remove_rmap_pte and folio_put of the mapping's reference (migrate_vma_collect_pmd, and
 * try_to_migrate_one for the page's other mappings; 6.1 mm/migrate_device.c, mm/rmap.c).
 */
export function setMigrationEntry(m: Machine, pte: Pte, page: Frame, mm: number, vpn: number): void {
  pte.bits = PTE_MIGRATION | (pte.bits & PTE_WRITE);
  rmapRemove(m, page, mm, vpn);
  folioPut(m, page, 1, mm, vpn);
}

/** remove_migration_ptes(src, src): a failed migration puts the old entries back, then finalize's put. */
function restore(m: Machine, src: Frame, maps: Mapping[]): void {
  for (const e of maps) {
    e.pte.pfn = src.pfn;
    e.pte.bits = e.bits;
    folioGet(m, src, 1, e.mm, e.vpn); // remove_migration_pte: folio_get
    rmapAdd(m, src); // remove_migration_pte: folio_add_anon_rmap_pte
  }
  folioPut(m, src, 1, -1, -1); // migrate_vma_finalize: the collect ref
  m.counters.migrateFailed++;
}

/** Move src's data, index and anon state to dst and point every entry at dst (dstKind < 0: system RAM). */
export function moveTo(m: Machine, src: Frame, dst: Frame, maps: Mapping[], dstKind: number, wasExclusive: boolean): void {
  dst.content = src.content; // the driver's copy
  dst.index = src.index;
  dst.anon = true; // folio_migrate_mapping copies the anon mapping
  if (wasExclusive && m.rules.anonExclusive) dst.anonExclusive = true;
  for (const e of maps) {
    const writable = (e.bits & PTE_WRITE) !== 0;
    const bits = dstKind < 0 ? PTE_PRESENT | (writable ? PTE_WRITE : 0) : entryBits(m, dstKind, writable);
    installEntry(m, e.pte, dst, bits, e.mm, e.vpn);
  }
}

/** __migrate_device_pages: one MIGRATE notification from the first hole on (as the core). */
export function notifyHole(m: Machine, mm: Mm, vpn: number): void {
  if (m.migration.holeNotified) return;
  m.migration.holeNotified = true;
  mmuNotifierInvalidate(m, mm.id, vpn, m.migration.end, MMU_NOTIFY_MIGRATE, m.migration.owner);
}

/**
 * Migrate one system anon page (or a hole, or the zero page) at vpn of mm into a
 * page of driver d for BO bo. Returns true if the vpn now maps device memory.
 */
export function migrateOneToDevice(m: Machine, mm: Mm, vpn: number, d: Driver | null, bo: BufferObject | null): boolean {
  const v = mm.findVma(vpn)!;
  const writable = (v.flags & VM_WRITE) !== 0;
  const kind = m.migration.toMirror ? m.dmirrors.kind(m.migration.toMirror.device) : d!.kind;
  const pte = mm.tables.get(vpn);
  if (!pte || (pte.special && pte.pfn === 0)) {
    // a hole or the zero page: only anonymous memory is populated (migrate_vma_collect_hole)
    if (!v.anon) return false;
    notifyHole(m, mm, vpn);
    const table = mm.tables.ensureTable(m.tablePool, vpn);
    const dst = allocDst(m, d, bo);
    if (!dst) {
      m.counters.migrateFailed++;
      return false;
    }
    v.anonVma = true; // migrate_vma_insert_page (6.1 mm/migrate_device.c)
    // __page_set_anon_rmap returns early on a page that already looks anon: with a
    // stale mapping (S15) the index is never set, and rmap walks will miss the page.
    if (!dst.anon) dst.index = v.fileIndex(vpn);
    dst.anon = true;
    if (m.rules.anonExclusive) dst.anonExclusive = true;
    const bits = entryBits(m, kind, writable);
    let entry = pte;
    if (!entry) {
      entry = new Pte(dst.pfn, bits);
      table.entries.set(vpn, entry);
    }
    installEntry(m, entry, dst, bits, mm.id, vpn);
    dropAllocRef(m, dst, bits);
    m.counters.migrated++;
    m.migration.lastDst = dst;
    m.migration.lastSrcWrite = false; // migrate_vma_collect_hole: MIGRATE_PFN_MIGRATE only
    return true;
  }
  const src = m.frames.all[pte.pfn];
  if (!pte.normalPresent || m.frames.isDevice(src.pfn)) return false;
  if (!src.anon) return refuseFilePage(m, src, d, bo);
  // A page of a PTE-mapped THP: before the device-private THP series the PTE walk skips it
  // (PageTransCompound -> mpfn 0; migrate_vma_check_page refuses compound pages: 5.15
  // mm/migrate.c, 6.1 mm/migrate_device.c); from it, migrate_vma_split_folio splits the folio.
  if ((src.large && !m.rules.migrateSplitLarge) || !splitForMigration(m, src, 0)) {
    m.counters.migrateFailed++;
    return false;
  }
  const wasExclusive = src.anonExclusive;
  const maps = collect(m, src, mm.id, vpn);
  if (!maps) {
    m.counters.migrateFailed++;
    return false;
  }
  src.anonExclusive = false;
  // migrate_vma_check_page / folio_migrate_mapping: only the collect ref may remain
  const srcWrite = (pte.bits & PTE_WRITE) !== 0;
  const dst = src.refcount === 1 ? allocDst(m, d, bo) : null;
  if (!dst) {
    restore(m, src, maps); // remove_migration_pte restores PageAnonExclusive with the entry
    if (wasExclusive) src.anonExclusive = true;
    return false;
  }
  moveTo(m, src, dst, maps, kind, wasExclusive);
  dropAllocRef(m, dst, entryBits(m, kind, writable));
  folioPut(m, src, 1, mm.id, vpn); // the collect ref: the system page goes back to the buddy
  m.counters.migrated++;
  m.migration.lastDst = dst;
  m.migration.lastSrcWrite = srcWrite; // migrate_vma_collect_pmd: pte_write -> MIGRATE_PFN_WRITE
  return true;
}

/**
 * A page-cache page in the migrated range (as the core's refuseFilePage): collected,
 * given a device page unless migrate_vma_check_page fails, refused by
 * __migrate_device_pages, its device page put at finalize.
 */
function refuseFilePage(m: Machine, src: Frame, d: Driver | null, bo: BufferObject | null): boolean {
  if (!src.pageCache) return false; // truncated: page->mapping is NULL, not collected
  m.counters.migrateFailed++;
  if (src.refcount !== src.mapcount + 1) return false; // the check failed before the driver allocated
  const dst = allocDst(m, d, bo);
  if (dst) m.migration.refused.push(dst);
  return false;
}

/** The start of a migrate_vma over [start, end): collect's MIGRATE notification, a fresh finalize list. */
export function migrateBegin(m: Machine, mm: Mm, start: number, end: number, owner: number): void {
  mmuNotifierInvalidate(m, mm.id, start, end, MMU_NOTIFY_MIGRATE, owner); // migrate_vma_collect
  m.migration.owner = owner;
  m.migration.end = end;
  m.migration.holeNotified = false;
  m.migration.refused.length = 0;
}

/** migrate_vma_finalize: the device pages allocated for refused sources are put, in order. */
export function migrateFinalize(m: Machine): void {
  for (const dst of m.migration.refused) folioPut(m, dst, 1, -1, -1);
  m.migration.refused.length = 0;
}

/**
 * Move device page src back to system RAM with all its mappings: the driver's
 * migrate_to_ram on a CPU fault, a driver-initiated migrate_vma with
 * SELECT_DEVICE_*, or migrate_device_range by pfn. The caller holds `held` extra
 * references of its own (do_swap_page's fault ref) and drops them itself.
 * Returns true on success.
 */
export function migratePageToRam(m: Machine, src: Frame, held: number, mm: number, vpn: number): boolean {
  if (!splitForMigration(m, src, held)) { // a page of a large device folio (E5)
    m.counters.migrateFailed++;
    return false;
  }
  const wasExclusive = src.anonExclusive;
  const maps = collect(m, src, mm, vpn);
  if (!maps) {
    m.counters.migrateFailed++;
    return false;
  }
  src.anonExclusive = false;
  // migrate_vma_check_page / folio_migrate_mapping: only the era's base count, the
  // collect ref and the caller's refs may remain; anything else is a pin or a user.
  const exact = src.refcount === m.rules.freeAt(src.kind) + 1 + held;
  // Before ffa65753c431 migrate_vma_check_page passed device-private pages whatever
  // their count, but migrate_page_move_mapping (5.15 mm/migrate.c, expected_page_refs)
  // still wants the exact count: the driver's new page is allocated, then put (S17).
  const checked = src.kind !== KIND_DEVICE_PRIVATE || m.rules.migrateCheckDeviceRefs;
  if ((checked && !exact) || m.frames.freeSystemPages === 0) {
    restore(m, src, maps);
    if (wasExclusive) src.anonExclusive = true;
    return false;
  }
  const dst = m.frames.allocSystem(); // refcount 1: the allocation ref, dropped at finalize
  if (!exact) {
    folioPut(m, dst, 1, mm, vpn); // migrate_vma_finalize: the unused new page
    restore(m, src, maps);
    if (wasExclusive) src.anonExclusive = true;
    return false;
  }
  moveTo(m, src, dst, maps, -1, wasExclusive);
  folioPut(m, dst, 1, mm, vpn); // migrate_vma_finalize: the new page's allocation ref
  folioPut(m, src, 1, mm, vpn); // migrate_vma_finalize: the collect ref
  m.counters.migrated++;
  return true;
}
