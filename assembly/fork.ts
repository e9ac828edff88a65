// fork: dup_mmap -> copy_page_range -> copy_pte_range for each private vma.
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVICE_PRIVATE, PTE_DEVICE_EXCLUSIVE, PTE_MIGRATION, PT_ENTRIES, PG_ANON, PG_ANON_EXCLUSIVE,
  SCHEME_ANON_EXCLUSIVE, SCHEME_COW_PINNED, SCHEME_PTE_BATCH, ST_PTES_COPIED, ST_WP_COPY, V_UAF, PTE_PFN_SHIFT,
  PG_ALLOCATED, PG_HEAD, PG_TAIL, ST_ATOMIC_REF, ST_ATOMIC_MAP, KIND_P2PDMA, MMU_NOTIFY_PROTECTION_PAGE, ERR_NOMEM_MM,
  ERR_NOMEM_VMA, ERR_NOMEM_TABLES, ERR_NOMEM_FRAMES, F_FORK_MM,
} from "./abi";
import { restoreExclusivePte } from "./exclusive";
import { bump } from "./stats";
import { rule, pinBias } from "./scheme";
import {
  allocSystemPage, ref, mapcount, content, setContent, hasFlag, clearFlag, addFlag, setPageIndex, pageIndex, isLarge, folioOf, largeLive,
  flags, setFlags, setRef, setMapcount, freeSystemFrames, refBase, mapBase, flagsBase,
} from "./frames";
import { rangeFastOk, fpNote, FP_COPY_FAST, FP_COPY_FULL, FP_COPY_PTE_FULL } from "./fastpath";
import { folioGet, rmapAdd, frameUsable } from "./refcount";
import { pteTableOf, pteTableBase, pteSlot, ptePtr, shadowOf, PTE_SLOT, hugeLeaf, ptePfn, mkPte, tablesOf, pteTablesLeft, pmdTablesLeft } from "./pgtable";
import { copyHugePmd, largeMaybePinned, pinnedHugeIn, folioPteBatch } from "./thp";
import {
  isCow, pinnedIn, mmSlotsLeft, vmaSlotsLeft, vmaCount, firstVma, vmaNext, vmaStart, vmaEnd, vmaFlags, vmaFile, vmaPgoff, newMm,
  insertVma, copyAnonVma, vmaHasAnonVma,
} from "./mm";
import { fileDevice, fileIsDmirrorMap } from "./file";
import { driverKind } from "./memremap";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { fail } from "./reject";
import { violation } from "./violations";
import { deferParentWp, copyCowSeq } from "./gup_fast";

/**
 * ptep_set_wrprotect of the parent's entry: the child's value `shared` (write-protected
 * in a COW mapping), unless fork_begin defers it to fork_end (gup_fast.ts); the model's
 * wrprotectSrc (src/model/fork.ts).
 */
@inline function wrprotectSrc(pte: u32, shared: u32): u32 { return deferParentWp ? pte : shared; }

/** page_needs_cow_for_dma: the mm has pinned pages and this one may be pinned. */
export function needsCowForDma(mm: i32, pfn: u32): bool {
  if (rule(SCHEME_COW_PINNED) == 0 || pinnedIn(mm) == 0) return false;
  return isLarge(pfn) ? largeMaybePinned(folioOf(pfn)) : ref(pfn) >= pinBias(); // folio_maybe_dma_pinned
}

