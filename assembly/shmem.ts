// Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS, mm/shmem.c): mmap gives
// the VMA a shmem file of its own (shmem_zero_setup), so the VMA is a shared file
// mapping: vma_is_anonymous() is false, faults go through shmem_fault and the
// page cache (the cache holds one reference per page, each mapping one more),
// fork shares the file and copies no PTE (vma_needs_copy), and a write is seen by
// every process that maps it. The pages are not anonymous (folio_test_anon is
// false), so migrate_vma skips them. The file lives as long as a VMA maps it:
// the last unmap drops it and shmem_evict_inode truncates its pages
// (shmem_truncate_range); a page still pinned lives on until unpinned.
import { ST_SHMEM_RELEASED, PG_PAGECACHE } from "./abi";
import { bump } from "./stats";
import { newFile, markShmem, fileIsShmem, filePages, cachedPageAt, clearSlot, closeFile } from "./file";
import { clearFlag, setLastOp } from "./frames";
import { folioPut } from "./refcount";
import { currentOp } from "./violations";

/** shmem_zero_setup: a new shmem file of npages for a shared anonymous mapping (the caller checked space). */
export function shmemZeroSetup(npages: u32): i32 {
  const f = newFile(npages, -1);
  markShmem(f);
  return f;
}

/**
 * The last VMA of shmem file f went away (fput -> shmem_evict_inode): every page
 * leaves the page cache and loses the cache's reference; the file is gone.
 */
export function shmemRelease(f: i32): void {
  if (!fileIsShmem(f)) return;
  const n = filePages(f);
  for (let i: u32 = 0; i < n; i++) {
    const pfn = cachedPageAt(f, i);
    if (pfn == 0) continue;
    clearSlot(f, i);
    clearFlag(pfn, PG_PAGECACHE);
    setLastOp(pfn, currentOp);
    folioPut(pfn, 1, -1, -1); // truncate_inode_folio -> filemap_remove_folio: the cache's reference
  }
  closeFile(f);
  bump(ST_SHMEM_RELEASED);
}
