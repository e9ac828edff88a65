/**
 * migrate_to_device of one page cut where migrate_vma_collect_pmd drops the PTL, and
 * the CPU fault that finds the migration entry in between (as the core's
 * assembly/migrate_steps.ts; the explorer's wiring is src/races/migrate-steps.ts).
 *   collect: under the PTL folio_get (the collect reference), folio_trylock (failing:
 *            folio_put, the page is skipped), the migration entry,
 *            folio_remove_rmap_pte and folio_put of the mapping's reference; the PTL
 *            is dropped with the folio locked (newest mm/migrate_device.c).
 *   finish:  migrate_vma_check_page ((refcount - extra) > mapcount refuses; extra = 1
 *            for an anon system page), then migrate_vma_pages / migrate_vma_finalize, or
 *            remove_migration_ptes on failure; folio_unlock, the collect reference put.
 *   wait:    migration_entry_wait. Before ffa65753c431 (5.17) get_page_unless_zero
 *            under the PTL, put by put_and_wait_on_page_locked once queued (5.15
 *            mm/migrate.c, mm/filemap.c); from it migration_entry_wait_on_locked takes none.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * m.write(mm, addr, 5);
 * const gpu = m.driverNew("device-private", 4);
 * const t = m.runDetailed([{ op: "migrate_collect", mm, addr, driver: gpu }])[0].result;
 * console.log(m.page(mm, addr)!.pte.present, m.page(mm, addr)!.locked); // false true
 * m.runDetailed([{ op: "migrate_finish", migration: t }]);
 * console.log(m.page(mm, addr)!.kind, m.read(mm, addr)); // device-private 5
 * ```
 */
import { MIGRATE_CUT_SLOTS, MMU_NOTIFY_MIGRATE, PTE_PRESENT, PTE_WRITE, V_UAF } from "../../assembly/abi.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { folioGet, folioPut, rmapAdd } from "./refcount.ts";
import { rmapWalk } from "./rmap.ts";
import { allocDst, moveTo, entryBits, dropAllocRef, collectMaybePinned, setMigrationEntry } from "./migrate.ts";
import { fileRefusesMigrateVma } from "./file.ts";
import { createBo, type BufferObject } from "./driver.ts";
import type { Driver } from "./memremap.ts";
import type { Frame } from "./frames.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";

interface Cut {
  mm: Mm;
  vpn: number;
  page: Frame;
  driver: Driver;
  bo: BufferObject;
  /** Trylock failed or maybe pinned: nothing to finish but the BO. */
  skipped: boolean;
  /** PageAnonExclusive before the collect (restored with the entry). */
  exclusive: boolean;
  /** The PTE's bits before the collect. */
  bits: number;
}

/** Open migrate_collect cuts and pre-5.17 migration_wait waiters, by slot (handle h is slot h - 1), lowest free first. */
export class MigrateSteps {
  readonly cuts: Array<Cut | undefined> = new Array(MIGRATE_CUT_SLOTS).fill(undefined);
  readonly waiters: Array<Frame | undefined> = new Array(MIGRATE_CUT_SLOTS).fill(undefined);
  freeCut(): number { return this.cuts.findIndex((c) => c === undefined); }
  freeWaiter(): number { return this.waiters.findIndex((w) => w === undefined); }
  cut(t: number): Cut | undefined { return Number.isInteger(t) && t >= 1 && t <= MIGRATE_CUT_SLOTS ? this.cuts[t - 1] : undefined; }
  waiter(w: number): Frame | undefined { return Number.isInteger(w) && w >= 1 && w <= MIGRATE_CUT_SLOTS ? this.waiters[w - 1] : undefined; }
}

/** The page at vpn of mm if the cut takes it: a present small anon system page mapped once by a PTE. */
export function migrateCutPage(m: Machine, mm: Mm, vpn: number): Frame | undefined {
  const v = mm.findVma(vpn);
  if (!v || vpn >= v.end || fileRefusesMigrateVma(m, v.file)) return undefined;
  if (mm.tables.hugeLeaf(vpn)) return undefined;
  const pte = mm.tables.get(vpn);
  if (!pte || !pte.normalPresent || pte.pfn === 0 || m.frames.isDevice(pte.pfn)) return undefined;
  const page = m.frames.all[pte.pfn];
  return page.usable && page.anon && !page.large && page.mapcount === 1 ? page : undefined;
}

/** migrate_vma_setup's collect of page at vpn of mm for driver d, BO bo (null: a new one), up to dropping the PTL. */
export function migrateCollect(m: Machine, mm: Mm, vpn: number, page: Frame, d: Driver, bo: BufferObject | null): number {
  const s = m.migrateSteps.freeCut();
  const pte = mm.tables.get(vpn)!;
  const cut: Cut = { mm, vpn, page, driver: d, bo: bo ?? createBo(m, d), skipped: false, exclusive: false, bits: pte.bits };
  m.migrateSteps.cuts[s] = cut;
  mmuNotifierInvalidate(m, mm.id, vpn, vpn + 1, MMU_NOTIFY_MIGRATE, d.id); // migrate_vma_collect
  folioGet(m, page, 1, -1, -1); // migrate_vma_collect_pmd: folio_get, the collect reference
  if (page.locked || collectMaybePinned(m, page)) {
    folioPut(m, page, 1, -1, -1); // folio_trylock failed, or folio_try_share_anon_rmap_pte (maybe pinned): mpfn 0
    m.counters.migrateFailed++;
    cut.skipped = true;
    return s + 1;
  }
  page.locked = true;
  cut.exclusive = page.anonExclusive;
  page.anonExclusive = false;
  setMigrationEntry(m, pte, page, mm.id, vpn);
  return s + 1;
}

