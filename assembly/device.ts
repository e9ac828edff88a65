// ZONE_DEVICE memory: drivers register pgmaps (memremap_pages) over device frames,
// allocate pages into buffer objects (BOs) and get them back through page_free;
// memunmap_pages tears a pgmap down, each era in its own way (spec §3.4, §4.8).
// A BO's count is its number of live device pages (the amdkfd model in the seed
// thread: svm_migrate_get_vram_page takes a BO ref, svm_migrate_page_free drops it);
// it is freed when that count reaches zero.
import {
  PG_ALLOCATED, PG_KIND_SHIFT, PG_OWNER_REF, PG_EARLY_FREED, PG_GONE, PG_NO_PGMAP_REF, ST_DEV_ALLOC, ST_DEV_FREED,
  ST_BO_CREATED, ST_BO_FREED, ST_LIVE_BOS, V_EARLY_FREE, V_DOUBLE_FREE, SCHEME_PGMAP_REF, PGMAP_REF_PER_PAGE,
  PGMAP_REF_BULK, PGMAP_REF_PER_ALLOC, KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT, KIND_P2PDMA, PG_ANON,
  SCHEME_CLEAR_MAPPING_ON_FREE,
} from "./abi";
import { bump } from "./stats";
import {
  sysFrames, setRef, setMapcount, setFlags, flags, kindOf, mapcount, ref, setContent, noteAlloc, noteFree, addFlag,
} from "./frames";
import { idleCount, freeAt, rule } from "./scheme";
import { violation } from "./violations";

export const BO_UNUSED: i32 = 0;
export const BO_LIVE: i32 = 1;
export const BO_FREED: i32 = 2;

export const DRIVER_LIVE: i32 = 0;
export const DRIVER_DYING: i32 = 1; // memunmap_pages is waiting for pgmap refs
export const DRIVER_GONE: i32 = 2; // struct pages removed

let devCap: u32 = 0;
let devUsed: u32 = 0;
export let driverCount: i32 = 0;
let driverCap: i32 = 0;
let drvKind: usize = 0;
let drvBase: usize = 0; // first pfn
let drvSize: usize = 0;
let drvTop: usize = 0; // free-stack depth
let drvState: usize = 0;
let drvPgmapRef: usize = 0; // dev_pagemap.ref (percpu_ref, modelled as one count)
let drvHangReported: usize = 0;
let freeStack: usize = 0; // devCap u32: each driver's free pfns in its own slice
let ownerBase: usize = 0; // zone_device_data: BO id per device frame
export let boCount: i32 = 0;
let boCap: i32 = 0;
let boDriver: usize = 0;
let boRefs: usize = 0;
let boState: usize = 0;

export function initDevices(nDev: u32, nDrivers: i32, nBos: i32): void {
  devCap = nDev;
  devUsed = 0;
  driverCap = nDrivers;
  driverCount = 0;
  drvKind = heap.alloc(<usize>nDrivers << 2);
  drvBase = heap.alloc(<usize>nDrivers << 2);
  drvSize = heap.alloc(<usize>nDrivers << 2);
  drvTop = heap.alloc(<usize>nDrivers << 2);
  drvState = heap.alloc(<usize>nDrivers << 2);
  drvPgmapRef = heap.alloc(<usize>nDrivers << 2);
  drvHangReported = heap.alloc(<usize>nDrivers << 2);
  freeStack = heap.alloc(<usize>max<u32>(nDev, 1) << 2);
  ownerBase = heap.alloc(<usize>max<u32>(nDev, 1) << 2);
  boCap = nBos;
  boCount = 1; // BO 0 means "none"
  boDriver = heap.alloc(<usize>nBos << 2);
  boRefs = heap.alloc(<usize>nBos << 2);
  boState = heap.alloc(<usize>nBos << 2);
  memory.fill(boState, 0, <usize>nBos << 2);
  memory.fill(boRefs, 0, <usize>nBos << 2);
}

