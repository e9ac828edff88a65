// Group prefetching for large engines. A random page op on millions of frames is
// bound by memory latency: the PTE, then the struct page fields it points to, each
// a cache miss, one op after the other. Before a group of ops runs, this touches
// the PTEs of all of them, then the frames those PTEs map, so the misses of the
// group overlap instead of queueing (WASM has no prefetch instruction; a load whose
// value only feeds a sink does the same job inside the CPU's out-of-order window).
// It only reads: results are the same with it on or off.
import { OP_WORDS, OP_READ, OP_WRITE, OP_MADV_DONTNEED, VPN_BITS, PT_ENTRIES, PTE_PRESENT, PTE_PFN_SHIFT } from "./abi";
import { refBase, mapBase, flagsBase, indexBase, contentBase, lastOpBase, frameCount, buddyHead } from "./frames";
import { pteTableOf, pteTableBase, pteSlot } from "./pgtable";
import { mmCap } from "./mm";

/** Ops per prefetched group: enough misses in flight to fill the memory pipeline. */
export const PREFETCH_GROUP = 32;

/** On when the frame arrays are far larger than the caches (set at init). */
export let prefetchOn = false;
let sink: u32 = 0;
let ptes: usize = 0; // PTE addresses of the group's ops (0: none)

export function initPrefetch(frames: u32): void {
  prefetchOn = frames >= 1 << 20; // 4 MiB per frame array: past the L2 and most of the L3
  ptes = heap.alloc(PREFETCH_GROUP << 2);
}

/** The PTE a READ / WRITE / MADV_DONTNEED record will look at first, or 0. */
@inline function pteOfRecord(w: usize): usize {
  const op = load<i32>(w);
  if (op != OP_READ && op != OP_WRITE && op != OP_MADV_DONTNEED) return 0;
  const mm = load<i32>(w, 4);
  const vpn = load<i32>(w, 8);
  if (<u32>mm >= <u32>mmCap || <u32>vpn >= <u32>(1 << VPN_BITS)) return 0; // the op itself will reject it
  const pt = pteTableOf(mm, <u32>vpn);
  return pt == 0 ? 0 : pteSlot(pteTableBase(pt), <usize>(<u32>vpn & (PT_ENTRIES - 1)));
}

/** Touch the PTEs (each beside its shadow word) and mapped frames of op records [from, to) of the batch at opBase. */
export function prefetchGroup(opBase: usize, from: i32, to: i32): void {
  let s = sink;
  for (let i = from; i < to; i++) {
    const p = pteOfRecord(opBase + <usize>i * OP_WORDS * 4);
    store<usize>(ptes + (<usize>(i - from) << 2), p);
    if (p != 0) s ^= load<u32>(p); // its shadow word is in the same line
  }
  let faults = 0;
  for (let i = from; i < to; i++) {
    const p = load<usize>(ptes + (<usize>(i - from) << 2));
    if (p == 0) { faults++; continue; }
    const pte = load<u32>(p);
    const pfn = pte >> PTE_PFN_SHIFT;
    if ((pte & PTE_PRESENT) == 0 || pfn >= frameCount) { faults++; continue; }
    s ^= touchFrame(pfn);
  }
  // The pages faults will take come off the top of the free list.
  let pfn = buddyHead;
  for (let k = 0; k < faults && pfn != 0; k++) {
    s ^= touchFrame(pfn);
    pfn = load<u32>(indexBase + (<usize>pfn << 2));
  }
  sink = s;
}

/** Load every hot-path field of frame pfn (the op may read or write any of them). */
@inline function touchFrame(pfn: u32): u32 {
  const o = <usize>pfn << 2;
  return load<u32>(refBase + o) ^ load<u32>(mapBase + o) ^ load<u32>(flagsBase + o) ^ load<u32>(indexBase + o)
    ^ load<u32>(contentBase + o) ^ load<u32>(lastOpBase + o);
}