/** migrate_device_unmap's check, then migrate_vma_pages and migrate_vma_finalize. Returns the BO. */
export function migrateFinish(m: Machine, t: number): number {
  const cut = m.migrateSteps.cut(t)!;
  m.migrateSteps.cuts[t - 1] = undefined;
  if (cut.skipped) return cut.bo.id;
  const { page, mm, vpn } = cut;
  // The collect reference and the folio lock keep the page; if it went (freed, unlocked) something
  // dropped a reference it did not hold: a use after free (a mutation; no kernel gets here)
  if (!page.usable || !page.locked) {
    m.log.record(V_UAF, page.pfn, mm.id, vpn, page.refcount, page.mapcount, 9);
    return cut.bo.id;
  }
  const maps = rmapWalk(m, page); // remove_migration_ptes walks the rmap (a zap may have cleared ours, a fork copied it)
  // a fork's copy_nonpresent_pte made an exclusive entry readable: exclusive only while ours is the one mapping
  const exclusive = cut.exclusive && maps.length === 1;
  // migrate_vma_check_page: extra = 1 (folio_isolate_lru's reference, which replaced the collect one)
  const ok = page.refcount - 1 <= page.mapcount;
  // a BO freed or a driver gone since the collect: the driver allocates nothing (migrate_vma_pages skips the page)
  const dst = ok && cut.bo.state === "live" && cut.driver.state !== "gone" ? allocDst(m, cut.driver, cut.bo) : null;
  if (!dst) {
    for (const e of maps) {
      e.pte.pfn = page.pfn;
      // remove_migration_pte: ours as it was (but write-protected if a fork made the entry readable), a fork's copy as a present PTE
      e.pte.bits = e.mm === mm.id && e.vpn === vpn ? (cut.bits & ~PTE_WRITE) | (e.bits & PTE_WRITE) : PTE_PRESENT | (e.bits & PTE_WRITE);
      folioGet(m, page, 1, e.mm, e.vpn);
      rmapAdd(m, page);
    }
    if (exclusive) page.anonExclusive = true; // the exclusive migration entry restores it
    page.locked = false; // folio_unlock
    folioPut(m, page, 1, -1, -1); // the collect (isolation) reference
    m.counters.migrateFailed++;
    return cut.bo.id;
  }
  moveTo(m, page, dst, maps, cut.driver.kind, exclusive);
  dropAllocRef(m, dst, entryBits(m, cut.driver.kind, false)); // only its devmap bit matters here
  page.locked = false; // migrate_vma_finalize: folio_unlock
  folioPut(m, page, 1, mm.id, vpn); // and folio_put: the system page goes back to the buddy
  m.counters.migrated++;
  return cut.bo.id;
}

/** The page of the migration entry at vpn of mm, if there is one. */
export function migrationEntryPage(m: Machine, mm: Mm, vpn: number): Frame | undefined {
  const pte = mm.tables.get(vpn);
  return pte && pte.migration ? m.frames.all[pte.pfn] : undefined;
}

/** migration_entry_wait: before ffa65753c431 the waiter (returned) holds get_page_unless_zero's reference; from it, none (0). */
export function migrationWaitBegin(m: Machine, page: Frame, mm: Mm, vpn: number): number {
  if (m.rules.migrateCheckDeviceRefs) return 0; // migration_entry_wait_on_locked: no reference
  if (page.refcount === 0) return 0; // get_page_unless_zero failed: the fault is retried
  const s = m.migrateSteps.freeWaiter();
  folioGet(m, page, 1, mm.id, vpn); // __migration_entry_wait: get_page_unless_zero (5.15 mm/migrate.c)
  m.migrateSteps.waiters[s] = page;
  return s + 1;
}

/** put_and_wait_on_page_locked: queued on PG_locked, the waiter's reference put (5.15 mm/filemap.c). */
export function migrationWaitPut(m: Machine, w: number, mm: Mm, vpn: number): void {
  const page = m.migrateSteps.waiter(w)!;
  m.migrateSteps.waiters[w - 1] = undefined;
  if (!page.usable) { m.log.record(V_UAF, page.pfn, mm.id, vpn, page.refcount, page.mapcount, 9); return; } // its reference was taken from it
  folioPut(m, page, 1, mm.id, vpn);
}

/** The references open cuts and waiters hold, by page, for the quiesce check. */
export function migrateStepsHolding(m: Machine): Frame[] {
  const out: Frame[] = [];
  for (let s = 0; s < MIGRATE_CUT_SLOTS; s++) {
    const c = m.migrateSteps.cuts[s];
    if (c && !c.skipped) out.push(c.page);
    const w = m.migrateSteps.waiters[s];
    if (w) out.push(w);
  }
  return out;
}
