// Page frames (struct page), struct-of-arrays over linear memory.
// pfn 0 is the shared zero page; 1..sysFrames are system RAM; device frames
// (ZONE_DEVICE pgmaps, see memremap.ts) follow. Per frame:
//   refcount  i32  _refcount (kernel value, not biased)
//   mapcount  i32  page_mapcount() (the kernel stores it minus one)
//   flags     u32  PG_* bits, kind in bits 8..10
//   index     u32  page->index: the vpn of an anon page, the file offset of a cache page;
//                  on a free system page, the next free pfn (the buddy list is intrusive,
//                  like the kernel's page->buddy_list, so it costs no memory of its own)
//   content   u32  one data word, so reads can be checked against writes
//   lastOp    i32  op that last removed a holder (names the cause of a leak)
import {
  PG_ALLOCATED, PG_KIND_SHIFT, ST_FRAMES_ALLOC, ST_FRAMES_FREED, ST_LIVE_FRAMES, ST_PEAK_FRAMES, KIND_SYSTEM,
  PG_HEAD, PG_TAIL, FOLIO_NR, FOLIO_ORDER, ST_THP_FREED, ST_FAULTS, ST_ATOMIC_MAP, ST_PTES_ZAPPED, ST_TLB_FLUSH, ST_ATOMIC_REF,
} from "./abi";
import { bump, stat, setStat } from "./stats";

export let frameCount: u32 = 0; // total frames including pfn 0 and device frames
export let sysFrames: u32 = 0;
export let refBase: usize = 0;
export let mapBase: usize = 0;
export let flagsBase: usize = 0;
export let indexBase: usize = 0;
export let contentBase: usize = 0;
export let lastOpBase: usize = 0;
export let buddyHead: u32 = 0; // first free system pfn (0: none); each links the next through its index
let buddyCount: u32 = 0;
// The THP pool: PMD-aligned blocks of FOLIO_NR frames after the small pages (and a
// gap up to the next 2 MiB boundary), so compound_head is pfn & ~(FOLIO_NR - 1).
export let hugeBase: u32 = 0; // first pfn of the pool (0: no pool)
let hugeFree: usize = 0; // stack of free block numbers
let hugeTop: u32 = 0;
/** Large folios allocated now: while 0, hot paths skip their large-folio tests. */
export let largeLive: i32 = 0;
// Large folios live only in the THP pool and in device memory, so the per-folio
// counters cover the 2 MiB blocks from the first of those on, not every frame.
let firstLargeBlock: u32 = 0;
let entireBase: usize = 0; // per block: folio->_entire_mapcount (PMD mappings), 0-based
let pinBase: usize = 0; // per block: folio->_pincount (FOLL_PIN on a large folio)

/** The pfn range the frames need: small pages, then the aligned THP pool. */
export function systemFramesFor(nSys: u32, nHuge: u32): u64 {
  if (nHuge == 0) return nSys;
  const base = (<u64>nSys + FOLIO_NR) & ~(<u64>FOLIO_NR - 1); // first aligned pfn above nSys
  return base - 1 + <u64>nHuge * FOLIO_NR;
}

export function initFrames(nSmall: u32, nHuge: u32, nDev: u32): void {
  const nSys = <u32>systemFramesFor(nSmall, nHuge);
  sysFrames = nSys;
  frameCount = 1 + nSys + nDev;
  const bytes = <usize>frameCount << 2;
  refBase = heap.alloc(bytes);
  mapBase = heap.alloc(bytes);
  flagsBase = heap.alloc(bytes);
  indexBase = heap.alloc(bytes);
  contentBase = heap.alloc(bytes);
  lastOpBase = heap.alloc(bytes);
  memory.fill(refBase, 0, bytes);
  memory.fill(mapBase, 0, bytes);
  memory.fill(flagsBase, 0, bytes);
  memory.fill(indexBase, 0, bytes);
  memory.fill(contentBase, 0, bytes);
  memory.fill(lastOpBase, 0xff, bytes);
  // Pop order is ascending pfn, so runs are deterministic and easy to read.
  for (let pfn: u32 = 1; pfn < nSmall; pfn++) setPageIndex(pfn, pfn + 1);
  buddyHead = nSmall == 0 ? 0 : 1;
  buddyCount = nSmall;
  hugeBase = nHuge == 0 ? 0 : nSys + 1 - nHuge * FOLIO_NR;
  firstLargeBlock = (nHuge == 0 ? nSys + 1 : hugeBase) >> FOLIO_ORDER;
  const blocks = <usize>((frameCount >> FOLIO_ORDER) + 1 - firstLargeBlock);
  entireBase = heap.alloc(blocks << 2);
  pinBase = heap.alloc(blocks << 2);
  memory.fill(entireBase, 0, blocks << 2);
  memory.fill(pinBase, 0, blocks << 2);
  hugeFree = heap.alloc(<usize>max<u32>(nHuge, 1) << 2);
  for (let i: u32 = 0; i < nHuge; i++) store<u32>(hugeFree + (<usize>i << 2), (hugeBase >> FOLIO_ORDER) + nHuge - 1 - i);
  hugeTop = nHuge;
}

