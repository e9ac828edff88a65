// mmu_notifier_invalidate_range_start (include/linux/mmu_notifier.h): before the
// core changes the CPU page tables of mm over [start, end) (vpns, end exclusive)
// it tells every secondary MMU registered on that mm, with the reason (event) and,
// for migrations, the owner that started them (range->owner). Every call is
// counted, subscribers or not: the kernel makes the call either way.
import { ST_MMU_NOTIFY } from "./abi";
import { bump } from "./stats";

/** mmu_notifier_invalidate_range_start: owner is the device that started a migration, or -1. */
@inline export function mmuNotifierInvalidate(mm: i32, start: u32, end: u32, event: i32, owner: i32): void {
  bump(ST_MMU_NOTIFY);
}
