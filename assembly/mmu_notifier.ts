// mmu_notifier_invalidate_range_start (include/linux/mmu_notifier.h): before the
// core changes the CPU page tables of mm over [start, end) (vpns, end exclusive)
// it tells every secondary MMU registered on that mm, with the reason (event) and,
// for migrations, the owner that started them (range->owner), so a device can skip
// the invalidations its own migrations cause. Every call is counted, subscribers or
// not: the kernel makes the call either way. The only secondary MMUs modelled are
// the test_hmm mirrors (mirror.ts); with none open nothing more is done.
import { ST_MMU_NOTIFY } from "./abi";
import { bump } from "./stats";
import { mirrorsOpen, mirrorsInvalidate } from "./mirror";

/** mmu_notifier_invalidate_range_start: owner is the device that started a migration, or -1. */
@inline export function mmuNotifierInvalidate(mm: i32, start: u32, end: u32, event: i32, owner: i32): void {
  bump(ST_MMU_NOTIFY);
  if (mirrorsOpen != 0) mirrorsInvalidate(mm, start, end, event, owner);
}
