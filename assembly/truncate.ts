// Truncate and hole punch (truncate_pagecache_range). User mappings of the range are
// zapped (unmap_mapping_range, even_cows for truncate(2)); an ordinary file then drops
// its page cache references, and pinned pages live on as orphans until unpinned. An
// fsdax file must not free a block a pin still uses: ext4 first breaks layouts over
// the whole file (ext4_break_layouts -> dax_layout_busy_page: unmap every mapping,
// wait for each busy page to go idle, wake_up_var), and only then unmaps and frees the
// range. Before 6.15 the busy scan was skipped when no vma mapped the file at all, so
// a pin taken before munmap was not waited for (spec S12).
import {
  MMU_NOTIFY_CLEAR, PG_TRUNCATE_WAIT, PG_PAGECACHE, KIND_FSDAX, SCHEME_DAX_SCAN_UNMAPPED, ST_TRUNCATE_WAITS,
} from "./abi";
import { bump } from "./stats";
import { rule, idleCount } from "./scheme";
import { ref, mapcount, flags, hasFlag, addFlag, clearFlag, kindOf, pageIndex, setLastOp } from "./frames";
import { folioPut } from "./refcount";
import { deviceOwner } from "./memremap";
import { freeDaxPage } from "./driver";
import { mmCount, mmValid, firstVma, vmaNext, vmaFile, vmaPgoff, vmaStart, vmaEnd } from "./mm";
import { zapRange } from "./zap";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { fileDevice, filePages, setFilePages, cachedPageAt, clearSlot, punchHole, diskWrite, fileCap } from "./file";
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

// Truncates of an fsdax file waiting in ext4_break_layouts, in arrival order: the
// first one waits for a busy page, the others for its inode_lock (ext4_punch_hole and
// ext4_setattr take it before breaking layouts), so they all go on when it does.
let pendCap: i32 = 0;
let pendCount: i32 = 0;
let pendFile: usize = 0;
let pendIdx: usize = 0;
let pendN: usize = 0;
let pendShrink: usize = 0;

export function initTruncate(cap: i32, files: i32): void {
  woken = heap.alloc(<usize>max<i32>(files, 1));
  memory.fill(woken, 0, <usize>max<i32>(files, 1));
  anyWoken = false;
  pendCap = cap;
  pendCount = 0;
  pendFile = heap.alloc(<usize>max<i32>(cap, 1) << 2);
  pendIdx = heap.alloc(<usize>max<i32>(cap, 1) << 2);
  pendN = heap.alloc(<usize>max<i32>(cap, 1) << 2);
  pendShrink = heap.alloc(<usize>max<i32>(cap, 1) << 2);
}

/** Room for one more waiting truncate (the op is refused with ERR_NOMEM_OBJECTS without it). */
export function truncateSlotsLeft(): i32 { return pendCap - pendCount; }

@inline function at(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }

function hasPending(f: i32): bool {
  for (let i = 0; i < pendCount; i++) if (at(pendFile, i) == f) return true;
  return false;
}

function enqueue(f: i32, idx: u32, n: u32, shrink: bool): void {
  const i = pendCount++;
  store<i32>(pendFile + (<usize>i << 2), f);
  store<i32>(pendIdx + (<usize>i << 2), <i32>idx);
  store<i32>(pendN + (<usize>i << 2), <i32>n);
  store<i32>(pendShrink + (<usize>i << 2), shrink ? 1 : 0);
}

function dequeue(i: i32): void {
  pendCount--;
  for (let j = i; j < pendCount; j++) {
    store<i32>(pendFile + (<usize>j << 2), at(pendFile, j + 1));
    store<i32>(pendIdx + (<usize>j << 2), at(pendIdx, j + 1));
    store<i32>(pendN + (<usize>j << 2), at(pendN, j + 1));
    store<i32>(pendShrink + (<usize>j << 2), at(pendShrink, j + 1));
  }
}

/**
 * ext4_break_layouts (6.1 fs/ext4/inode.c; 5.x the same; 6.15+ dax_break_layout_inode,
 * range 0..LLONG_MAX): dax_layout_busy_page over the whole file, not the truncated
 * range. It unmaps every mapping of the file (unmap_mapping_pages, even_cows 0) and
 * returns the first busy page in index order; the truncate waits on that one page
 * (wait_var_event) and, woken, starts over. Returns whether it must wait.
 */
