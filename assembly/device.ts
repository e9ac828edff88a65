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
  SCHEME_CLEAR_MAPPING_ON_FREE, SCHEME_DEVICE_FOLIOS, SCHEME_FOLIO_FREE_PGMAP_SAVED, PG_HEAD, PG_TAIL, PG_DRIVER_HELD,
  FOLIO_NR, FOLIO_ORDER, V_UAF,
} from "./abi";
import { bump } from "./stats";
import {
  sysFrames, setRef, setMapcount, setFlags, flags, kindOf, mapcount, ref, setContent, noteAlloc, noteFree, addFlag,
  setEntireMapcount, setFolioPincount, noteLargeAlloc, noteLargeFree,
} from "./frames";
import { idleCount, freeAt, rule } from "./scheme";
import { folioPut } from "./refcount";
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
let drvPendOrder: usize = 0; // a blocked OP_DRIVER_ALLOC: its order, -1 none
let drvPendBo: usize = 0; // ... and the BO it allocates for
let drvOwner: usize = 0; // pgmap->owner: the driver itself, or DMIRROR_OWNER_BASE + a test_hmm device
let freeStack: usize = 0; // devCap u32: each driver's free pfns in its own slice
let ownerBase: usize = 0; // zone_device_data: BO id per device frame
export let boCount: i32 = 0;
let boCap: i32 = 0;
let boDriver: usize = 0;
let boRefs: usize = 0;
let boState: usize = 0;
let boHeld: usize = 0; // 1: a BO of the driver's own allocations (OP_DRIVER_ALLOC)

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
  drvPendOrder = heap.alloc(<usize>nDrivers << 2);
  drvPendBo = heap.alloc(<usize>nDrivers << 2);
  drvOwner = heap.alloc(<usize>nDrivers << 2);
  freeStack = heap.alloc(<usize>max<u32>(nDev, 1) << 2);
  ownerBase = heap.alloc(<usize>max<u32>(nDev, 1) << 2);
  boCap = nBos;
  boCount = 1; // BO 0 means "none"
  boDriver = heap.alloc(<usize>nBos << 2);
  boRefs = heap.alloc(<usize>nBos << 2);
  boState = heap.alloc(<usize>nBos << 2);
  memory.fill(boState, 0, <usize>nBos << 2);
  memory.fill(boRefs, 0, <usize>nBos << 2);
  boHeld = heap.alloc(<usize>nBos << 2);
  memory.fill(boHeld, 0, <usize>nBos << 2);
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
/** pgmap->owner of driver d (what migrate_vma's pgmap_owner and hmm_range_fault's dev_private_owner match). */
export function pgmapOwner(d: i32): i32 { return i32At(drvOwner, d); }
export function setPgmapOwner(d: i32, owner: i32): void { setI32At(drvOwner, d, owner); }
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

/**
 * Frames skipped before a new pgmap of `kind` so its frames start 2 MiB-aligned:
 * where large device folios exist (E5), a device-private pgmap is laid out in
 * PMD-sized blocks.
 */
export function driverPadding(kind: i32): u32 {
  if (rule(SCHEME_DEVICE_FOLIOS) == 0 || kind != KIND_DEVICE_PRIVATE) return 0;
  const next = sysFrames + 1 + devUsed;
  return (<u32>FOLIO_NR - (next & (<u32>FOLIO_NR - 1))) & (<u32>FOLIO_NR - 1);
}

