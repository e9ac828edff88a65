/**
 * migrate_vma_collect against a concurrent CPU fault, as steps (the core's
 * assembly/migrate_steps.ts). A thread's migrate_to_device of one page (a small anon
 * system page mapped once; any other runs whole, one step) is two steps:
 *   1. migrate_collect: migrate_vma_collect_pmd under the PTL: folio_get (the collect
 *      reference), folio_trylock (a failure puts it and skips the page), the migration
 *      entry, folio_remove_rmap_pte and folio_put of the mapping's reference; the PTL
 *      is dropped with the folio still locked (newest mm/migrate_device.c);
 *   2. migrate_finish: migrate_device_unmap's migrate_vma_check_page ((refcount -
 *      extra) > mapcount refuses; extra = 1 for an anon system page), migrate_vma_pages
 *      and migrate_vma_finalize (remove_migration_ptes, folio_unlock, folio_put).
 * A CPU read or write that finds the migration entry is do_swap_page ->
 * migration_entry_wait, per era:
 *   before ffa65753c431 (2022-01, 5.17; rule migrateCheckDeviceRefs off; no preset, E0
 *     takes the commit): __migration_entry_wait takes get_page_unless_zero under the
 *     PTL and drops the PTL (a step), then put_and_wait_on_page_locked queues on
 *     PG_locked and puts it (a step) and sleeps until the folio is unlocked (5.15
 *     mm/migrate.c, mm/filemap.c wait_on_page_bit_common DROP). A step 2 in between
 *     counts the waiter's reference: the migration fails, spuriously (the commit's
 *     own account of it);
 *   from ffa65753c431: migration_entry_wait_on_locked queues the waiter under the PTL
 *     and sleeps, no reference (one step; 5.17 mm/filemap.c; softleaf_entry_wait_on_locked
 *     from b570f37a2ce4, 7.0).
 * Woken, the fault is retried: the access again, on whatever the PTE is now.
 *
 * @example
 * ```ts
 * import { migrateCut, migrationWaitCut } from "./migrate-steps.ts";
 * console.log(migrateCut.cuts("migrate_to_device"), migrationWaitCut.cuts("write"), migrateCut.cuts("munmap")); // true true false
 * ```
 */
import { tryRun } from "./run-op.ts";
import type { Op } from "../core/ops.ts";
import type { CutStep, Host } from "./kernel-steps.ts";

export const COLLECT = "migrate_vma_collect_pmd: folio_get, folio_trylock, migration entry, rmap and the PTE's reference dropped; the PTL dropped, the folio still locked (newest mm/migrate_device.c)";
export const FINISH = "migrate_device_unmap: migrate_vma_check_page; migrate_vma_pages, migrate_vma_finalize: remove_migration_ptes, folio_unlock, folio_put (newest mm/migrate_device.c)";
export const WAIT_GET = "do_swap_page -> __migration_entry_wait: the migration entry under the PTL, get_page_unless_zero, the PTL dropped (5.15 mm/migrate.c)";
export const WAIT_PUT = "put_and_wait_on_page_locked: queued on PG_locked, the reference put, asleep until the folio is unlocked (5.15 mm/filemap.c)";
export const WAIT_LOCKED = "do_swap_page -> migration_entry_wait_on_locked: queued under the PTL, no reference, asleep until the folio is unlocked (ffa65753c431, 5.17 mm/filemap.c)";

/** migrate_to_device of one page: collect, then finish (the op's result, the BO, comes from finish). */
export const migrateCut: CutStep = {
  kind: "migrate",
  cuts: (op) => op === "migrate_to_device",
  begin(host, rec) {
    const { mm, addr, length, driver, bo } = rec as { mm: number; addr: number; length: number; driver: number; bo?: number };
    if (length !== 4096) return null;
    const o = tryRun(host, { op: "migrate_collect", mm, addr, driver, ...(bo === undefined ? {} : { bo }) } as Op);
    return o === null ? null : { token: o.result, label: COLLECT }; // null: not a page the cut takes, or bad input: the op runs whole (and says so)
  },
  resume(host, token) {
    const outcome = host.runDetailed([{ op: "migrate_finish", migration: token } as Op])[0];
    return { label: FINISH, opDone: true, outcome };
  },
};

/** The pfn of the locked folio whose migration entry (mm, addr) is, else 0. */
function migrationEntry(host: Host, rec: Op): number {
  const { mm, addr } = rec as { mm?: unknown; addr?: unknown };
  if (typeof mm !== "number" || typeof addr !== "number") return 0;
  try {
    const p = host.page(mm, addr - (addr % 4096));
    // a migration entry is the one non-present entry that is neither device-private nor device-exclusive and keeps its folio locked
    return p !== null && !p.pte.present && !p.pte.devicePrivate && p.locked && p.kind === "system" ? p.pfn : 0;
  } catch {
    return 0; // no such mm: the op itself reports it
  }
}

// The token of a pre-5.17 waiter: its handle (below 16) and the pfn it sleeps on.
const WAITER_BITS = 16;

/** A CPU read or write on a migration entry: migration_entry_wait, then the access again. */
export const migrationWaitCut: CutStep = {
  kind: "migration_wait",
  cuts: (op) => op === "read" || op === "write",
  begin(host, rec) {
    const pfn = migrationEntry(host, rec);
    if (pfn === 0) return null;
    const { mm, addr } = rec as { mm: number; addr: number };
    const at = addr - (addr % 4096);
    const o = tryRun(host, { op: "migration_wait", mm, addr: at } as Op);
    if (o === null) return null;
    const w = o.result;
    if (w === 0) return { token: 0, label: WAIT_LOCKED, sleep: pfn };
    return { token: pfn * WAITER_BITS + w, label: WAIT_GET };
  },
  resume(host, token, rec) {
    const { mm, addr } = rec as { mm: number; addr: number };
    host.runDetailed([{ op: "migration_wait", mm, addr: addr - (addr % 4096), waiter: token % WAITER_BITS } as Op]);
    return { label: WAIT_PUT, opDone: false, sleep: Math.floor(token / WAITER_BITS) };
  },
};

export const migrateCuts: CutStep[] = [migrateCut, migrationWaitCut];
