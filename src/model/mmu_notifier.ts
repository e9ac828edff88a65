/**
 * mmu_notifier_invalidate_range_start: before the core changes mm's page tables
 * over the vpns [start, end) it tells every secondary MMU on that mm, with the
 * event and, for migrations, the owner (range->owner). Every call is counted; the
 * only secondary MMUs modelled are the test_hmm mirrors (mirror.ts). Twin of
 * assembly/mmu_notifier.ts.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
 * import { MMU_NOTIFY_CLEAR } from "../../assembly/abi.ts";
 * const m = Model.create({ scheme: "E4" }).machine;
 * mmuNotifierInvalidate(m, 0, 0x10000, 0x10001, MMU_NOTIFY_CLEAR, -1);
 * console.log(m.counters.mmuNotify); // 1
 * ```
 */
import type { Machine } from "./machine.ts";

/** owner: the device that started a migration, or -1. */
export function mmuNotifierInvalidate(m: Machine, mm: number, start: number, end: number, event: number, owner: number): void {
  m.counters.mmuNotify++;
  if (m.mirrors.anyOpen) m.mirrors.invalidate(mm, start, end, event, owner);
}
