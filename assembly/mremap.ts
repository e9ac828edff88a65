// mremap (mm/mremap.c, 6.16): shrink in place, grow in place when the space after
// the VMA is free, or move (MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP). A move
// copies the VMA (copy_vma: same flags, file, pgoff and anon_vma, so page->index
// still finds every page) and moves the page-table entries (move_page_tables):
// entries move, none is duplicated, and no reference or mapcount changes. A PMD
// mapping moves whole only when source and destination are both 2 MiB-aligned for
// the whole extent (move_huge_pmd); otherwise it is split first.
import {
  MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP, EINVAL, EFAULT, ENOMEM, PT_ENTRIES, FOLIO_NR,
  MMU_NOTIFY_UNMAP, ST_PTES_MOVED, VPN_BITS,
} from "./abi";
import { bump } from "./stats";
import {
  findVma, vmaStart, vmaEnd, vmaFlags, vmaFile, vmaPgoff, overlaps, unmappedArea, insertVma, setVmaRange, vmaNext,
  vmaPrev, vmaMergeable, mergeVmas, copyAnonVma,
} from "./mm";
import { pteTableOf, pteTableBase, pteSlot, ptePtr, shadowOf, hugeLeaf, pmdNone, moveTable } from "./pgtable";
import { splitHugePmd } from "./thp";
import { unmapRange } from "./munmap";
import { kfail } from "./errno";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { movePins } from "./pins";

const VPN_LIMIT: u32 = <u32>1 << VPN_BITS;

/** VMA slots an mremap may need: the destination's munmap, the source's and the new VMA (3), a shrink 1. */
export function mremapSlots(oldN: u32, newN: u32, flags: i32): i32 {
  if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) == 0 && newN <= oldN) return newN < oldN ? 1 : 0;
  return 3;
}

/**
 * do_mremap of [addr, addr+oldN) to newN pages. Returns the new start vpn, or
 * -errno through kfail with whatever the kernel did before the failure (a
 * MREMAP_FIXED destination is unmapped before the source is checked).
 */
export function doMremap(mm: i32, addr: u32, oldN: u32, newN: u32, flags: i32, newAddr: u32): i32 {
  const moving = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0;
  // check_mremap_params
  if (moving && (flags & MREMAP_MAYMOVE) == 0) return kfail(EINVAL); // a fixed address implies a move
  if ((flags & MREMAP_DONTUNMAP) != 0 && oldN != newN) return kfail(EINVAL); // no resizing with DONTUNMAP
  if (findVma(mm, addr) < 0) return kfail(EFAULT); // vma_lookup
  return moving ? mremapTo(mm, addr, oldN, newN, flags, newAddr) : mremapAt(mm, addr, oldN, newN, flags);
}

/** mremap_to: MREMAP_FIXED or MREMAP_DONTUNMAP. */
function mremapTo(mm: i32, addr: u32, oldN: u32, newN: u32, flags: i32, newAddr: u32): i32 {
  if (addr + oldN > newAddr && newAddr + newN > addr) return kfail(EINVAL); // vrm_overlaps
  if ((flags & MREMAP_FIXED) != 0) {
    unmapRange(mm, newAddr, newAddr + newN); // do_munmap of the destination
    if (findVma(mm, addr) < 0) return kfail(EFAULT);
  }
  if (newN < oldN) { // shrink_vma, then move what is left
    unmapRange(mm, addr + newN, addr + oldN);
    oldN = newN;
  }
  const v = findVma(mm, addr);
  if (addr + oldN > vmaEnd(v)) return kfail(EFAULT); // remap_is_valid: not across a VMA boundary
  let to = newAddr;
  if ((flags & MREMAP_FIXED) == 0) { // DONTUNMAP alone: newAddr is a hint (get_unmapped_area)
    if (to == 0 || overlaps(mm, to, to + newN) || <u64>to + <u64>newN > <u64>VPN_LIMIT) to = unmappedArea(mm, newN, VPN_LIMIT); // 0: no hint
    if (to == 0) return kfail(ENOMEM);
  }
  return moveVma(mm, v, addr, oldN, to, newN, flags);
}

/** mremap_at: resize in place, or move when MREMAP_MAYMOVE allows it. */
function mremapAt(mm: i32, addr: u32, oldN: u32, newN: u32, flags: i32): i32 {
  if (newN == oldN) return <i32>addr; // MREMAP_NO_RESIZE
  if (newN < oldN) { // MREMAP_SHRINK: the tail is unmapped
    unmapRange(mm, addr + newN, addr + oldN);
    return <i32>addr;
  }
  const v = findVma(mm, addr);
  if (addr + oldN > vmaEnd(v)) return kfail(EFAULT); // remap_is_valid
  const delta = newN - oldN;
  // vrm_can_expand_in_place: the range ends the VMA and the space after it is free
  if (addr + oldN == vmaEnd(v) && <u64>vmaEnd(v) + <u64>delta <= <u64>VPN_LIMIT && !overlaps(mm, vmaEnd(v), vmaEnd(v) + delta)) {
    setVmaRange(v, vmaStart(v), vmaEnd(v) + delta); // vma_merge_extend
    const next = vmaNext(v);
    if (next >= 0 && vmaStart(next) == vmaEnd(v) && vmaFlags(next) == vmaFlags(v) && vmaMergeable(v, next)) mergeVmas(mm, v, next);
    return <i32>addr;
  }
  if ((flags & MREMAP_MAYMOVE) == 0) return kfail(ENOMEM);
  const to = unmappedArea(mm, newN, VPN_LIMIT);
  if (to == 0) return kfail(ENOMEM);
  return moveVma(mm, v, addr, oldN, to, newN, flags);
}

