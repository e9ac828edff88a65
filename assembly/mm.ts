// Address spaces (struct mm_struct) and their VMAs (struct vm_area_struct),
// kept per mm as a list sorted by start. VMA bounds are vpns, end exclusive.
// Beside the list, each mm's VMAs in the same order as an array of (start, vma) pairs (its
// index), so find_vma is a binary search over contiguous starts rather than a walk (the kernel's maple tree since 6.1, mm/mmap.c
// find_vma: an ordered index of the VMAs by address). The list stays what the rest of
// the core walks; the index only finds. Performance only: the same VMA as the walk.
import { VM_SHARED, VM_ANON } from "./abi";
import { fileVmaGet, fileVmaPut } from "./file";

export let mmCap: i32 = 0;
export let mmCount: i32 = 0; // ids handed out so far (ids are never reused)
let mmAliveBase: usize = 0;
let mmHead: usize = 0; // first vma, -1 none
let mmPinned: usize = 0; // FOLL_PIN pins ever taken through this mm: MMF_HAS_PINNED, never cleared
let mmVmas: usize = 0;
let mmVmaCache: usize = 0; // vmacache: the vma find_vma found last, -1 none
let mmLive: usize = 0; // the live mm ids in id order (as the model's Mms.alive), so walks skip exited ones
let mmIdx: usize = 0; // where the mm's index starts in idxPool (in entries)
let mmIdxCap: usize = 0; // the index's room (entries); it holds mmVmas of them
// Private VMAs whose vm_pgoff is not their vm_start (shiftedVma): an mremap'd anon VMA, a private file
// mapping. With none, a page of index idx can sit in the mm only at vpn idx (rmap.ts's walk).
let mmShifted: usize = 0;
export let liveMms: i32 = 0;

export let vmaCap: i32 = 0;
let vmStart: usize = 0;
let vmEnd: usize = 0;
let vmFlags: usize = 0;
let vmFile: usize = 0;
let vmPgoff: usize = 0;
let vmAnonVma: usize = 0; // vma->anon_vma is set (anon_vma_prepare ran for this vma)
let vmMm: usize = 0; // vma->vm_mm
let vmNext: usize = 0;
let vmaFree: usize = 0;
let vmaFreeTop: i32 = 0;
// The indexes' pool of entries (8 bytes: the vma's start, then the vma): arrays taken at idxTop,
// the old one left behind when one grows; when the pool is full every index is rebuilt from its
// list, packed (idxCompact).
let idxPool: usize = 0;
let idxEntries: i32 = 0;
let idxTop: i32 = 0;
const IDX_MIN: i32 = 8;
// A hint per (mm, 32-page bucket of vpns), hashed: the vma findVma found there last (the kernel's
// per-task vmacache hashed by address, mm/vmacache.c vmacache_find until 6.0). Never invalidated:
// a hint counts only if that vma is live in mm (a freed vma's vm_mm is -1) and holds the vpn, and
// then it is the vma the search finds (VMAs do not overlap). Any value in [0, vmaCap) is safe.
const HINT_BITS = 12;
const HINT_SHIFT = 5;
let vmaHint: usize = 0;

/** Where OP_MMAP without an address starts looking (get_unmapped_area), as a vpn. */
export const MMAP_BASE: u32 = 0x10000;

export function initMm(nMm: i32, nVma: i32): void {
  mmCap = nMm;
  mmCount = 0;
  mmAliveBase = heap.alloc(<usize>nMm << 2);
  mmHead = heap.alloc(<usize>nMm << 2);
  mmPinned = heap.alloc(<usize>nMm << 2);
  mmVmas = heap.alloc(<usize>nMm << 2);
  mmVmaCache = heap.alloc(<usize>nMm << 2);
  mmLive = heap.alloc(<usize>nMm << 2);
  mmIdx = heap.alloc(<usize>nMm << 2);
  mmIdxCap = heap.alloc(<usize>nMm << 2);
  mmShifted = heap.alloc(<usize>nMm << 2);
  liveMms = 0;
  vmaCap = nVma;
  vmStart = heap.alloc(<usize>nVma << 2);
  vmEnd = heap.alloc(<usize>nVma << 2);
  vmFlags = heap.alloc(<usize>nVma << 2);
  vmFile = heap.alloc(<usize>nVma << 2);
  vmPgoff = heap.alloc(<usize>nVma << 2);
  vmAnonVma = heap.alloc(<usize>nVma << 2);
  vmMm = heap.alloc(<usize>nVma << 2);
  vmNext = heap.alloc(<usize>nVma << 2);
  vmaFree = heap.alloc(<usize>nVma << 2);
  for (let i = 0; i < nVma; i++) {
    store<i32>(vmaFree + (<usize>i << 2), nVma - 1 - i);
    store<i32>(vmMm + (<usize>i << 2), -1); // no mm: no hint can name it
  }
  vmaFreeTop = nVma;
  // packed, the indexes take at most nVma entries; one growing to twice its size (at most nVma) fits beside them
  idxEntries = 2 * nVma + IDX_MIN;
  idxPool = heap.alloc(<usize>idxEntries << 3);
  idxTop = 0;
  vmaHint = heap.alloc(<usize>4 << HINT_BITS);
  memory.fill(vmaHint, 0, <usize>4 << HINT_BITS);
}

