// Quiesce check: with no op in flight, count every holder of every frame and
// compare with the frame's counters (spec §6 invariants 1-4):
//   refcount == base + refcounted mappings + GUP refs/pins + page cache + owner ref
//   mapcount == refcounted mappings
//   no entry, pin or cache slot reaches a freed frame (use-after-free)
//   every allocated frame is reachable from a mapping, a pin or a file (else leak)
// and every live BO whose remaining pages are all leaked is a BO leak.
import {
  PTE_SPECIAL, PTE_DEVICE_PRIVATE, PTE_DEVICE_EXCLUSIVE, PTE_MIGRATION, PT_ENTRIES, PG_ALLOCATED, PG_OWNER_REF, PG_TRUNCATE_WAIT,
  PG_LEAK_REPORTED, PG_HANG_REPORTED, SCHEME_PGMAP_REF, PGMAP_REF_PER_PAGE, V_LEAK_PAGE, V_LEAK_BO, V_UAF, V_REFCOUNT, V_MAPCOUNT, V_HANG,
  PMD_HUGE, PG_HEAD, FOLIO_NR, FOLIO_ORDER, FOLL_PIN, PG_DRIVER_HELD, ZAP_WINDOW_SLOTS, MIGRATE_CUT_SLOTS,
  PG_KIND_SHIFT, KIND_SYSTEM,
} from "./abi";
import { exclusiveKeepsMapcount } from "./exclusive";
import {
  frameCount, flags, ref, mapcount, kindOf, setFlags, isDevice, lastOp, pageIndex, entireMapcount, folioPincount, isLarge,
  sysFrames, largeBlockCount, largeSlot, flagsBase, refBase, mapBase, hugeBase, smallHighWater, hugeHighWater,
} from "./frames";
import { frameUsable } from "./refcount";
import { freeAt, rule } from "./scheme";
import { liveMms, liveMm } from "./mm";
import { pgdBase, pmdEntry, pteTableBase, pteSlot, leafOfSlot, ptePfn } from "./pgtable";
import { fileCount, fileIsOpen, filePages, cachedPageAt, cacheHoldsRef } from "./file";
import { deviceOwner, driverCount, hangingDriver, pgmapRefOf, pgmapKilled, deviceFramesLeft } from "./memremap";
import { boCount, boLive, boRefsOf } from "./driver";
import { violation } from "./violations";
import { faultHolding, faultsStarted } from "./race";
import { zapWindowQueued, zapWindowPfn, zapWindowRefs } from "./zap_window";
import { walkHolding, walkPfn, walkPins, walksStarted } from "./gup_fast";
import { migrateCutHolding, migrationWaiterHolding } from "./migrate_steps";
import { pinHandles, pinAt, handleRefs, handleFlags } from "./pins";

const REACHED: i32 = 1 << 30;
/**
 * Frames one pass of the check counts holders for. The scratch covers a chunk (plus
 * one folio, so a large folio starting in the chunk is whole in it), not every frame:
 * an engine past 1 Mi frames scans its holders once per chunk instead, and its
 * scratch stays 8 MiB whatever its size.
 */
export const CHECK_CHUNK: u32 = 1 << 20;
let expRef: usize = 0; // expected refcount from holders, per frame of the chunk
let expMap: usize = 0; // expected mapcount, | REACHED when anything holds the frame
let chunkLo: u32 = 0; // the chunk's frames: [chunkLo, chunkHi)
let chunkHi: u32 = 0;
// What of the scratch holders wrote since it was last cleared (word offsets): system frames' words in
// [0, sysDirty), device frames' in [devDirtyLo, devDirtyHi). The rest is zero, so a chunk clears only these
// (an engine of 64 Ki frames mapping a few hundred cleared all of it at every OP_CHECK; performance only).
let sysDirty: u32 = 0;
let devDirtyLo: u32 = 0;
let devDirtyHi: u32 = 0;
let firstPass = true; // dangling holders, PMD mappings and large-folio pins are counted once
let expEntire: usize = 0; // per 2 MiB block of the THP pool and device memory: expected entire mapcount (PMD mappings)
let expPins: usize = 0; // per such block: expected _pincount (FOLL_PIN handles on a large folio)
let nBlocks: usize = 0;
let boLeaked: usize = 0;
let boLeakOp: usize = 0;
let boReported: usize = 0;
// The BOs whose leaked pages the last check counted: [boLeakLo, boLeakHi) of boLeaked (the first check clears
// them all). The next check clears and scans only these (performance only: boCount grows by one per
// migrate_to_device, and mix's checks walked every BO it ever made).
let boLeakLo: i32 = 0;
let boLeakHi: i32 = 0;
let nBos: i32 = 0;

