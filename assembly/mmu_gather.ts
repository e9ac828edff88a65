// struct mmu_gather (mm/mmu_gather.c): a zap clears PTEs and removes their rmap at
// once, but queues the pages' PTE references and drops them only after the TLB
// flush (tlb_flush_mmu -> free_pages_and_swap_cache -> folios_put_refs), in batches
// of SCHEME_TLB_BATCH pages. zap.ts and thp.ts's zap_huge_pmd queue into it.
import {
  SCHEME_TLB_BATCH, SCHEME_RELEASE_PAGES_DEVMAP, ST_TLB_FLUSH, ST_ATOMIC_REF, PG_ALLOCATED, PG_KIND_SHIFT, PG_HEAD, PG_TAIL,
} from "./abi";
import { bump } from "./stats";
import { rule } from "./scheme";
import { ref, setRef, flags, isDevice, releaseSystemPage, noteFrees, refBase, flagsBase } from "./frames";
import { folioPut } from "./refcount";
import { fpNote, FP_FLUSH_FAST, FP_FLUSH_FULL } from "./fastpath";
import { counterOn, counterUpdate } from "./counters/layer";

export const MAX_GATHER = 4096;
const KIND_MASK: u32 = 7 << PG_KIND_SHIFT;
/** Flag bits that leave an ordinary allocated small system page when masked: kind, compound page. */
export const ORDINARY_MASK: u32 = PG_ALLOCATED | KIND_MASK | PG_HEAD | PG_TAIL;
let gatherPfn: usize = 0;
let gatherRefs: usize = 0; // references to drop per gathered entry (nr of a PTE batch)
let gatherCount: i32 = 0;
let gatherMm: i32 = -1;

/** gatherRefs lies this many bytes after gatherPfn: a fast loop stores an entry's pair from one address. */
export const GATHER_REFS_OFFSET: usize = MAX_GATHER << 2;

export function initMmuGather(): void {
  gatherPfn = heap.alloc(2 * GATHER_REFS_OFFSET);
  gatherRefs = gatherPfn + GATHER_REFS_OFFSET;
}

/** release_pages' put of one gathered entry (nr references of pfn's folio), any kind of page. */
function putGathered(pfn: u32, nr: i32, routed: bool): void {
  if (!routed && isDevice(pfn)) {
    // Before c5d6c45e90c4 release_pages did put_page_testzero on devmap pages
    // instead of put_devmap_managed_page: the 2->1 page_free never happened (S16).
    setRef(pfn, ref(pfn) - 1);
    bump(ST_ATOMIC_REF);
    if (counterOn) counterUpdate(pfn, -1, ref(pfn));
    return;
  }
  folioPut(pfn, nr, gatherMm, -1);
}

/**
 * tlb_flush_mmu: the deferred puts of every gathered page (release_pages). Fast
 * path: an allocated small system page (no device, large folio or counter layer)
 * whose count does not go below 0 is put here, its statistics summed per flush;
 * any other entry goes through folioPut.
 */
export function tlbFlush(): void {
  if (gatherCount == 0) return;
  bump(ST_TLB_FLUSH);
  const routed = rule(SCHEME_RELEASE_PAGES_DEVMAP) != 0;
  let fastPuts = 0;
  let freed = 0;
  const fast = !counterOn;
  const pfns = gatherPfn;
  let last = pfns + (<usize>gatherCount << 2);
  let e = pfns;
  while (e < last) {
    if (fast) {
      // The fast entries from e on, in a loop without calls (V8 keeps its values in registers).
      const e0 = e;
      e = flushRunFast(e, last);
      fastPuts += <i32>((e - e0) >> 2); // each entry it passed was put
      freed += runFreed;
      if (e >= last) break;
    }
    fpNote(FP_FLUSH_FULL);
    putGathered(load<u32>(e), load<i32>(e, GATHER_REFS_OFFSET), routed);
    last = pfns + (<usize>gatherCount << 2); // only a put through putGathered could change it
    e += 4;
  }
  bump(ST_ATOMIC_REF, fastPuts);
  if (freed > 0) noteFrees(freed);
  fpNote(FP_FLUSH_FAST, fastPuts);
  gatherCount = 0;
}

