/**
 * Truncate and hole punch (truncate_pagecache_range; for DAX files
 * dax_layout_busy_page_range + dax_break_layout). User mappings of the range are
 * zapped first (unmap_mapping_range, even_cows). An ordinary file then drops its
 * page cache references; pinned pages live on as orphans until unpinned. A DAX
 * file must not free a block a pin still uses: a busy page makes the truncate
 * wait until the page goes idle (wake_up_var), and only then is the block freed.
 * Before 6.15 the busy scan was skipped when no vma mapped the file at all, so a
 * pin taken before munmap was not waited for (spec S12).
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const pmem = m.driverNew("fsdax", 4);
 * const f = m.fileNew(4096, pmem);
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096, file: f, shared: true });
 * const h = m.gup(mm, addr, { pin: true });
 * console.log(m.truncate(f, 0, 4096)); // 1 (waits for the pin)
 * m.unpin(h);
 * console.log(m.driverFreePages(pmem)); // 4
 * ```
 */
import { KIND_FSDAX, MMU_NOTIFY_CLEAR } from "../../assembly/abi.ts";
import { folioPut } from "./refcount.ts";
import { freeDaxPage } from "./device.ts";
import { zapRange } from "./zap.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { cachedPage, punchHole, type File } from "./file.ts";
import type { Frame } from "./frames.ts";
import type { Machine } from "./machine.ts";

/** Does any vma of any live process map file f (mapping_mapped)? */
export function fileMapped(m: Machine, f: File): boolean {
  return m.mms.alive.some((mm) => mm.vmas.some((v) => v.file === f.id));
}

/**
 * unmap_mapping_range over file pages [idx, idx+n) in every process; private
 * COWed pages only when evenCows (truncate_pagecache; a hole punch's
 * truncate_pagecache_range and dax_layout_busy_page_range pass 0: 6.1 mm/truncate.c, fs/dax.c).
 */
export function unmapMappingRange(m: Machine, f: File, idx: number, n: number, evenCows: boolean): void {
  for (const mm of m.mms.alive) {
    for (const v of mm.vmas) {
      if (v.file !== f.id) continue;
      const lo = Math.max(idx, v.pgoff);
      const hi = Math.min(idx + n, v.pgoff + (v.end - v.start));
      if (lo >= hi) continue;
      const s = v.start + (lo - v.pgoff);
      const e = v.start + (hi - v.pgoff);
      mmuNotifierInvalidate(m, mm.id, s, e, MMU_NOTIFY_CLEAR, -1); // zap_page_range_single
      zapRange(m, mm, s, e, evenCows);
    }
  }
}

/** dax_busy_page: a reference beyond the idle count and the mappings' own (E3+: count - mapcount). */
function daxBusy(m: Machine, page: Frame): boolean {
  return page.refcount - page.mapcount > m.rules.idleCount(page.kind);
}

/** Free a truncated DAX block: dax_disassociate_entry, then the filesystem frees it. */
function releaseBlock(m: Machine, f: File, idx: number, page: Frame): void {
  punchHole(f, idx); // a later read fault there maps the zero page (dax_load_hole)
  f.disk[idx] = 0; // the hole reads back as zeroes, whatever a DMA wrote while truncate waited
  page.lastOp = m.log.currentOp;
  freeDaxPage(m, page);
}

/**
 * Punch a hole over [idx, idx+n) of file f, or (shrink) truncate it to idx pages:
 * truncate_setsize + truncate_pagecache, whose even_cows unmap takes the private
 * COWed pages too, so a later access there is past i_size (SIGBUS). Returns how
 * many pages it had to wait for.
 */
export function truncateRange(m: Machine, f: File, idx: number, n: number, shrink: boolean): number {
  const dax = f.driver >= 0;
  const blocks = dax && m.devices.drivers[f.driver].kind === KIND_FSDAX; // device-dax and p2pmem have no blocks to free
  const scan = !dax || fileMapped(m, f) || m.rules.daxScanUnmapped;
  unmapMappingRange(m, f, idx, n, shrink);
  let waits = 0;
  for (let i = idx; i < idx + n && i < f.pages; i++) {
    f.disk[i] = 0; // the hole reads back as zeroes
    const page = cachedPage(f, i);
    if (!page) {
      if (blocks) punchHole(f, i); // a block never faulted in, or already a hole (its zero-page entry deleted)
      continue;
    }
    if (!dax) {
      f.cache.delete(i); // truncate_inode_folio: out of the page cache, its reference dropped
      page.pageCache = false;
      page.lastOp = m.log.currentOp;
      folioPut(m, page, 1, -1, i); // truncate_inode_folio -> filemap_remove_folio: folio_put_refs
      continue;
    }
    if (page.kind !== KIND_FSDAX) continue; // device-dax and p2pmem have no blocks to free
    if (scan && daxBusy(m, page)) {
      page.truncateWait = true; // dax_break_layout: wait_var_event until idle
      m.counters.truncateWaits++;
      waits++;
      continue;
    }
    releaseBlock(m, f, i, page);
  }
  if (shrink) f.pages = idx; // i_size_write
  return waits;
}

/** wake_up_var on an fsdax page that went idle: a waiting truncate frees its block now. */
export function daxPageIdle(m: Machine, page: Frame): void {
  if (!page.truncateWait) return;
  page.truncateWait = false;
  if (page.owner < 0) releaseBlock(m, m.files.all[-page.owner - 1], page.index, page);
}