/** Frames of check scratch for an engine of nFrames frames (assembly/sizing.ts sizes the same). */
export function checkScratchFrames(nFrames: u64): u64 {
  return min<u64>(nFrames, <u64>(CHECK_CHUNK + FOLIO_NR));
}

export function initCheck(nFrames: u32, bos: i32): void {
  const scratch = <usize>checkScratchFrames(nFrames);
  expRef = heap.alloc(scratch << 2);
  expMap = heap.alloc(scratch << 2);
  sysDirty = <u32>scratch; // the first check clears it all
  devDirtyLo = <u32>scratch;
  devDirtyHi = 0;
  nBlocks = <usize>largeBlockCount(); // initFrames ran first
  expEntire = heap.alloc(nBlocks << 2);
  expPins = heap.alloc(nBlocks << 2);
  nBos = bos;
  boLeaked = heap.alloc(<usize>bos << 2);
  boLeakOp = heap.alloc(<usize>bos << 2);
  boReported = heap.alloc(<usize>bos << 2);
  boLeakLo = 0;
  boLeakHi = bos;
  memory.fill(boReported, 0, <usize>bos << 2);
}

@inline function addAt(base: usize, i: u32, n: i32): void {
  const p = base + (<usize>i << 2);
  store<i32>(p, load<i32>(p) + n);
}

/** The scratch words of frame pfn (in the current chunk). */
@inline function expRefAt(pfn: u32): usize { return expRef + (<usize>(pfn - chunkLo) << 2); }
@inline function expMapAt(pfn: u32): usize { return expMap + (<usize>(pfn - chunkLo) << 2); }

function hold(pfn: u32, refs: i32, maps: i32, mm: i32, vpn: i32, how: i32): void {
  const inChunk = pfn >= chunkLo && pfn < chunkHi;
  if (!inChunk && !firstPass) return; // later passes stream the holders without touching their frames
  if (!frameUsable(pfn)) {
    if (firstPass) violation(V_UAF, pfn, mm, vpn, ref(pfn), mapcount(pfn), how); // a dangling holder
    return;
  }
  if (!inChunk) return;
  const off = pfn - chunkLo;
  if (pfn <= sysFrames) {
    if (off >= sysDirty) sysDirty = off + 1;
  } else {
    if (off < devDirtyLo) devDirtyLo = off;
    if (off >= devDirtyHi) devDirtyHi = off + 1;
  }
  const r = expRefAt(pfn);
  store<i32>(r, load<i32>(r) + refs);
  const p = expMapAt(pfn);
  store<i32>(p, (load<i32>(p) + maps) | REACHED);
}

function scanPageTables(mm: i32): void {
  for (let i = 0; i < PT_ENTRIES; i++) {
    const pmd = load<i32>(pgdBase + ((<usize>mm * PT_ENTRIES + <usize>i) << 2));
    if (pmd == 0) continue;
    for (let j = 0; j < PT_ENTRIES; j++) {
      const pt = pmdEntry(pmd, j);
      if (pt == 0) continue;
      if ((pt & PMD_HUGE) != 0) {
        // A PMD mapping: one folio reference and one entire mapping (nothing for the huge zero page).
        const head = ptePfn(leafOfSlot(pt));
        if (head != 0) {
          hold(head, 1, 0, mm, (i << 18) | (j << 9), 6);
          if (firstPass) addAt(expEntire, <u32>largeSlot(head), 1);
        }
        continue;
      }
      const base = pteTableBase(pt);
      for (let k = 0; k < PT_ENTRIES; k++) {
        const pte = load<u32>(pteSlot(base, <usize>k));
        if (pte == 0) continue;
        const pfn = ptePfn(pte);
        if (!firstPass && pfn - chunkLo >= chunkHi - chunkLo) continue; // another chunk's frame
        const vpn = (i << 18) | (j << 9) | k;
        if ((pte & PTE_MIGRATION) != 0) hold(pfn, 0, 0, mm, vpn, 6); // try_to_migrate_one dropped ref and rmap
        else if ((pte & PTE_DEVICE_PRIVATE) != 0) hold(pfn, 1, 1, mm, vpn, 6);
        else if ((pte & PTE_DEVICE_EXCLUSIVE) != 0) hold(pfn, 1, exclusiveKeepsMapcount() ? 1 : 0, mm, vpn, 6); // the mapcount by era
        else if ((pte & PTE_SPECIAL) == 0) hold(pfn, 1, 1, mm, vpn, 6);
        else if (pfn != 0) hold(pfn, 0, 0, mm, vpn, 6); // devmap: reaches the page, holds nothing
      }
    }
  }
}


