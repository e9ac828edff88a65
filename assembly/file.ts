// Files: data on "disk" (one word per page) and a page cache of system pages.
// The page cache holds one reference on each cached page (filemap_add_folio).
// Shared writes go through to disk at once, so disk is also the expected value
// of any read of a file page.
import { PG_PAGECACHE } from "./abi";
import { allocSystemPage, addFlag, clearFlag, setContent, setPageIndex, setLastOp } from "./frames";
import { folioPut } from "./refcount";
import { currentOp } from "./violations";

export let fileCap: i32 = 0;
export let fileCount: i32 = 0;
let fileSize: usize = 0; // pages
let fileSlot: usize = 0; // first slot in cache/disk arrays
let fileOpen: usize = 0;
let slotCap: u32 = 0;
let slotUsed: u32 = 0;
let cacheBase: usize = 0; // pfn per slot, 0 = not cached
let diskBase: usize = 0; // data per slot

export function initFiles(nFiles: i32, nSlots: u32): void {
  fileCap = nFiles;
  fileCount = 0;
  fileSize = heap.alloc(<usize>nFiles << 2);
  fileSlot = heap.alloc(<usize>nFiles << 2);
  fileOpen = heap.alloc(<usize>nFiles << 2);
  slotCap = nSlots;
  slotUsed = 0;
  cacheBase = heap.alloc(<usize>max<u32>(nSlots, 1) << 2);
  diskBase = heap.alloc(<usize>max<u32>(nSlots, 1) << 2);
}

@inline function get(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }

export function fileSlotsLeft(): u32 { return slotCap - slotUsed; }
export function fileValid(f: i32): bool { return f >= 0 && f < fileCount && get(fileOpen, f) != 0; }
export function filePages(f: i32): u32 { return <u32>get(fileSize, f); }

export function newFile(npages: u32): i32 {
  const f = fileCount++;
  store<i32>(fileSize + (<usize>f << 2), <i32>npages);
  store<i32>(fileSlot + (<usize>f << 2), <i32>slotUsed);
  store<i32>(fileOpen + (<usize>f << 2), 1);
  memory.fill(cacheBase + (<usize>slotUsed << 2), 0, <usize>npages << 2);
  memory.fill(diskBase + (<usize>slotUsed << 2), 0, <usize>npages << 2);
  slotUsed += npages;
  return f;
}

@inline function slotPtr(base: usize, f: i32, idx: u32): usize {
  return base + ((<usize>get(fileSlot, f) + <usize>idx) << 2);
}

export function diskRead(f: i32, idx: u32): u32 { return load<u32>(slotPtr(diskBase, f, idx)); }
export function diskWrite(f: i32, idx: u32, v: u32): void { store<u32>(slotPtr(diskBase, f, idx), v); }
export function cachedPage(f: i32, idx: u32): u32 { return load<u32>(slotPtr(cacheBase, f, idx)); }

/** filemap_fault's lookup: the cached page, read in from disk if absent (caller checked space). */
export function findOrReadPage(f: i32, idx: u32): u32 {
  const p = slotPtr(cacheBase, f, idx);
  let pfn = load<u32>(p);
  if (pfn == 0) {
    pfn = allocSystemPage(); // the allocation reference becomes the page cache's reference
    addFlag(pfn, PG_PAGECACHE);
    setPageIndex(pfn, idx);
    setContent(pfn, diskRead(f, idx));
    store<u32>(p, pfn);
  }
  return pfn;
}

/** truncate_inode_pages: drop the page cache's reference on every cached page. */
export function dropPageCache(f: i32): void {
  const n = filePages(f);
  for (let i: u32 = 0; i < n; i++) {
    const p = slotPtr(cacheBase, f, i);
    const pfn = load<u32>(p);
    if (pfn == 0) continue;
    store<u32>(p, 0);
    clearFlag(pfn, PG_PAGECACHE);
    setLastOp(pfn, currentOp);
    folioPut(pfn, 1, -1, -1);
  }
}

export function closeFile(f: i32): void {
  dropPageCache(f);
  store<i32>(fileOpen + (<usize>f << 2), 0);
}

/** Visit every cached page (for the invariant scan). */
export function cachedPageAt(f: i32, i: u32): u32 { return load<u32>(slotPtr(cacheBase, f, i)); }
export function fileIsOpen(f: i32): bool { return get(fileOpen, f) != 0; }
