/**
 * madvise(MADV_DONTNEED) as two atomic steps, cut at the mmu_gather window (the
 * core's assembly/zap_window.ts): zap_pte_range clears the PTEs and removes their
 * rmap under the PTL and queues the references (6.1 mm/memory.c zap_pte_range;
 * newest __tlb_remove_folio_pages); tlb_finish_mmu puts them after the TLB flush
 * (free_pages_and_swap_cache, 6.1 and newest mm/mmu_gather.c). In between a page
 * may hold a reference nothing maps: a migration's refcount check sees it.
 * Only a range inside one VMA of at most ZAP_WINDOW_PAGES pages is cut; any other
 * madvise runs as one step (the core refuses the window, the op runs whole).
 * A thread's zap_begin op is the same zap cut the same way (both steps, so a shrunk
 * interleaving cannot leave the window open); its order "put-first" is the mutation.
 *
 * @example
 * ```ts
 * import { zapCut } from "./zap-steps.ts";
 * console.log(zapCut.cuts("madvise_dontneed"), zapCut.cuts("munmap")); // true false
 * ```
 */
import { tryRun } from "./run-op.ts";
import type { Op } from "../core/ops.ts";
import type { CutStep } from "./kernel-steps.ts";

export const ZAP_BEGIN = "zap_pte_range: PTEs cleared, rmap removed, references queued in the mmu_gather; PTL dropped (6.1 mm/memory.c)";
export const ZAP_END = "tlb_finish_mmu: TLB flush, then free_pages_and_swap_cache puts the queued references (6.1 mm/mmu_gather.c)";

export const ZAP_BEGIN_PUT_FIRST = "mutated zap: each PTE's reference put first, PTE and rmap left in place (not a kernel)";
export const ZAP_END_PUT_FIRST = "mutated zap: PTEs cleared and rmap removed after the put (not a kernel)";

export const zapCut: CutStep = {
  kind: "zap",
  cuts: (op) => op === "madvise_dontneed" || op === "zap_begin",
  begin(host, rec) {
    if (rec.op === "zap_begin") {
      const o = host.runDetailed([rec])[0];
      return { token: o.result, label: (rec as { order?: string }).order === "put-first" ? ZAP_BEGIN_PUT_FIRST : ZAP_BEGIN };
    }
    const { mm, addr, length } = rec as { mm: number; addr: number; length: number };
    const o = tryRun(host, { op: "zap_begin", mm, addr, length } as Op);
    return o === null ? null : { token: o.result, label: ZAP_BEGIN }; // null: not one VMA, or too long: the op runs whole
  },
  resume(host, token, rec) {
    const outcome = host.runDetailed([{ op: "zap_end", window: token } as Op])[0];
    const mutated = rec.op === "zap_begin" && (rec as { order?: string }).order === "put-first";
    return { label: mutated ? ZAP_END_PUT_FIRST : ZAP_END, opDone: true, outcome: { ...outcome, result: rec.op === "zap_begin" ? token : 0 } };
  },
};