@inline export function ref(pfn: u32): i32 { return load<i32>(refBase + (<usize>pfn << 2)); }
@inline export function setRef(pfn: u32, v: i32): void { store<i32>(refBase + (<usize>pfn << 2), v); }
@inline export function mapcount(pfn: u32): i32 { return load<i32>(mapBase + (<usize>pfn << 2)); }
@inline export function setMapcount(pfn: u32, v: i32): void { store<i32>(mapBase + (<usize>pfn << 2), v); }
@inline export function flags(pfn: u32): u32 { return load<u32>(flagsBase + (<usize>pfn << 2)); }
@inline export function setFlags(pfn: u32, v: u32): void { store<u32>(flagsBase + (<usize>pfn << 2), v); }
@inline export function hasFlag(pfn: u32, f: u32): bool { return (flags(pfn) & f) != 0; }
@inline export function addFlag(pfn: u32, f: u32): void { setFlags(pfn, flags(pfn) | f); }
@inline export function clearFlag(pfn: u32, f: u32): void { setFlags(pfn, flags(pfn) & ~f); }
@inline export function kindOf(pfn: u32): i32 { return <i32>((flags(pfn) >> PG_KIND_SHIFT) & 7); }
@inline export function pageIndex(pfn: u32): u32 { return load<u32>(indexBase + (<usize>pfn << 2)); }
@inline export function setPageIndex(pfn: u32, v: u32): void { store<u32>(indexBase + (<usize>pfn << 2), v); }
@inline export function content(pfn: u32): u32 { return load<u32>(contentBase + (<usize>pfn << 2)); }
@inline export function setContent(pfn: u32, v: u32): void { store<u32>(contentBase + (<usize>pfn << 2), v); }
@inline export function lastOp(pfn: u32): i32 { return load<i32>(lastOpBase + (<usize>pfn << 2)); }
@inline export function setLastOp(pfn: u32, op: i32): void { store<i32>(lastOpBase + (<usize>pfn << 2), op); }
@inline export function isAllocated(pfn: u32): bool { return (flags(pfn) & PG_ALLOCATED) != 0; }
@inline export function isDevice(pfn: u32): bool { return pfn > sysFrames; }

export function freeSystemFrames(): u32 { return buddyCount; }
export function freeHugeFolios(): u32 { return hugeTop; }

// ---- Large folios ----
@inline export function isLarge(pfn: u32): bool { return (flags(pfn) & (PG_HEAD | PG_TAIL)) != 0; }
/** compound_head / page_folio: the page holding the folio's refcount. */
@inline export function folioOf(pfn: u32): u32 { return (flags(pfn) & PG_TAIL) != 0 ? pfn & ~(FOLIO_NR - 1) : pfn; }
/** folio_ref_count of the folio pfn belongs to. */
@inline export function folioRef(pfn: u32): i32 { return ref(folioOf(pfn)); }
/** 2 MiB blocks that can hold a large folio: the THP pool's and device memory's. */
export function largeBlockCount(): u32 { return (frameCount >> FOLIO_ORDER) + 1 - firstLargeBlock; }
/** Slot of pfn's 2 MiB block in the per-folio counters, or -1 below the THP pool and device memory. */
@inline export function largeSlot(pfn: u32): i32 {
  const b = (pfn >> FOLIO_ORDER) - firstLargeBlock;
  return pfn >> FOLIO_ORDER < firstLargeBlock ? -1 : <i32>b;
}
@inline export function entireMapcount(pfn: u32): i32 {
  const b = largeSlot(pfn);
  return b < 0 ? 0 : load<i32>(entireBase + (<usize>b << 2));
}
@inline export function setEntireMapcount(pfn: u32, v: i32): void {
  const b = largeSlot(pfn);
  if (b >= 0) store<i32>(entireBase + (<usize>b << 2), v);
}
@inline export function folioPincount(pfn: u32): i32 {
  const b = largeSlot(pfn);
  return b < 0 ? 0 : load<i32>(pinBase + (<usize>b << 2));
}
@inline export function setFolioPincount(pfn: u32, v: i32): void {
  const b = largeSlot(pfn);
  if (b >= 0) store<i32>(pinBase + (<usize>b << 2), v);
}

/** Mappings of a large folio: PMD mappings plus every PTE of every page (folio_mapcount). */
export function folioMapcount(head: u32): i32 {
  let n = entireMapcount(head);
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) n += mapcount(head + i);
  return n;
}

