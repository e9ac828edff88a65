// GUP-fast (pin_user_pages_fast / get_user_pages_fast for one page) and fork's
// copy_page_range, each cut where the kernel lets other CPUs in, for the
// interleaving explorer (src/races/gup-fast-steps.ts drives them):
//   gup_fast_begin: FOLL_PIN sets MMF_HAS_PINNED, reads mm->write_protect_seq (odd:
//     fall back at once), local_irq_save (5.11+ mm/gup.c lockless_pages_from_mm,
//     6.x gup_fast);
//   gup_fast_step, four times: (1) ptep_get_lockless and the checks on that value
//     (a PMD leaf: pmdp_get_lockless and gup_huge_pmd's checks, 6.1; gup_fast_pmd_leaf 6.10+,
//     then steps 2 and 3 on the PMD: the subpage's folio grabbed, the PMD re-checked);
//     (2) try_grab_folio: folio_try_get, which fails on a count of 0; (3) the PTE
//     re-check (pte_val(pte) != pte_val(ptep_get(ptep)): put and bail), then
//     local_irq_restore; (4) read_seqcount_retry(write_protect_seq): unpin and bail,
//     else the page is the caller's (gup_pte_range 5.11-6.5, gup_fast_pte_range 6.10+);
//   fork_begin: dup_mmap -> copy_page_range with raw_write_seqcount_begin (COW vmas only), every
//     PTE's page_needs_cow_for_dma check and its reference and rmap, the child's
//     entries, but not the parent's ptep_set_wrprotect;
//   fork_end: the parent's ptep_set_wrprotect, raw_write_seqcount_end.
// A bail returns 0 and the caller falls back to slow GUP (__gup_longterm_unlocked).
// With writeProtectSeq off (before 57efa1fe5957, 5.11) nothing reads or writes the
// seqcount: a pin between fork's check and its write-protect survives, and the
// child's COW leaves the parent's pin on the page the child keeps (S8's race).
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVICE_PRIVATE, PT_ENTRIES, FOLIO_NR, PG_ANON, PG_ANON_EXCLUSIVE, FOLL_WRITE,
  FOLL_PIN, FOLL_LONGTERM, SCHEME_WRITE_PROTECT_SEQ, SCHEME_ANON_EXCLUSIVE, KIND_DEVICE_COHERENT,
} from "./abi";
import { rule } from "./scheme";
import { hasFlag, folioRef, kindOf, isAllocated } from "./frames";
import { addPinned, findVma, firstVma, vmaNext, vmaStart, vmaEnd, isCow } from "./mm";
import { ptePtr, ptePfn, pteTableOf, pteTableBase, pteSlot, hugeLeaf } from "./pgtable";
import { tryGrabFolio, grabHandle, gupPutFolio } from "./gup";

const PHASE_PTE: i32 = 1; //    next: ptep_get_lockless
const PHASE_GRAB: i32 = 2; //   next: try_grab_folio
const PHASE_RECHECK: i32 = 3; // next: the PTE re-check
const PHASE_SEQ: i32 = 4; //    next: read_seqcount_retry
const PHASE_DONE: i32 = 0;
const PHASE_MASK: i32 = 7;
const WALK_PMD: i32 = 8; // with the phase: the walk read a PMD leaf (wPte is the PMD value)

let cap: i32 = 0;
let count: i32 = 0; // slots used so far (the table's high-water mark)
let live: i32 = 0; //  walks in flight
let wMm: usize = 0;
let wVpn: usize = 0;
let wFlags: usize = 0;
let wSeq: usize = 0;
let wPhase: usize = 0;
let wPte: usize = 0; // the PTE value step 1 read
let wRefs: usize = 0; // references step 2 took

let mmCap: i32 = 0;
let wpSeq: usize = 0; // mm->write_protect_seq
let forkParent: usize = 0; // child -> parent + 1 while a fork is between fork_begin and fork_end
let forksOpen: i32 = 0; // children with forkParent set: forkingParent() scans only when one is (every OP_EXIT asks)

/** fork_begin copies without write-protecting the parent's entries (read by fork.ts). */
export let deferParentWp: bool = false;

