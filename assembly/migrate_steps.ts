// migrate_to_device of one page cut where migrate_vma_collect_pmd drops the PTL, for
// the interleaving explorer (src/races/migrate-steps.ts), and the CPU fault that
// finds the migration entry in between.
//   collect (OP_MIGRATE_COLLECT): under the PTL folio_get (the collect reference),
//          folio_trylock (failing: folio_put, the page is skipped), the migration
//          entry, folio_remove_rmap_pte and folio_put of the mapping's reference; the
//          PTL is dropped with the folio locked (newest mm/migrate_device.c
//          migrate_vma_collect_pmd).
//   finish (OP_MIGRATE_FINISH): migrate_device_unmap's migrate_vma_check_page
//          ((refcount - extra) > mapcount refuses; extra = 1 for an anon system page),
//          then migrate_vma_pages / migrate_vma_finalize: the entries point at the
//          device page, or on failure remove_migration_ptes restores them; the folio is
//          unlocked and the collect reference put.
//   wait   (OP_MIGRATION_WAIT): do_swap_page on a migration entry -> migration_entry_wait.
//          Before ffa65753c431 (5.17; rule migrateCheckDeviceRefs off) __migration_entry_wait
//          takes get_page_unless_zero under the PTL and drops the PTL (waiter 0 -> a
//          waiter holding that reference); put_and_wait_on_page_locked puts it once the
//          waiter is queued (waiter w -> 0), then sleeps until unlock (5.15 mm/migrate.c,
//          mm/filemap.c wait_on_page_bit_common DROP). From ffa65753c431
//          migration_entry_wait_on_locked queues the waiter under the PTL, no reference.
// Only a small anon system page mapped once, at a PTE, is cut; the core refuses any
// other (ERR_BAD_STATE on 'addr') and the op then runs whole.
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_MIGRATION, PG_ANON, PG_ANON_EXCLUSIVE, PG_LOCKED,
  SCHEME_MIGRATE_CHECK_DEVICE_REFS, MMU_NOTIFY_MIGRATE, ST_MIGRATED, ST_MIGRATE_FAIL, MIGRATE_CUT_SLOTS, V_UAF,
} from "./abi";
import { violation } from "./violations";
import { bump } from "./stats";
import { rule } from "./scheme";
import { ref, mapcount, hasFlag, addFlag, clearFlag, isDevice, isLarge } from "./frames";
import { folioGet, folioPut, rmapAdd, frameUsable } from "./refcount";
import { ptePtr, ptePfn, mkPte, hugeLeaf } from "./pgtable";
import { rmapWalk, walkAt, walkPtr, walkMm, walkPte, walkVpn } from "./rmap";
import { findVma, vmaEnd, vmaFile } from "./mm";
import { fileRefusesMigrateVma } from "./file";
import { driverKind, driverState, DRIVER_GONE } from "./memremap";
import { createBo, boLive } from "./driver";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { allocDst, moveTo, entryBits, dropAllocRef, collectMaybePinned, setMigrationEntry } from "./migrate";

const CUT_LIVE: i32 = 1;
const CUT_SKIPPED: i32 = 2; // trylock failed or maybe pinned: nothing to finish but the BO
const CUT_EXCLUSIVE: i32 = 4; // PageAnonExclusive before the collect (restored with the entry)

const cutMm = memory.data(MIGRATE_CUT_SLOTS * 4);
const cutVpn = memory.data(MIGRATE_CUT_SLOTS * 4);
const cutPfn = memory.data(MIGRATE_CUT_SLOTS * 4);
const cutDriver = memory.data(MIGRATE_CUT_SLOTS * 4);
const cutBo = memory.data(MIGRATE_CUT_SLOTS * 4);
const cutState = memory.data(MIGRATE_CUT_SLOTS * 4); // 0: free
const cutPte = memory.data(MIGRATE_CUT_SLOTS * 4); // the PTE before the collect
const waitPfn = memory.data(MIGRATE_CUT_SLOTS * 4); // 0: free

@inline function at(base: usize, s: i32): usize { return base + (<usize>s << 2); }
@inline function get(base: usize, s: i32): i32 { return load<i32>(at(base, s)); }
@inline function set(base: usize, s: i32, v: i32): void { store<i32>(at(base, s), v); }

