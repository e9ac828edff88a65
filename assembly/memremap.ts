// ZONE_DEVICE pgmaps (mm/memremap.c): memremap_pages registers a pgmap over device
// frames, free_zone_device_folio hands a freed page or folio to the driver's
// page_free / folio_free, pgmap references are taken and put per era, and
// memunmap_pages tears a pgmap down, each era in its own way (spec §3.4, §4.8).
// The driver side (its free list, buffer objects, allocations) is in driver.ts.
import {
  PG_ALLOCATED, PG_KIND_SHIFT, PG_OWNER_REF, PG_EARLY_FREED, PG_GONE, PG_NO_PGMAP_REF, ST_DEV_FREED,
  V_EARLY_FREE, V_DOUBLE_FREE, SCHEME_PGMAP_REF, PGMAP_REF_PER_PAGE,
  PGMAP_REF_BULK, PGMAP_REF_PER_ALLOC, KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT, KIND_P2PDMA, PG_ANON,
  SCHEME_CLEAR_MAPPING_ON_FREE, SCHEME_DEVICE_FOLIOS, SCHEME_FOLIO_FREE_PGMAP_SAVED, PG_HEAD, PG_TAIL,
  FOLIO_NR, V_UAF,
} from "./abi";
import { bump } from "./stats";
import { sysFrames, setRef, setMapcount, setFlags, flags, kindOf, mapcount, ref, noteFree, noteLargeFree } from "./frames";
import { idleCount, freeAt, rule } from "./scheme";
import { violation } from "./violations";
import { pushFree, pushFreeTo, boUnref, servePending } from "./driver";

export const DRIVER_LIVE: i32 = 0;
export const DRIVER_DYING: i32 = 1; // memunmap_pages is waiting for pgmap refs
export const DRIVER_GONE: i32 = 2; // struct pages removed

let devCap: u32 = 0;
let devUsed: u32 = 0;
export let driverCount: i32 = 0;
let driverCap: i32 = 0;
let drvKind: usize = 0;
export let drvBase: usize = 0; // first pfn
export let drvSize: usize = 0;
export let drvTop: usize = 0; // free-stack depth
export let drvState: usize = 0;
export let drvPgmapRef: usize = 0; // dev_pagemap.ref (percpu_ref, modelled as one count)
let drvHangReported: usize = 0;
export let drvPendOrder: usize = 0; // a blocked OP_DRIVER_ALLOC: its order, -1 none
export let drvPendBo: usize = 0; // ... and the BO it allocates for
let drvOwner: usize = 0; // pgmap->owner: the driver itself, or DMIRROR_OWNER_BASE + a test_hmm device
export let drvNeed: usize = 0; // scratch: the device pages a range's faults take from each driver (fault.ts deviceRoomRange)
export let freeStack: usize = 0; // devCap u32: each driver's free pfns in its own slice
export let ownerBase: usize = 0; // zone_device_data: BO id per device frame

/** The pgmap table: nDrivers pgmaps over nDev device frames (initDevices in driver.ts calls it first). */
export function initPgmaps(nDev: u32, nDrivers: i32): void {
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
  drvNeed = heap.alloc(<usize>max<i32>(nDrivers, 1) << 2);
  freeStack = heap.alloc(<usize>max<u32>(nDev, 1) << 2);
  ownerBase = heap.alloc(<usize>max<u32>(nDev, 1) << 2);
}

@inline export function i32At(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline export function setI32At(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

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

/** percpu_ref_put_many(&pgmap->ref, n): the last one ends a waiting memunmap_pages. */
@inline function pgmapPut(d: i32, n: i32): void {
  const left = i32At(drvPgmapRef, d) - n;
  setI32At(drvPgmapRef, d, left);
  if (left == 0 && i32At(drvState, d) == DRIVER_DYING) completeTeardown(d);
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
  const kind = <i32>((f >> PG_KIND_SHIFT) & 7); // kindOf(pfn), from the flags word read above
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
    pushFreeTo(d, pfn);
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
@inline function pgmapPutAfterFree(pfn: u32, d: i32, nr: i32, mm: i32, vpn: i32): void {
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
      pushFreeTo(d, pfn);
    }
  }
  noteLargeFree(FOLIO_NR);
  bump(ST_DEV_FREED);
  if (b > 0) boUnref(b, FOLIO_NR);
  servePending(d);
  pgmapPutAfterFree(head, d, FOLIO_NR, mm, vpn);
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