/**
 * A large folio as a whole: its refcount (on the head) against every holder of any
 * of its pages, its entire mapcount and _pincount against PMD mappings and pins,
 * each page's mapcount against its PTEs; one leak if nothing reaches any page.
 */
function checkLargeFolio(head: u32): void {
  let refs = 0;
  let reached = false;
  let blame = -1; // the latest op that removed a holder of any page
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    const pfn = head + i;
    blame = max<i32>(blame, lastOp(pfn));
    refs += load<i32>(expRefAt(pfn));
    const held = load<i32>(expMapAt(pfn));
    if ((held & REACHED) != 0) reached = true;
    const maps = held & ~REACHED;
    if (mapcount(pfn) != maps) violation(V_MAPCOUNT, pfn, -1, <i32>pageIndex(pfn), ref(head), mapcount(pfn), maps);
  }
  const b = largeSlot(head);
  refs += freeAt(kindOf(head)); // a device folio's era base (0 for E5's device-private folios)
  if (ref(head) != refs) violation(V_REFCOUNT, head, -1, <i32>pageIndex(head), ref(head), mapcount(head), refs);
  const entire = load<i32>(expEntire + (<usize>b << 2));
  if (entireMapcount(head) != entire) violation(V_MAPCOUNT, head, -1, <i32>pageIndex(head), ref(head), entireMapcount(head), entire);
  const pins = load<i32>(expPins + (<usize>b << 2));
  if (folioPincount(head) != pins) violation(V_REFCOUNT, head, -1, <i32>pageIndex(head), folioPincount(head), mapcount(head), pins);
  const fl = flags(head);
  if (reached || (fl & PG_LEAK_REPORTED) != 0) return;
  violation(V_LEAK_PAGE, head, -1, <i32>pageIndex(head), ref(head), entireMapcount(head), 0, blame);
  setFlags(head, fl | PG_LEAK_REPORTED);
}

/** PG_DRIVER_HELD in both flags words of a pair of frames. */
const HELD_PAIR: u64 = (<u64>PG_DRIVER_HELD << 32) | <u64>PG_DRIVER_HELD;