export function initMigrateSteps(): void {
  for (let s = 0; s < MIGRATE_CUT_SLOTS; s++) { set(cutState, s, 0); set(waitPfn, s, 0); }
}

function freeSlot(base: usize): i32 {
  for (let s = 0; s < MIGRATE_CUT_SLOTS; s++) if (get(base, s) == 0) return s;
  return -1;
}
export function migrateCutFree(): i32 { return freeSlot(cutState); }
export function migrationWaiterFree(): i32 { return freeSlot(waitPfn); }
export function migrateCutValid(t: i32): bool { return t >= 1 && t <= MIGRATE_CUT_SLOTS && get(cutState, t - 1) != 0; }
export function migrationWaiterValid(w: i32): bool { return w >= 1 && w <= MIGRATE_CUT_SLOTS && get(waitPfn, w - 1) != 0; }

/** The collect reference an open cut holds (its page, else 0), for the quiesce check. */
export function migrateCutHolding(s: i32): u32 {
  return (get(cutState, s) & (CUT_LIVE | CUT_SKIPPED)) == CUT_LIVE ? <u32>get(cutPfn, s) : 0;
}
/** The page a pre-5.17 waiter holds a reference on, else 0, for the quiesce check. */
export function migrationWaiterHolding(s: i32): u32 { return <u32>get(waitPfn, s); }

/** The page at (mm, vpn) if the cut takes it: a present small anon system page mapped once by a PTE; else 0. */
export function migrateCutPage(mm: i32, vpn: u32): u32 {
  const v = findVma(mm, vpn);
  if (v < 0 || vmaEnd(v) <= vpn || fileRefusesMigrateVma(vmaFile(v)) || hugeLeaf(mm, vpn) != 0) return 0;
  const p = ptePtr(mm, vpn, false);
  if (p == 0) return 0;
  const pte = load<u32>(p);
  const pfn = ptePfn(pte);
  if ((pte & (PTE_PRESENT | PTE_SPECIAL)) != PTE_PRESENT || pfn == 0 || isDevice(pfn) || !frameUsable(pfn)) return 0;
  if (!hasFlag(pfn, PG_ANON) || isLarge(pfn) || mapcount(pfn) != 1) return 0;
  return pfn;
}

/** migrate_vma_setup's collect of page pfn at (mm, vpn) for driver d, BO b (0: a new BO), up to dropping the PTL. Returns the cut (1-based). */
export function migrateCollect(mm: i32, vpn: u32, pfn: u32, d: i32, b: i32): i32 {
  const s = migrateCutFree();
  const bo = b != 0 ? b : createBo(d);
  const p = ptePtr(mm, vpn, false);
  const pte = load<u32>(p);
  set(cutMm, s, mm); set(cutVpn, s, <i32>vpn); set(cutPfn, s, <i32>pfn); set(cutDriver, s, d); set(cutBo, s, bo);
  set(cutPte, s, <i32>pte);
  mmuNotifierInvalidate(mm, vpn, vpn + 1, MMU_NOTIFY_MIGRATE, d); // migrate_vma_collect
  folioGet(pfn, 1, -1, -1); // migrate_vma_collect_pmd: folio_get, the collect reference
  if (hasFlag(pfn, PG_LOCKED) || collectMaybePinned(pfn)) {
    folioPut(pfn, 1, -1, -1); // folio_trylock failed, or folio_try_share_anon_rmap_pte (maybe pinned): mpfn 0
    bump(ST_MIGRATE_FAIL);
    set(cutState, s, CUT_LIVE | CUT_SKIPPED);
    return s + 1;
  }
  addFlag(pfn, PG_LOCKED);
  const excl = hasFlag(pfn, PG_ANON_EXCLUSIVE);
  clearFlag(pfn, PG_ANON_EXCLUSIVE);
  setMigrationEntry(p, pfn, mm, vpn);
  set(cutState, s, CUT_LIVE | (excl ? CUT_EXCLUSIVE : 0));
  return s + 1;
}