/** Frees of the last flushRunFast. */
let runFreed: i32 = 0;

/**
 * tlbFlush's fast path over the gathered entries [e, last): each entry of an allocated small
 * system page (no device or large folio) whose count does not go below 0 is put here
 * (folio_put_refs; freed at 0, __folio_put). Returns the first other entry (or last): every
 * entry before it was put (no count kept in the loop); the frees go to runFreed.
 */
function flushRunFast(e: usize, last: usize): usize {
  // Loop invariants in locals (V8 reloads a wasm global at each use). Not the free list's head:
  // two more live values here cost a page that stays referenced (fork+zap) 2.5 instructions
  const refB = refBase, flB = flagsBase;
  let freed = 0;
  for (; e < last; e += 4) {
    const pfn = load<u32>(e);
    const at = <usize>pfn << 2;
    const r = load<i32>(refB + at) - load<i32>(e, GATHER_REFS_OFFSET);
    // One test a statement (zap.ts zapRunFast says why). No isDevice(pfn) test: a device frame's
    // flags always hold its kind (memremap.ts, driver.ts), never KIND_SYSTEM, so this one stops there too
    if ((load<u32>(flB + at) & ORDINARY_MASK) != PG_ALLOCATED) break;
    if (r <= 0) { // one test for a page that stays referenced (a fork's); the rest in here
      if (r < 0) break;
      store<i32>(refB + at, 0);
      releaseSystemPage(pfn); // __folio_put
      freed++;
      continue;
    }
    store<i32>(refB + at, r);
  }
  runFreed = freed;
  return e;
}

/** __tlb_remove_folio_pages: queue the PTE references (nr of them) of one folio. */
@inline export function tlbRemoveFolio(mm: i32, pfn: u32, nr: i32): void {
  const batch = min<i32>(rule(SCHEME_TLB_BATCH), MAX_GATHER);
  if (batch <= 0) {
    folioPut(pfn, nr, mm, -1);
    return;
  }
  tlbGather(mm, pfn, nr, batch);
}

/** Queue nr references of pfn in a gather of `batch` entries (> 0), flushing it when full. */
@inline export function tlbGather(mm: i32, pfn: u32, nr: i32, batch: i32): void {
  gatherMm = mm;
  store<u32>(gatherPfn + (<usize>gatherCount << 2), pfn);
  store<i32>(gatherRefs + (<usize>gatherCount << 2), nr);
  gatherCount++;
  if (gatherCount >= batch) tlbFlush();
}

/**
 * The gather's arrays and count for a fast loop that keeps the count in a local
 * (zap.ts zapRangeFast): it stores entries itself and hands the count back with
 * gatherSync before any call that reads or changes the gather.
 */
@inline export function gatherPfns(): usize { return gatherPfn; }
@inline export function gatherSync(n: i32): void { gatherCount = n; }
/** gatherMm of a fast loop's entries (tlbGather sets it at each entry; the loop once per stretch). */
@inline export function gatherOwner(mm: i32): void { gatherMm = mm; }

/** Entries gathered and not yet flushed (zap_window.ts keeps a zap's batch open across other ops). */
export function gatheredCount(): i32 { return gatherCount; }
export function gatheredPfn(i: i32): u32 { return load<u32>(gatherPfn + (<usize>i << 2)); }
export function gatheredRefs(i: i32): i32 { return load<i32>(gatherRefs + (<usize>i << 2)); }
/** Forget the gathered entries: their owner took them (zap_window.ts). */
export function gatherForget(): void { gatherCount = 0; }
/** Put an entry back in the gather of mm, no flush (the owner flushes them with tlbFlush). */
export function gatherRestore(mm: i32, pfn: u32, nr: i32): void {
  gatherMm = mm;
  store<u32>(gatherPfn + (<usize>gatherCount << 2), pfn);
  store<i32>(gatherRefs + (<usize>gatherCount << 2), nr);
  gatherCount++;
}
