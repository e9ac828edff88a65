/**
 * migrate_vma_collect against a concurrent CPU fault, as steps: not built yet, so
 * every migrate_to_device runs as one atomic step (this list is empty). The cut,
 * from newest mm/migrate_device.c (read for issue 18):
 *   1. migrate_vma_collect_pmd under the PTL: folio_get (the collect reference),
 *      folio_trylock (a failure puts the reference and skips the page: mpfn 0), the
 *      migration entry, folio_remove_rmap_pte and folio_put of the mapping's
 *      reference; the PTL is dropped with the folio still locked;
 *   2. migrate_device_unmap: folio_isolate_lru, the collect reference put,
 *      try_to_migrate for other mappings, migrate_vma_check_page
 *      ((refcount - extra) > mapcount refuses; extra = 1, +1 for a zone-device
 *      folio, +1 + private for a mapped file), then migrate_vma_pages / finalize.
 * A CPU fault on the migration entry sleeps (do_swap_page -> migration_entry_wait)
 * until the folio is unlocked; before ffa65753c431 (2022-01, 5.17; the commit behind
 * SCHEME_MIGRATE_CHECK_DEVICE_REFS) __migration_entry_wait took
 * get_page_unless_zero while waiting, so a waiter's reference made step 2's check
 * fail (E0 migrateFailed), and from it migration_entry_wait_on_locked takes none.
 * The hook for it is CutStep.waits (kernel-steps.ts: a waiting thread is not enabled).
 */
import type { CutStep } from "./kernel-steps.ts";

export const migrateCuts: CutStep[] = [];