/** memremap_pages: register nframes device frames of `kind`; free pages idle at the era's value. */
export function registerDriver(kind: i32, nframes: u32): i32 {
  const d = driverCount++;
  devUsed += driverPadding(kind);
  const base = sysFrames + 1 + devUsed;
  setI32At(drvKind, d, kind);
  setI32At(drvBase, d, <i32>base);
  setI32At(drvSize, d, <i32>nframes);
  setI32At(drvTop, d, <i32>nframes);
  setI32At(drvState, d, DRIVER_LIVE);
  setI32At(drvHangReported, d, 0);
  setI32At(drvPendOrder, d, -1);
  setI32At(drvOwner, d, d);
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
  if ((f & PG_HEAD) != 0) {
    folioFree(pfn, mm, vpn);
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
  if (b > 0) boUnref(b, 1); // svm_range_bo_unref
  servePending(d); // a blocked allocation on another CPU takes the memory at once
  if (rule(SCHEME_PGMAP_REF) == PGMAP_REF_PER_ALLOC && (f & PG_NO_PGMAP_REF) == 0 && kind != KIND_P2PDMA) pgmapPutAfterFree(pfn, d, 1, mm, vpn);
}

/**
 * percpu_ref_put_many(&pgmap->ref, nr) at the end of free_zone_device_folio. Since
 * the 2026 fix the pgmap was saved before ->folio_free; before, it was read from the
 * folio afterwards, and a page the driver has meanwhile re-initialised as a tail of
 * a new folio has no pgmap there: the put goes astray (spec S18).
 */
function pgmapPutAfterFree(pfn: u32, d: i32, nr: i32, mm: i32, vpn: i32): void {
  if (rule(SCHEME_FOLIO_FREE_PGMAP_SAVED) == 0 && (flags(pfn) & PG_TAIL) != 0) {
    violation(V_UAF, pfn, mm, vpn, ref(pfn), mapcount(pfn), 13); // folio->pgmap of a re-initialised page
    return; // the real pgmap keeps nr references: memunmap_pages will wait for them
  }
  pgmapPut(d, nr);
}

/**
 * free_zone_device_folio for a large device folio -> pgmap->ops->folio_free: every
 * page back on the driver's free list, the BO's references dropped; then the
 * pgmap references of all its pages.
 */
function folioFree(head: u32, mm: i32, vpn: i32): void {
  const d = driverOf(head);
  const kind = kindOf(head);
  const b = deviceOwner(head);
  const live = i32At(drvState, d) == DRIVER_LIVE;
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    const pfn = head + i;
    setFlags(pfn, (<u32>kind << PG_KIND_SHIFT) | (flags(pfn) & PG_GONE));
    setDeviceOwner(pfn, 0);
    if (live) {
      setRef(pfn, idleCount(kind));
      pushFree(pfn);
    }
  }
  noteLargeFree(FOLIO_NR);
  bump(ST_DEV_FREED);
  if (b > 0) boUnref(b, FOLIO_NR);
  servePending(d);
  pgmapPutAfterFree(head, d, FOLIO_NR, mm, vpn);
}

/** svm_range_bo_unref n times: the BO is freed with its last page. */
function boUnref(b: i32, n: i32): void {
  const left = i32At(boRefs, b) - n;
  setI32At(boRefs, b, left);
  if (left == 0 && i32At(boState, b) == BO_LIVE) {
    setI32At(boState, b, BO_FREED);
    bump(ST_BO_FREED);
    bump(ST_LIVE_BOS, -1);
  }
}

/** Every page of the 2 MiB block at blk is on its driver's free list. */
function blockFree(blk: u32): bool {
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    if ((flags(blk + i) & (PG_ALLOCATED | PG_GONE | PG_EARLY_FREED)) != 0) return false;
  }
  return true;
}

/**
 * zone_device_folio_init(order 9) for BO b: a free 2 MiB-aligned block of driver d
 * becomes one folio at refcount 1 (one above its free trigger), taking 512 pgmap
 * references and a BO reference per page. Returns the head, or 0 if no block is free.
 */
export function allocDeviceFolio(d: i32, b: i32): u32 {
  const base = <u32>i32At(drvBase, d);
  const end = base + <u32>i32At(drvSize, d);
  let blk = (base + <u32>FOLIO_NR - 1) & ~(<u32>FOLIO_NR - 1);
  while (blk + <u32>FOLIO_NR <= end && !blockFree(blk)) blk += FOLIO_NR;
  if (blk + <u32>FOLIO_NR > end) return 0;
  // take the block's pages off the free list, keeping the others' order
  const slot0 = <u32>(i32At(drvBase, d) - <i32>sysFrames - 1);
  const top = i32At(drvTop, d);
  let k = 0;
  for (let i = 0; i < top; i++) {
    const pfn = load<u32>(freeStack + (<usize>(slot0 + <u32>i) << 2));
    if (pfn >= blk && pfn < blk + <u32>FOLIO_NR) continue;
    store<u32>(freeStack + (<usize>(slot0 + <u32>k) << 2), pfn);
    k++;
  }
  setI32At(drvTop, d, k);
  const kind = kindOf(blk);
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    const pfn = blk + i;
    setRef(pfn, 0);
    setMapcount(pfn, 0);
    setFlags(pfn, PG_ALLOCATED | (<u32>kind << PG_KIND_SHIFT) | (i == 0 ? PG_HEAD : PG_TAIL));
    setContent(pfn, 0);
    setDeviceOwner(pfn, b);
  }
  setRef(blk, freeAt(kind) + 1);
  setEntireMapcount(blk, 0);
  setFolioPincount(blk, 0);
  if (rule(SCHEME_PGMAP_REF) == PGMAP_REF_PER_ALLOC) {
    if (i32At(drvState, d) == DRIVER_LIVE) setI32At(drvPgmapRef, d, i32At(drvPgmapRef, d) + FOLIO_NR); // percpu_ref_tryget_many
    else addFlag(blk, PG_NO_PGMAP_REF);
  }
  if (b > 0) setI32At(boRefs, b, i32At(boRefs, b) + FOLIO_NR);
  bump(ST_DEV_ALLOC, FOLIO_NR);
  noteLargeAlloc(FOLIO_NR);
  return blk;
}

