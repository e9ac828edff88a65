// hmm_range_fault (mm/hmm.c, 7.0 / current mm tree): what a device sees of a
// process's page tables over [start, end), each page as an hmm pfn (VALID, WRITE,
// ERROR, the PMD map order, the pfn), with the pages faulted in first when the
// caller asks (HMM_PFN_REQ_FAULT, and HMM_PFN_REQ_WRITE). It takes no page
// references: what it returns is good until the next mmu-notifier invalidation.
//
// The walk follows walk_page_range: a gap between vmas is a hole with no vma
// (hmm_vma_walk_hole: -EFAULT if a fault is wanted, else ERROR); a vma without
// VM_READ fails hmm_vma_walk_test the same way; then PMD by PMD
// (hmm_vma_walk_pmd, hmm_vma_handle_pmd, hmm_vma_handle_absent_pmd) and PTE by PTE
// (hmm_vma_handle_pte). A page that needs a fault is recorded with the end of its
// walk unit (hmm_record_fault); hmm_do_fault then runs handle_mm_fault on every
// page from there to that end and the walk restarts at the recorded page.
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVICE_PRIVATE, PTE_DEVICE_EXCLUSIVE, PT_ENTRIES, VM_READ, VM_WRITE, EFAULT, EPERM, EBUSY,
  ST_HMM_FAULT_PAGES, HMM_CHUNK,
} from "./abi";
import { bump } from "./stats";
import { findVma, firstVma, vmaNext, vmaStart, vmaEnd, vmaFlags } from "./mm";
import { hugeLeaf, pteTableOf, pteTableBase, pteSlot, ptePfn } from "./pgtable";
import { faultIn, takeFaultOom } from "./fault";
import { takeSigbus } from "./errno";
import { driverOf } from "./memremap";
import { dmirrorOfDriver } from "./dmirror";

export const HMM_PFN_VALID: u32 = 1 << 31;
export const HMM_PFN_WRITE: u32 = 1 << 30;
export const HMM_PFN_ERROR: u32 = 1 << 29;
export const HMM_PFN_PMD: u32 = 1 << 28; // hmm_pfn_to_map_order() == PMD_SHIFT - PAGE_SHIFT
export const HMM_PFN_HUGE_ZERO: u32 = 1 << 27; // the huge zero folio: its pfn is not zero_pfn (is_zero_pfn is false)
export const HMM_PFN_MASK: u32 = (1 << 27) - 1;

export let hmmPfns: usize = 0; // HMM_CHUNK u32 words: the range->hmm_pfns of the last call

export function initHmm(): void {
  hmmPfns = heap.alloc(<usize>HMM_CHUNK << 2);
}

@inline export function hmmPfnAt(i: i32): u32 { return load<u32>(hmmPfns + (<usize>i << 2)); }
@inline function setOut(start: u32, vpn: u32, w: u32): void { store<u32>(hmmPfns + (<usize>(vpn - start) << 2), w); }

function fill(start: u32, from: u32, to: u32, w: u32): void {
  for (let vpn = from; vpn < to; vpn++) setOut(start, vpn, w);
}

/** The start of the first vma above vpn, or `limit`. */
function nextVmaStart(mm: i32, vpn: u32, limit: u32): u32 {
  for (let v = firstVma(mm); v >= 0; v = vmaNext(v)) if (vmaStart(v) > vpn) return min<u32>(vmaStart(v), limit);
  return limit;
}


// A fault the walk recorded (hmm_vma_walk->last, ->end, ->required_fault).
let faultFrom: u32 = 0;
let faultTo: u32 = 0;
const PENDING: i32 = 1;

/**
 * One walk from `from` over [.., end): fills the pfns, or records a fault and
 * returns PENDING, or returns -EFAULT.
 */
// range->dev_private_owner of the call: the test_hmm device whose own private pages are reported, not faulted
let rangeOwner: i32 = -1;