@inline function get(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline function put(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

export function mmSlotsLeft(): i32 { return mmCap - mmCount; }
export function vmaSlotsLeft(): i32 { return vmaFreeTop; }
export function mmValid(mm: i32): bool { return <u32>mm < <u32>mmCount && get(mmAliveBase, mm) != 0; } // mmCount >= 0: one unsigned test for both bounds
/** mmValid's second half, for a caller that tested the id's range itself. */
@inline export function mmAlive(mm: i32): bool { return get(mmAliveBase, mm) != 0; }

export function newMm(): i32 {
  const mm = mmCount++;
  put(mmAliveBase, mm, 1);
  put(mmHead, mm, -1);
  put(mmPinned, mm, 0);
  put(mmVmas, mm, 0);
  put(mmVmaCache, mm, -1);
  put(mmIdx, mm, 0);
  put(mmIdxCap, mm, 0);
  put(mmShifted, mm, 0);
  put(mmLive, liveMms++, mm); // ids only grow: appending keeps the list in id order
  return mm;
}

export function killMm(mm: i32): void {
  put(mmAliveBase, mm, 0);
  let i = 0;
  while (get(mmLive, i) != mm) i++;
  for (liveMms--; i < liveMms; i++) put(mmLive, i, get(mmLive, i + 1));
}

/** The i-th live mm in id order (i < liveMms). */
@inline export function liveMm(i: i32): i32 { return get(mmLive, i); }
export function firstVma(mm: i32): i32 { return get(mmHead, mm); }
export function vmaCount(mm: i32): i32 { return get(mmVmas, mm); }
export function pinnedIn(mm: i32): i32 { return get(mmPinned, mm); }
/**
 * How many private VMAs of mm have vm_pgoff != vm_start. Kept by insertVma, unlinkVma and
 * setVmaFlags: every other change (setVmaRange, splitVma's shrink, merges, moveVmaBoundary) moves
 * vm_pgoff with vm_start, so a VMA's pgoff - start never changes while it lives.
 */
@inline export function shiftedVmas(mm: i32): i32 { return get(mmShifted, mm); }
/** A private VMA whose page indexes are not its vpns (vma_address differs from the index). */
@inline function shiftedVma(flags: i32, start: u32, pgoff: u32): i32 { return (flags & VM_SHARED) == 0 && pgoff != start ? 1 : 0; }
export function addPinned(mm: i32, n: i32): void { put(mmPinned, mm, get(mmPinned, mm) + n); }

@inline export function vmaStart(v: i32): u32 { return <u32>get(vmStart, v); }
@inline export function vmaEnd(v: i32): u32 { return <u32>get(vmEnd, v); }
@inline export function vmaFlags(v: i32): i32 { return get(vmFlags, v); }
@inline export function vmaFile(v: i32): i32 { return get(vmFile, v); }
@inline export function vmaPgoff(v: i32): u32 { return <u32>get(vmPgoff, v); }
@inline export function vmaNext(v: i32): i32 { return get(vmNext, v); }
/** vma->vm_mm: the address space the vma belongs to. */
@inline export function vmaMm(v: i32): i32 { return get(vmMm, v); }
/** vma->anon_vma != NULL: some fault, COW or migration put an anonymous page in this vma. */
@inline export function vmaHasAnonVma(v: i32): bool { return get(vmAnonVma, v) != 0; }
/** anon_vma_prepare (6.1 mm/rmap.c __anon_vma_prepare): from the first anonymous page on; never cleared while the vma lives. */
@inline export function anonVmaPrepare(v: i32): void { put(vmAnonVma, v, 1); }
/** The anon_vma is shared by a copy of the vma (__split_vma, copy_vma, anon_vma_fork). */
export function copyAnonVma(from: i32, to: i32): void { put(vmAnonVma, to, get(vmAnonVma, from)); }
/** is_cow_mapping: private and may be written. */
@inline export function isCow(v: i32): bool { return (vmaFlags(v) & VM_SHARED) == 0; }
@inline export function isAnon(v: i32): bool { return (vmaFlags(v) & VM_ANON) != 0; }
/** linear_page_index: file offset (in pages) of vpn inside a file vma. */
@inline export function fileIndex(v: i32, vpn: u32): u32 { return vmaPgoff(v) + (vpn - vmaStart(v)); }

/** find_vma: the vma containing vpn, or -1; the last hit is cached per mm (vmacache, before 6.1). */
@inline export function findVma(mm: i32, vpn: u32): i32 {
  // The cache test as nested ifs, the walk out of line: plain branches for V8, no boolean
  // materialised per test (performance only).
  const c = get(mmVmaCache, mm);
  if (c >= 0) {
    if (vpn >= vmaStart(c)) {
      if (vpn < vmaEnd(c)) return c;
    }
  }
  return findVmaWalk(mm, vpn);
}

/** findVma past the cache: the last VMA starting at or below vpn, from the index; the hit cached. */
function findVmaWalk(mm: i32, vpn: u32): i32 {
  const h = vmaHint + (<usize>(((vpn >>> HINT_SHIFT) + <u32>mm * 0x9e3779b1) & ((1 << HINT_BITS) - 1)) << 2);
  const hv = load<i32>(h);
  if (get(vmMm, hv) == mm) {
    if (vpn >= vmaStart(hv)) {
      if (vpn < vmaEnd(hv)) {
        put(mmVmaCache, mm, hv);
        return hv;
      }
    }
  }
  let len = get(mmVmas, mm);
  if (len == 0) return -1;
  // Halving without a branch on the comparison (a select): b ends at the last entry whose
  // start <= vpn, or at the first entry when there is none (the bounds test below fails then).
  let b = idxAt(mm);
  while (len > 1) {
    const half = len >>> 1;
    const m = b + (<usize>half << 3);
    b = load<u32>(m) <= vpn ? m : b;
    len -= half;
  }
  if (vpn < load<u32>(b)) return -1;
  const v = load<i32>(b, 4);
  if (vpn >= vmaEnd(v)) return -1;
  put(mmVmaCache, mm, v);
  store<i32>(h, v);
  return v;
}

/** The first word of mm's index. */
@inline function idxAt(mm: i32): usize { return idxPool + (<usize>get(mmIdx, mm) << 3); }

/** How many of mm's VMAs start below vpn: the index position a VMA starting at vpn has or takes. */
function idxRank(mm: i32, vpn: u32): i32 {
  const b = idxAt(mm);
  let lo = 0;
  let hi = get(mmVmas, mm);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (load<u32>(b + (<usize>mid << 3)) < vpn) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Room in mm's index for `need` entries: a bigger array at the pool's top, the pool packed first if full. */
function idxReserve(mm: i32, need: i32): void {
  const cap = get(mmIdxCap, mm);
  if (need <= cap) return;
  let nc = cap < IDX_MIN ? IDX_MIN : cap << 1;
  if (nc < need) nc = need;
  if (idxTop + nc > idxEntries) {
    // Packed, the others take at most nVma - cap words and this one cap <= nc <= 2 * cap + IDX_MIN
    // (need is cap + 1 here), so it fits: idxEntries = 2 * nVma + IDX_MIN.
    idxCompact(mm);
    const at = get(mmIdx, mm);
    if (nc > idxEntries - at) nc = idxEntries - at;
    put(mmIdxCap, mm, nc);
    idxTop = at + nc;
    return;
  }
  const to = idxTop;
  const n = get(mmVmas, mm);
  if (n > 0) memory.copy(idxPool + (<usize>to << 3), idxAt(mm), <usize>n << 3); // V8 calls out even for 0 bytes
  put(mmIdx, mm, to);
  put(mmIdxCap, mm, nc);
  idxTop = to + nc;
}

/** Every live mm's index but `except`'s rebuilt from its list, packed from the pool's start; then except's. */
function idxCompact(except: i32): void {
  let top = 0;
  for (let i = 0; i < liveMms; i++) {
    const mm = get(mmLive, i);
    if (mm != except) top = idxFill(mm, top);
  }
  idxTop = idxFill(except, top);
}

/** mm's list written as its index at word `top`, exactly as long as it is; returns the next free word. */
function idxFill(mm: i32, top: i32): i32 {
  const n = get(mmVmas, mm);
  put(mmIdx, mm, top);
  put(mmIdxCap, mm, n);
  let p = idxPool + (<usize>top << 3);
  for (let v = get(mmHead, mm); v >= 0; v = get(vmNext, v)) {
    store<u32>(p, vmaStart(v));
    store<i32>(p, v, 4);
    p += 8;
  }
  return top + n;
}

/** The VMA at position i of mm's index (i < vmaCount(mm)): the i-th in start order. */
export function vmaAt(mm: i32, i: i32): i32 { return load<i32>(idxAt(mm) + (<usize>i << 3), 4); }

/** The vma findVma found last for mm (vmacache), -1 none; the caller re-tests its bounds. */
@inline export function cachedVma(mm: i32): i32 { return get(mmVmaCache, mm); }

/** find_vma proper: the first vma of mm that ends above vpn (it may start above vpn), or -1. */
export function findVmaAfter(mm: i32, vpn: u32): i32 {
  // the last VMA starting at or below vpn if it ends above vpn, else the next one (the VMAs do not overlap)
  const n = get(mmVmas, mm);
  const b = idxAt(mm);
  let lo = 0;
  let hi = n;
  while (lo < hi) { // at: how many start at or below vpn
    const mid = (lo + hi) >>> 1;
    if (load<u32>(b + (<usize>mid << 3)) <= vpn) lo = mid + 1;
    else hi = mid;
  }
  const at = lo;
  if (at > 0) {
    const v = vmaAt(mm, at - 1);
    if (vmaEnd(v) > vpn) return v;
  }
  return at < n ? vmaAt(mm, at) : -1;
}

/** True when [start, end) touches any vma of mm. */
export function overlaps(mm: i32, start: u32, end: u32): bool {
  let v = get(mmHead, mm);
  while (v >= 0) {
    if (vmaStart(v) < end) { // a test at a time (performance only)
      if (start < vmaEnd(v)) return true;
    }
    v = get(vmNext, v);
  }
  return false;
}

/** get_unmapped_area: lowest gap of npages at or above MMAP_BASE, or 0 if none fits. */
export function unmappedArea(mm: i32, npages: u32, limit: u32): u32 {
  let cand = MMAP_BASE;
  let v = get(mmHead, mm);
  while (v >= 0) {
    if (vmaEnd(v) > cand) {
      if (vmaStart(v) >= cand + npages) break;
      cand = vmaEnd(v);
    }
    v = get(vmNext, v);
  }
  return cand + npages <= limit ? cand : 0;
}

/** vma_link: insert a new vma in start order (caller checked overlap and space). */
export function insertVma(mm: i32, start: u32, end: u32, flags: i32, file: i32, pgoff: u32): i32 {
  const v = get(vmaFree, --vmaFreeTop);
  put(vmStart, v, <i32>start);
  put(vmEnd, v, <i32>end);
  put(vmFlags, v, flags);
  put(vmFile, v, file);
  put(vmPgoff, v, <i32>pgoff);
  put(vmAnonVma, v, 0);
  put(vmMm, v, mm);
  if (shiftedVma(flags, start, pgoff) != 0) put(mmShifted, mm, get(mmShifted, mm) + 1);
  // its place: after the VMAs starting below start (the list's walk to it, found in the index)
  const n = get(mmVmas, mm);
  if (n == 0) {
    if (get(mmIdxCap, mm) != 0) { // an empty mm's first VMA in the index's kept room (mmap1's cycle): no call on the way
      put(vmNext, v, get(mmHead, mm));
      put(mmHead, mm, v);
      const p = idxAt(mm);
      store<u32>(p, start);
      store<i32>(p, v, 4);
      put(mmVmas, mm, 1);
      if (file >= 0) fileVmaGet(file);
      return v;
    }
  }
  if (n >= get(mmIdxCap, mm)) idxReserve(mm, n + 1); // idxReserve's own first test, inline (performance only)
  const b = idxAt(mm);
  // a VMA after every other (the first of an empty mm, mmap's usual place) ranks last: idxRank's search skipped
  const at = n == 0 || load<u32>(b + (<usize>(n - 1) << 3)) < start ? n : idxRank(mm, start);
  const prev = at > 0 ? load<i32>(b + (<usize>(at - 1) << 3), 4) : -1;
  const cur = prev < 0 ? get(mmHead, mm) : get(vmNext, prev);
  put(vmNext, v, cur);
  if (prev < 0) put(mmHead, mm, v);
  else put(vmNext, prev, v);
  const p = b + (<usize>at << 3);
  if (at < n) memory.copy(p + 8, p, <usize>(n - at) << 3);
  store<u32>(p, start);
  store<i32>(p, v, 4);
  put(mmVmas, mm, n + 1);
  if (file >= 0) fileVmaGet(file); // vma_link / __split_vma / dup_mmap: get_file
  return v;
}

/** Remove vma v (whose predecessor is prev, or -1) from mm and free the slot. */
export function unlinkVma(mm: i32, v: i32, prev: i32): void {
  put(mmVmaCache, mm, -1); // vmacache_invalidate
  if (prev < 0) put(mmHead, mm, get(vmNext, v));
  else put(vmNext, prev, get(vmNext, v));
  put(vmaFree, vmaFreeTop++, v);
  put(vmMm, v, -1); // freed: its hints no longer count
  if (shiftedVma(vmaFlags(v), vmaStart(v), vmaPgoff(v)) != 0) put(mmShifted, mm, get(mmShifted, mm) - 1); // a branch, not a load-add-store of 0
  const n = get(mmVmas, mm) - 1;
  if (n == 0) {
    // the last VMA: the index keeps its room (no shift, so munmap/mmap cycles do not use the pool up)
  } else if (prev < 0) {
    // the first VMA (exit_mmap frees them from the first): the index starts one word later
    put(mmIdx, mm, get(mmIdx, mm) + 1);
    put(mmIdxCap, mm, get(mmIdxCap, mm) - 1);
  } else {
    const at = idxRank(mm, vmaStart(v)); // v still has its bounds: its own position
    const p = idxAt(mm) + (<usize>at << 3);
    memory.copy(p, p + 8, <usize>(n - at) << 3);
  }
  put(mmVmas, mm, n);
  if (vmaFile(v) >= 0) fileVmaPut(vmaFile(v)); // remove_vma: fput (a shmem file goes with its last VMA)
}

/**
 * Set vma v to [start, end), keeping pgoff in step with start (__split_vma,
 * vma_expand): pgoff + (addr - vm_start) is the page index of addr for file and
 * anonymous VMAs alike (linear_page_index). The cache check re-tests bounds.
 */
export function setVmaRange(v: i32, start: u32, end: u32): void {
  if (start != vmaStart(v)) {
    // the index's copy of the start, at v's place (its old start ranks it; the order stays)
    const mm = vmaMm(v);
    store<u32>(idxAt(mm) + (<usize>idxRank(mm, vmaStart(v)) << 3), start);
  }
  put(vmPgoff, v, <i32>(vmaPgoff(v) + (start - vmaStart(v))));
  put(vmStart, v, <i32>start);
  put(vmEnd, v, <i32>end);
}

export function setVmaFlags(v: i32, flags: i32): void {
  const mm = vmaMm(v); // VM_SHARED may not change (mprotect keeps it), but the count follows it if it does
  put(mmShifted, mm, get(mmShifted, mm) + shiftedVma(flags, vmaStart(v), vmaPgoff(v)) - shiftedVma(vmaFlags(v), vmaStart(v), vmaPgoff(v)));
  put(vmFlags, v, flags);
}

/** The vma before v in mm, or -1. */
export function vmaPrev(mm: i32, v: i32): i32 {
  const at = idxRank(mm, vmaStart(v));
  return at > 0 ? vmaAt(mm, at - 1) : -1;
}

/** __split_vma: v keeps [start, at), a new VMA takes [at, end) with the same flags and file. Returns it. */
export function splitVma(mm: i32, v: i32, at: u32): i32 {
  const end = vmaEnd(v);
  const pgoff = vmaPgoff(v) + (at - vmaStart(v));
  put(vmEnd, v, <i32>at);
  const w = insertVma(mm, at, end, vmaFlags(v), vmaFile(v), pgoff);
  copyAnonVma(v, w); // __split_vma: anon_vma_clone
  return w;
}

/**
 * is_mergeable_vma for adjacent a, b (flags compared by the caller): the same file
 * (or both anonymous) and b's pgoff continuing a's.
 */
export function vmaMergeable(a: i32, b: i32): bool {
  return vmaFile(a) == vmaFile(b) && vmaPgoff(a) + (vmaEnd(a) - vmaStart(a)) == vmaPgoff(b);
}

/** vma_merge: a absorbs the adjacent b, whose slot is freed. */
export function mergeVmas(mm: i32, a: i32, b: i32): void {
  put(vmEnd, a, <i32>vmaEnd(b));
  if (vmaHasAnonVma(b)) anonVmaPrepare(a); // is_mergeable_anon_vma: one of the two may be unset; the merged vma keeps the other's
  unlinkVma(mm, b, a);
}

/** A piece moves from one VMA to its neighbour: left ends and right starts at `at` (vma_merge_existing_range). */
export function moveVmaBoundary(left: i32, right: i32, at: u32): void {
  put(vmEnd, left, <i32>at);
  setVmaRange(right, at, vmaEnd(right));
}