/** Copy one present or swap PTE of a private or shared vma from parent (at src) to child (at dst). */
function copyOne(parent: i32, cow: bool, vpn: u32, src: usize, entry: u32, dst: usize): void {
  const data = load<u32>(shadowOf(src));
  bump(ST_PTES_COPIED);
  const pfn = ptePfn(entry);
  if (pfn != 0 && !frameUsable(pfn)) violation(V_UAF, pfn, parent, <i32>vpn, ref(pfn), mapcount(pfn), 5);
  // copy_nonpresent_pte: a device-exclusive entry is restored in the parent first
  // (try_restore_exclusive_pte, no notifier), then copied as the present PTE it is again
  if ((entry & PTE_DEVICE_EXCLUSIVE) != 0) restoreExclusivePte(parent, vpn, src);
  const pte = load<u32>(src);
  if ((pte & PTE_MIGRATION) != 0) {
    // copy_nonpresent_pte: a migration entry (an open migrate_collect) holds no reference and no
    // rmap: copied as it is, readable in both if COW (5.15 and newest mm/memory.c)
    const shared = cow ? pte & ~PTE_WRITE : pte;
    store<u32>(src, shared);
    store<u32>(dst, shared);
  } else if ((pte & PTE_DEVICE_PRIVATE) != 0) {
    // copy_nonpresent_pte: device-private entry, folio_try_dup_anon_rmap_pte + get
    folioGet(pfn, 1, parent, <i32>vpn);
    rmapAdd(pfn);
    clearFlag(pfn, PG_ANON_EXCLUSIVE);
    const shared = cow ? pte & ~PTE_WRITE : pte; // writable entries become readable in both
    store<u32>(src, wrprotectSrc(pte, shared));
    store<u32>(dst, shared);
  } else if ((pte & PTE_SPECIAL) != 0) {
    // vm_normal_page() == NULL (zero page, devmap): copy the PTE, no ref, no rmap
    const shared = cow ? pte & ~PTE_WRITE : pte;
    store<u32>(src, wrprotectSrc(pte, shared));
    store<u32>(dst, shared);
  } else if (hasFlag(pfn, PG_ANON) && needsCowForDma(parent, pfn)) {
    // copy_present_page: a maybe-pinned page stays with the parent; the child gets a copy
    const copy = allocSystemPage();
    setPageIndex(copy, pageIndex(pfn)); // the child's VMA has the parent's vm_pgoff
    setContent(copy, content(pfn));
    addFlag(copy, rule(SCHEME_ANON_EXCLUSIVE) != 0 ? PG_ANON | PG_ANON_EXCLUSIVE : PG_ANON);
    rmapAdd(copy);
    store<u32>(dst, mkPte(copy, pte & (PTE_PRESENT | PTE_WRITE)));
    bump(ST_WP_COPY);
  } else {
    // copy_present_ptes: share the page, +1 ref, +1 map, both write-protected if COW
    folioGet(pfn, 1, parent, <i32>vpn);
    rmapAdd(pfn);
    if (hasFlag(pfn, PG_ANON)) clearFlag(pfn, PG_ANON_EXCLUSIVE);
    const shared = cow ? pte & ~PTE_WRITE : pte;
    store<u32>(src, wrprotectSrc(pte, shared));
    store<u32>(dst, shared);
  }
  store<u32>(shadowOf(dst), data);
}

/**
 * copy_present_ptes with PTE batching (6.9+): a run of PTEs mapping consecutive
 * pages of one large folio is shared with one folio_ref_add of nr
 * (folio_try_dup_anon_rmap_ptes still counts each page's mapping). Returns nr.
 */
function copyFolioRun(parent: i32, cow: bool, vpn: u32, src: usize, last: u32, dstTable: usize): i32 {
  const pte = load<u32>(src);
  const pfn = ptePfn(pte);
  const head = folioOf(pfn);
  const nr = folioPteBatch(src, vpn, last);
  folioGet(head, <i32>nr, parent, <i32>vpn);
  const shared = cow ? pte & ~PTE_WRITE : pte;
  for (let i: u32 = 0; i < nr; i++) {
    const s = pteSlot(src, <usize>i);
    const dst = pteSlot(dstTable, <usize>((vpn + i) & (PT_ENTRIES - 1)));
    rmapAdd(pfn + i);
    clearFlag(pfn + i, PG_ANON_EXCLUSIVE);
    store<u32>(s, wrprotectSrc(pte, shared) + (i << PTE_PFN_SHIFT));
    store<u32>(dst, shared + (i << PTE_PFN_SHIFT));
    store<u32>(shadowOf(dst), load<u32>(shadowOf(s)));
  }
  bump(ST_PTES_COPIED, nr);
  return <i32>nr;
}

/**
 * Fast path of copy_pte_range (6.1 mm/memory.c copy_present_pte, page shared): under
 * rangeFastOk() and with no page of the parent maybe pinned for DMA (no
 * MMF_HAS_PINNED, or an era without the rule), each present PTE of an allocated
 * small page gains a reference and a mapping here, its statistics summed over the
 * range; any other PTE goes through copyOne, as on the full path.
 */