function walk(mm: i32, start: u32, from: u32, end: u32, fault: bool, write: bool): i32 {
  let vpn = from;
  while (vpn < end) {
    const v = findVma(mm, vpn);
    if (v < 0) {
      const holeEnd = nextVmaStart(mm, vpn, end);
      if (fault) return -EFAULT; // hmm_vma_walk_hole with no vma
      fill(start, vpn, holeEnd, HMM_PFN_ERROR);
      vpn = holeEnd;
      continue;
    }
    const vEnd = min<u32>(end, vmaEnd(v));
    if ((vmaFlags(v) & VM_READ) == 0) {
      // hmm_vma_walk_test: no read access means no access (VM_IO/VM_PFNMAP vmas are not modelled)
      if (fault) return -EFAULT;
      fill(start, vpn, vEnd, HMM_PFN_ERROR);
      vpn = vEnd;
      continue;
    }
    while (vpn < vEnd) {
      const pend = min<u32>(vEnd, (vpn | (PT_ENTRIES - 1)) + 1);
      const r = walkPmd(mm, start, vpn, pend, fault, write);
      if (r != 0) return r;
      vpn = pend;
    }
  }
  return 0;
}

/** hmm_vma_walk_pmd over [vpn, pend) of one PMD. */
function walkPmd(mm: i32, start: u32, vpn: u32, pend: u32, fault: bool, write: bool): i32 {
  const leaf = hugeLeaf(mm, vpn);
  if (leaf != 0) {
    const head = ptePfn(leaf);
    if ((leaf & PTE_PRESENT) != 0) {
      // hmm_vma_handle_pmd: pmd_to_hmm_pfn_flags, the whole range at once
      const w = (leaf & PTE_WRITE) != 0;
      if (fault && write && !w) return record(vpn, pend);
      const flags = HMM_PFN_VALID | HMM_PFN_PMD | (w ? HMM_PFN_WRITE : 0) | (head == 0 ? HMM_PFN_HUGE_ZERO : 0);
      for (let p = vpn; p < pend; p++) setOut(start, p, flags | (head == 0 ? 0 : head + (p & (PT_ENTRIES - 1))));
      return 0;
    }
    // hmm_vma_handle_absent_pmd (6.19 mm/hmm.c, E5's device-private PMD): the caller's own
    // device's folio is reported as it is (VALID, WRITE if writable, order PMD), never faulted;
    // another's is faulted back, or an error.
    if ((leaf & PTE_DEVICE_PRIVATE) != 0 && rangeOwner >= 0 && dmirrorOfDriver(driverOf(head)) == rangeOwner) {
      const flags = HMM_PFN_VALID | HMM_PFN_PMD | ((leaf & PTE_WRITE) != 0 ? HMM_PFN_WRITE : 0);
      for (let p = vpn; p < pend; p++) setOut(start, p, flags | (head + (p & (PT_ENTRIES - 1))));
      return 0;
    }
    if (fault) return (leaf & PTE_DEVICE_PRIVATE) != 0 ? record(vpn, pend) : -EFAULT;
    fill(start, vpn, pend, HMM_PFN_ERROR);
    return 0;
  }
  const pt = pteTableOf(mm, vpn);
  if (pt == 0) {
    // pmd_none: hmm_vma_walk_hole over the PMD's part of the range
    if (fault) return record(vpn, pend);
    fill(start, vpn, pend, 0);
    return 0;
  }
  const base = pteTableBase(pt);
  for (let p = vpn; p < pend; p++) {
    const pte = load<u32>(pteSlot(base, <usize>(p & (PT_ENTRIES - 1))));
    const r = handlePte(start, p, pend, pte, fault, write);
    if (r != 0) return r;
  }
  return 0;
}

