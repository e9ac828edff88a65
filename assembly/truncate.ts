// Truncate and hole punch (truncate_pagecache_range; for DAX files
// dax_layout_busy_page_range + dax_break_layout). User mappings of the range are
// zapped first (unmap_mapping_range, even_cows). An ordinary file then drops its
// page cache references; pinned pages live on as orphans until unpinned. A DAX
// file must not free a block a pin still uses: a busy page makes the truncate
// wait until the page goes idle (wake_up_var), and only then is the block freed.
// Before 6.15 the busy scan was skipped when no vma mapped the file at all, so a
// pin taken before munmap was not waited for (spec S12).
import {
  MMU_NOTIFY_CLEAR, PG_TRUNCATE_WAIT, PG_PAGECACHE, KIND_FSDAX, SCHEME_DAX_SCAN_UNMAPPED, ST_TRUNCATE_WAITS,
} from "./abi";
import { bump } from "./stats";
import { rule, idleCount } from "./scheme";
import { ref, mapcount, flags, hasFlag, addFlag, clearFlag, kindOf, pageIndex, setLastOp } from "./frames";
import { folioPut } from "./refcount";
import { freeDaxPage, deviceOwner, driverKind } from "./device";
import { mmCount, mmValid, firstVma, vmaNext, vmaFile, vmaPgoff, vmaStart, vmaEnd } from "./mm";
import { zapRange } from "./zap";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { fileDevice, filePages, setFilePages, cachedPageAt, clearSlot, punchHole, diskWrite } from "./file";
import { currentOp } from "./violations";

/** Does any vma of any process map file f (mapping_mapped)? */
export function fileMapped(f: i32): bool {
  for (let mm = 0; mm < mmCount; mm++) {
    if (!mmValid(mm)) continue;
    for (let v = firstVma(mm); v >= 0; v = vmaNext(v)) if (vmaFile(v) == f) return true;
  }
  return false;
}

/**
 * unmap_mapping_range over file pages [idx, idx+n) in every process; private
 * COWed pages only when evenCows (truncate_pagecache; a hole punch's
 * truncate_pagecache_range and dax_layout_busy_page_range pass 0: 6.1 mm/truncate.c, fs/dax.c).
 */
export function unmapMappingRange(f: i32, idx: u32, n: u32, evenCows: bool): void {
  for (let mm = 0; mm < mmCount; mm++) {
    if (!mmValid(mm)) continue;
    for (let v = firstVma(mm); v >= 0; v = vmaNext(v)) {
      if (vmaFile(v) != f) continue;
      const lo = max<u32>(idx, vmaPgoff(v));
      const hi = min<u32>(idx + n, vmaPgoff(v) + (vmaEnd(v) - vmaStart(v)));
      if (lo >= hi) continue;
      const s = vmaStart(v) + (lo - vmaPgoff(v));
      const e = vmaStart(v) + (hi - vmaPgoff(v));
      mmuNotifierInvalidate(mm, s, e, MMU_NOTIFY_CLEAR, -1); // zap_page_range_single
      zapRange(mm, s, e, evenCows);
    }
  }
}

/** dax_busy_page: a reference beyond the idle count and the mappings' own (E3+: count - mapcount). */
function daxBusy(pfn: u32): bool {
  return ref(pfn) - mapcount(pfn) > idleCount(kindOf(pfn));
}

/** Free a truncated DAX block: dax_disassociate_entry, then the filesystem frees it. */
function releaseBlock(f: i32, idx: u32, pfn: u32): void {
  punchHole(f, idx); // a later read fault there maps the zero page (dax_load_hole)
  diskWrite(f, idx, 0); // the hole reads back as zeroes, whatever a DMA wrote while truncate waited
  setLastOp(pfn, currentOp);
  freeDaxPage(pfn);
}

/**
 * Punch a hole over [idx, idx+n) of file f, or (shrink) truncate it to idx pages:
 * truncate_setsize + truncate_pagecache, whose even_cows unmap takes the private
 * COWed pages too, so a later access there is past i_size (SIGBUS). Returns how
 * many pages it had to wait for.
 */
export function truncateRange(f: i32, idx: u32, n: u32, shrink: bool): i32 {
  const dax = fileDevice(f) >= 0;
  const blocks = dax && driverKind(fileDevice(f)) == KIND_FSDAX; // device-dax and p2pmem have no blocks to free
  const scan = !dax || fileMapped(f) || rule(SCHEME_DAX_SCAN_UNMAPPED) != 0;
  unmapMappingRange(f, idx, n, shrink);
  let waits = 0;
  for (let i = idx; i < idx + n && i < filePages(f); i++) {
    diskWrite(f, i, 0); // the hole reads back as zeroes
    const pfn = cachedPageAt(f, i);
    if (pfn == 0) {
      if (blocks) punchHole(f, i); // a block never faulted in, or already a hole (its zero-page entry deleted)
      continue;
    }
    if (!dax) {
      clearSlot(f, i); // truncate_inode_folio: out of the page cache, its reference dropped
      clearFlag(pfn, PG_PAGECACHE);
      setLastOp(pfn, currentOp);
      folioPut(pfn, 1, -1, <i32>i);
      continue;
    }
    if (kindOf(pfn) != KIND_FSDAX) continue; // device-dax and p2pmem have no blocks to free
    if (scan && daxBusy(pfn)) {
      addFlag(pfn, PG_TRUNCATE_WAIT); // dax_break_layout: wait_var_event until idle
      bump(ST_TRUNCATE_WAITS);
      waits++;
      continue;
    }
    releaseBlock(f, i, pfn);
  }
  if (shrink) setFilePages(f, idx); // i_size_write
  return waits;
}

/** wake_up_var on an fsdax page that went idle: a waiting truncate frees its block now. */
export function daxPageIdle(pfn: u32): void {
  if (!hasFlag(pfn, PG_TRUNCATE_WAIT)) return;
  clearFlag(pfn, PG_TRUNCATE_WAIT);
  const owner = deviceOwner(pfn);
  if (owner < 0) releaseBlock(-owner - 1, pageIndex(pfn), pfn);
}

/** A truncate still waiting on this page (for the hang check). */
export function truncateWaiting(pfn: u32): bool {
  return (flags(pfn) & PG_TRUNCATE_WAIT) != 0;
}
