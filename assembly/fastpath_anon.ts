// The guarded fast path of a CPU access (OP_READ / OP_WRITE) to an ordinary page of a private
// anonymous vma (fastpath.ts has the rules every fast path keeps, and its counters): inlined into
// runBatch's loop, once per op, so the common fault and access run without a call; whatever its
// guard does not cover goes to access() (fault.ts), out of line, before anything changed.
import {
  VM_READ, VM_WRITE, VM_SHARED, VM_ANON, VM_FILE, VM_HUGEPAGE, VPN_BITS, PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PG_ANON,
  PG_ANON_EXCLUSIVE, SCHEME_ANON_EXCLUSIVE, ST_FAULTS,
} from "./abi";
import { bump } from "./stats";
import { rule } from "./scheme";
import { allocSystemPageAs, noteLateFault, freeSystemFrames, content, setContent } from "./frames";
import { frameUsable } from "./refcount";
import { pgdEntry, pmdEntry, pteOfSlot, shadowOf, hugeLeaves, hugeLeaf, pteTablesLeft, mkPte, ptePfn } from "./pgtable";
import { findVma, cachedVma, vmaStart, vmaEnd, vmaPgoff, vmaFlags, anonVmaPrepare } from "./mm";
import { access, accessVma, wpStoreFast } from "./fault";
import { fpNote, FP_ACCESS_FAST, FP_ACCESS_FULL } from "./fastpath";

const VPN_LIMIT: u32 = <u32>1 << VPN_BITS;

/**
 * OP_READ / OP_WRITE of a private anonymous, non-THP vma whose PTE table exists:
 * do_anonymous_page on pte_none (a new exclusive anon page on a write, the shared
 * zero page on a read; 6.1 mm/memory.c), or the access itself when the PTE already
 * allows it, with the data check. Returns the op's result; when the guard does not
 * hold, nothing has changed and access() does the op (fullAccess).
 * Inlined into runBatch's loop, `write` a constant at each call site (performance
 * only: no call, no result through a global, no test of `write` on the fast path). `counting`:
 * counterOn, which only the host changes (counterInit), never an op.
 */
@inline export function fastAccess(mm: i32, vpn: i32, write: bool, value: i32, counting: bool): i32 {
  // Each test its own if (no && / || chains): V8 then branches on each comparison instead of
  // materialising booleans from Binaryen's if-results and selects (performance only).
  // counterOn as runBatch read it for the batch (no op changes it): a constant false in its common loops
  if (counting) return fullAccess(mm, vpn, write, value);
  if (<u32>vpn >= VPN_LIMIT) return fullAccess(mm, vpn, write, value);
  // find_vma's cache hit here, its walk out of line (walkWrite / walkRead): no merge of the two whose
  // result V8 would test again, and the vma's start stays in a local for linear_page_index
  // (performance only)
  const v = cachedVma(mm);
  if (v < 0) return write ? walkWrite(mm, vpn, value) : walkRead(mm, vpn);
  const start = vmaStart(v);
  if (<u32>vpn < start) return write ? walkWrite(mm, vpn, value) : walkRead(mm, vpn);
  if (<u32>vpn >= vmaEnd(v)) return write ? walkWrite(mm, vpn, value) : walkRead(mm, vpn);
  return accessIn(mm, v, start, vpn, write, value);
}

/** fastAccess once find_vma's cache missed: the walk, then the same fast path, out of line. */
function walkWrite(mm: i32, vpn: i32, value: i32): i32 {
  const v = findVma(mm, <u32>vpn);
  if (v < 0) return fullAccess(mm, vpn, true, value);
  return accessIn(mm, v, vmaStart(v), vpn, true, value);
}

/** walkWrite for a load. */
function walkRead(mm: i32, vpn: i32): i32 {
  const v = findVma(mm, <u32>vpn);
  if (v < 0) return fullAccess(mm, vpn, false, 0);
  return accessIn(mm, v, vmaStart(v), vpn, false, 0);
}