@inline function i32At(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline function setI32At(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

export function driverValid(d: i32): bool { return d >= 0 && d < driverCount; }
export function driverKind(d: i32): i32 { return i32At(drvKind, d); }
export function driverFree(d: i32): i32 { return i32At(drvTop, d); }
export function driverBase(d: i32): i32 { return i32At(drvBase, d); }
export function driverSize(d: i32): i32 { return i32At(drvSize, d); }
export function driverState(d: i32): i32 { return i32At(drvState, d); }
export function pgmapRefOf(d: i32): i32 { return i32At(drvPgmapRef, d); }
export function deviceFramesLeft(): u32 { return devCap - devUsed; }
export function driverSlotsLeft(): i32 { return driverCap - driverCount; }
export function boSlotsLeft(): i32 { return boCap - boCount; }
export function boValid(b: i32): bool { return b > 0 && b < boCount; }
export function boLive(b: i32): bool { return boValid(b) && i32At(boState, b) == BO_LIVE; }
export function boStateOf(b: i32): i32 { return i32At(boState, b); }
export function boRefsOf(b: i32): i32 { return i32At(boRefs, b); }
export function boDriverOf(b: i32): i32 { return i32At(boDriver, b); }
/** zone_device_data: a BO id (> 0), a file as -(file + 1) for DAX/p2pmem pages, or 0. */
export function deviceOwner(pfn: u32): i32 { return load<i32>(ownerBase + (<usize>(pfn - sysFrames - 1) << 2)); }
export function setDeviceOwner(pfn: u32, owner: i32): void { store<i32>(ownerBase + (<usize>(pfn - sysFrames - 1) << 2), owner); }

/** The driver whose pgmap covers device frame pfn. */
export function driverOf(pfn: u32): i32 {
  let lo = 0;
  let hi = driverCount - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (<u32>i32At(drvBase, mid) <= pfn) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** memunmap_pages has run for this frame's pgmap (E0: the base references are gone). */
export function pgmapKilled(pfn: u32): bool {
  return pfn > sysFrames && i32At(drvState, driverOf(pfn)) != DRIVER_LIVE;
}

/** memremap_pages: register nframes device frames of `kind`; free pages idle at the era's value. */
export function registerDriver(kind: i32, nframes: u32): i32 {
  const d = driverCount++;
  const base = sysFrames + 1 + devUsed;
  setI32At(drvKind, d, kind);
  setI32At(drvBase, d, <i32>base);
  setI32At(drvSize, d, <i32>nframes);
  setI32At(drvTop, d, <i32>nframes);
  setI32At(drvState, d, DRIVER_LIVE);
  setI32At(drvHangReported, d, 0);
  // percpu_ref_init holds one ref; E0 adds one per struct page, E1 bulk base refs,
  // E2+ none for private/coherent (pagemap_range skips percpu_ref_get_many) but
  // still bulk for the DAX and p2pdma kinds.
  const perAlloc = rule(SCHEME_PGMAP_REF) == PGMAP_REF_PER_ALLOC && (kind == KIND_DEVICE_PRIVATE || kind == KIND_DEVICE_COHERENT);
  setI32At(drvPgmapRef, d, perAlloc ? 1 : 1 + <i32>nframes);
  const idle = idleCount(kind);
  for (let i: u32 = 0; i < nframes; i++) {
    const pfn = base + i;
    setRef(pfn, idle); // memmap_init_zone_device: 1 before 6.1, 0 after for private/coherent
    setMapcount(pfn, 0);
    setFlags(pfn, <u32>kind << PG_KIND_SHIFT);
    store<u32>(freeStack + (<usize>(devUsed + i) << 2), base + nframes - 1 - i);
  }
  devUsed += nframes;
  return d;
}

/** A new buffer object owned by driver d, holding no pages yet. */
export function createBo(d: i32): i32 {
  const b = boCount++;
  setI32At(boDriver, b, d);
  setI32At(boRefs, b, 0);
  setI32At(boState, b, BO_LIVE);
  bump(ST_BO_CREATED);
  bump(ST_LIVE_BOS);
  return b;
}

function popFree(d: i32): u32 {
  const top = i32At(drvTop, d);
  if (top == 0) return 0;
  setI32At(drvTop, d, top - 1);
  const slot = <u32>(i32At(drvBase, d) - <i32>sysFrames - 1) + <u32>top - 1;
  return load<u32>(freeStack + (<usize>slot << 2));
}

function pgmapPut(d: i32, n: i32): void {
  const left = i32At(drvPgmapRef, d) - n;
  setI32At(drvPgmapRef, d, left);
  if (left == 0 && i32At(drvState, d) == DRIVER_DYING) completeTeardown(d);
}

/**
 * Driver allocation of a device page for BO b (svm_migrate_get_vram_page):
 * E0 get_page (1->2), E1 lock only (stays 1), E2+ zone_device_page_init (0->1, plus
 * a pgmap ref, which fails once memunmap_pages has begun). In every era the
 * allocated page sits one above its free trigger. Returns 0 if none is free.
 */
export function allocDevicePage(d: i32, b: i32): u32 {
  const pfn = popFree(d);
  if (pfn == 0) return 0;
  const kind = kindOf(pfn);
  setRef(pfn, freeAt(kind) + 1);
  setFlags(pfn, PG_ALLOCATED | (<u32>kind << PG_KIND_SHIFT) | (flags(pfn) & PG_ANON)); // a stale mapping survives (S15)
  setContent(pfn, 0);
  if (rule(SCHEME_PGMAP_REF) == PGMAP_REF_PER_ALLOC && kind != KIND_P2PDMA) {
    if (i32At(drvState, d) == DRIVER_LIVE) setI32At(drvPgmapRef, d, i32At(drvPgmapRef, d) + 1); // percpu_ref_tryget_many
    else addFlag(pfn, PG_NO_PGMAP_REF); // the tryget failed: WARN, and nothing ties the pgmap to this page (S20)
  }
  store<i32>(ownerBase + (<usize>(pfn - sysFrames - 1) << 2), b);
  if (b > 0) setI32At(boRefs, b, i32At(boRefs, b) + 1); // svm_range_bo_ref
  bump(ST_DEV_ALLOC);
  noteAlloc();
  return pfn;
}

/** dax_associate_entry for a new block: a DAX page joins a file, at its idle count (no reference). */
export function allocDaxPage(d: i32): u32 {
  const pfn = popFree(d);
  if (pfn == 0) return 0;
  // The count is left as it is: idle for a clean block, higher if a pin outlived a truncate.
  setFlags(pfn, PG_ALLOCATED | (<u32>kindOf(pfn) << PG_KIND_SHIFT));
  setContent(pfn, 0);
  noteAlloc();
  return pfn;
}

function pushFree(pfn: u32): void {
  const d = driverOf(pfn);
  const top = i32At(drvTop, d);
  const slot = <u32>(i32At(drvBase, d) - <i32>sysFrames - 1) + <u32>top;
  store<u32>(freeStack + (<usize>slot << 2), pfn);
  setI32At(drvTop, d, top + 1);
}

/** dax_disassociate_entry + freeing the block: the DAX page goes back to the device's free pool. */
export function freeDaxPage(pfn: u32): void {
  setFlags(pfn, <u32>kindOf(pfn) << PG_KIND_SHIFT); // the count stays: a pin that outlives this still counts
  setDeviceOwner(pfn, 0);
  pushFree(pfn);
  noteFree();
}

/**
 * free_zone_device_folio -> pgmap->ops->page_free: clear mapping and
 * PageAnonExclusive, return the page to the driver's free list at the idle count,
 * drop the BO reference (the BO is freed with its last page) and, in E2+, the
 * page's pgmap reference.
 */
export function pageFree(pfn: u32, mm: i32, vpn: i32): void {
  const f = flags(pfn);
  if ((f & PG_ALLOCATED) == 0) {
    violation(V_DOUBLE_FREE, pfn, mm, vpn, ref(pfn), mapcount(pfn), 0);
    return;
  }
  const kind = kindOf(pfn);
  const d = driverOf(pfn);
  // Before 7ab0ad0e74f8 page->mapping survived the free: a reused page still looked anon (S15).
  let keep: u32 = f & PG_GONE;
  if (rule(SCHEME_CLEAR_MAPPING_ON_FREE) == 0) keep |= f & PG_ANON;
  if (mapcount(pfn) > 0) {
    violation(V_EARLY_FREE, pfn, mm, vpn, ref(pfn), mapcount(pfn), 0);
    keep |= PG_EARLY_FREED; // its mappings are still there to be zapped
  }
  setFlags(pfn, (<u32>kind << PG_KIND_SHIFT) | keep); // mapping, anon, exclusive, owner-ref all cleared
  if (i32At(drvState, d) == DRIVER_LIVE) {
    setRef(pfn, idleCount(kind)); // E1 set_page_count(page, 1); E2+ stays 0
    pushFree(pfn);
  }
  bump(ST_DEV_FREED);
  noteFree();
  const off = pfn - sysFrames - 1;
  const b = load<i32>(ownerBase + (<usize>off << 2));
  store<i32>(ownerBase + (<usize>off << 2), 0);
  if (b > 0) {
    const left = i32At(boRefs, b) - 1; // svm_range_bo_unref
    setI32At(boRefs, b, left);
    if (left == 0 && i32At(boState, b) == BO_LIVE) {
      setI32At(boState, b, BO_FREED);
      bump(ST_BO_FREED);
      bump(ST_LIVE_BOS, -1);
    }
  }
  if (rule(SCHEME_PGMAP_REF) == PGMAP_REF_PER_ALLOC && (f & PG_NO_PGMAP_REF) == 0 && kind != KIND_P2PDMA) pgmapPut(d, 1); // put_dev_pagemap
}

/** E0 __put_page of a ZONE_DEVICE page whose count reached 0: drop its pgmap reference. */
export function pgmapPutPage(pfn: u32): void {
  if (rule(SCHEME_PGMAP_REF) == PGMAP_REF_PER_PAGE) pgmapPut(driverOf(pfn), 1);
}

/** The owner's reference kept by the devmap model (fsdax-style); cleared with the page. */
export function ownerHoldsRef(pfn: u32): bool { return (flags(pfn) & PG_OWNER_REF) != 0; }

/**
 * memunmap_pages: kill the pgmap ref and wait for it to drain.
 * E0: put_page on every pfn (a mapped page reaches 2->1 and goes to page_free while
 *     still mapped; idle pages 1->0 drop their pgmap refs), then wait.
 * E1: percpu_ref_put_many of the bulk base refs: nothing waits for pages in use.
 * E2+: wait until every allocated page has been freed.
 * Returns the driver state afterwards (DRIVER_DYING while it waits).
 */
export function memunmapPages(d: i32): i32 {
  setI32At(drvState, d, DRIVER_DYING);
  const mode = rule(SCHEME_PGMAP_REF);
  const base = <u32>i32At(drvBase, d);
  const n = <u32>i32At(drvSize, d);
  if (mode == PGMAP_REF_PER_PAGE) {
    for (let pfn = base; pfn < base + n; pfn++) putPageAtTeardown(pfn);
  }
  const drop = mode == PGMAP_REF_BULK || driverKind(d) == KIND_P2PDMA ? 1 + <i32>n : 1;
  pgmapPut(d, drop);
  return i32At(drvState, d);
}

/** memunmap_pages' E0 put_page(pfn): free_devmap_managed_page at 1, __put_page at 0. */
function putPageAtTeardown(pfn: u32): void {
  const r = ref(pfn) - 1;
  setRef(pfn, r);
  if (r == freeAt(kindOf(pfn)) && (flags(pfn) & PG_ALLOCATED) != 0) pageFree(pfn, -1, -1);
  if (r == 0) pgmapPutPage(pfn);
}

/** The pgmap drained: struct pages go away; whatever still points at them dangles. */
function completeTeardown(d: i32): void {
  setI32At(drvState, d, DRIVER_GONE);
  const base = <u32>i32At(drvBase, d);
  const n = <u32>i32At(drvSize, d);
  for (let pfn = base; pfn < base + n; pfn++) {
    const f = flags(pfn);
    if ((f & PG_ALLOCATED) != 0 || ref(pfn) > 0 || mapcount(pfn) > 0 || (f & PG_EARLY_FREED) != 0) {
      setFlags(pfn, (f & ~PG_ALLOCATED) | PG_GONE);
      if ((f & PG_ALLOCATED) != 0) noteFree();
    }
  }
}

/** A driver still waiting in memunmap_pages, reported once as a hang by the check. */
export function hangingDriver(d: i32): bool {
  if (i32At(drvState, d) != DRIVER_DYING || i32At(drvHangReported, d) != 0) return false;
  setI32At(drvHangReported, d, 1);
  return true;
}

/** Allocated frames of driver d, for migrate_device_range (returns how many, into out[]). */
export function driverPagesOfBo(d: i32, b: i32, out: usize, cap: i32): i32 {
  const base = <u32>i32At(drvBase, d);
  const n = <u32>i32At(drvSize, d);
  let k = 0;
  for (let pfn = base; pfn < base + n && k < cap; pfn++) {
    if ((flags(pfn) & PG_ALLOCATED) == 0) continue;
    if (b > 0 && deviceOwner(pfn) != b) continue;
    store<u32>(out + (<usize>k << 2), pfn);
    k++;
  }
  return k;
}

export { PG_EARLY_FREED, PG_GONE };