/** Every holder of every frame: page tables, in-flight faults, driver folios, GUP handles, page caches. */
function collectHolders(): void {
  for (let i = 0; i < liveMms; i++) scanPageTables(liveMm(i));
  // An in-flight fault (fault_begin without fault_end) holds its page reference.
  const faults = faultsStarted();
  for (let t = 1; t <= faults; t++) {
    const pfn = faultHolding(t);
    if (pfn != 0) hold(pfn, 1, 0, -1, -1, 9);
  }
  // An open zap window (zap_begin without zap_end) holds the references its mmu_gather queued.
  for (let s = 0; s < ZAP_WINDOW_SLOTS; s++) {
    const q = zapWindowQueued(s);
    for (let i = 0; i < q; i++) hold(zapWindowPfn(s, i), zapWindowRefs(s, i), 0, -1, -1, 9);
  }
  // A GUP-fast walk between try_grab_folio and its end holds what it grabbed.
  const walks = walksStarted();
  for (let w = 1; w <= walks; w++) {
    const refs = walkHolding(w);
    if (refs == 0) continue;
    const pfn = walkPfn(w);
    hold(pfn, refs, 0, -1, -1, 7);
    if (firstPass && walkPins(w) && isLarge(pfn)) addAt(expPins, <u32>largeSlot(pfn), 1); // try_grab_folio's _pincount
  }
  // An open migrate_collect cut holds its collect reference; a pre-5.17 migration_wait waiter its own.
  for (let s = 0; s < MIGRATE_CUT_SLOTS; s++) {
    const c = migrateCutHolding(s);
    if (c != 0) hold(c, 1, 0, -1, -1, 9);
    const w = migrationWaiterHolding(s);
    if (w != 0) hold(w, 1, 0, -1, -1, 9);
  }
  // The driver's own folios (OP_DRIVER_ALLOC) hold the driver's reference (two frames' flags per 64-bit load).
  for (let pfn: u32 = sysFrames + 1; pfn < devHi; pfn++) {
    if (pfn + 1 < devHi && (load<u64>(flagsBase + (<usize>pfn << 2)) & HELD_PAIR) == 0) { pfn++; continue; }
    if ((flags(pfn) & PG_DRIVER_HELD) != 0) hold(pfn, 1, 0, -1, -1, 12);
  }
  const handles = pinHandles();
  for (let h = 1; h <= handles; h++) {
    const pfn = pinAt(h);
    if (pfn == 0) continue;
    hold(pfn, handleRefs(h), 0, -1, -1, 7);
    if (firstPass && (handleFlags(h) & FOLL_PIN) != 0 && isLarge(pfn)) addAt(expPins, <u32>largeSlot(pfn), 1);
  }
  for (let f = 0; f < fileCount; f++) {
    if (!fileIsOpen(f)) continue;
    const n = filePages(f);
    const refs = cacheHoldsRef(f) ? 1 : 0; // a DAX entry associates its page without a reference
    for (let i: u32 = 0; i < n; i++) {
      const pfn = cachedPageAt(f, i);
      if (pfn != 0) hold(pfn, refs, 0, -1, <i32>i, 8);
    }
  }
}

/**
 * One frame against its holders (from the scratch). Returns the next pfn to check:
 * pfn + 1, or past the folio for a large folio's head.
 */
function checkFrame(pfn: u32): u32 {
  const fl = flags(pfn);
  if ((fl & (PG_TRUNCATE_WAIT | PG_HANG_REPORTED)) == PG_TRUNCATE_WAIT) {
    violation(V_HANG, pfn, -1, <i32>pageIndex(pfn), ref(pfn), mapcount(pfn), 0); // truncate waits on a pin
    setFlags(pfn, fl | PG_HANG_REPORTED);
  }
  if ((fl & PG_ALLOCATED) == 0) return pfn + 1;
  if ((fl & PG_HEAD) != 0) {
    checkLargeFolio(pfn);
    return pfn + FOLIO_NR;
  }
  const held = load<i32>(expMapAt(pfn));
  const maps = held & ~REACHED;
  // E0's base reference belongs to the pgmap; memunmap_pages puts it.
  const base = rule(SCHEME_PGMAP_REF) == PGMAP_REF_PER_PAGE && pgmapKilled(pfn) ? 0 : freeAt(kindOf(pfn));
  const expected = load<i32>(expRefAt(pfn)) + base + ((fl & PG_OWNER_REF) != 0 ? 1 : 0);
  if (ref(pfn) != expected) violation(V_REFCOUNT, pfn, -1, <i32>pageIndex(pfn), ref(pfn), mapcount(pfn), expected);
  if (mapcount(pfn) != maps) violation(V_MAPCOUNT, pfn, -1, <i32>pageIndex(pfn), ref(pfn), mapcount(pfn), maps);
  if ((held & REACHED) != 0) return pfn + 1;
  // Nothing reaches it: a leak, blamed on the op that dropped its last holder.
  if ((fl & PG_LEAK_REPORTED) == 0) {
    violation(V_LEAK_PAGE, pfn, -1, <i32>pageIndex(pfn), ref(pfn), mapcount(pfn), 0, lastOp(pfn));
    setFlags(pfn, fl | PG_LEAK_REPORTED);
  }
  if (isDevice(pfn)) {
    const b = deviceOwner(pfn);
    if (b > 0) {
      addAt(boLeaked, b, 1);
      if (b < boLeakLo) boLeakLo = b;
      if (b >= boLeakHi) boLeakHi = b + 1;
      store<i32>(boLeakOp + (<usize>b << 2), lastOp(pfn));
    }
  }
  return pfn + 1;
}

