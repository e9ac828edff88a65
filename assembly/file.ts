// Files: data on "disk" (one word per page) and a page cache. An ordinary file's
// cache holds system pages, one reference each (filemap_add_folio). A file on a
// DAX device (fsdax) or a device file (device-dax, p2pmem) has device pages in
// its slots instead, associated without a reference (dax_associate_entry): the
// filesystem owns their lifetime. Writes go through to disk at once, so disk is
// the expected value of any read of a file page.
import { PG_PAGECACHE, PG_ALLOCATED, KIND_P2PDMA } from "./abi";
import { allocSystemPage, addFlag, clearFlag, setContent, setPageIndex, setLastOp, flags, pageIndex, sysFrames, ref, mapcount } from "./frames";
import { folioPut } from "./refcount";
import { driverKind, deviceOwner, setDeviceOwner } from "./memremap";
import { allocDaxPage, allocDevicePage } from "./driver";
import { currentOp } from "./violations";

export let fileCap: i32 = 0;
export let fileCount: i32 = 0;
let fileSize: usize = 0; // pages
let fileSlot: usize = 0; // first slot in cache/disk arrays
let fileOpen: usize = 0;
let fileDriver: usize = 0; // -1: ordinary file; else the device driver backing it
let fileShmem: usize = 0; // 1: the shmem file of a shared anonymous mapping (shmem_zero_setup); 2: a test_hmm mapping
let fileVmas: usize = 0; // VMAs mapping the file (the struct file references they hold)
let slotCap: u32 = 0;
let slotUsed: u32 = 0;
let cacheBase: usize = 0; // pfn per slot, 0 = not cached (an fsdax file: a written block not yet faulted in)
// An fsdax file's offset with no block (punched or truncated away): an empty DAX entry,
// or the zero-page entry dax_load_hole stores (6.1 fs/dax.c). Device pfns are far below.
const SLOT_HOLE: u32 = 0xFFFFFFFF;
const SLOT_HOLE_ZERO: u32 = 0xFFFFFFFE;
let diskBase: usize = 0; // data per slot

export function initFiles(nFiles: i32, nSlots: u32): void {
  fileCap = nFiles;
  fileCount = 0;
  fileSize = heap.alloc(<usize>nFiles << 2);
  fileSlot = heap.alloc(<usize>nFiles << 2);
  fileOpen = heap.alloc(<usize>nFiles << 2);
  fileDriver = heap.alloc(<usize>nFiles << 2);
  fileShmem = heap.alloc(<usize>nFiles << 2);
  fileVmas = heap.alloc(<usize>nFiles << 2);
  slotCap = nSlots;
  slotUsed = 0;
  cacheBase = heap.alloc(<usize>max<u32>(nSlots, 1) << 2);
  diskBase = heap.alloc(<usize>max<u32>(nSlots, 1) << 2);
}

@inline function get(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }

export function fileSlotsLeft(): u32 { return slotCap - slotUsed; }
export function fileValid(f: i32): bool { return f >= 0 && f < fileCount && get(fileOpen, f) != 0; }
export function filePages(f: i32): u32 { return <u32>get(fileSize, f); }
/** truncate_setsize: the file's i_size in pages (its slots stay allocated). */
export function setFilePages(f: i32, npages: u32): void { store<i32>(fileSize + (<usize>f << 2), <i32>npages); }
/** The device driver a file lives on, or -1 for an ordinary file. */
export function fileDevice(f: i32): i32 { return get(fileDriver, f); }