/**
 * move_vma: copy_vma to [to, to+newN) (merged with a neighbour it continues), move
 * the page tables of the oldN pages, then unmap the source range, or with
 * MREMAP_DONTUNMAP leave it mapped and empty (dontunmap_complete). Returns `to`.
 */
function moveVma(mm: i32, v: i32, addr: u32, oldN: u32, to: u32, newN: u32, flags: i32): i32 {
  const pgoff = vmaPgoff(v) + (addr - vmaStart(v));
  const nv = insertVma(mm, to, to + newN, vmaFlags(v), vmaFile(v), pgoff);
  copyAnonVma(v, nv); // copy_vma: anon_vma_clone
  movePageTables(mm, addr, to, oldN);
  movePins(mm, addr, oldN, to);
  // MREMAP_DONTUNMAP leaves the source VMA mapped and empty (dontunmap_complete)
  if ((flags & MREMAP_DONTUNMAP) == 0) unmapRange(mm, addr, addr + oldN); // unmap_source_vma: the entries are gone already
  joinNeighbours(mm, nv);
  return <i32>to;
}

/** vma_merge_new_range for the copied VMA: join a neighbour it continues. */
function joinNeighbours(mm: i32, nv: i32): void {
  let m = nv;
  const prev = vmaPrev(mm, m);
  if (prev >= 0 && vmaEnd(prev) == vmaStart(m) && vmaFlags(prev) == vmaFlags(m) && vmaMergeable(prev, m)) {
    mergeVmas(mm, prev, m);
    m = prev;
  }
  const next = vmaNext(m);
  if (next >= 0 && vmaStart(next) == vmaEnd(m) && vmaFlags(next) == vmaFlags(m) && vmaMergeable(m, next)) mergeVmas(mm, m, next);
}

/**
 * move_page_tables of n pages from `from` to `to`: one mmu-notifier UNMAP over the
 * old range, then extent by extent (bounded by the next 2 MiB boundary on both
 * sides): a PMD mapping or a whole pte table moves as it is when the extent is a
 * whole aligned block and the destination is pmd_none (move_huge_pmd,
 * move_normal_pmd); otherwise a PMD mapping is split and the PTEs move one by one
 * with their expected data (move_ptes). The caller checked table space.
 */
function movePageTables(mm: i32, from: u32, to: u32, n: u32): void {
  if (n == 0) return;
  mmuNotifierInvalidate(mm, from, from + n, MMU_NOTIFY_UNMAP, -1);
  let moved = 0;
  let off: u32 = 0;
  while (off < n) {
    const o = from + off;
    const t = to + off;
    const extent = min<u32>(min<u32>(PT_ENTRIES - (o & (PT_ENTRIES - 1)), PT_ENTRIES - (t & (PT_ENTRIES - 1))), n - off);
    if (hugeLeaf(mm, o) != 0) {
      if (extent == FOLIO_NR && pmdNone(mm, t)) { // move_huge_pmd: the PMD and its deposited table
        moveTable(mm, o, t);
        moved += FOLIO_NR;
        off += extent;
        continue;
      }
      splitHugePmd(mm, o);
    } else if (extent == PT_ENTRIES && pteTableOf(mm, o) != 0 && pmdNone(mm, t)) { // move_normal_pmd
      moved += countEntries(mm, o);
      moveTable(mm, o, t);
      off += extent;
      continue;
    }
    const pt = pteTableOf(mm, o);
    if (pt != 0) moved += movePtes(mm, pteTableBase(pt), o, t, extent);
    off += extent;
  }
  bump(ST_PTES_MOVED, moved);
}

/** move_ptes: each entry of [o, o+extent) to [t, ..), with its expected data. */
function movePtes(mm: i32, base: usize, o: u32, t: u32, extent: u32): i32 {
  let moved = 0;
  for (let i: u32 = 0; i < extent; i++) {
    const src = pteSlot(base, <usize>((o + i) & (PT_ENTRIES - 1)));
    const pte = load<u32>(src);
    if (pte == 0) continue;
    const dst = ptePtr(mm, t + i, true);
    store<u32>(dst, pte);
    store<u32>(shadowOf(dst), load<u32>(shadowOf(src)));
    store<u32>(src, 0);
    store<u32>(shadowOf(src), 0);
    moved++;
  }
  return moved;
}

/** Entries present in the pte table covering vpn's block (counted as moved with the table). */
function countEntries(mm: i32, vpn: u32): i32 {
  const base = pteTableBase(pteTableOf(mm, vpn));
  let n = 0;
  for (let i = 0; i < PT_ENTRIES; i++) if (load<u32>(pteSlot(base, <usize>i)) != 0) n++;
  return n;
}