/** Frames whose flags hold none of these and are of kind system take checkFrames' short way. */
const SHORT_OUT: u32 = PG_TRUNCATE_WAIT | PG_HEAD | PG_OWNER_REF | (7 << PG_KIND_SHIFT);
const SHORT_IN: u32 = PG_ALLOCATED | (KIND_SYSTEM << PG_KIND_SHIFT);
let checkPfn: u32 = 0;
/** PG_ALLOCATED | PG_TRUNCATE_WAIT in both flags words of a pair of frames. */
const FREE_PAIR: u64 = (<u64>(PG_ALLOCATED | PG_TRUNCATE_WAIT) << 32) | <u64>(PG_ALLOCATED | PG_TRUNCATE_WAIT);

/**
 * checkFrame for each frame from pfn to stop (or past it, to the end of a large folio): a free
 * frame that waits for no truncate, and an allocated small system page (its base count 0, no
 * owner reference) whose counts equal its holders' and that something reaches, pass here;
 * every other frame goes through checkFrame, which would find nothing to report for those.
 * Leaves the next pfn in checkPfn.
 */
function checkFrames(pfn: u32, stop: u32): void {
  const flB = flagsBase, refB = refBase, mapB = mapBase; // loop invariants in locals (V8 reloads wasm globals)
  const sys = sysFrames, lo = chunkLo, er = expRef, em = expMap;
  while (pfn < stop) {
    const at = <usize>pfn << 2;
    // two free frames at once (one 64-bit load of both flags words): most of a big engine is free
    if (pfn + 1 < stop) {
      if ((load<u64>(flB + at) & FREE_PAIR) == 0) { pfn += 2; continue; }
    }
    const fl = load<u32>(flB + at);
    if ((fl & (PG_ALLOCATED | PG_TRUNCATE_WAIT)) == 0) { pfn++; continue; }
    if ((fl & (SHORT_OUT | PG_ALLOCATED)) == SHORT_IN && pfn <= sys) {
      const k = <usize>(pfn - lo) << 2;
      const held = load<i32>(em + k);
      if ((held & REACHED) != 0 && load<i32>(mapB + at) == (held & ~REACHED) && load<i32>(refB + at) == load<i32>(er + k)) { pfn++; continue; }
    }
    pfn = checkFrame(pfn);
  }
  checkPfn = pfn;
}

/** Zero what holders wrote into the scratch since the last clear (the rest is zero already). */
function clearScratch(): void {
  if (sysDirty > 0) {
    memory.fill(expRef, 0, <usize>sysDirty << 2);
    memory.fill(expMap, 0, <usize>sysDirty << 2);
  }
  if (devDirtyHi > devDirtyLo) {
    memory.fill(expRef + (<usize>devDirtyLo << 2), 0, <usize>(devDirtyHi - devDirtyLo) << 2);
    memory.fill(expMap + (<usize>devDirtyLo << 2), 0, <usize>(devDirtyHi - devDirtyLo) << 2);
  }
  sysDirty = 0;
  devDirtyLo = 0xffffffff;
  devDirtyHi = 0;
}

// The frames that can differ from what initFrames and memremap_pages left (all flags 0, or a device
// kind alone: checkFrames passes them, and no PG_DRIVER_HELD): system pfns in [1, smallHi) (the buddy's
// high-water mark) and [hugeLo, hugeHi) (the THP pool's), device pfns in [sysFrames + 1, devHi) (the pgmaps
// registered so far). An empty range is [0, 0). The check reads no other frame (performance only: an
// engine of 64 Ki frames that used 700 read every frame's flags at every OP_CHECK).
let smallHi: u32 = 1;
let hugeLo: u32 = 0;
let hugeHi: u32 = 0;
let devLo: u32 = 0;
let devHi: u32 = 0;

// What a loaded state (Engine.loadState) raised the marks to: a saved state is outside input and may have been
// edited, so coverLoadedFrames extends the ranges over every frame of it not as init left it.
let loadedSmallHi: u32 = 0;
let loadedHugeHi: u32 = 0;
let loadedDevHi: u32 = 0;

/** 1 + the highest frame of [lo, hi) whose refcount, mapcount or flags are not init's 0, or 0 if none. */
function highestTouched(lo: u32, hi: u32): u32 {
  for (let pfn = hi; pfn > lo; pfn--) {
    if (flags(pfn - 1) != 0 || ref(pfn - 1) != 0 || mapcount(pfn - 1) != 0) return pfn;
  }
  return 0;
}

