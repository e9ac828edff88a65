// The test_hmm devices (struct dmirror_device, lib/test_hmm.c): fake GPUs, each of
// one kind (device-private or device-coherent; the module makes two of each).
// A device mirrors processes through its open files (mirror.ts) and reads and
// writes their memory through hmm_range_fault (hmm.ts, dmirror_ioctl.ts).
//
// Its own memory comes in chunks (dmirror_allocate_chunk, current mm tree and
// 6.1): each chunk is a pgmap of the device's kind whose owner is the device
// (pagemap.owner = mdevice), registered here as one refsim driver of
// DMIRROR_CHUNK_PAGES frames. dmirror_devmem_alloc_page takes a free page and
// makes a new chunk when none is left; a page freed (dmirror_devmem_free) goes
// back to its chunk's free list. Differences, none visible to the kernel's tests:
// the module makes the first chunk at dmirror_device_init, refsim at the first
// allocation (a device that never migrates takes no device frames); and the
// kernel's one LIFO list over all chunks is one list per chunk here, newest chunk
// first, so which free page comes next may differ.
//
// E5's large device folios (the 2025 device-private THP series, lib/test_hmm.c
// dmirror_allocate_chunk(is_large) / dmirror_devmem_alloc_page(is_large)): a chunk
// made for a large allocation hands out its PMD-aligned blocks as folios
// (mdevice->free_folios), one made for a small one its pages (free_pages); the
// module's init chunk is a small one. Here small allocations never use a large
// chunk, and the pages of a large folio split and freed one by one go back to their
// large chunk (the kernel puts them on free_pages), where a block whose pages are all
// free again is a folio once more.
//
// A device-coherent device's chunk is not a free region but its fixed spm range
// (spm_addr_dev0/1, linux-mm 05ab5121 dmirror_allocate_chunk): while one chunk is
// mapped there, memremap_pages of another fails (pagemap_range: conflict_pgmap,
// -ENOMEM). Its init chunk is small, so its large allocations always fail here.
// Not modelled: after a RELEASE the kernel's next large allocation would map a large
// coherent chunk (a device-coherent PMD), and once its one 65536-page chunk is full a
// small allocation fails where refsim makes another chunk (the tests never fill it).
import { MAX_DMIRROR_DEVICES, DMIRROR_OWNER_BASE, HMM_DMIRROR_FLAG_FAIL_ALLOC, KIND_DEVICE_COHERENT } from "./abi";
import { sysFrames } from "./frames";
import {
  driverCount, driverState, driverFree, pgmapOwner, setPgmapOwner, registerDriver, driverSlotsLeft, deviceFramesLeft,
  driverPadding, driverOf, DRIVER_LIVE,
} from "./memremap";
import { allocDevicePage, allocDeviceFolio } from "./driver";
import { mirrorIsOpen, eraseEntry, mirrorFlags, setMirrorFlags } from "./mirror";

export let dmirrorCount: i32 = 0;
let devKind: usize = 0;
let devChunks: usize = 0; // devmem_count: chunks made since the last RELEASE
let devChunkPages: usize = 0; // pages per chunk (DEVMEM_CHUNK_SIZE >> PAGE_SHIFT, scaled)
let pageMirror: usize = 0; // per device frame: the mirror whose migration put data there (rpage->zone_device_data)
let chunkLarge: usize = 0; // per driver: 1 for a chunk made for a large allocation (its blocks are free_folios)

export function initDmirror(nDev: u32, nDrivers: i32): void {
  chunkLarge = heap.alloc(<usize>max<i32>(nDrivers, 1));
  dmirrorCount = 0;
  devKind = heap.alloc(<usize>MAX_DMIRROR_DEVICES << 2);
  devChunks = heap.alloc(<usize>MAX_DMIRROR_DEVICES << 2);
  devChunkPages = heap.alloc(<usize>MAX_DMIRROR_DEVICES << 2);
  pageMirror = heap.alloc(<usize>max<u32>(nDev, 1) << 2);
  memory.fill(pageMirror, 0xff, <usize>max<u32>(nDev, 1) << 2); // -1: no mirror migrated data there (mirror 0 is a real one)
}

export function dmirrorValid(dev: i32): bool { return dev >= 0 && dev < dmirrorCount; }
export function dmirrorKind(dev: i32): i32 { return load<i32>(devKind + (<usize>dev << 2)); }
export function dmirrorChunks(dev: i32): i32 { return load<i32>(devChunks + (<usize>dev << 2)); }
/** pagemap.owner of the device's chunks, as notifier ranges and hmm_range_fault compare it. */
@inline export function dmirrorOwner(dev: i32): i32 { return DMIRROR_OWNER_BASE + dev; }
/** The test_hmm device a driver (pgmap) is a chunk of, or -1. */
export function dmirrorOfDriver(d: i32): i32 {
  const o = pgmapOwner(d);
  return o >= DMIRROR_OWNER_BASE ? o - DMIRROR_OWNER_BASE : -1;
}

/** dmirror_device_init: a device of this kind with chunks of `chunk` pages (the caller checked kind, chunk and room). */
export function newDmirror(kind: i32, chunk: i32): i32 {
  const dev = dmirrorCount++;
  store<i32>(devKind + (<usize>dev << 2), kind);
  store<i32>(devChunks + (<usize>dev << 2), 0);
  store<i32>(devChunkPages + (<usize>dev << 2), chunk);
  return dev;
}
export function dmirrorChunkPages(dev: i32): i32 { return load<i32>(devChunkPages + (<usize>dev << 2)); }