function copyRangeFast(parent: i32, child: i32, cow: bool, start: u32, end: u32): void {
  const wp: u32 = cow ? ~PTE_WRITE : ~0; // a COW mapping write-protects both entries
  const srcMask: u32 = deferParentWp ? ~0 : wp; // wrprotectSrc: fork_begin leaves the parent's entry as it is
  let copied = 0;
  let vpn = start;
  while (vpn < end) {
    const tableEnd = min<u32>((vpn | (PT_ENTRIES - 1)) + 1, end);
    const pt = pteTableOf(parent, vpn);
    if (pt != 0) {
      const first = pteSlot(pteTableBase(pt), <usize>(vpn & (PT_ENTRIES - 1)));
      const last = pteSlot(first, <usize>(tableEnd - vpn));
      let src = first;
      while (src < last && load<u32>(src) == 0) src += PTE_SLOT; // pte_none: nothing to copy
      if (src < last) {
        // the child's table, allocated at the first PTE to copy (the caller checked space);
        // its slots lie at a fixed distance from the parent's
        const x = vpn + <u32>((src - first) / PTE_SLOT);
        const delta = ptePtr(child, x, true) - src;
        // The fast PTEs in runs, each a loop without calls in a function of its own (V8 then
        // keeps its values in registers); a run stops at a PTE for copyOne. A run copies every
        // slot it passes but the pte_none ones it counts in RUN_NONE.
        let from = src;
        src = copyRunFast(src, last, delta, wp, srcMask);
        copied += <i32>((src - from) / PTE_SLOT) - load<i32>(RUN_NONE);
        while (src < last) {
          fpNote(FP_COPY_PTE_FULL);
          copyOne(parent, cow, vpn + <u32>((src - first) / PTE_SLOT), src, load<u32>(src), src + delta);
          from = src + PTE_SLOT;
          src = copyRunFast(from, last, delta, wp, srcMask);
          copied += <i32>((src - from) / PTE_SLOT) - load<i32>(RUN_NONE);
        }
      }
    }
    vpn = tableEnd;
  }
  bump(ST_PTES_COPIED, copied);
  bump(ST_ATOMIC_REF, copied);
  bump(ST_ATOMIC_MAP, copied);
}

/** pte_none slots the last copyRunFast passed: a static word (memory.data), at a constant address,
 * so its loop holds no register for it nor for the globals' base (a wasm global would need that). */
const RUN_NONE = memory.data(4);

/**
 * copyRangeFast's per-PTE work over the parent's slots [src, last) of one table, the child's
 * at src + delta (copyRun). The common fork, a COW mapping whose parent entries are write-protected
 * now (wp == srcMask == ~PTE_WRITE), gets its own copy with the masks constants: two registers
 * fewer in the loop, whose values then all stay in registers.
 */
@inline function copyRunFast(src: usize, last: usize, delta: usize, wp: u32, srcMask: u32): usize {
  if (wp == ~PTE_WRITE && srcMask == ~PTE_WRITE) return copyRunCow(src, last, delta);
  return copyRunAny(src, last, delta, wp, srcMask);
}

function copyRunCow(src: usize, last: usize, delta: usize): usize { return copyRun(src, last, delta, ~PTE_WRITE, ~PTE_WRITE); }
function copyRunAny(src: usize, last: usize, delta: usize, wp: u32, srcMask: u32): usize { return copyRun(src, last, delta, wp, srcMask); }

/**
 * Each present PTE of an allocated small page in [src, last) gains a reference and a mapping,
 * loses PG_ANON_EXCLUSIVE if anon, and is copied with its shadow word (the child's entry
 * `pte & wp`, the parent's `pte & srcMask`). Returns the first other non-none PTE's slot
 * (or last); the pte_none slots passed go to RUN_NONE.
 */
