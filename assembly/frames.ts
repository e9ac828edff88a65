// Page frames (struct page), struct-of-arrays over linear memory.
// pfn 0 is the shared zero page; 1..sysFrames are system RAM; device frames
// (ZONE_DEVICE pgmaps, see device.ts) follow. Per frame:
//   refcount  i32  _refcount (kernel value, not biased)
//   mapcount  i32  page_mapcount() (the kernel stores it minus one)
//   flags     u32  PG_* bits, kind in bits 8..10
//   index     u32  page->index: the vpn of an anon page, the file offset of a cache page
//   content   u32  one data word, so reads can be checked against writes
//   lastOp    i32  op that last removed a holder (names the cause of a leak)
import {
  PG_ALLOCATED, PG_KIND_SHIFT, ST_FRAMES_ALLOC, ST_FRAMES_FREED, ST_LIVE_FRAMES, ST_PEAK_FRAMES, KIND_SYSTEM,
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
let buddyBase: usize = 0; // stack of free system pfns
let buddyTop: u32 = 0;

export function initFrames(nSys: u32, nDev: u32): void {
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
  buddyBase = heap.alloc(<usize>nSys << 2);
  // Pop order is ascending pfn, so runs are deterministic and easy to read.
  for (let i: u32 = 0; i < nSys; i++) store<u32>(buddyBase + (<usize>i << 2), nSys - i);
  buddyTop = nSys;
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

export function freeSystemFrames(): u32 { return buddyTop; }

/** Live-frame accounting shared by the buddy and the device free lists. */
export function noteAlloc(): void {
  bump(ST_FRAMES_ALLOC);
  const live = stat(ST_LIVE_FRAMES) + 1;
  setStat(ST_LIVE_FRAMES, live);
  if (live > stat(ST_PEAK_FRAMES)) setStat(ST_PEAK_FRAMES, live);
}

export function noteFree(): void {
  bump(ST_FRAMES_FREED);
  setStat(ST_LIVE_FRAMES, stat(ST_LIVE_FRAMES) - 1);
}

/** alloc_pages(order 0): a zeroed system page at refcount 1 (callers check space first). */
export function allocSystemPage(): u32 {
  const pfn = load<u32>(buddyBase + (<usize>(--buddyTop) << 2));
  setRef(pfn, 1);
  setMapcount(pfn, 0);
  setFlags(pfn, PG_ALLOCATED | (KIND_SYSTEM << PG_KIND_SHIFT));
  setContent(pfn, 0);
  setPageIndex(pfn, 0);
  noteAlloc();
  return pfn;
}

/** free_unref_folios: return a system page to the buddy allocator. */
export function freeSystemPage(pfn: u32): void {
  setFlags(pfn, 0);
  store<u32>(buddyBase + (<usize>(buddyTop++) << 2), pfn);
  noteFree();
}
