/**
 * Truncate and hole punch (truncate_pagecache_range). User mappings of the range are
 * zapped (unmap_mapping_range, even_cows for truncate(2)); an ordinary file then drops
 * its page cache references, and pinned pages live on as orphans until unpinned. An
 * fsdax file must not free a block a pin still uses: ext4 first breaks layouts over
 * the whole file (ext4_break_layouts -> dax_layout_busy_page: unmap every mapping,
 * wait for each busy page to go idle, wake_up_var), and only then unmaps and frees the
 * range. Before 6.15 the busy scan was skipped when no vma mapped the file at all, so
 * a pin taken before munmap was not waited for (spec S12).
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
import { freeDaxPage } from "./driver.ts";
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
 * ext4_break_layouts (6.1 fs/ext4/inode.c; 5.x the same; 6.15+ dax_break_layout_inode,
 * range 0..LLONG_MAX): dax_layout_busy_page over the whole file, not the truncated
 * range. It unmaps every mapping of the file (unmap_mapping_pages, even_cows 0) and
 * returns the first busy page in index order; the truncate waits on that one page
 * (wait_var_event) and, woken, starts over. Returns whether it must wait.
 */
function breakLayouts(m: Machine, f: File): boolean {
  // before 6.15 dax_layout_busy_page_range returns at once when no vma maps the file
  if (!fileMapped(m, f) && !m.rules.daxScanUnmapped) return false;
  unmapMappingRange(m, f, 0, f.pages, false);
  for (let i = 0; i < f.pages; i++) {
    const page = cachedPage(f, i);
    if (!page || page.kind !== KIND_FSDAX || !daxBusy(m, page)) continue;
    page.truncateWait = true; // wait_var_event until this page is idle
    m.counters.truncateWaits++;
    return true;
  }
  return false;
}

/**
 * The truncate proper, once nothing is busy: truncate_pagecache(_range) unmaps the
 * range (a shrink with even_cows, so its private COWed pages go too), the blocks are
 * freed (ext4_punch_hole / ext4_truncate) and a shrink lowers i_size (before 6.15 a
 * busy page of an unmapped file is freed all the same: spec S12).
 */
function finishTruncate(m: Machine, f: File, idx: number, n: number, shrink: boolean): void {
  unmapMappingRange(m, f, idx, n, shrink);
  for (let i = idx; i < idx + n && i < f.pages; i++) {
    f.disk[i] = 0; // the hole reads back as zeroes, whatever a DMA wrote while truncate waited
    const page = cachedPage(f, i);
    if (page && page.kind === KIND_FSDAX) releaseBlock(m, f, i, page);
    else punchHole(f, i); // a block never faulted in, or already a hole (its zero-page entry deleted)
  }
  if (shrink && idx < f.pages) f.pages = idx; // i_size_write (refsim files never grow)
}

/**
 * Punch a hole over [idx, idx+n) of file f, or (shrink) truncate it to idx pages:
 * truncate_setsize + truncate_pagecache, whose even_cows unmap takes the private
 * COWed pages too, so a later access there is past i_size (SIGBUS). An fsdax file
 * first breaks layouts over the whole file: while a page anywhere in it is busy the
 * truncate waits and nothing is freed, unmapped or resized in its range (every block
 * keeps its data; i_size stays). Returns 1 if it waits, else 0.
 */
export function truncateRange(m: Machine, f: File, idx: number, n: number, shrink: boolean): number {
  if (f.driver >= 0) {
    // a truncate behind a waiting one blocks on its inode_lock; else ext4_break_layouts
    if (m.files.waitingTruncates.some((t) => t.file === f.id) || breakLayouts(m, f)) {
      m.files.waitingTruncates.push({ file: f.id, idx, n, shrink });
      return 1;
    }
    finishTruncate(m, f, idx, n, shrink);
    return 0;
  }
  unmapMappingRange(m, f, idx, n, shrink);
  for (let i = idx; i < idx + n && i < f.pages; i++) {
    f.disk[i] = 0; // the hole reads back as zeroes
    const page = cachedPage(f, i);
    if (!page) continue;
    f.cache.delete(i); // truncate_inode_folio: out of the page cache, its reference dropped
    page.pageCache = false;
    page.lastOp = m.log.currentOp;
    folioPut(m, page, 1, -1, i); // truncate_inode_folio -> filemap_remove_folio: folio_put_refs
  }
  if (shrink) f.pages = idx; // i_size_write
  return 0;
}

/**
 * wake_up_var on an fsdax page that went idle: the truncate waiting on it is woken.
 * It runs after the op that woke it (resumeWokenTruncates), as the sleeping task runs
 * after the waker, never inside the waker's own zap or put.
 */
export function daxPageIdle(m: Machine, page: Frame): void {
  if (!page.truncateWait) return;
  page.truncateWait = false;
  if (page.owner < 0) m.files.wokenTruncates.add(-page.owner - 1);
}

/**
 * The woken truncates go on: each breaks layouts again (unmapping what faulted back
 * in meanwhile, and waiting again on a page still or newly busy); with nothing busy
 * it and every truncate queued behind it on the file run in turn, each breaking
 * layouts first. Called after every op.
 */
export function resumeWokenTruncates(m: Machine): void {
  const woken = m.files.wokenTruncates;
  while (woken.size > 0) {
    for (let f = 0; f < m.files.all.length; f++) {
      if (!woken.delete(f)) continue;
      resume(m, m.files.all[f]);
    }
  }
}

function resume(m: Machine, f: File): void {
  const q = m.files.waitingTruncates;
  for (let i = 0; i < q.length;) {
    if (q[i].file !== f.id) { i++; continue; }
    if (breakLayouts(m, f)) return;
    const { idx, n, shrink } = q[i];
    q.splice(i, 1);
    finishTruncate(m, f, idx, n, shrink);
  }
}
