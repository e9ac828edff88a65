/**
 * The refcount and mapcount primitives every operation is built from. Each call
 * counts as one atomic RMW, as the kernel performs one per call (folio_ref_add
 * counts once for n references).
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * import { folioGet, folioPut } from "./refcount.ts";
 * const m = Model.create({ scheme: "E4" }).machine;
 * const page = m.frames.allocSystem();
 * folioGet(m, page, 1, -1, -1);
 * folioPut(m, page, 2, -1, -1); // 2 -> 0: back to the buddy
 * console.log(page.allocated, m.counters.atomicRef); // false 2
 * ```
 */
import {
  KIND_SYSTEM, KIND_FSDAX, KIND_DEVDAX, V_UAF, V_UNDERFLOW, PGMAP_REF_PER_PAGE,
} from "../../assembly/abi.ts";
import { pageFree, pgmapKilled, pgmapPutPage } from "./memremap.ts";
import { wakeUpVar } from "./wait_bit.ts";
import type { Frame } from "./frames.ts";
import type { Machine } from "./machine.ts";

/** folio_ref_add / folio_get: take n references (on the folio's head page). */
export function folioGet(m: Machine, page: Frame, n: number, mm: number, vpn: number): void {
  const f = m.frames.folioOf(page);
  if (!f.usable) m.log.record(V_UAF, f.pfn, mm, vpn, f.refcount, f.mapcount, 1);
  f.refcount = (f.refcount + n) | 0;
  m.counters.atomicRef++;
}

/**
 * folio_put_refs: drop n references; at the kind's free trigger release the frame:
 * system pages to the buddy (__folio_put), device pages to the driver
 * (E0 put_devmap_managed_page at 2->1; E1+ free_zone_device_folio at 1->0), DAX
 * pages wake their waiters. Once memunmap_pages has put an E0 pgmap's base
 * references, counts drain to 0 and each 0 drops a pgmap reference (__put_page).
 */
export function folioPut(m: Machine, page: Frame, n: number, mm: number, vpn: number): void {
  const f = m.frames.folioOf(page);
  const r = f.refcount;
  m.counters.atomicRef++;
  if (!f.allocated) {
    if (!f.earlyFreed || f.gone) {
      m.log.record(V_UAF, f.pfn, mm, vpn, r, f.mapcount, -n);
      return;
    }
    // page_free already ran while it was mapped (reported then); the rest drains.
    if (r - n < 0) {
      m.log.record(V_UNDERFLOW, f.pfn, mm, vpn, r, f.mapcount, -n);
      return;
    }
    f.refcount = r - n;
    if (r - n === 0) pgmapPutPage(m, f);
    return;
  }
  const drained = f.kind !== KIND_SYSTEM && m.rules.pgmapRef === PGMAP_REF_PER_PAGE && pgmapKilled(f);
  const floor = drained ? 0 : m.rules.freeAt(f.kind);
  if (r - n < floor) {
    m.log.record(V_UNDERFLOW, f.pfn, mm, vpn, r, f.mapcount, -n);
    return;
  }
  f.refcount = r - n;
  if (r - n === m.rules.freeAt(f.kind)) releaseFrame(m, f, mm, vpn);
  if (drained && r - n === 0) pgmapPutPage(m, f);
}

/** The count reached the kind's trigger: free the frame, or wake its waiters. */
export function releaseFrame(m: Machine, f: Frame, mm: number, vpn: number): void {
  if (f.kind === KIND_SYSTEM) {
    if (f.head) m.frames.freeHuge(f); // a THP goes back to the pool
    else m.frames.freeSystem(f); // __folio_put -> free_unref_folios
  }
  else if (f.kind === KIND_FSDAX) wakeUpVar(m, f); // wake_up_var(&page->_refcount): truncate may go on
  else if (f.kind !== KIND_DEVDAX) pageFree(m, f, mm, vpn); // free_zone_device_folio; device-dax is never freed
}

/** folio_add_*_rmap_pte / folio_dup_*_rmap: one more mapping. */
export function rmapAdd(m: Machine, f: Frame): void {
  f.mapcount++;
  m.counters.atomicMap++;
}

/** folio_remove_rmap_pte: one mapping fewer. */
export function rmapRemove(m: Machine, f: Frame, mm: number, vpn: number): void {
  m.counters.atomicMap++;
  if (f.mapcount <= 0) {
    m.log.record(V_UNDERFLOW, f.pfn, mm, vpn, f.refcount, f.mapcount, -1);
    return;
  }
  f.mapcount--;
  f.lastOp = m.log.currentOp;
}