@inline function copyRun(src: usize, last: usize, delta: usize, wp: u32, srcMask: u32): usize {
  // Loop invariants in locals: V8 reloads a wasm global at each use (none changes in a copy).
  const refB = refBase, mapB = mapBase, flB = flagsBase;
  store<i32>(RUN_NONE, 0);
  let pte: u32, at: usize, f: u32;
  for (;;) {
    // Eight fast PTEs a turn while eight slots are left: V8's loop head (its stack check, the
    // reloads of what the body spilled) then costs an eighth per PTE. Any other PTE ends the turn.
    while (src + 8 * PTE_SLOT <= last) {
      pte = load<u32>(src); if (!isFastPte(pte)) break;
      at = frameAt(pte); f = load<u32>(flB + at); if (!isFastFrame(f)) break;
      copyFastPte(src, delta, pte, at, f, wp, srcMask, refB, mapB, flB); src += PTE_SLOT;
      pte = load<u32>(src); if (!isFastPte(pte)) break;
      at = frameAt(pte); f = load<u32>(flB + at); if (!isFastFrame(f)) break;
      copyFastPte(src, delta, pte, at, f, wp, srcMask, refB, mapB, flB); src += PTE_SLOT;
      pte = load<u32>(src); if (!isFastPte(pte)) break;
      at = frameAt(pte); f = load<u32>(flB + at); if (!isFastFrame(f)) break;
      copyFastPte(src, delta, pte, at, f, wp, srcMask, refB, mapB, flB); src += PTE_SLOT;
      pte = load<u32>(src); if (!isFastPte(pte)) break;
      at = frameAt(pte); f = load<u32>(flB + at); if (!isFastFrame(f)) break;
      copyFastPte(src, delta, pte, at, f, wp, srcMask, refB, mapB, flB); src += PTE_SLOT;
      pte = load<u32>(src); if (!isFastPte(pte)) break;
      at = frameAt(pte); f = load<u32>(flB + at); if (!isFastFrame(f)) break;
      copyFastPte(src, delta, pte, at, f, wp, srcMask, refB, mapB, flB); src += PTE_SLOT;
      pte = load<u32>(src); if (!isFastPte(pte)) break;
      at = frameAt(pte); f = load<u32>(flB + at); if (!isFastFrame(f)) break;
      copyFastPte(src, delta, pte, at, f, wp, srcMask, refB, mapB, flB); src += PTE_SLOT;
      pte = load<u32>(src); if (!isFastPte(pte)) break;
      at = frameAt(pte); f = load<u32>(flB + at); if (!isFastFrame(f)) break;
      copyFastPte(src, delta, pte, at, f, wp, srcMask, refB, mapB, flB); src += PTE_SLOT;
      pte = load<u32>(src); if (!isFastPte(pte)) break;
      at = frameAt(pte); f = load<u32>(flB + at); if (!isFastFrame(f)) break;
      copyFastPte(src, delta, pte, at, f, wp, srcMask, refB, mapB, flB); src += PTE_SLOT;
    }
    // one PTE: a pte_none, a fast PTE of the last few, or the one for copyOne
    if (src >= last) break;
    pte = load<u32>(src);
    if (pte == 0) {
      store<i32>(RUN_NONE, load<i32>(RUN_NONE) + 1);
    } else {
      if (!isFastPte(pte)) break;
      at = frameAt(pte); f = load<u32>(flB + at); if (!isFastFrame(f)) break;
      copyFastPte(src, delta, pte, at, f, wp, srcMask, refB, mapB, flB);
    }
    src += PTE_SLOT;
  }
  return src;
}

/** copyRun copies (copyFastPte) a present PTE (not special, not device-private) */
@inline function isFastPte(pte: u32): bool { return (pte & (PTE_PRESENT | PTE_SPECIAL | PTE_DEVICE_PRIVATE)) == PTE_PRESENT; }
/** of an allocated small page (its flags `f`), */
@inline function isFastFrame(f: u32): bool { return (f & (PG_ALLOCATED | PG_HEAD | PG_TAIL)) == PG_ALLOCATED; }
/** whose per-frame words lie at this byte offset from refBase, mapBase, flagsBase. */
@inline function frameAt(pte: u32): usize { return <usize>ptePfn(pte) << 2; }
@inline function copyFastPte(src: usize, delta: usize, pte: u32, at: usize, f: u32, wp: u32, srcMask: u32, refB: usize, mapB: usize, flB: usize): void {
  store<i32>(refB + at, load<i32>(refB + at) + 1); // folio_get
  store<i32>(mapB + at, load<i32>(mapB + at) + 1); // folio_dup_file_rmap_pte / folio_try_dup_anon_rmap_pte
  if ((f & PG_ANON) != 0) store<u32>(flB + at, f & ~PG_ANON_EXCLUSIVE);
  store<u32>(src, pte & srcMask); // wrprotectSrc
  store<u32>(src + delta, pte & wp); // the child's entry
  store<u32>(src + delta, load<u32>(src, 4), 4); // and its shadow word (pgtable.ts shadowOf)
}

