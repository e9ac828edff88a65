// GUP: get_user_pages (FOLL_GET, +1) and pin_user_pages (FOLL_PIN, +GUP_PIN_COUNTING_BIAS
// on a small folio), one page per call, each returning a handle that is released
// with put_page / unpin_user_page.
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PG_ANON, PG_ANON_EXCLUSIVE, KIND_SYSTEM, KIND_DEVICE_COHERENT, KIND_FSDAX, KIND_P2PDMA,
  FOLL_WRITE, FOLL_PIN, FOLL_LONGTERM, FOLL_PCI_P2PDMA, SCHEME_ANON_EXCLUSIVE, ST_PINS, ST_GUP_FAILED,
} from "./abi";
import { bump } from "./stats";
import { rule, pinBias } from "./scheme";
import { hasFlag, kindOf, setLastOp, isAllocated, ref, setContent, pageIndex, isLarge, folioRef, folioOf, folioPincount, setFolioPincount } from "./frames";
import { hugeFault, HUGE_NONE } from "./thp";
import { folioGet, folioPut, frameUsable } from "./refcount";
import { handleFault, doWpPage } from "./fault";
import { addPinned, isAnon, mmValid, findVma, vmaFile, vmaFlags } from "./mm";
import { ptePtr, shadowOf, ptePfn } from "./pgtable";
import { isFilePage, diskWrite, cachedPageAt, fileDevice } from "./file";
import { deviceOwner, driverKind } from "./device";
import { migratePageToRam } from "./migrate";
import { currentOp, violation } from "./violations";
import { V_UAF, EBUSY, EOPNOTSUPP, EREMOTEIO, ENOMEM, EFAULT, VM_READ, VM_WRITE } from "./abi";
import { kfail } from "./errno";

let pinCap: i32 = 0;
let pinCount: i32 = 0; // handles handed out (1-based; 0 = none)
let pinPfn: usize = 0;
let pinRefs: usize = 0; // references this handle holds (1 or the pin bias); 0 = released
let pinMm: usize = 0;
let pinFlags: usize = 0;
let pinVpn: usize = 0; // where the pinner had it mapped, for DMA through the pin
let pinFile: usize = 0; // -1, or the file whose page it was (then pinVpn is the file index); PIN_DETACHED
const PIN_DETACHED: i32 = -2; // the pinner unmapped that address: DMA through the pin is not its data any more
let pinFree: usize = 0;
let pinFreeTop: i32 = 0;

export function initGup(n: i32): void {
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
}

