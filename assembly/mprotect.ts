// mprotect (mm/mprotect.c): do_mprotect_pkey walks the VMAs of the range;
// mprotect_fixup gives each piece its new flags (vma_modify_flags: split at the
// range's ends, merge with equal neighbours) and change_protection rewrites its
// page-table entries. No reference and no mapcount changes: entries keep mapping
// the same pages, only their write bit changes. PROT_NONE keeps the entries
// present; the VMA's missing VM_READ makes every access fault (access_error).
import {
  VM_READ, VM_WRITE, VM_SHARED, PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVICE_PRIVATE, PG_ANON, PG_ANON_EXCLUSIVE,
  PT_ENTRIES, FOLIO_NR, ENOMEM, MMU_NOTIFY_PROTECTION_VMA, SCHEME_MPROTECT_WRITE_UPGRADE, ST_PROT_CHANGED,
} from "./abi";
import { bump } from "./stats";
import { rule } from "./scheme";
import { hasFlag } from "./frames";
import {
  findVma, vmaStart, vmaEnd, vmaFlags, vmaNext, vmaPrev, splitVma, vmaMergeable, mergeVmas, setVmaFlags, moveVmaBoundary,
} from "./mm";
import { pteTableOf, pteTableBase, pteSlot, hugeLeaf, hugeLeafPtr, pudPopulated, ptePfn } from "./pgtable";
import { splitHugePmd, blockStart } from "./thp";
import { kfail } from "./errno";
import { mmuNotifierInvalidate } from "./mmu_notifier";

const PROT_BITS: i32 = VM_READ | VM_WRITE;

/** The flags a VMA gets from mprotect(prot): calc_vm_prot_bits for the access bits, the rest kept. */
@inline function newFlags(v: i32, prot: i32): i32 { return (vmaFlags(v) & ~PROT_BITS) | prot; }

/**
 * VMA slots the mprotect of [start, end) needs: cutting a VMA at start or at end
 * makes a new VMA unless that piece joins its neighbour instead
 * (vma_merge_existing_range), and one VMA cut at both ends needs two. The VMA
 * before the last one has the new flags by the time the last one is cut.
 */
export function mprotectSlots(mm: i32, start: u32, end: u32, prot: i32): i32 {
  const first = findVma(mm, start);
  if (first < 0) return 0; // ENOMEM before anything changes
  let n = 0;
  if (vmaStart(first) < start && newFlags(first, prot) != vmaFlags(first)) {
    if (end < vmaEnd(first)) return 2;
    if (!joinsNext(first, newFlags(first, prot))) n++;
  }
  // The cut at end, also when the range starts at first's start and ends inside it
  // (the head piece joins prev only if prev already has the new flags).
  const last = findVma(mm, end - 1);
  if (last >= 0 && end < vmaEnd(last) && newFlags(last, prot) != vmaFlags(last)) {
    const prev = vmaPrev(mm, last);
    const prevFlags = prev < 0 ? 0 : last == first ? vmaFlags(prev) : newFlags(prev, prot);
    const joins = prev >= 0 && vmaEnd(prev) == vmaStart(last) && vmaStart(prev) < end
      && prevFlags == newFlags(last, prot) && vmaMergeable(prev, last);
    if (!joins) n++;
  }
  return n;
}

/** The tail of v, given flags, continues into the next VMA (is_mergeable_vma, contiguous pgoff). */
function joinsNext(v: i32, flags: i32): bool {
  const next = vmaNext(v);
  return next >= 0 && vmaStart(next) == vmaEnd(v) && vmaFlags(next) == flags && vmaMergeable(v, next);
}

/** The head of v, given flags, continues the previous VMA. */
function joinsPrev(mm: i32, v: i32, flags: i32): bool {
  const prev = vmaPrev(mm, v);
  return prev >= 0 && vmaEnd(prev) == vmaStart(v) && vmaFlags(prev) == flags && vmaMergeable(prev, v);
}

/**
 * do_mprotect_pkey over [start, end): returns 0, or -ENOMEM when the range starts
 * outside a VMA or runs into a hole (the VMAs before the hole keep their new
 * protection, as in the kernel). The caller checked slots and the range.
 */
export function doMprotect(mm: i32, start: u32, end: u32, prot: i32): i32 {
  let at = start;
  while (at < end) {
    const v = findVma(mm, at);
    if (v < 0) return kfail(ENOMEM); // vma_find found nothing here, or vma->vm_start != tmp
    const e = min<u32>(vmaEnd(v), end);
    const flags = newFlags(v, prot);
    if (flags != vmaFlags(v)) { // mprotect_fixup: nothing to do when the flags stay
      vmaModifyFlags(mm, v, at, e, flags);
      changeProtection(mm, at, e, flags);
    }
    at = e;
  }
  return 0;
}

/**
 * vma_modify_flags: [s, e) of v becomes a VMA with the new flags, merged with a
 * neighbour it continues (vma_merge_existing_range): the whole of v may join
 * either neighbour or both, a piece at one end of v joins that side's neighbour
 * by moving the boundary, and otherwise v is split (__split_vma).
 */