/** Live-frame accounting for a large folio of n pages coming into use / going back. */
export function noteLargeAlloc(n: i32): void {
  for (let i = 0; i < n; i++) noteAlloc();
  largeLive++;
}
export function noteLargeFree(n: i32): void {
  for (let i = 0; i < n; i++) noteFree();
  largeLive--;
}

/** A large folio was split into small ones. */
export function noteSplitLarge(): void { largeLive--; }

/**
 * 1 + the highest pfn the buddy (smallHighWater) and the THP pool (hugeHighWater, 0: none yet) ever
 * handed out: the system frames above both are as initFrames left them, so the quiesce check
 * (check.ts) stops there. Globals, so a saved engine state keeps them (performance only).
 */
export let smallHighWater: u32 = 1;
export let hugeHighWater: u32 = 0;

/** vma_alloc_folio(order 9): a zeroed THP at refcount 1, or 0 if the pool is empty. */
export function allocHugeFolio(): u32 {
  if (hugeTop == 0) return 0;
  const head = load<u32>(hugeFree + (<usize>(--hugeTop) << 2)) << FOLIO_ORDER;
  if (head + FOLIO_NR > hugeHighWater) hugeHighWater = head + FOLIO_NR;
  const sys = PG_ALLOCATED | (KIND_SYSTEM << PG_KIND_SHIFT);
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    setRef(head + i, 0);
    setMapcount(head + i, 0);
    setFlags(head + i, sys | (i == 0 ? PG_HEAD : PG_TAIL));
    setContent(head + i, 0);
    setPageIndex(head + i, 0);
  }
  noteLargeAlloc(FOLIO_NR);
  setRef(head, 1);
  setEntireMapcount(head, 0);
  setFolioPincount(head, 0);
  return head;
}

/** free_unref_folios for a THP: the whole block goes back to the pool. */
export function freeHugeFolio(head: u32): void {
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) setFlags(head + i, 0);
  noteLargeFree(FOLIO_NR);
  store<u32>(hugeFree + (<usize>(hugeTop++) << 2), head >> FOLIO_ORDER);
  bump(ST_THP_FREED);
}

/**
 * __split_folio_to_order(0): each page becomes a small folio holding the references
 * of its own mappings; pages nothing maps go to the buddy. The block leaves the THP
 * pool for good (fragmentation). The caller checked can_split_folio.
 */
export function splitFolioPages(head: u32): void {
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    const pfn = head + i;
    const m = mapcount(pfn);
    setRef(pfn, m);
    if (m == 0) {
      setFlags(pfn, 0);
      buddyPush(pfn);
      noteFree();
    } else {
      setFlags(pfn, flags(pfn) & ~(PG_HEAD | PG_TAIL)); // anon state is per page once PTE-mapped
    }
  }
  setEntireMapcount(head, 0);
  setFolioPincount(head, 0);
  largeLive--;
}

/**
 * do_anonymous_page faults of the fast path (fastpath.ts) whose statistics are not summed
 * yet: each is ST_FAULTS, an allocation (ST_FRAMES_ALLOC, ST_LIVE_FRAMES, ST_PEAK_FRAMES)
 * and rmapAdd's ST_ATOMIC_MAP. Summed before anything else changes the live-frame count
 * (noteAlloc, noteFree, noteFrees) and at the end of every batch (runBatch), so every
 * statistic, the peak too, is the same as bumped per fault: between two changes of
 * another kind the live count only rose, one per fault (performance only). Each is also one
 * of fastpath.ts's FP_ACCESS_FAST, counted here only (fastFaults; performance only).
 */
let lateFaults: i32 = 0;

/** Late faults summed so far: with the pending ones, fastpath.ts's FP_ACCESS_FAST counts them. */
let lateFaultsSummed: i32 = 0;

/** Every fast anon fault so far, summed or not (fastPathCount's share of FP_ACCESS_FAST). */
export function fastFaults(): i32 { return lateFaultsSummed + lateFaults; }

/** One fast anon fault, its statistics summed later (sumLateAll). */
@inline export function noteLateFault(): void { lateFaults++; }

/** Sum the late faults' statistics; nothing if there are none (before another change of the live-frame count). */
@inline function sumLateFaults(): void {
  if (lateFaults != 0) addLateFaults();
}

/** Sum the late faults' and the late zaps' statistics (runBatch, at a batch's end); the C engine-port's sumLateAll. */
@inline export function sumLateAll(): void {
  sumLateFaults();
  if (lateZaps != 0) addLateZaps();
}

/**
 * One-page zaps of zap_page.ts whose gathered page was put at once (tlbFlush's fast put), their
 * pure counters not summed yet: each is ST_PTES_ZAPPED, rmap's ST_ATOMIC_MAP, the flush's
 * ST_TLB_FLUSH and ST_ATOMIC_REF, and fastpath.ts's FP_ZAP_FAST and FP_FLUSH_FAST. Nothing in the
 * core reads them during a batch, so they are summed at its end (performance only).
 */