/** hmm_vma_handle_pte for the page at vpn. */
function handlePte(start: u32, vpn: u32, pend: u32, pte: u32, fault: bool, write: bool): i32 {
  if (pte == 0) {
    if (fault) return record(vpn, pend);
    setOut(start, vpn, 0);
    return 0;
  }
  const pfn = ptePfn(pte);
  if ((pte & PTE_PRESENT) == 0) {
    // A device-private page of the caller's own device is reported as it is (VALID, WRITE if
    // the entry is writable), never faulted; another's is not valid, or faulted back.
    if ((pte & PTE_DEVICE_PRIVATE) != 0 && rangeOwner >= 0 && dmirrorOfDriver(driverOf(pfn)) == rangeOwner) {
      setOut(start, vpn, HMM_PFN_VALID | ((pte & PTE_WRITE) != 0 ? HMM_PFN_WRITE : 0) | pfn);
      return 0;
    }
    if (!fault) {
      setOut(start, vpn, 0);
      return 0;
    }
    if ((pte & PTE_DEVICE_PRIVATE) != 0) return record(vpn, pend); // do_swap_page -> migrate_to_ram
    if ((pte & PTE_DEVICE_EXCLUSIVE) != 0) return record(vpn, pend); // do_swap_page -> remove_device_exclusive_entry
    return -EFAULT; // migration entries only exist inside one op here
  }
  const w = (pte & PTE_WRITE) != 0;
  if (fault && write && !w) return record(vpn, pend);
  // Not vm_normal_page and not the zero page (devmap, pfnmap, special): an error.
  if ((pte & PTE_SPECIAL) != 0 && pfn != 0) {
    if (fault) return -EFAULT;
    setOut(start, vpn, HMM_PFN_ERROR);
    return 0;
  }
  setOut(start, vpn, HMM_PFN_VALID | (w ? HMM_PFN_WRITE : 0) | pfn);
  return 0;
}

@inline function record(from: u32, to: u32): i32 {
  faultFrom = from;
  faultTo = to;
  return PENDING;
}

/**
 * hmm_do_fault: handle_mm_fault on every page of the recorded range with the
 * range's fault flags. -EPERM if a write is wanted of a vma without VM_WRITE;
 * otherwise the errno of a failed fault, or 0 (the walk then restarts).
 */
function doFault(mm: i32, write: bool): i32 {
  const v = findVma(mm, faultFrom);
  if (v < 0) return -EFAULT;
  if (write && (vmaFlags(v) & VM_WRITE) == 0) return -EPERM;
  for (let vpn = faultFrom; vpn < faultTo; vpn++) {
    const r = faultIn(mm, vpn, write);
    if (r < 0) return r; // rejected (a pool ran out): the op stops here, as the model's throw
    if (takeSigbus()) return -EFAULT; // hmm_vma_fault: VM_FAULT_ERROR (no ->fault, or past EOF) -> -EFAULT
    if (takeFaultOom()) return -EFAULT; // hmm_vma_fault: VM_FAULT_OOM is in VM_FAULT_ERROR too (mm/hmm.c)
    bump(ST_HMM_FAULT_PAGES);
  }
  return 0;
}

/**
 * hmm_range_fault over [start, end) (at most HMM_CHUNK pages) of mm, for test_hmm device `owner` (or -1:
 * dev_private_owner NULL). With `fault`, pages are faulted
 * in (for writing with `write`); returns 0 with hmmPfns filled, or -errno. A fault
 * that leaves the same page still wanting one is the driver's timeout: -EBUSY.
 */
export function hmmRangeFault(mm: i32, start: u32, end: u32, fault: bool, write: bool, owner: i32 = -1): i32 {
  rangeOwner = owner;
  let from = start;
  let lastFault: u32 = 0xffffffff;
  while (true) {
    const r = walk(mm, start, from, end, fault, write);
    if (r != PENDING) return r;
    if (faultFrom == lastFault) return -EBUSY; // no progress: dmirror_range_fault's timeout
    lastFault = faultFrom;
    const f = doFault(mm, write);
    if (f < 0) return f;
    from = faultFrom;
  }
  return 0;
}
