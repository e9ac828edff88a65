// The pinner's handles: what a GUP caller keeps of the pages it got (io_uring's
// registered buffers, an RDMA umem's page list): the page, the references it holds,
// and where the pinner had it (an address of its own, or a file block), so DMA
// through the pin and a zap of the pinner's mapping are seen for what they are.
// mm/gup.c keeps none of this; gup.ts hands the handles out and unpin releases them.
import { V_UAF } from "./abi";
import { ref, setContent } from "./frames";
import { frameUsable } from "./refcount";
import { mmValid, findVma } from "./mm";
import { ptePtr, shadowOf } from "./pgtable";
import { diskWrite, cachedPageAt } from "./file";
import { violation } from "./violations";

let pinCap: i32 = 0;
let pinCount: i32 = 0; // handles handed out (1-based; 0 = none)
let pinPfn: usize = 0;
let pinRefs: usize = 0; // references this handle holds (1 or the pin bias); 0 = released
let pinMm: usize = 0;
let pinFlags: usize = 0;
let pinVpn: usize = 0; // where the pinner had it mapped, for DMA through the pin
let pinFile: usize = 0; // -1, or the file whose page it was (then pinVpn is the file index); PIN_DETACHED
const PIN_DETACHED: i32 = -2; // the pinner unmapped that address: DMA through the pin is not its data any more
/** pinRefs of a live handle that holds no reference: a FOLL_PIN of the zero page (c8070b787519, 6.5+). */
export const PIN_NO_REF: i32 = -1;
let pinFree: usize = 0;
let pinFreeTop: i32 = 0;
// The live handles of each pfn bucket (pfn & pinMask), chained through pinNext (0 ends a chain), so a
// zap's detachPins looks only at handles that may be on its page (performance only: the same handles match)
let pinBucket: usize = 0;
let pinNext: usize = 0;
let pinMask: u32 = 0;

export function initPins(n: i32): void {
  pinCap = n;
  pinCount = 0;
  pinPfn = heap.alloc(<usize>(n + 1) << 2);
  pinRefs = heap.alloc(<usize>(n + 1) << 2);
  pinMm = heap.alloc(<usize>(n + 1) << 2);
  pinFlags = heap.alloc(<usize>(n + 1) << 2);
  pinVpn = heap.alloc(<usize>(n + 1) << 2);
  pinFile = heap.alloc(<usize>(n + 1) << 2);
  memory.fill(pinRefs, 0, <usize>(n + 1) << 2);
  pinFree = heap.alloc(<usize>(n + 1) << 2);
  pinFreeTop = 0;
  let nb: u32 = 1;
  while (nb < <u32>n) nb <<= 1;
  pinMask = nb - 1;
  pinBucket = heap.alloc(<usize>nb << 2);
  memory.fill(pinBucket, 0, <usize>nb << 2);
  pinNext = heap.alloc(<usize>(n + 1) << 2);
}

@inline function bucketOf(pfn: u32): usize { return pinBucket + (<usize>(pfn & pinMask) << 2); }

@inline function get(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline function put(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

export function pinSlotsLeft(): i32 { return pinCap - pinCount + pinFreeTop; }
export function pinHandles(): i32 { return pinCount; }
export function handleValid(h: i32): bool { return h > 0 && h <= pinCount && get(pinRefs, h) != 0; }
export function handlePfn(h: i32): u32 { return <u32>get(pinPfn, h); }
export function handleRefs(h: i32): i32 { return get(pinRefs, h); }
export function handleFlags(h: i32): i32 { return get(pinFlags, h); }
export function handleMm(h: i32): i32 { return get(pinMm, h); }

/** A new handle (a released one first, last-in first-out) for refs references on pfn, and what the pinner meant. */
@inline export function newHandle(pfn: u32, refs: i32, mm: i32, flags: i32, file: i32, at: i32): i32 {
  let h: i32;
  if (pinFreeTop > 0) h = get(pinFree, --pinFreeTop);
  else h = ++pinCount;
  put(pinPfn, h, <i32>pfn);
  put(pinRefs, h, refs);
  put(pinMm, h, mm);
  put(pinFlags, h, flags);
  put(pinFile, h, file);
  put(pinVpn, h, at);
  const b = bucketOf(pfn);
  put(pinNext, h, load<i32>(b));
  store<i32>(b, h);
  return h;
}

/** The handle holds no references any more: its number is free for the next GUP. */
@inline export function releaseHandle(h: i32): void {
  let at = bucketOf(<u32>get(pinPfn, h));
  while (load<i32>(at) != h) at = pinNext + (<usize>load<i32>(at) << 2);
  store<i32>(at, get(pinNext, h));
  put(pinRefs, h, 0);
  put(pinFree, pinFreeTop++, h);
}


/**
 * A device writes through the pin (DMA, O_DIRECT read): the page changes, and so
 * does what its pinner expects at the address or file offset it pinned. If the
 * pinner's address or file block no longer holds this page, that data is lost.
 */
export function dmaWrite(h: i32, value: u32): void {
  const pfn = <u32>get(pinPfn, h);
  // the zero page is always there: a device writing into it changes what every mapping of it reads
  if (pfn != 0 && !frameUsable(pfn)) violation(V_UAF, pfn, get(pinMm, h), get(pinVpn, h), ref(pfn), 0, 10);
  setContent(pfn, value);
  const f = get(pinFile, h);
  const at = <u32>get(pinVpn, h);
  if (f == PIN_DETACHED) return;
  if (f >= 0) {
    if (cachedPageAt(f, at) == pfn) diskWrite(f, at, value); // still that file's block
    return;
  }
  const mm = get(pinMm, h);
  if (!mmValid(mm) || findVma(mm, at) < 0) return;
  const p = ptePtr(mm, at, false);
  if (p != 0) store<u32>(shadowOf(p), value); // the pinner expects the DMA's data at its address
}

/**
 * The pinner zapped its own mapping of a pinned page (munmap, MADV_DONTNEED,
 * exit): the pin lives on, but that address no longer expects the device's data.
 * A COW replacing the page does not detach: that is the GUP-vs-COW bug (S8).
 */
export function detachPins(mm: i32, vpn: u32, pfn: u32): void {
  for (let h = load<i32>(bucketOf(pfn)); h != 0; h = get(pinNext, h)) {
    if (<u32>get(pinPfn, h) == pfn && get(pinMm, h) == mm && get(pinVpn, h) == <i32>vpn && get(pinFile, h) == -1) put(pinFile, h, PIN_DETACHED);
  }
}

/**
 * mremap moved the pinner's mapping of [from, from+n) to `to` (move_page_tables):
 * a pin taken through an address there now expects the device's data at the new one.
 */
export function movePins(mm: i32, from: u32, n: u32, to: u32): void {
  for (let h = 1; h <= pinCount; h++) {
    if (get(pinRefs, h) == 0 || get(pinMm, h) != mm || get(pinFile, h) != -1) continue;
    const at = <u32>get(pinVpn, h);
    if (at >= from && at - from < n) put(pinVpn, h, <i32>(to + (at - from)));
  }
}

/** For the invariant scan: every live handle's page and references. */
export function pinAt(h: i32): u32 { return get(pinRefs, h) != 0 ? <u32>get(pinPfn, h) : 0; }