let lateZaps: i32 = 0;
let lateZapsSummed: i32 = 0;
/** Every late zap so far, summed or not (fastPathCount's share of FP_ZAP_FAST and FP_FLUSH_FAST). */
export function fastZaps(): i32 { return lateZapsSummed + lateZaps; }
@inline export function noteLateZap(): void { lateZaps++; }

function addLateZaps(): void {
  const k = <i64>lateZaps;
  lateZaps = 0;
  lateZapsSummed += <i32>k;
  bump(ST_PTES_ZAPPED, k);
  bump(ST_ATOMIC_MAP, k);
  bump(ST_TLB_FLUSH, k);
  bump(ST_ATOMIC_REF, k);
}

function addLateFaults(): void {
  const k = <i64>lateFaults;
  lateFaults = 0;
  lateFaultsSummed += <i32>k;
  bump(ST_FAULTS, k);
  bump(ST_ATOMIC_MAP, k);
  bump(ST_FRAMES_ALLOC, k);
  const live = stat(ST_LIVE_FRAMES) + k;
  setStat(ST_LIVE_FRAMES, live);
  if (live > stat(ST_PEAK_FRAMES)) setStat(ST_PEAK_FRAMES, live);
}

/** Live-frame accounting shared by the buddy and the device free lists. */
@inline export function noteAlloc(): void {
  sumLateFaults();
  bump(ST_FRAMES_ALLOC);
  const live = stat(ST_LIVE_FRAMES) + 1;
  setStat(ST_LIVE_FRAMES, live);
  if (live > stat(ST_PEAK_FRAMES)) setStat(ST_PEAK_FRAMES, live);
}

@inline export function noteFree(): void {
  sumLateFaults();
  bump(ST_FRAMES_FREED);
  setStat(ST_LIVE_FRAMES, stat(ST_LIVE_FRAMES) - 1);
}

/** alloc_pages(order 0): a zeroed system page at refcount 1 (callers check space first). */
@inline export function allocSystemPage(): u32 {
  const pfn = buddyHead;
  buddyHead = pageIndex(pfn);
  buddyCount--;
  if (pfn >= smallHighWater) smallHighWater = pfn + 1;
  setRef(pfn, 1);
  setMapcount(pfn, 0);
  setFlags(pfn, PG_ALLOCATED | (KIND_SYSTEM << PG_KIND_SHIFT));
  setContent(pfn, 0);
  setPageIndex(pfn, 0);
  noteAlloc();
  return pfn;
}

/**
 * allocSystemPage for a page that is set up at once (do_anonymous_page's new folio): its
 * refcount, mapcount, flags (beside PG_ALLOCATED and the system kind), index and content
 * stored once, in their final values, where allocSystemPage's zeroes would be overwritten
 * (performance only: the same frame as allocSystemPage followed by the caller's stores).
 * The index word's address is kept from the buddy link's load to the index's store (V8 would
 * load indexBase again after the stores between; performance only).
 */
@inline export function allocSystemPageAs(map: i32, extraFlags: u32, index: u32, data: u32): u32 {
  const pfn = buddyHead;
  const at = <usize>pfn << 2;
  const indexAt = indexBase + at;
  buddyHead = load<u32>(indexAt);
  buddyCount--;
  if (pfn >= smallHighWater) smallHighWater = pfn + 1;
  store<i32>(refBase + at, 1);
  store<i32>(mapBase + at, map);
  store<u32>(flagsBase + at, PG_ALLOCATED | (KIND_SYSTEM << PG_KIND_SHIFT) | extraFlags);
  store<u32>(contentBase + at, data);
  store<u32>(indexAt, index);
  return pfn; // the caller counts the allocation (noteAlloc, or noteLateFault)
}

/** free_unref_folios: return a system page to the buddy allocator. */
@inline export function freeSystemPage(pfn: u32): void {
  setFlags(pfn, 0);
  buddyPush(pfn);
  noteFree();
}

/** freeSystemPage without its statistics: the caller counts n of them at once with noteFrees(n). */
@inline export function releaseSystemPage(pfn: u32): void {
  setFlags(pfn, 0);
  buddyPush(pfn);
}

/** noteFree for n pages (a fast path's per-range sum). */
@inline export function noteFrees(n: i32): void {
  sumLateFaults();
  bump(ST_FRAMES_FREED, n);
  setStat(ST_LIVE_FRAMES, stat(ST_LIVE_FRAMES) - n);
}

/** A free system page goes on top of the free list (LIFO, as the per-cpu lists). */
@inline function buddyPush(pfn: u32): void {
  setPageIndex(pfn, buddyHead);
  buddyHead = pfn;
  buddyCount++;
}