export function initGupFast(walks: i32, mms: i32): void {
  cap = walks;
  count = 0;
  live = 0;
  wMm = heap.alloc(<usize>(walks + 1) << 2);
  wVpn = heap.alloc(<usize>(walks + 1) << 2);
  wFlags = heap.alloc(<usize>(walks + 1) << 2);
  wSeq = heap.alloc(<usize>(walks + 1) << 2);
  wPhase = heap.alloc(<usize>(walks + 1) << 2);
  wPte = heap.alloc(<usize>(walks + 1) << 2);
  wRefs = heap.alloc(<usize>(walks + 1) << 2);
  mmCap = mms;
  wpSeq = heap.alloc(<usize>mms << 2);
  forkParent = heap.alloc(<usize>mms << 2);
  memory.fill(wpSeq, 0, <usize>mms << 2);
  memory.fill(forkParent, 0, <usize>mms << 2);
  forksOpen = 0;
}

@inline function get(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline function put(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

export function walkSlotsLeft(): i32 { return cap - live; }
export function walkValid(w: i32): bool { return w > 0 && w <= count && get(wPhase, w) != PHASE_DONE; }
/** The walk's next step is its last (read_seqcount_retry), the one that makes a GUP handle. */
export function walkAtLastStep(w: i32): bool { return (get(wPhase, w) & PHASE_MASK) == PHASE_SEQ; }
/** The page and references an in-flight walk holds (between try_grab_folio and its end), for the quiesce check. */
export function walkHolding(w: i32): i32 {
  const ph = get(wPhase, w) & PHASE_MASK;
  return ph == PHASE_RECHECK || ph == PHASE_SEQ ? get(wRefs, w) : 0;
}
/** The page the walk read: the PTE's, or for a PMD leaf its subpage at the walk's address. */
export function walkPfn(w: i32): u32 {
  const pfn = ptePfn(<u32>get(wPte, w));
  return (get(wPhase, w) & WALK_PMD) != 0 ? pfn + (<u32>get(wVpn, w) & (FOLIO_NR - 1)) : pfn;
}
/** The walk pins (FOLL_PIN): on a large folio what it holds counts in _pincount too. */
export function walkPins(w: i32): bool { return (get(wFlags, w) & FOLL_PIN) != 0; }
/** The walk slots used so far (1..walksStarted()), for the quiesce check's scan. */
export function walksStarted(): i32 { return count; }
export function writeProtectSeq(mm: i32): i32 { return get(wpSeq, mm); }
export function forkInProgress(child: i32): bool { return child >= 0 && child < mmCap && get(forkParent, child) != 0; }
/** The parent is being forked (some child between fork_begin and fork_end): its mmap_lock is held for write. */
export function forkingParent(parent: i32): bool {
  if (forksOpen == 0) return false;
  for (let c = 0; c < mmCap; c++) if (get(forkParent, c) == parent + 1) return true;
  return false;
}

/** A walk of mm is in flight: its task holds mm_users, so the mm cannot exit (gup_fast walks current->mm, mm/gup.c). */
export function walkInFlight(mm: i32): bool {
  if (live == 0) return false;
  for (let w = 1; w <= count; w++) if (get(wPhase, w) != PHASE_DONE && get(wMm, w) == mm) return true;
  return false;
}

/** gup_fast up to the walk: has_pinned, the seqcount read, local_irq_save. Returns the walk, or 0 (fall back). */
export function gupFastBegin(mm: i32, vpn: u32, flags: i32): i32 {
  if ((flags & FOLL_PIN) != 0) addPinned(mm, 1); // mm_set_has_pinned_flag (MMF_HAS_PINNED; 5.9-5.x atomic_set(has_pinned)) before the walk
  let seq = 0;
  if ((flags & FOLL_PIN) != 0 && rule(SCHEME_WRITE_PROTECT_SEQ) != 0) {
    seq = get(wpSeq, mm); // raw_read_seqcount
    if ((seq & 1) != 0) return 0; // a fork is write-protecting: gup_fast gives up before it starts
  }
  // the lowest finished slot, else a new one (the caller checked walkSlotsLeft)
  let w = 1;
  while (w <= count && get(wPhase, w) != PHASE_DONE) w++;
  if (w > count) count = w;
  live++;
  put(wMm, w, mm);
  put(wVpn, w, <i32>vpn);
  put(wFlags, w, flags);
  put(wSeq, w, seq);
  put(wPhase, w, PHASE_PTE);
  put(wPte, w, 0);
  put(wRefs, w, 0);
  return w;
}

/** The walk's next step: 1 when it goes on, the GUP handle when it is done, 0 when it bailed (fall back to slow GUP). */
export function gupFastStep(w: i32): i32 {
  const ph = get(wPhase, w) & PHASE_MASK;
  const pmd = get(wPhase, w) & WALK_PMD;
  const mm = get(wMm, w);
  const vpn = <u32>get(wVpn, w);
  const flags = get(wFlags, w);
  if (ph == PHASE_PTE) {
    const leaf = hugeLeaf(mm, vpn);
    if (leaf != 0) return pmdLeafRead(w, leaf, flags);
    // ptep_get_lockless: no PTL
    const p: usize = ptePtr(mm, vpn, false);
    const pte = p == 0 ? 0 : load<u32>(p);
    // pte_present, pte_access_permitted(pte, FOLL_WRITE), !pte_special (zero page, devmap)
    if ((pte & PTE_PRESENT) == 0 || (pte & PTE_SPECIAL) != 0) return bail(w);
    if ((flags & FOLL_WRITE) != 0 && (pte & PTE_WRITE) == 0) return bail(w);
    const pfn = ptePfn(pte);
    // gup_fast_folio_allowed / folio_is_longterm_pinnable: a coherent page is migrated by slow GUP
    if ((flags & FOLL_LONGTERM) != 0 && kindOf(pfn) == KIND_DEVICE_COHERENT) return bail(w);
    put(wPte, w, <i32>pte);
    put(wPhase, w, PHASE_GRAB);
    return 1;
  }
  if (ph == PHASE_GRAB) {
    // try_grab_folio(_fast): folio_try_get (folio_ref_try_add), which never raises a count of 0;
    // for a PMD leaf the subpage with the refs of the one page in range (gup_huge_pmd 6.1, gup_fast_pmd_leaf 6.10+)
    const pfn = walkPfn(w);
    if (!isAllocated(pfn) || folioRef(pfn) == 0) return bail(w);
    const refs = tryGrabFolio(mm, vpn, pfn, flags); // 0: a p2pdma page without FOLL_PCI_P2PDMA (6.2+), NULL
    if (refs == 0) return bail(w);
    put(wRefs, w, refs);
    put(wPhase, w, PHASE_RECHECK | pmd);
    return 1;
  }
  if (ph == PHASE_RECHECK && pmd != 0) {
    // pmd_val(orig) != pmd_val(*pmdp): zapped, split, write-protected or replaced meanwhile (gup_huge_pmd 6.1, gup_fast_pmd_leaf 6.10+)
    const leaf = <u32>get(wPte, w);
    if (hugeLeaf(mm, vpn) != leaf) return putBack(w);
    // !pmd_write && gup_must_unshare: a R/O pin of a shared anon THP needs slow GUP's unshare (the THP's AnonExclusive is its head's)
    const head = ptePfn(leaf);
    if ((leaf & PTE_WRITE) == 0 && (flags & FOLL_PIN) != 0 && rule(SCHEME_ANON_EXCLUSIVE) != 0
        && hasFlag(head, PG_ANON) && !hasFlag(head, PG_ANON_EXCLUSIVE)) return putBack(w);
    put(wPhase, w, PHASE_SEQ | WALK_PMD); // local_irq_restore
    return 1;
  }
  if (ph == PHASE_RECHECK) {
    // pte_val(pte) != pte_val(ptep_get(ptep)): zapped, write-protected or replaced meanwhile
    const p: usize = hugeLeaf(mm, vpn) != 0 ? 0 : ptePtr(mm, vpn, false);
    const now = p == 0 ? 0 : load<u32>(p);
    const pte = <u32>get(wPte, w);
    if (now != pte) return putBack(w);
    // !pte_write && gup_must_unshare (5.19+): a R/O pin of a shared anon page needs slow GUP's unshare
    const pfn = ptePfn(pte);
    if ((pte & PTE_WRITE) == 0 && (flags & FOLL_PIN) != 0 && rule(SCHEME_ANON_EXCLUSIVE) != 0
        && hasFlag(pfn, PG_ANON) && !hasFlag(pfn, PG_ANON_EXCLUSIVE)) return putBack(w);
    put(wPhase, w, PHASE_SEQ); // local_irq_restore
    return 1;
  }
  // PHASE_SEQ: read_seqcount_retry (FOLL_PIN, 5.11+); the page is the caller's otherwise
  if ((flags & FOLL_PIN) != 0 && rule(SCHEME_WRITE_PROTECT_SEQ) != 0 && get(wpSeq, mm) != get(wSeq, w)) return putBack(w);
  const pfn = walkPfn(w);
  done(w);
  return grabHandle(mm, findVma(mm, vpn), vpn, pfn, flags, get(wRefs, w)); // MMF_HAS_PINNED was set at gup_fast_begin
}

/**
 * Step 1 at a PMD leaf: pmdp_get_lockless and gup_huge_pmd's checks on that value (6.1;
 * gup_fast_pmd_leaf 6.10+): !pmd_present (a device-private or migration PMD entry) and
 * !pmd_access_permitted fall back, and so does the huge zero page's PMD (pmd_special in the
 * newest kernels; 6.1 would grab the huge zero folio, which refsim leaves to slow GUP).
 */
function pmdLeafRead(w: i32, leaf: u32, flags: i32): i32 {
  if ((leaf & PTE_PRESENT) == 0 || (leaf & PTE_SPECIAL) != 0) return bail(w);
  if ((flags & FOLL_WRITE) != 0 && (leaf & PTE_WRITE) == 0) return bail(w);
  put(wPte, w, <i32>leaf);
  put(wPhase, w, PHASE_GRAB | WALK_PMD);
  return 1;
}

/** The walk gave up before taking anything. */
function bail(w: i32): i32 {
  done(w);
  return 0;
}

/** The walk is over: its slot is free for the next gup_fast_begin. */
function done(w: i32): void {
  put(wPhase, w, PHASE_DONE);
  live--;
}

/** gup_put_folio / unpin_user_pages_lockless of what the walk took, and bail. */
function putBack(w: i32): i32 {
  const pfn = walkPfn(w);
  const refs = get(wRefs, w);
  done(w);
  gupPutFolio(pfn, refs, get(wFlags, w), get(wMm, w), get(wVpn, w));
  return 0;
}

/**
 * copy_page_range of one COW vma (fork.ts): raw_write_seqcount_begin/_end of mm->write_protect_seq,
 * only when is_cow_mapping (5.11+ 57efa1fe5957; 6.1 mm/memory.c copy_page_range). fork_begin leaves
 * it odd (its write-protect waits for fork_end), so later COW vmas add 2 and fork_end closes it.
 */
export function copyCowSeq(mm: i32): void {
  if (rule(SCHEME_WRITE_PROTECT_SEQ) == 0) return;
  const s = get(wpSeq, mm);
  put(wpSeq, mm, s + (deferParentWp && (s & 1) == 0 ? 1 : 2));
}

/** fork_begin's copy is done: the child remembers its parent (copyCowSeq left the seqcount odd if it had a COW vma). */
export function forkBegun(parent: i32, child: i32): void {
  put(forkParent, child, parent + 1);
  forksOpen++;
}

export function setDeferParentWp(on: bool): void { deferParentWp = on; }

/**
 * The rest of copy_present_pte / copy_nonpresent_pte for the parent: ptep_set_wrprotect
 * of every writable entry of a COW vma that the child now shares (same page), then
 * raw_write_seqcount_end. A page the child got a copy of (page_needs_cow_for_dma) keeps
 * its writable PTE.
 */
export function forkEnd(child: i32): void {
  const parent = get(forkParent, child) - 1;
  put(forkParent, child, 0);
  forksOpen--;
  for (let v = firstVma(parent); v >= 0; v = vmaNext(v)) {
    if (!isCow(v)) continue;
    for (let vpn = vmaStart(v); vpn < vmaEnd(v); vpn++) {
      const pt = hugeLeaf(parent, vpn) != 0 ? 0 : pteTableOf(parent, vpn); // copy_huge_pmd write-protected a THP at once
      if (pt == 0) { vpn |= PT_ENTRIES - 1; continue; }
      const src = pteSlot(pteTableBase(pt), <usize>(vpn & (PT_ENTRIES - 1)));
      const pte = load<u32>(src);
      if ((pte & PTE_WRITE) == 0 || (pte & (PTE_PRESENT | PTE_DEVICE_PRIVATE)) == 0) continue;
      const dst = ptePtr(child, vpn, false);
      if (dst == 0 || load<u32>(dst) == 0 || ptePfn(load<u32>(dst)) != ptePfn(pte)) continue;
      store<u32>(src, pte & ~PTE_WRITE);
    }
  }
  if ((get(wpSeq, parent) & 1) != 0) put(wpSeq, parent, get(wpSeq, parent) + 1); // raw_write_seqcount_end (odd only with the rule)
}