function breakLayouts(f: i32): bool {
  // before 6.15 dax_layout_busy_page_range returns at once when no vma maps the file
  if (!fileMapped(f) && rule(SCHEME_DAX_SCAN_UNMAPPED) == 0) return false;
  unmapMappingRange(f, 0, filePages(f), false);
  for (let i: u32 = 0; i < filePages(f); i++) {
    const pfn = cachedPageAt(f, i);
    if (pfn == 0 || kindOf(pfn) != KIND_FSDAX || !daxBusy(pfn)) continue;
    addFlag(pfn, PG_TRUNCATE_WAIT); // wait_var_event until this page is idle
    bump(ST_TRUNCATE_WAITS);
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
function finishTruncate(f: i32, idx: u32, n: u32, shrink: bool): void {
  unmapMappingRange(f, idx, n, shrink);
  for (let i = idx; i < idx + n && i < filePages(f); i++) {
    diskWrite(f, i, 0); // the hole reads back as zeroes, whatever a DMA wrote while truncate waited
    const pfn = cachedPageAt(f, i);
    if (pfn != 0 && kindOf(pfn) == KIND_FSDAX) releaseBlock(f, i, pfn);
    else punchHole(f, i); // a block never faulted in, or already a hole (its zero-page entry deleted)
  }
  if (shrink && idx < filePages(f)) setFilePages(f, idx); // i_size_write (refsim files never grow)
}

/**
 * Punch a hole over [idx, idx+n) of file f, or (shrink) truncate it to idx pages:
 * truncate_setsize + truncate_pagecache, whose even_cows unmap takes the private
 * COWed pages too, so a later access there is past i_size (SIGBUS). An fsdax file
 * first breaks layouts over the whole file: while a page anywhere in it is busy the
 * truncate waits and nothing is freed, unmapped or resized in its range (every block
 * keeps its data; i_size stays). Returns 1 if it waits, else 0.
 */
export function truncateRange(f: i32, idx: u32, n: u32, shrink: bool): i32 {
  if (fileDevice(f) >= 0) {
    // a truncate behind a waiting one blocks on its inode_lock; else ext4_break_layouts
    if (hasPending(f) || breakLayouts(f)) {
      enqueue(f, idx, n, shrink);
      return 1;
    }
    finishTruncate(f, idx, n, shrink);
    return 0;
  }
  unmapMappingRange(f, idx, n, shrink);
  for (let i = idx; i < idx + n && i < filePages(f); i++) {
    diskWrite(f, i, 0); // the hole reads back as zeroes
    const pfn = cachedPageAt(f, i);
    if (pfn == 0) continue;
    clearSlot(f, i); // truncate_inode_folio: out of the page cache, its reference dropped
    clearFlag(pfn, PG_PAGECACHE);
    setLastOp(pfn, currentOp);
    folioPut(pfn, 1, -1, <i32>i);
  }
  if (shrink) setFilePages(f, idx); // i_size_write
  return 0;
}

/** Files whose waiting truncate a wake_up_var woke during the current op. */
let woken: usize = 0;
let anyWoken = false;

/**
 * wake_up_var on an fsdax page that went idle: the truncate waiting on it is woken.
 * It runs after the op that woke it (resumeWokenTruncates), as the sleeping task runs
 * after the waker, never inside the waker's own zap or put.
 */
export function daxPageIdle(pfn: u32): void {
  if (!hasFlag(pfn, PG_TRUNCATE_WAIT)) return;
  clearFlag(pfn, PG_TRUNCATE_WAIT);
  const owner = deviceOwner(pfn);
  if (owner >= 0) return;
  store<u8>(woken + <usize>(-owner - 1), 1);
  anyWoken = true;
}

/**
 * The woken truncates go on: each breaks layouts again (unmapping what faulted back
 * in meanwhile, and waiting again on a page still or newly busy); with nothing busy
 * it and every truncate queued behind it on the file run in turn, each breaking
 * layouts first. Called after every op.
 */
@inline export function resumeWokenTruncates(): void {
  if (anyWoken) resumeWoken(); // inlined test: after every op, and rarely true (performance only)
}

function resumeWoken(): void {
  while (anyWoken) {
    anyWoken = false;
    for (let f = 0; f < fileCap; f++) {
      if (load<u8>(woken + <usize>f) == 0) continue;
      store<u8>(woken + <usize>f, 0);
      resume(f);
    }
  }
}

function resume(f: i32): void {
  for (let i = 0; i < pendCount;) {
    if (at(pendFile, i) != f) { i++; continue; }
    if (breakLayouts(f)) return;
    const idx = <u32>at(pendIdx, i), n = <u32>at(pendN, i), shrink = at(pendShrink, i) != 0;
    dequeue(i);
    finishTruncate(f, idx, n, shrink);
  }
}

/** A truncate still waiting on this page (for the hang check). */
export function truncateWaiting(pfn: u32): bool {
  return (flags(pfn) & PG_TRUNCATE_WAIT) != 0;
}