/**
 * After Engine.loadState: raise the live ranges over every frame above them not as init left it (a scan at
 * load time only), and have the next check clear the whole scratch and every BO's leak count, so an edited
 * state is checked as without the marks. A frame's index is not looked at: no check reads that of a frame
 * it passes by, and a free frame's never-allocated index is its buddy link.
 */
export function coverLoadedFrames(): void {
  const poolLo = hugeBase == 0 ? sysFrames + 1 : hugeBase;
  loadedSmallHi = max<u32>(loadedSmallHi, highestTouched(smallHighWater, poolLo));
  loadedHugeHi = max<u32>(loadedHugeHi, highestTouched(max<u32>(hugeHighWater, poolLo), sysFrames + 1));
  loadedDevHi = max<u32>(loadedDevHi, highestTouched(frameCount - deviceFramesLeft(), frameCount));
  sysDirty = <u32>checkScratchFrames(frameCount);
  devDirtyLo = 0;
  devDirtyHi = 0;
  boLeakLo = 0;
  boLeakHi = nBos;
}

function setLiveRanges(): void {
  smallHi = max<u32>(smallHighWater, loadedSmallHi);
  hugeLo = hugeBase;
  hugeHi = max<u32>(hugeHighWater, loadedHugeHi);
  if (hugeHi == 0) hugeLo = 0;
  else if (smallHi >= hugeLo) { // the buddy handed out pages of a split THP block: one range
    smallHi = max<u32>(smallHi, hugeHi);
    hugeLo = 0;
    hugeHi = 0;
  }
  devLo = sysFrames + 1;
  devHi = max<u32>(frameCount - deviceFramesLeft(), loadedDevHi);
  if (devHi == devLo) devLo = devHi = 0;
}

/** The first pfn from pfn on in a live range, or frameCount. */
@inline function nextLive(pfn: u32): u32 {
  if (pfn < smallHi) return pfn;
  if (pfn < hugeHi) return max<u32>(pfn, hugeLo);
  if (pfn < devHi) return max<u32>(pfn, devLo);
  return frameCount;
}

/** The end of the live range holding pfn. */
@inline function liveEnd(pfn: u32): u32 {
  if (pfn < smallHi) return smallHi;
  if (pfn < hugeHi) return hugeHi;
  return devHi;
}

/**
 * Run the whole check, recording what it finds as violations. Frames are checked in
 * pfn order, a chunk at a time (CHECK_CHUNK): each chunk's holders are counted by a
 * scan of every holder, so the violations and their order are those of one pass.
 */
export function quiesceCheck(): void {
  memory.fill(expEntire, 0, nBlocks << 2);
  memory.fill(expPins, 0, nBlocks << 2);
  if (boLeakHi > boLeakLo) memory.fill(boLeaked + (<usize>boLeakLo << 2), 0, <usize>(boLeakHi - boLeakLo) << 2);
  boLeakLo = nBos;
  boLeakHi = 0;
  firstPass = true;
  setLiveRanges();
  let pfn = nextLive(1);
  do { // at least once: the first pass reports dangling holders
    chunkLo = pfn;
    chunkHi = min<u32>(pfn + CHECK_CHUNK + FOLIO_NR, frameCount);
    clearScratch();
    collectHolders();
    firstPass = false;
    const stop = min<u32>(chunkLo + CHECK_CHUNK, frameCount);
    while (pfn < stop) {
      checkFrames(pfn, min<u32>(liveEnd(pfn), stop));
      pfn = nextLive(checkPfn);
    }
  } while (pfn < frameCount);
  for (let d = 0; d < driverCount; d++) {
    // memunmap_pages is still waiting for pgmap references
    if (hangingDriver(d)) violation(V_HANG, 0, -1, -1, pgmapRefOf(d), 0, d);
  }
  const boEnd = min<i32>(boCount, boLeakHi);
  for (let b = max<i32>(1, boLeakLo); b < boEnd; b++) {
    const leaked = load<i32>(boLeaked + (<usize>b << 2));
    if (!boLive(b) || leaked == 0 || leaked != boRefsOf(b)) continue;
    if (load<i32>(boReported + (<usize>b << 2)) != 0) continue;
    store<i32>(boReported + (<usize>b << 2), 1);
    violation(V_LEAK_BO, 0, -1, -1, boRefsOf(b), 0, b, load<i32>(boLeakOp + (<usize>b << 2)));
  }
}