/** migrate_device_unmap's check, then migrate_vma_pages and migrate_vma_finalize. Returns the BO. */
export function migrateFinish(t: i32): i32 {
  const s = t - 1;
  const st = get(cutState, s);
  const bo = get(cutBo, s);
  set(cutState, s, 0);
  if ((st & CUT_SKIPPED) != 0) return bo;
  const mm = get(cutMm, s);
  const vpn = <u32>get(cutVpn, s);
  const pfn = <u32>get(cutPfn, s);
  const d = get(cutDriver, s);
  // The collect reference and the folio lock keep the page; if it went (freed, PG_locked cleared) something
  // dropped a reference it did not hold: a use after free (a mutation; no kernel gets here)
  if (!frameUsable(pfn) || !hasFlag(pfn, PG_LOCKED)) {
    violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 9);
    return bo;
  }
  // remove_migration_ptes walks the rmap for the migration entries (a zap may have cleared ours, a fork copied it)
  const n = rmapWalk(pfn);
  // a fork's copy_nonpresent_pte made an exclusive entry readable: exclusive only while ours is the one mapping
  const excl = (st & CUT_EXCLUSIVE) != 0 && n == 1;
  // migrate_vma_check_page: extra = 1 (folio_isolate_lru's reference, which replaced the collect one)
  const ok = ref(pfn) - 1 <= mapcount(pfn);
  // a BO freed or a driver gone since the collect: the driver allocates nothing (migrate_vma_pages skips the page)
  const dst = ok && boLive(bo) && driverState(d) != DRIVER_GONE ? allocDst(d, bo) : 0;
  const kind = driverKind(d);
  if (dst == 0) {
    for (let i = 0; i < n; i++) {
      const e = <u32>walkAt(walkPte, i);
      const m = walkAt(walkMm, i);
      const v = <u32>walkAt(walkVpn, i);
      // ours as it was (but write-protected if a fork made the entry readable), a fork's copy as a present PTE
      const orig = m == mm && v == vpn ? (<u32>get(cutPte, s) & ~PTE_WRITE) | (e & PTE_WRITE) : mkPte(pfn, PTE_PRESENT | (e & PTE_WRITE));
      store<u32>(<usize>walkAt(walkPtr, i), orig); // remove_migration_pte
      folioGet(pfn, 1, m, <i32>v);
      rmapAdd(pfn);
    }
    if (excl) addFlag(pfn, PG_ANON_EXCLUSIVE); // the exclusive migration entry restores it
    clearFlag(pfn, PG_LOCKED); // folio_unlock
    folioPut(pfn, 1, -1, -1); // the collect (isolation) reference
    bump(ST_MIGRATE_FAIL);
    return bo;
  }
  moveTo(pfn, dst, n, kind, excl);
  dropAllocRef(dst, entryBits(kind, false)); // only its devmap bit matters here
  clearFlag(pfn, PG_LOCKED); // migrate_vma_finalize: folio_unlock
  folioPut(pfn, 1, mm, <i32>vpn); // and folio_put: the system page goes back to the buddy
  bump(ST_MIGRATED);
  return bo;
}

/** The page of the migration entry at (mm, vpn), else 0. */
export function migrationEntryPage(mm: i32, vpn: u32): u32 {
  const p = ptePtr(mm, vpn, false);
  if (p == 0) return 0;
  const pte = load<u32>(p);
  return (pte & PTE_MIGRATION) != 0 ? ptePfn(pte) : 0;
}

/**
 * migration_entry_wait on the entry of page pfn: before ffa65753c431 the waiter
 * (returned, 1-based) holds get_page_unless_zero's reference; from it, none (0).
 */
export function migrationWaitBegin(pfn: u32, mm: i32, vpn: u32): i32 {
  if (rule(SCHEME_MIGRATE_CHECK_DEVICE_REFS) != 0) return 0; // migration_entry_wait_on_locked: no reference
  if (ref(pfn) == 0) return 0; // get_page_unless_zero failed: the fault is retried
  const s = migrationWaiterFree();
  folioGet(pfn, 1, mm, <i32>vpn); // __migration_entry_wait: get_page_unless_zero (5.15 mm/migrate.c)
  set(waitPfn, s, <i32>pfn);
  return s + 1;
}

/** put_and_wait_on_page_locked: queued on PG_locked, the waiter's reference put (5.15 mm/filemap.c). */
export function migrationWaitPut(w: i32, mm: i32, vpn: u32): void {
  const pfn = <u32>get(waitPfn, w - 1);
  set(waitPfn, w - 1, 0);
  if (!frameUsable(pfn)) { violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 9); return; } // its reference was taken from it
  folioPut(pfn, 1, mm, <i32>vpn);
}
