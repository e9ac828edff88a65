// Guarded fast paths (issue 14): the common case of a hot op done with exactly the
// state changes the full path makes for it, and nothing else. Each guard is tested
// before anything changes; whatever it does not cover (THP, device memory, pins,
// the counter layer, open mirrors, a missing page table, low memory, a page that
// would raise a violation...) goes the full way, unchanged. Here: their counters and the
// range guard. The CPU access of an ordinary page of a private anonymous vma is
// fastpath_anon.ts (inlined into runBatch), a file's fastpath_file.ts. The range
// fast paths sit beside their full paths: zapRange (zap.ts), tlbFlush (mmu_gather.ts),
// copyRange (fork.ts); they share rangeFastOk() and sum their statistics per range.
import { largeLive, fastFaults, fastZaps } from "./frames";
import { hugeLeaves } from "./pgtable";
import { counterOn } from "./counters/layer";
import { mirrorsOpen } from "./mirror";

// How often each fast path ran and how often its guard sent the work the full way
// (tests force every fall-through case and read these; FP_* indexes).
export const FP_ACCESS_FAST = 0; // OP_READ / OP_WRITE done here
export const FP_ACCESS_FULL = 1; // ... sent to access()
export const FP_ZAP_FAST = 2; // zapRange calls taking the fast loop
export const FP_ZAP_FULL = 3; // ... taking the full loop (rangeFastOk() false)
export const FP_ZAP_PTE_FULL = 4; // PTEs of fast ranges cleared by zapOne
export const FP_COPY_FAST = 5; // copyRange calls taking the fast loop
export const FP_COPY_FULL = 6;
export const FP_COPY_PTE_FULL = 7; // PTEs of fast ranges copied by copyOne
export const FP_FLUSH_FAST = 8; // gathered entries put here
export const FP_FLUSH_FULL = 9; // ... put by folioPut
export const FP_COUNT = 10;
// A static block: its address is a constant in the code, no global to load per count (performance only).
const fp = memory.data(FP_COUNT * 4);

@inline export function fpNote(i: i32, n: i32 = 1): void {
  const p = fp + (<usize>i << 2);
  store<i32>(p, load<i32>(p) + n);
}
export function fastPathCount(i: i32): i32 {
  if (i < 0 || i >= FP_COUNT) return -1;
  const n = load<i32>(fp + (<usize>i << 2));
  if (i == FP_ACCESS_FAST) return n + fastFaults(); // the fast anon faults are counted in frames.ts (its late faults)
  if (i == FP_ZAP_FAST || i == FP_FLUSH_FAST) return n + fastZaps(); // and the one-page zaps put at once (late zaps)
  return n;
}

/**
 * The guard every range fast path shares: no PMD mapping and no large folio
 * anywhere (no THP split, PTE batch or compound head to find), no counter layer
 * (it sees each refcount change), no mirror to invalidate.
 */
@inline export function rangeFastOk(): bool {
  return hugeLeaves == 0 && largeLive == 0 && !counterOn && mirrorsOpen == 0;
}
