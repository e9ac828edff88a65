// ZONE_DEVICE memory: drivers register pgmaps (memremap_pages) over device frames,
// allocate pages into buffer objects (BOs) and get them back through page_free.
// A BO's count is its number of live device pages (the amdkfd model in the seed
// thread: svm_migrate_get_vram_page takes a BO ref, svm_migrate_page_free drops it);
// it is freed when that count reaches zero.
import {
  PG_ALLOCATED, PG_KIND_SHIFT, PG_OWNER_REF, ST_DEV_ALLOC, ST_DEV_FREED, ST_BO_CREATED, ST_BO_FREED,
  ST_LIVE_BOS, V_EARLY_FREE, V_DOUBLE_FREE,
} from "./abi";
import { bump } from "./stats";
import {
  sysFrames, setRef, setMapcount, setFlags, flags, kindOf, mapcount, ref, setContent, noteAlloc, noteFree,
} from "./frames";
import { idleCount, freeAt } from "./scheme";
import { violation } from "./violations";

export const BO_UNUSED: i32 = 0;
export const BO_LIVE: i32 = 1;
export const BO_FREED: i32 = 2;

let devCap: u32 = 0;
let devUsed: u32 = 0;
export let driverCount: i32 = 0;
let driverCap: i32 = 0;
let drvKind: usize = 0;
let drvBase: usize = 0; // first pfn
let drvSize: usize = 0;
let drvTop: usize = 0; // free-stack depth
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
export function deviceFramesLeft(): u32 { return devCap - devUsed; }
export function driverSlotsLeft(): i32 { return driverCap - driverCount; }
export function boSlotsLeft(): i32 { return boCap - boCount; }
export function boValid(b: i32): bool { return b > 0 && b < boCount; }
export function boLive(b: i32): bool { return boValid(b) && i32At(boState, b) == BO_LIVE; }
export function boStateOf(b: i32): i32 { return i32At(boState, b); }
export function boRefsOf(b: i32): i32 { return i32At(boRefs, b); }
export function boDriverOf(b: i32): i32 { return i32At(boDriver, b); }
export function deviceOwner(pfn: u32): i32 { return load<i32>(ownerBase + (<usize>(pfn - sysFrames - 1) << 2)); }

/** memremap_pages: register nframes device frames of `kind`; free pages idle at the era's value. */
export function registerDriver(kind: i32, nframes: u32): i32 {
  const d = driverCount++;
  const base = sysFrames + 1 + devUsed;
  setI32At(drvKind, d, kind);
  setI32At(drvBase, d, <i32>base);
  setI32At(drvSize, d, <i32>nframes);
  setI32At(drvTop, d, <i32>nframes);
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

/**
 * Driver allocation of a device page for BO b (svm_migrate_get_vram_page):
 * E0 get_page (1->2), E1 lock only (stays 1), E2+ zone_device_page_init (0->1).
 * In every era the allocated page sits one above the free trigger. Returns 0 if full.
 */
export function allocDevicePage(d: i32, b: i32): u32 {
  const top = i32At(drvTop, d);
  if (top == 0) return 0;
  setI32At(drvTop, d, top - 1);
  const slot = <u32>(i32At(drvBase, d) - <i32>sysFrames - 1) + <u32>top - 1;
  const pfn = load<u32>(freeStack + (<usize>slot << 2));
  const kind = kindOf(pfn);
  setRef(pfn, freeAt(kind) + 1);
  setFlags(pfn, PG_ALLOCATED | (<u32>kind << PG_KIND_SHIFT));
  setContent(pfn, 0);
  store<i32>(ownerBase + (<usize>(pfn - sysFrames - 1) << 2), b);
  setI32At(boRefs, b, i32At(boRefs, b) + 1); // svm_range_bo_ref
  bump(ST_DEV_ALLOC);
  noteAlloc();
  return pfn;
}

/**
 * free_zone_device_folio -> pgmap->ops->page_free: clear mapping and
 * PageAnonExclusive, return the page to the driver's free list at the idle count,
 * drop the BO reference; the BO is freed when its last page goes.
 */
export function pageFree(pfn: u32, mm: i32, vpn: i32): void {
  const f = flags(pfn);
  if ((f & PG_ALLOCATED) == 0) {
    violation(V_DOUBLE_FREE, pfn, mm, vpn, ref(pfn), mapcount(pfn), 0);
    return;
  }
  if (mapcount(pfn) > 0) violation(V_EARLY_FREE, pfn, mm, vpn, ref(pfn), mapcount(pfn), 0);
  const kind = kindOf(pfn);
  setFlags(pfn, <u32>kind << PG_KIND_SHIFT); // mapping, anon, exclusive, owner-ref all cleared
  setRef(pfn, idleCount(kind)); // E1 set_page_count(page, 1); E2+ stays 0
  const off = pfn - sysFrames - 1;
  let d = 0;
  while (d < driverCount - 1 && <u32>(i32At(drvBase, d + 1)) <= pfn) d++;
  const top = i32At(drvTop, d);
  const slot = <u32>(i32At(drvBase, d) - <i32>sysFrames - 1) + <u32>top;
  store<u32>(freeStack + (<usize>slot << 2), pfn);
  setI32At(drvTop, d, top + 1);
  bump(ST_DEV_FREED);
  noteFree();
  const b = load<i32>(ownerBase + (<usize>off << 2));
  if (b > 0) {
    const left = i32At(boRefs, b) - 1; // svm_range_bo_unref
    setI32At(boRefs, b, left);
    if (left == 0 && i32At(boState, b) == BO_LIVE) {
      setI32At(boState, b, BO_FREED);
      bump(ST_BO_FREED);
      bump(ST_LIVE_BOS, -1);
    }
  }
  store<i32>(ownerBase + (<usize>off << 2), 0);
}

/** The owner's reference kept by the devmap model (fsdax-style); cleared with the page. */
export function ownerHoldsRef(pfn: u32): bool { return (flags(pfn) & PG_OWNER_REF) != 0; }