/** The mirror a device page's data was migrated for (dmirror_devmem_fault finds it through rpage). */
export function pageMirrorOf(pfn: u32): i32 { return load<i32>(pageMirror + (<usize>(pfn - sysFrames - 1) << 2)); }
export function setPageMirror(pfn: u32, m: i32): void { store<i32>(pageMirror + (<usize>(pfn - sysFrames - 1) << 2), m); }

/** Is driver d a live chunk of device dev (one RELEASE has not removed)? */
@inline export function isLiveChunk(d: i32, dev: i32): bool {
  return pgmapOwner(d) == dmirrorOwner(dev) && driverState(d) == DRIVER_LIVE;
}

/**
 * dmirror_allocate_chunk: memremap_pages of a new chunk owned by dev. False when
 * the simulated machine has no room for it (request_free_mem_region or
 * memremap_pages failing): the allocation then fails as the driver's would.
 */
function allocateChunk(dev: i32, large: bool): bool {
  const kind = dmirrorKind(dev);
  const pages = <u32>dmirrorChunkPages(dev);
  if (driverSlotsLeft() < 1 || deviceFramesLeft() < pages + driverPadding(kind)) return false;
  const d = registerDriver(kind, pages);
  setPgmapOwner(d, dmirrorOwner(dev));
  store<u8>(chunkLarge + <usize>d, large ? 1 : 0);
  store<i32>(devChunks + (<usize>dev << 2), dmirrorChunks(dev) + 1);
  return true;
}

/**
 * dmirror_devmem_alloc_page: a free page of dev's chunks (zone_device_page_init:
 * the era's allocated count, no BO), a new chunk when none is free; 0 if even
 * that fails.
 */
export function dmirrorAllocPage(dev: i32): u32 {
  for (let pass = 0; pass < 2; pass++) {
    for (let d = driverCount - 1; d >= 0; d--) {
      if (isLiveChunk(d, dev) && !isLargeChunk(d) && driverFree(d) > 0) return allocDevicePage(d, 0);
    }
    if (pass == 0 && !allocateChunk(dev, false)) return 0;
  }
  return 0;
}

/** Was driver d made as a large chunk (dmirror_allocate_chunk with is_large)? */
@inline function isLargeChunk(d: i32): bool { return load<u8>(chunkLarge + <usize>d) != 0; }

/**
 * dmirror_devmem_alloc_page(is_large) (E5): a free folio of dev's large chunks
 * (zone_device_folio_init, order 9), else a new large chunk's; 0 when even that
 * has no aligned block or no room (the caller falls back to small pages).
 */
export function dmirrorAllocFolio(dev: i32): u32 {
  // A device-coherent device's chunk is its fixed spm range (dmirror_allocate_chunk, linux-mm 05ab5121), already
  // taken by the small chunk dmirror_device_init made: memremap_pages of it again fails (pagemap_range's
  // conflict_pgmap, -ENOMEM), so a large allocation never succeeds and the caller falls back to small pages.
  if (dmirrorKind(dev) == KIND_DEVICE_COHERENT) return 0;
  for (let pass = 0; pass < 2; pass++) {
    for (let d = driverCount - 1; d >= 0; d--) {
      if (!isLiveChunk(d, dev) || !isLargeChunk(d)) continue;
      const head = allocDeviceFolio(d, 0);
      if (head != 0) return head;
    }
    if (pass == 0 && !allocateChunk(dev, true)) return 0;
  }
  return 0;
}

/**
 * dmirror_devmem_fault_alloc_and_copy's one-shot HMM_DMIRROR_FLAG_FAIL_ALLOC for a
 * large device page: the flag of the mirror the page was migrated for, cleared.
 * True when it was set (the folio then moves back as small pages).
 */
export function dmirrorTakeFailAlloc(pfn: u32): bool {
  if (dmirrorOfDriver(driverOf(pfn)) < 0) return false;
  const m = pageMirrorOf(pfn);
  if (!mirrorIsOpen(m)) return false;
  const f = mirrorFlags(m);
  if ((f & HMM_DMIRROR_FLAG_FAIL_ALLOC) == 0) return false;
  setMirrorFlags(m, f & ~HMM_DMIRROR_FLAG_FAIL_ALLOC);
  return true;
}

/** dmirror_device_remove_chunks is done with every chunk: devmem_count = 0, the next allocation makes one. */
export function resetChunks(dev: i32): void { store<i32>(devChunks + (<usize>dev << 2), 0); }

/**
 * The device side of dmirror_devmem_fault (the chunk pgmap's migrate_to_ram) for a
 * CPU fault at vpn on device page pfn: dmirror_devmem_fault_alloc_and_copy erases
 * the pt entry of the mirror the data was migrated for (its own MIGRATE
 * notification is skipped by that device's mirrors). A page of another driver: nothing.
 */
export function dmirrorFaultErase(pfn: u32, vpn: u32): void {
  if (dmirrorOfDriver(driverOf(pfn)) < 0) return;
  const m = pageMirrorOf(pfn);
  if (mirrorIsOpen(m)) eraseEntry(m, vpn);
}