@inline function get(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline function put(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

export function pinSlotsLeft(): i32 { return pinCap - pinCount + pinFreeTop; }
export function pinHandles(): i32 { return pinCount; }
export function handleValid(h: i32): bool { return h > 0 && h <= pinCount && get(pinRefs, h) != 0; }
export function handlePfn(h: i32): u32 { return <u32>get(pinPfn, h); }
export function handleRefs(h: i32): i32 { return get(pinRefs, h); }
export function handleFlags(h: i32): i32 { return get(pinFlags, h); }

/**
 * __get_user_pages for one page: fault it in (a write fault for FOLL_WRITE or an
 * unpopulated anon page), unshare a shared anon page before FOLL_PIN (5.19+),
 * migrate a coherent page to RAM before FOLL_LONGTERM
 * (check_and_migrate_movable_pages), then try_grab_folio. Returns the handle, 0 if
 * the page could not be pinned.
 */
export function gup(mm: i32, v: i32, vpn: u32, flags: i32): i32 {
  // follow_pmd_mask: a PMD mapping (or a THP fault) pins the subpage of the THP;
  // the zero page gets a real one, as a pin must have one.
  const p0 = ptePtr(mm, vpn, false);
  if (p0 == 0 || load<u32>(p0) == 0) {
    const unshare = (flags & FOLL_PIN) != 0;
    const huge = hugeFault(mm, v, vpn, (flags & FOLL_WRITE) != 0 || isAnon(v), unshare);
    if (huge != HUGE_NONE && huge != 0) return grab(mm, v, vpn, huge, flags);
  }
  // faultin_page: a write fault for FOLL_WRITE; an unpopulated (or zero-page) anon
  // address also gets a real page, as the pin must have one.
  const cur = load<u32>(ptePtr(mm, vpn, true));
  const noPage = cur == 0 || (cur & (PTE_SPECIAL | PTE_PRESENT)) == (PTE_SPECIAL | PTE_PRESENT) && ptePfn(cur) == 0;
  let p = handleFault(mm, v, vpn, (flags & FOLL_WRITE) != 0 || (isAnon(v) && noPage));
  let pte = load<u32>(p);
  if ((pte & PTE_PRESENT) == 0) return refuse();
  let pfn = ptePfn(pte);
  if ((pte & PTE_SPECIAL) == 0 && (flags & FOLL_PIN) != 0 && rule(SCHEME_ANON_EXCLUSIVE) != 0
      && hasFlag(pfn, PG_ANON) && !hasFlag(pfn, PG_ANON_EXCLUSIVE)) {
    doWpPage(mm, v, vpn, p, pte, (pte & PTE_WRITE) != 0); // FAULT_FLAG_UNSHARE
    pte = load<u32>(p);
    pfn = ptePfn(pte);
  }
  if ((flags & FOLL_LONGTERM) != 0 && (pte & PTE_SPECIAL) == 0 && kindOf(pfn) == KIND_DEVICE_COHERENT) {
    if (!migratePageToRam(pfn, 0, mm, vpn)) return refuse(EBUSY); // migrate_longterm_unpinnable_folios (6.0+): migrate_device_coherent_folio failed
    pte = load<u32>(p);
    pfn = ptePfn(pte);
  }
  if (pfn == 0 || !isAllocated(pfn)) return refuse();
  const kind = kindOf(pfn);
  if (kind == KIND_P2PDMA && (flags & FOLL_PCI_P2PDMA) == 0) return refuse(EREMOTEIO); // try_grab_folio (6.2+): needs FOLL_PCI_P2PDMA
  return grab(mm, v, vpn, pfn, flags);
}

/** try_grab_folio and a handle: FOLL_GET +1; FOLL_PIN +bias on a small folio, +1 and _pincount +1 on a large one. */
function grab(mm: i32, v: i32, vpn: u32, pfn: u32, flags: i32): i32 {
  const kind = kindOf(pfn);
  if (folioRef(pfn) == 0) return refuse(ENOMEM); // try_grab_folio (6.x): WARN and -ENOMEM on a count-0 folio
  const large = isLarge(pfn);
  const refs = (flags & FOLL_PIN) != 0 && !large ? pinBias() : 1;
  folioGet(pfn, refs, mm, <i32>vpn); // try_grab_folio
  if ((flags & FOLL_PIN) != 0 && large) setFolioPincount(folioOf(pfn), folioPincount(folioOf(pfn)) + 1);
  let h: i32;
  if (pinFreeTop > 0) h = get(pinFree, --pinFreeTop);
  else h = ++pinCount;
  put(pinPfn, h, <i32>pfn);
  put(pinRefs, h, refs);
  put(pinMm, h, mm);
  put(pinFlags, h, flags);
  // Remember what the pinner meant: a file block, or an address of its own.
  const filePage = isFilePage(pfn);
  put(pinFile, h, !filePage ? -1 : kind == KIND_SYSTEM ? vmaFile(v) : -deviceOwner(pfn) - 1);
  put(pinVpn, h, filePage ? <i32>pageIndex(pfn) : <i32>vpn);
  if ((flags & FOLL_PIN) != 0) addPinned(mm, 1); // MMF_HAS_PINNED
  bump(ST_PINS);
  return h;
}

/**
 * check_vma_flags (mm/gup.c 6.x, called by __get_user_pages for each VMA before any
 * fault): may this GUP use the VMA at all? 0, or the errno. (refsim has no FOLL_FORCE.)
 */
export function checkVmaFlags(v: i32, flags: i32): i32 {
  // 5.13+ (before: check_dax_vmas after the pin, the same errno): no longterm pin of fsdax
  if ((flags & FOLL_LONGTERM) != 0 && vmaIsFsdax(v)) return EOPNOTSUPP;
  // FOLL_WRITE needs VM_WRITE, a read needs VM_READ
  if ((vmaFlags(v) & ((flags & FOLL_WRITE) != 0 ? VM_WRITE : VM_READ)) == 0) return EFAULT;
  return 0;
}

/** vma_is_fsdax: a file on a DAX filesystem (not device-dax, not p2pmem). */
function vmaIsFsdax(v: i32): bool {
  const f = vmaFile(v);
  return f >= 0 && fileDevice(f) >= 0 && driverKind(fileDevice(f)) == KIND_FSDAX;
}

/** GUP took no page: -errno where the kernel names one, else 0 pages (errno 0). */
export function refuse(errno: i32 = 0): i32 {
  bump(ST_GUP_FAILED);
  return errno != 0 ? kfail(errno) : 0;
}

/**
 * A device writes through the pin (DMA, O_DIRECT read): the page changes, and so
 * does what its pinner expects at the address or file offset it pinned. If the
 * pinner's address or file block no longer holds this page, that data is lost.
 */
export function dmaWrite(h: i32, value: u32): void {
  const pfn = <u32>get(pinPfn, h);
  if (!frameUsable(pfn)) violation(V_UAF, pfn, get(pinMm, h), get(pinVpn, h), ref(pfn), 0, 10);
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

/** unpin_user_page / put_page for a handle (gup_put_folio). */
export function unpin(h: i32): void {
  const pfn = <u32>get(pinPfn, h);
  const refs = get(pinRefs, h);
  put(pinRefs, h, 0);
  put(pinFree, pinFreeTop++, h);
  // MMF_HAS_PINNED stays set once set: fork keeps copying maybe-pinned pages.
  bump(ST_PINS, -1);
  // gup_put_folio: a large folio's _pincount (a split needs no pins, so it is still large)
  if ((get(pinFlags, h) & FOLL_PIN) != 0 && isLarge(pfn)) setFolioPincount(folioOf(pfn), folioPincount(folioOf(pfn)) - 1);
  setLastOp(pfn, currentOp);
  folioPut(pfn, refs, get(pinMm, h), -1);
}

/**
 * The pinner zapped its own mapping of a pinned page (munmap, MADV_DONTNEED,
 * exit): the pin lives on, but that address no longer expects the device's data.
 * A COW replacing the page does not detach: that is the GUP-vs-COW bug (S8).
 */
export function detachPins(mm: i32, vpn: u32, pfn: u32): void {
  for (let h = 1; h <= pinCount; h++) {
    if (get(pinRefs, h) != 0 && <u32>get(pinPfn, h) == pfn && get(pinMm, h) == mm
        && get(pinVpn, h) == <i32>vpn && get(pinFile, h) == -1) put(pinFile, h, PIN_DETACHED);
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