export function newFile(npages: u32, driver: i32): i32 {
  const f = fileCount++;
  store<i32>(fileSize + (<usize>f << 2), <i32>npages);
  store<i32>(fileSlot + (<usize>f << 2), <i32>slotUsed);
  store<i32>(fileOpen + (<usize>f << 2), 1);
  store<i32>(fileDriver + (<usize>f << 2), driver);
  store<i32>(fileShmem + (<usize>f << 2), 0);
  store<i32>(fileVmas + (<usize>f << 2), 0);
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

/** cachedPageAt of a file on no device (fileDevice(f) < 0): the slot's pfn, 0 if not cached. */
@inline export function cachedSystemPageAt(f: i32, idx: u32): u32 { return load<u32>(slotPtr(cacheBase, f, idx)); }

/** The page in slot idx, if it still belongs there (a p2pmem page freed on its last unmap does not). */
@inline export function cachedPageAt(f: i32, idx: u32): u32 {
  // inline up to an ordinary file's answer (the quiesce check asks for every cached page; performance only)
  const pfn = load<u32>(slotPtr(cacheBase, f, idx));
  if (pfn == 0) return 0;
  if (get(fileDriver, f) < 0) return pfn;
  return cachedDevicePageAt(f, idx, pfn);
}

/** cachedPageAt for a file on a device driver: pfn is the slot's word. */
function cachedDevicePageAt(f: i32, idx: u32, pfn: u32): u32 {
  if (pfn >= SLOT_HOLE_ZERO) return 0; // a hole
  if ((flags(pfn) & PG_ALLOCATED) == 0 || deviceOwner(pfn) != -(f + 1) || pageIndex(pfn) != idx) return 0;
  return pfn;
}

/**
 * Would a fault on this file need a device page it cannot get? A hole of an fsdax
 * file needs a block only for a write through a shared mapping (blockWrite): a read
 * maps the zero page, a private write copies zeroes (6.1 fs/dax.c dax_fault_iter).
 */
export function needsDevicePage(f: i32, idx: u32, blockWrite: bool): bool {
  if (get(fileDriver, f) < 0 || cachedPageAt(f, idx) != 0) return false;
  return blockWrite || !isHole(f, idx);
}

/** An fsdax file's offset whose block was punched or truncated away (ext4 frees it; no block until a write fault). */
export function isHole(f: i32, idx: u32): bool {
  return get(fileDriver, f) >= 0 && load<u32>(slotPtr(cacheBase, f, idx)) >= SLOT_HOLE_ZERO;
}

/** Does the hole's DAX entry hold the zero page (a read fault mapped it: dax_load_hole)? */
export function holeHasZeroEntry(f: i32, idx: u32): bool {
  return get(fileDriver, f) >= 0 && load<u32>(slotPtr(cacheBase, f, idx)) == SLOT_HOLE_ZERO;
}

/** dax_load_hole: dax_insert_entry(DAX_ZERO_PAGE) for a hole (6.1 fs/dax.c). */
export function setHoleZeroEntry(f: i32, idx: u32): void {
  store<u32>(slotPtr(cacheBase, f, idx), SLOT_HOLE_ZERO);
}

/** The filesystem freed the block at idx (ext4_punch_hole / ext4_truncate): a hole, its DAX entry deleted. */
export function punchHole(f: i32, idx: u32): void {
  store<u32>(slotPtr(cacheBase, f, idx), SLOT_HOLE);
}

/**
 * The page behind file offset idx (caller checked space): filemap_fault's lookup,
 * reading an ordinary page in from disk; for a DAX file the block's device page
 * (dax_iomap_pte_fault); for p2pmem a page from the device's pool, still holding
 * its allocation reference for the caller to hand over.
 */
export function findOrReadPage(f: i32, idx: u32): u32 {
  const p = slotPtr(cacheBase, f, idx);
  let pfn = cachedPageAt(f, idx);
  pageWasNew = pfn == 0;
  if (pfn != 0) return pfn;
  const d = get(fileDriver, f);
  if (d < 0) {
    pfn = allocSystemPage(); // the allocation reference becomes the page cache's reference
    addFlag(pfn, PG_PAGECACHE);
  } else {
    pfn = driverKind(d) == KIND_P2PDMA ? allocDevicePage(d, 0) : allocDaxPage(d);
    setDeviceOwner(pfn, -(f + 1));
  }
  setPageIndex(pfn, idx);
  setContent(pfn, diskRead(f, idx));
  store<u32>(p, pfn);
  return pfn;
}

/** Whether the last findOrReadPage had to bring in a new page. */
export let pageWasNew = false;
/** A fault found its page in the cache without findOrReadPage (fastpath_file.ts): as findOrReadPage would note it. */
export function notePageCached(): void { pageWasNew = false; }

/** Is pfn a file's page (page cache, or a device page associated with a file)? */
export function isFilePage(pfn: u32): bool {
  if ((flags(pfn) & PG_PAGECACHE) != 0) return true;
  return pfn > sysFrames && deviceOwner(pfn) < 0;
}

/** Forget the page in slot idx (truncate's dax_delete_mapping_entry / page cache removal). */
export function clearSlot(f: i32, idx: u32): void {
  store<u32>(slotPtr(cacheBase, f, idx), 0);
}

/**
 * invalidate_mapping_pages (drop_caches): evict every cached system page nothing
 * else uses, dropping the page cache's reference. Mapped pages and pages with
 * extra references (pinned, under I/O) stay (mapping_evict_folio).
 */
export function dropPageCache(f: i32): void {
  if (get(fileDriver, f) >= 0) return; // DAX slots hold no reference; truncate frees blocks
  if (fileIsShmem(f)) return; // shmem folios are swap-backed and dirty: mapping_evict_folio keeps them
  const n = filePages(f);
  for (let i: u32 = 0; i < n; i++) {
    const p = slotPtr(cacheBase, f, i);
    const pfn = load<u32>(p);
    if (pfn == 0 || mapcount(pfn) > 0 || ref(pfn) > 1) continue;
    store<u32>(p, 0);
    clearFlag(pfn, PG_PAGECACHE);
    setLastOp(pfn, currentOp);
    folioPut(pfn, 1, -1, -1);
  }
}

export function fileIsOpen(f: i32): bool { return get(fileOpen, f) != 0; }

/** A shmem file: the page cache is all there is (no disk to refault from, never dropped by drop_caches). */
export function fileIsShmem(f: i32): bool { return get(fileShmem, f) == 1; }
export function markShmem(f: i32): void { store<i32>(fileShmem + (<usize>f << 2), 1); }
/**
 * The pages of one mmap of a test_hmm file (dmirror_fops_mmap): no page cache, no ->fault
 * (vma_dummy_vm_ops), VM_MIXEDMAP. refsim gives each such mapping a file of its own (kind 2 of
 * the word shmem uses) so the VMA's offsets, splits and fork work as for any file mapping.
 */
export function fileIsDmirrorMap(f: i32): bool { return f >= 0 && get(fileShmem, f) == 2; }
export function markDmirrorMap(f: i32): void { store<i32>(fileShmem + (<usize>f << 2), 2); }
/** migrate_vma_setup refuses a VMA of file f (f < 0: anonymous): vma_is_dax, or VM_SPECIAL (the VM_MIXEDMAP of p2pmem and of a test_hmm mapping). */
export function fileRefusesMigrateVma(f: i32): bool { return f >= 0 && (get(fileDriver, f) >= 0 || fileIsDmirrorMap(f)); }
export function closeFile(f: i32): void { store<i32>(fileOpen + (<usize>f << 2), 0); }

/** A VMA maps f (get_file). */
export function fileVmaGet(f: i32): void { store<i32>(fileVmas + (<usize>f << 2), get(fileVmas, f) + 1); }

function noEvict(f: i32): void {}

/** The shmem file's evict_inode (shmem.ts's shmemRelease), given at init: the kernel calls it through sb->s_op. */
let evictInode: (f: i32) => void = noEvict;
export function initEvictInode(evict: (f: i32) => void): void { evictInode = evict; }

/** A VMA of f went away (fput): the last one takes a shmem file with it (iput -> evict -> s_op->evict_inode). */
export function fileVmaPut(f: i32): void {
  const n = get(fileVmas, f) - 1;
  store<i32>(fileVmas + (<usize>f << 2), n);
  if (n == 0 && fileIsShmem(f)) evictInode(f);
  if (n == 0 && fileIsDmirrorMap(f)) closeFile(f); // the mapping's pages went with its PTEs (zap)
}
/** Does the file's cache hold a reference on its pages (an ordinary page cache)? */
export function cacheHoldsRef(f: i32): bool { return get(fileDriver, f) < 0; }