/** fastAccess in vma v (it holds vpn, in range; `start` its first vpn). */
@inline function accessIn(mm: i32, v: i32, start: u32, vpn: i32, write: bool, value: i32): i32 {
  // A file's page: access() without its find_vma, once per access kind. Its test on the vma's flags,
  // which the anon test reads too: a vma has a file exactly when it is VM_FILE (doMmap: exactly one
  // of VM_ANON and VM_FILE, shmem made VM_FILE with its file; dmirror_mmap.ts; mprotect keeps both)
  const fl = vmaFlags(v);
  if ((fl & VM_FILE) != 0) {
    if (write) return fullWriteVma(mm, v, vpn, value);
    return fullReadVma(mm, v, vpn);
  }
  const need = VM_ANON | (write ? VM_WRITE : VM_READ);
  if ((fl & (need | VM_SHARED | VM_HUGEPAGE)) != need) return fullAccess(mm, vpn, write, value);
  // ptePtr(mm, vpn, false) level by level, each missing table its own exit to the full path
  // (which allocates the tables and checks there is room): no zero result to test again
  const pmd = pgdEntry(mm, <u32>vpn);
  if (pmd == 0) return fullAccess(mm, vpn, write, value);
  const slot = pmdEntry(pmd, <i32>((<u32>vpn >> 9) & 511));
  if (slot == 0) return fullAccess(mm, vpn, write, value);
  const p = pteOfSlot(slot, <u32>vpn);
  const pte = load<u32>(p);
  if (pte == 0) {
    if (hugeLeaves != 0) {
      if (hugeLeaf(mm, <u32>vpn) != 0) return fullAccess(mm, vpn, write, value); // a PMD over the deposited table (MADV_COLLAPSE, any anon vma)
    }
    if (freeSystemFrames() < 2) return fullAccess(mm, vpn, write, value); // faultRoomFor rejects the op
    if (pteTablesLeft() < 1) return fullAccess(mm, vpn, write, value);
    if (write) {
      noteLateFault(); // its ST_FAULTS, the allocation's statistics, rmapAdd's atomic and its FP_ACCESS_FAST, summed later
      anonVmaPrepare(v); // do_anonymous_page: anon_vma_prepare
      // alloc_anon_folio, then folio_add_new_anon_rmap (PG_anon, its index linear_page_index,
      // mapcount 1: rmapAdd) and the write's data: every field stored once (allocSystemPageAs)
      const anon = rule(SCHEME_ANON_EXCLUSIVE) != 0 ? PG_ANON | PG_ANON_EXCLUSIVE : PG_ANON;
      const pfn = allocSystemPageAs(1, anon, vmaPgoff(v) + (<u32>vpn - start), <u32>value);
      store<u32>(p, mkPte(pfn, PTE_PRESENT | PTE_WRITE));
      store<u32>(shadowOf(p), <u32>value);
      return 0; // its FP_ACCESS_FAST counted with the late fault (frames.ts addLateFaults)
    }
    if (content(0) != load<u32>(shadowOf(p))) return fullAccess(mm, vpn, write, value); // a corruption to report: the full path does
    bump(ST_FAULTS);
    store<u32>(p, mkPte(0, PTE_PRESENT | PTE_SPECIAL)); // the shared zero page: no ref, no rmap
    return fpFast(<i32>content(0));
  }
  // No fault: the PTE allows the access (else do_wp_page, a device entry...: the full path).
  if ((pte & PTE_PRESENT) == 0) return fullAccess(mm, vpn, write, value);
  if (write) {
    if ((pte & PTE_WRITE) == 0) return wpStoreFast(mm, v, vpn, p, pte, value); // do_wp_page (fault.ts), out of line
  }
  const pfn = ptePfn(pte);
  if (pfn != 0) {
    if (!frameUsable(pfn)) return fullAccess(mm, vpn, write, value); // a use after free to report
  }
  if (write) {
    setContent(pfn, <u32>value);
    store<u32>(shadowOf(p), <u32>value);
    return fpFast(0);
  }
  const got = content(pfn);
  if (got != load<u32>(shadowOf(p))) return fullAccess(mm, vpn, write, value); // V_CORRUPTION: the full path records it
  return fpFast(<i32>got);
}

/** fastAccess's guard did not hold: the full path, out of line (the fast one is inlined). */
function fullAccess(mm: i32, vpn: i32, write: bool, value: i32): i32 {
  fpNote(FP_ACCESS_FULL);
  return access(mm, vpn, write, value);
}

/**
 * fullAccess once findVma found v for vpn (in range): access()'s own range check and find_vma
 * would find the same (performance only: page_fault3's file faults, fastpath_file.ts, come this way).
 * One function per access kind, accessVma and the file fast path inlined with `write` a constant.
 */
function fullWriteVma(mm: i32, v: i32, vpn: i32, value: i32): i32 {
  fpNote(FP_ACCESS_FULL);
  return accessVma(mm, v, vpn, true, value);
}

/** fullWriteVma for a load. */
function fullReadVma(mm: i32, v: i32, vpn: i32): i32 {
  fpNote(FP_ACCESS_FULL);
  return accessVma(mm, v, vpn, false, 0);
}

/** The guard held: count the fast access, hand back its result. */
@inline function fpFast(result: i32): i32 {
  fpNote(FP_ACCESS_FAST);
  return result;
}
