// A ZONE_DEVICE driver and its buffer objects (BOs): it allocates pages of its
// pgmaps (memremap.ts) into BOs and gets them back through page_free. A BO's count
// is its number of live device pages (the amdkfd model in the seed thread:
// svm_migrate_get_vram_page takes a BO ref, svm_migrate_page_free drops it); it is
// freed when that count reaches zero. The driver's own allocations (OP_DRIVER_ALLOC)
// and the one waiting for memory are here too.
import {
  PG_ALLOCATED, PG_KIND_SHIFT, PG_NO_PGMAP_REF, ST_DEV_ALLOC,
  ST_BO_CREATED, ST_BO_FREED, ST_LIVE_BOS, SCHEME_PGMAP_REF,
  PGMAP_REF_PER_ALLOC, KIND_P2PDMA, PG_ANON,
  PG_HEAD, PG_TAIL, PG_DRIVER_HELD,
  FOLIO_NR, PG_GONE, PG_EARLY_FREED,
} from "./abi";
import { bump } from "./stats";
import {
  sysFrames, setRef, setMapcount, setFlags, flags, kindOf, setContent, noteAlloc, noteFree, addFlag,
  setEntireMapcount, setFolioPincount, noteLargeAlloc,
} from "./frames";
import { freeAt, rule } from "./scheme";
import { folioPut } from "./refcount";
import {
  DRIVER_LIVE, drvBase, drvSize, drvTop, drvState, drvPgmapRef, drvPendOrder, drvPendBo, freeStack, ownerBase,
  i32At, setI32At, initPgmaps, driverOf, deviceOwner, setDeviceOwner,
} from "./memremap";

export const BO_UNUSED: i32 = 0;
export const BO_LIVE: i32 = 1;
export const BO_FREED: i32 = 2;

export let boCount: i32 = 0;
let boCap: i32 = 0;
let boDriver: usize = 0;
let boRefs: usize = 0;
let boState: usize = 0;
let boHeld: usize = 0; // 1: a BO of the driver's own allocations (OP_DRIVER_ALLOC)

export function initDevices(nDev: u32, nDrivers: i32, nBos: i32): void {
  initPgmaps(nDev, nDrivers);
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

export function boSlotsLeft(): i32 { return boCap - boCount; }
export function boValid(b: i32): bool { return b > 0 && b < boCount; }
export function boLive(b: i32): bool { return boValid(b) && i32At(boState, b) == BO_LIVE; }
export function boStateOf(b: i32): i32 { return i32At(boState, b); }
export function boRefsOf(b: i32): i32 { return i32At(boRefs, b); }
export function boDriverOf(b: i32): i32 { return i32At(boDriver, b); }

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

export function pushFree(pfn: u32): void {
  pushFreeTo(driverOf(pfn), pfn);
}

/** pushFree when the caller knows pfn's driver d (pageFree: driverOf once; performance only). */
@inline export function pushFreeTo(d: i32, pfn: u32): void {
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

/** svm_range_bo_unref n times: the BO is freed with its last page. */
@inline export function boUnref(b: i32, n: i32): void {
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
@inline export function servePending(d: i32): void {
  if (i32At(drvPendOrder, d) >= 0) servePendingNow(d); // rarely one: the test inline, the allocation out of line
}

function servePendingNow(d: i32): void {
  const order = i32At(drvPendOrder, d);
  if (i32At(drvState, d) != DRIVER_LIVE) return;
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