/** copy_pmd_range / copy_pte_range over [start, end) of one vma. */
export function copyRange(parent: i32, child: i32, v: i32, start: u32, end: u32): void {
  const cow = isCow(v);
  if (rangeFastOk() && (rule(SCHEME_COW_PINNED) == 0 || pinnedIn(parent) == 0)) {
    fpNote(FP_COPY_FAST);
    copyRangeFast(parent, child, cow, start, end);
    return;
  }
  fpNote(FP_COPY_FULL);
  const batching = largeLive > 0 && rule(SCHEME_PTE_BATCH) != 0;
  let vpn = start;
  while (vpn < end) {
    const tableEnd = min<u32>((vpn | (PT_ENTRIES - 1)) + 1, end);
    // A THP's block lies inside one vma; a pinned one is split and copied by PTEs.
    if (hugeLeaf(parent, vpn) != 0 && copyHugePmd(parent, child, cow, vpn)) {
      vpn = tableEnd;
      continue;
    }
    const pt = pteTableOf(parent, vpn);
    if (pt != 0) {
      const base = pteTableBase(pt);
      let dstTable: usize = 0; // the child's table, allocated at the first PTE to copy (the caller checked space)
      let x = vpn;
      while (x < tableEnd) {
        const src = pteSlot(base, <usize>(x & (PT_ENTRIES - 1)));
        const pte = load<u32>(src);
        if (pte == 0) { x++; continue; }
        if (dstTable == 0) dstTable = ptePtr(child, x, true) - (<usize>(x & (PT_ENTRIES - 1)) * PTE_SLOT);
        if (batching && (pte & (PTE_PRESENT | PTE_SPECIAL)) == PTE_PRESENT && isLarge(ptePfn(pte))
            && frameUsable(ptePfn(pte)) && !needsCowForDma(parent, ptePfn(pte))) {
          x += copyFolioRun(parent, cow, x, src, tableEnd, dstTable);
        } else {
          copyOne(parent, cow, x, src, pte, pteSlot(dstTable, <usize>(x & (PT_ENTRIES - 1))));
          x++;
        }
      }
    }
    vpn = tableEnd;
  }
}

/** Frames copy_present_page would need: the pinned anon pages of a range. */
export function pinnedPagesIn(parent: i32, start: u32, end: u32): i32 {
  if (pinnedIn(parent) == 0) return 0;
  let n = pinnedHugeIn(parent, start, end);
  for (let vpn = start; vpn < end; vpn++) {
    const pt = pteTableOf(parent, vpn);
    if (pt == 0) { vpn |= PT_ENTRIES - 1; continue; }
    const pte = load<u32>(pteSlot(pteTableBase(pt), <usize>(vpn & (PT_ENTRIES - 1))));
    if ((pte & (PTE_PRESENT | PTE_SPECIAL)) == PTE_PRESENT && needsCowForDma(parent, ptePfn(pte))) n++;
  }
  return n;
}

/**
 * vma_needs_copy (7.0 mm/memory.c; the same test inline in 5.15 copy_page_range): copy the
 * PTEs only of a vma with an anon_vma or VM_PFNMAP/VM_MIXEDMAP (p2pmem and a test_hmm mapping:
 * vm_insert_page sets VM_MIXEDMAP); the child refaults the rest (page cache, fsdax, device-dax, shmem, zero page).
 */
function vmaNeedsCopy(v: i32): bool {
  if (vmaHasAnonVma(v)) return true;
  const f = vmaFile(v);
  if (fileIsDmirrorMap(f)) return true;
  return f >= 0 && fileDevice(f) >= 0 && driverKind(fileDevice(f)) == KIND_P2PDMA;
}

/** dup_mmap (6.1 kernel/fork.c) after the dispatcher's room checks: the child mm, its VMAs, the PTEs vma_needs_copy keeps. */
export function doFork(parent: i32): i32 {
  if (mmSlotsLeft() < 1) return fail(ERR_NOMEM_MM, F_FORK_MM);
  if (vmaSlotsLeft() < vmaCount(parent)) return fail(ERR_NOMEM_VMA, F_FORK_MM, vmaCount(parent));
  const tables = tablesOf(parent);
  if (pteTablesLeft() < tables || pmdTablesLeft() < tables) return fail(ERR_NOMEM_TABLES, F_FORK_MM, tables);
  let copies = 0;
  for (let v = firstVma(parent); v >= 0; v = vmaNext(v)) copies += pinnedPagesIn(parent, vmaStart(v), vmaEnd(v));
  if (<i32>freeSystemFrames() < copies) return fail(ERR_NOMEM_FRAMES, F_FORK_MM, copies);
  const child = newMm();
  for (let v = firstVma(parent); v >= 0; v = vmaNext(v)) {
    copyAnonVma(v, insertVma(child, vmaStart(v), vmaEnd(v), vmaFlags(v), vmaFile(v), vmaPgoff(v))); // anon_vma_fork
    if (vmaNeedsCopy(v)) {
      // copy_page_range of a COW mapping write-protects the parent's entries
      if (isCow(v)) {
        mmuNotifierInvalidate(parent, vmaStart(v), vmaEnd(v), MMU_NOTIFY_PROTECTION_PAGE, -1);
        copyCowSeq(parent); // write_protect_seq, is_cow_mapping only (6.1 copy_page_range)
      }
      copyRange(parent, child, v, vmaStart(v), vmaEnd(v));
    }
  }
  return child;
}