/** Would an allocation of this order fit in driver d now (a free page, or a free aligned block)? */
export function driverCanAlloc(d: i32, order: i32): bool {
  if (order == 0) return i32At(drvTop, d) > 0;
  const base = <u32>i32At(drvBase, d);
  const end = base + <u32>i32At(drvSize, d);
  for (let blk = (base + <u32>FOLIO_NR - 1) & ~(<u32>FOLIO_NR - 1); blk + <u32>FOLIO_NR <= end; blk += FOLIO_NR) {
    if (blockFree(blk)) return true;
  }
  return false;
}

/** The driver's own allocation of order 0 or FOLIO_ORDER for BO b; 0 if nothing fits now. */
export function driverAllocFolio(d: i32, b: i32, order: i32): u32 {
  const pfn = order == 0 ? allocDevicePage(d, b) : allocDeviceFolio(d, b);
  if (pfn != 0) addFlag(pfn, PG_DRIVER_HELD);
  return pfn;
}

/** A blocked driver allocation, waiting for memory: served by the next free. */
export function setPending(d: i32, b: i32, order: i32): void {
  setI32At(drvPendOrder, d, order);
  setI32At(drvPendBo, d, b);
}
export function pendingOrder(d: i32): i32 { return i32At(drvPendOrder, d); }
export function pendingBo(d: i32): i32 { return i32At(drvPendBo, d); }

/** The allocation waiting on driver d's memory runs as soon as a free returns some. */
function servePending(d: i32): void {
  const order = i32At(drvPendOrder, d);
  if (order < 0 || i32At(drvState, d) != DRIVER_LIVE) return;
  if (driverAllocFolio(d, i32At(drvPendBo, d), order) != 0) setI32At(drvPendOrder, d, -1);
}

/** BOs of the driver's own allocations (OP_DRIVER_ALLOC), which OP_DRIVER_FREE releases. */
export function boIsHeld(b: i32): bool { return i32At(boHeld, b) != 0; }
export function markBoHeld(b: i32): void { setI32At(boHeld, b, 1); }

/** OP_DRIVER_FREE: cancel the BO's blocked allocation, or put the driver's reference on each of its folios. */
export function driverFreeBo(b: i32): void {
  const d = boDriverOf(b);
  if (i32At(drvPendOrder, d) >= 0 && i32At(drvPendBo, d) == b) {
    setI32At(drvPendOrder, d, -1);
    if (i32At(boRefs, b) == 0 && i32At(boState, b) == BO_LIVE) {
      setI32At(boState, b, BO_FREED);
      bump(ST_BO_FREED);
      bump(ST_LIVE_BOS, -1);
    }
  }
  const base = <u32>i32At(drvBase, d);
  const end = base + <u32>i32At(drvSize, d);
  for (let pfn = base; pfn < end; pfn++) {
    const f = flags(pfn);
    if ((f & PG_DRIVER_HELD) == 0 || deviceOwner(pfn) != b) continue;
    setFlags(pfn, f & ~PG_DRIVER_HELD);
    folioPut(pfn, 1, -1, -1); // the driver's folio_put
  }
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
    if ((flags(pfn) & (PG_DRIVER_HELD | PG_TAIL)) != 0) continue; // the driver's own folios are not evicted
    if (b > 0 && deviceOwner(pfn) != b) continue;
    store<u32>(out + (<usize>k << 2), pfn);
    k++;
  }
  return k;
}
