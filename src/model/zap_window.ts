/**
 * The mmu_gather window of a zap, held open for the interleaving explorer
 * (src/races/zap-steps.ts): madvise(MADV_DONTNEED) on one VMA as two steps (as
 * the core's assembly/zap_window.ts).
 *   begin: zap_pte_range under the PTL clears each PTE, removes its rmap and queues
 *          the PTE's reference in the mmu_gather (6.1 mm/memory.c zap_pte_range:
 *          page_remove_rmap, __tlb_remove_page; newest: folio_remove_rmap_ptes,
 *          __tlb_remove_folio_pages); the PTL is dropped.
 *   end:   tlb_finish_mmu -> tlb_flush_mmu -> free_pages_and_swap_cache: the puts.
 * ZAP_ORDER_PUT_FIRST is a mutation, not a kernel: the reference is put at begin and
 * the PTE cleared at end.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * m.write(mm, addr, 1);
 * const w = m.runDetailed([{ op: "zap_begin", mm, addr, length: 4096 }])[0].result;
 * console.log(m.page(mm, addr), m.stats().frames.live); // null 1 (no PTE; the reference still queued)
 * m.runDetailed([{ op: "zap_end", window: w }]);
 * console.log(m.stats().frames.live); // 0
 * ```
 */
import { ZAP_ORDER_PUT_FIRST, ZAP_WINDOW_SLOTS, MMU_NOTIFY_CLEAR } from "../../assembly/abi.ts";
import { zapRange } from "./zap.ts";
import { tlbFlush } from "./mmu_gather.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { folioPut, rmapRemove } from "./refcount.ts";
import type { Frame } from "./frames.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";

interface Window {
  mm: Mm;
  order: number;
  /** Kernel order: the gathered pages and references to put; put first: the pages whose PTE is still to clear. */
  pages: Frame[];
  /** References per gathered page (kernel order) or the PTE's vpn (put first). */
  args: number[];
}

/** The open windows, by slot (window w is slot w - 1); lowest free slot first. */
export class ZapWindows {
  readonly slots: Array<Window | undefined> = new Array(ZAP_WINDOW_SLOTS).fill(undefined);
  free(): number { return this.slots.findIndex((w) => w === undefined); }
  live(w: number): Window | undefined { return Number.isInteger(w) && w >= 1 && w <= ZAP_WINDOW_SLOTS ? this.slots[w - 1] : undefined; }
}

/** madvise_dontneed_single_vma over [start, end) of mm up to tlb_finish_mmu. Returns the window. */
export function zapWindowBegin(m: Machine, mm: Mm, start: number, end: number, order: number): number {
  const s = m.zapWindows.free();
  const w: Window = { mm, order, pages: [], args: [] };
  m.zapWindows.slots[s] = w;
  mmuNotifierInvalidate(m, mm.id, start, end, MMU_NOTIFY_CLEAR, -1); // zap_page_range_single's invalidate_range_start
  if (order === ZAP_ORDER_PUT_FIRST) {
    for (let v = start; v < end; v++) {
      const pte = mm.tables.get(v);
      if (!pte || !pte.normalPresent || m.frames.isDevice(pte.pfn) || !m.frames.all[pte.pfn].usable) continue;
      const page = m.frames.all[pte.pfn];
      folioPut(m, page, 1, mm.id, v); // mutated: the PTE's reference before the PTE and rmap go
      w.pages.push(page);
      w.args.push(v);
    }
  } else {
    zapRange(m, mm, start, end, true, false); // the batch stays gathered: tlb_finish_mmu is the end step
    w.pages.push(...m.gather.pages);
    w.args.push(...m.gather.refs);
    m.gather.pages.length = 0;
    m.gather.refs.length = 0;
  }
  return s + 1;
}

/** The window's end: tlb_finish_mmu's puts (kernel order), or the PTEs and rmaps (put first). */
export function zapWindowEnd(m: Machine, wn: number): void {
  const w = m.zapWindows.live(wn)!;
  m.zapWindows.slots[wn - 1] = undefined;
  if (w.order === ZAP_ORDER_PUT_FIRST) {
    w.pages.forEach((page, i) => {
      const v = w.args[i];
      const pte = w.mm.tables.get(v);
      if (!pte || !pte.present || pte.pfn !== page.pfn) return;
      const table = w.mm.tables.table(v)!;
      table.entries.delete(v);
      table.expected.delete(v);
      m.counters.ptesZapped++;
      if (page.usable) rmapRemove(m, page, w.mm.id, v);
    });
    return;
  }
  m.gather.mm = w.mm.id;
  m.gather.pages.push(...w.pages);
  m.gather.refs.push(...w.args);
  tlbFlush(m);
}

/** The references open windows still have queued, by page, for the quiesce check. */
export function zapWindowQueued(m: Machine): Array<[Frame, number]> {
  const out: Array<[Frame, number]> = [];
  for (const w of m.zapWindows.slots) {
    if (!w || w.order === ZAP_ORDER_PUT_FIRST) continue;
    w.pages.forEach((p, i) => out.push([p, w.args[i]]));
  }
  return out;
}