function vmaModifyFlags(mm: i32, v: i32, s: u32, e: u32, flags: i32): void {
  const head = s == vmaStart(v);
  const tail = e == vmaEnd(v);
  const prev = vmaPrev(mm, v);
  const next = vmaNext(v);
  const left = head && joinsPrev(mm, v, flags);
  const right = tail && joinsNext(v, flags);
  if (head && tail) {
    if (left) {
      mergeVmas(mm, prev, v);
      if (right) mergeVmas(mm, prev, next);
      return;
    }
    setVmaFlags(v, flags);
    if (right) mergeVmas(mm, v, next);
    return;
  }
  if (head) {
    if (left) moveVmaBoundary(prev, v, e);
    else {
      splitVma(mm, v, e); // v keeps [s, e); the new VMA [e, end) keeps the old flags
      setVmaFlags(v, flags);
    }
    return;
  }
  if (tail) {
    if (right) moveVmaBoundary(v, next, s);
    else setVmaFlags(splitVma(mm, v, s), flags);
    return;
  }
  const mid = splitVma(mm, v, s);
  splitVma(mm, mid, e);
  setVmaFlags(mid, flags);
}

/**
 * change_protection of [s, e) in mm for a VMA now carrying `flags`
 * (change_pmd_range / change_pte_range / change_huge_pmd). Present entries get
 * pte_modify's write bit: a shared mapping's follows VM_WRITE; a private one's is
 * cleared, and set again only where can_change_pte_writable allows it (an
 * exclusive anonymous page, 6.0+). A writable device-private entry always becomes
 * readable. A PMD mapping only partly in the range is split first.
 */
function changeProtection(mm: i32, s: u32, e: u32, flags: i32): void {
  // change_pud_range: the notifier covers the range from the first populated PUD on.
  for (let slot = s >> 18; <u64>slot << 18 < <u64>e; slot++) {
    if (!pudPopulated(mm, slot << 18)) continue;
    mmuNotifierInvalidate(mm, max<u32>(s, slot << 18), e, MMU_NOTIFY_PROTECTION_VMA, -1);
    break;
  }
  const shared = (flags & VM_SHARED) != 0;
  const writable = (flags & VM_WRITE) != 0;
  const upgrade = !shared && writable && rule(SCHEME_MPROTECT_WRITE_UPGRADE) != 0;
  let changed = 0;
  let vpn = s;
  while (vpn < e) {
    const tableEnd = min<u32>((vpn | (PT_ENTRIES - 1)) + 1, e);
    if (hugeLeaf(mm, vpn) != 0) {
      if (vpn == blockStart(vpn) && tableEnd == vpn + FOLIO_NR) {
        changed += changeHugePmd(mm, vpn, shared, writable, upgrade);
        vpn = tableEnd;
        continue;
      }
      splitHugePmd(mm, vpn); // change_pmd_range: next - addr != HPAGE_PMD_SIZE
    }
    const pt = pteTableOf(mm, vpn);
    if (pt != 0) {
      const base = pteTableBase(pt);
      for (let v = vpn; v < tableEnd; v++) {
        const p = pteSlot(base, <usize>(v & (PT_ENTRIES - 1)));
        const pte = load<u32>(p);
        if (pte == 0) continue;
        const next = newPte(pte, shared, writable, upgrade);
        // present entries are always counted; swap entries only when they change
        if ((pte & PTE_PRESENT) != 0 || next != pte) changed++;
        store<u32>(p, next);
      }
    }
    vpn = tableEnd;
  }
  bump(ST_PROT_CHANGED, changed);
}

/** The entry change_pte_range leaves for pte. */
@inline function newPte(pte: u32, shared: bool, writable: bool, upgrade: bool): u32 {
  if ((pte & PTE_DEVICE_PRIVATE) != 0) return pte & ~PTE_WRITE; // make_readable_device_private_entry
  if ((pte & PTE_PRESENT) == 0) return pte;
  if (shared) return writable ? pte | PTE_WRITE : pte & ~PTE_WRITE;
  return upgrade && exclusiveAnon(pte) ? pte | PTE_WRITE : pte & ~PTE_WRITE;
}

/** can_change_pte_writable for a private mapping: vm_normal_page is an exclusive anonymous page. */
@inline function exclusiveAnon(pte: u32): bool {
  if ((pte & PTE_SPECIAL) != 0) return false;
  const pfn = ptePfn(pte);
  return hasFlag(pfn, PG_ANON) && hasFlag(pfn, PG_ANON_EXCLUSIVE);
}

/**
 * change_huge_pmd (change_non_present_huge_pmd for a device-private PMD) on a PMD
 * wholly in the range. Returns the pages change_pmd_range counts for it.
 */
function changeHugePmd(mm: i32, vpn: u32, shared: bool, writable: bool, upgrade: bool): i32 {
  const lp = hugeLeafPtr(mm, vpn);
  const leaf = load<u32>(lp);
  const next = ptePfn(leaf) == 0 ? leaf & ~PTE_WRITE : newPte(leaf, shared, writable, upgrade); // the huge zero page stays read-only
  store<u32>(lp, next);
  return (leaf & PTE_PRESENT) != 0 ? FOLIO_NR : 0; // a non-present PMD returns 1, which change_pmd_range does not add
}
