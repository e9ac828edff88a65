// Unmapping VMAs: munmap (__do_munmap -> vms_clear_ptes -> unmap_vmas, then the
// VMA surgery: trim, split or drop each VMA the range touches) and exit_mmap. The
// page-table work is zap.ts's; this file decides which ranges go and what is left
// of each VMA.
import { MMU_NOTIFY_UNMAP, MMU_NOTIFY_RELEASE, VPN_BITS } from "./abi";
import {
  findVma, firstVma, vmaNext, vmaStart, vmaEnd, unlinkVma, setVmaRange, killMm,
  overlaps, splitVma,
} from "./mm";
import { freeTablesIn, freeAllTables, tablesOf } from "./pgtable";
import { zapRange } from "./zap";
import { gatheredCount } from "./mmu_gather";
import { mmuNotifierInvalidate } from "./mmu_notifier";

/** Would unmapping [start, end) cut a vma in two (and so need a new vma slot)? */
export function splitsVma(mm: i32, start: u32, end: u32): bool {
  const v = findVma(mm, start);
  return v >= 0 && vmaStart(v) < start && end < vmaEnd(v);
}

/** munmap's vma surgery: zap [start, end) and trim, split or drop each vma it touches. */
export function unmapRange(mm: i32, start: u32, end: u32): void {
  const first = firstVma(mm);
  if (first >= 0) {
    if (vmaStart(first) == start) {
      if (vmaEnd(first) == end) { unmapFirstVma(mm, first); return; }
    }
  }
  // do_vmi_munmap does nothing (no notifier, no table freed) when no vma is in the range
  if (!overlaps(mm, start, end)) return;
  // unmap_vmas: one mmu-notifier UNMAP over the range
  mmuNotifierInvalidate(mm, start, end, MMU_NOTIFY_UNMAP, -1);
  // An mm that owns no page table, PMD or PTE (every PMD leaf keeps its deposited one), maps nothing: unmap_vmas'
  // walk of pmd_none slots (zap_pmd_range) would find nothing, so it is skipped, unless a zap window's
  // gathered pages wait for this zap's tlb_finish_mmu. A shortcut with the same result (performance only).
  const zapping = tablesOf(mm) != 0 || gatheredCount() != 0;
  let prev = -1;
  let v = firstVma(mm);
  while (v >= 0) {
    const next = vmaNext(v);
    const s = vmaStart(v);
    const e = vmaEnd(v);
    if (e <= start) { prev = v; v = next; continue; }
    if (s >= end) break;
    const zs = max<u32>(s, start);
    const ze = min<u32>(e, end);
    if (zapping) zapRange(mm, zs, ze);
    if (zs == s && ze == e) {
      unlinkVma(mm, v, prev);
    } else if (zs == s) {
      setVmaRange(v, ze, e);
      prev = v;
    } else if (ze == e) {
      setVmaRange(v, s, zs);
      prev = v;
    } else {
      splitVma(mm, v, ze); // __split_vma: the tail keeps the file, pgoff and anon_vma
      setVmaRange(v, s, zs);
      break;
    }
    v = next;
  }
  freeTablesAround(mm, start, end);
}

/** free_pgtables over [start, end) after the surgery, between the neighbouring VMAs (prevEnd, nextStart below). */
@inline function freeTablesAround(mm: i32, start: u32, end: u32): void {
  // the floor and ceiling walk the list: only for an mm that has a table to free (freeTablesIn's own first
  // test; performance only)
  if (tablesOf(mm) != 0) freeTablesIn(mm, max<u32>(start & ~511, prevEnd(mm, start)), min<u32>((end + 511) & ~511, nextStart(mm, end)));
}

/**
 * unmapRange of exactly the mm's first VMA (mmap1's munmap): the same steps in the same order as the
 * general walk takes for it (the next VMA starts at or after its end), without the overlap walk (performance only).
 */
function unmapFirstVma(mm: i32, v: i32): void {
  const start = vmaStart(v);
  const end = vmaEnd(v);
  mmuNotifierInvalidate(mm, start, end, MMU_NOTIFY_UNMAP, -1);
  if (tablesOf(mm) != 0 || gatheredCount() != 0) zapRange(mm, start, end);
  unlinkVma(mm, v, -1);
  freeTablesAround(mm, start, end);
}

/**
 * unmap_region -> free_pgtables(floor = prev->vm_end, ceiling = next->vm_start) ->
 * free_pgd_range (6.1 mm/memory.c; the same in 7.0): a PTE table of the unmapped
 * range is freed when its 2 MiB lies wholly between the neighbouring vmas, so a
 * later fault there finds pmd_none. These give the floor and ceiling after the surgery.
 */
function prevEnd(mm: i32, start: u32): u32 {
  let floor: u32 = 0; // FIRST_USER_ADDRESS
  for (let v = firstVma(mm); v >= 0 && vmaEnd(v) <= start; v = vmaNext(v)) floor = vmaEnd(v);
  return floor;
}

function nextStart(mm: i32, end: u32): u32 {
  let v = firstVma(mm);
  while (v >= 0 && vmaStart(v) < end) v = vmaNext(v);
  return v >= 0 ? vmaStart(v) : <u32>1 << VPN_BITS; // USER_PGTABLES_CEILING: the top
}

/**
 * exit_mmap: mmu_notifier_release, then unmap_vmas over the whole address space
 * (one UNMAP notification), free the vmas and the page tables.
 */
export function exitMm(mm: i32): void {
  const all: u32 = <u32>1 << VPN_BITS;
  mmuNotifierInvalidate(mm, 0, all, MMU_NOTIFY_RELEASE, -1);
  let v = firstVma(mm);
  if (v >= 0) mmuNotifierInvalidate(mm, 0, all, MMU_NOTIFY_UNMAP, -1);
  while (v >= 0) {
    zapRange(mm, vmaStart(v), vmaEnd(v));
    const next = vmaNext(v);
    unlinkVma(mm, v, -1);
    v = next;
  }
  freeAllTables(mm);
  killMm(mm);
}
