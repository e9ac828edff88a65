/**
 * Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS, mm/shmem.c), as
 * assembly/shmem.ts: the VMA maps a shmem file of its own (shmem_zero_setup);
 * the last unmap releases it and its pages leave the page cache.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096, shared: true });
 * m.write(mm, addr, 5);
 * const child = m.fork(mm);
 * console.log(m.read(child, addr), m.page(mm, addr)!.refcount); // 5 3
 * ```
 */
import { folioPut } from "./refcount.ts";
import type { File } from "./file.ts";
import type { Machine } from "./machine.ts";

/** shmem_zero_setup: a new shmem file of npages (the caller checked space). */
export function shmemZeroSetup(m: Machine, npages: number): File {
  const f = m.files.create(npages, -1);
  f.shmem = true;
  return f;
}

/** The last VMA of a shmem file went away: its pages leave the page cache (shmem_evict_inode). */
export function shmemRelease(m: Machine, f: File): void {
  for (const idx of [...f.cache.keys()].sort((a, b) => a - b)) {
    const page = f.cache.get(idx)!;
    f.cache.delete(idx);
    page.pageCache = false;
    page.lastOp = m.log.currentOp;
    folioPut(m, page, 1, -1, -1); // filemap_remove_folio: the cache's reference
  }
  f.open = false;
  m.counters.shmemReleased++;
}
