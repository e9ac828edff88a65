// Device-exclusive entries: a device takes a page of an anonymous mapping for atomic
// access, and the CPU's PTE becomes a non-present entry that still points at the page
// (make_device_exclusive, mm/rmap.c, in dmirror_ioctl.ts; remove_device_exclusive_entry and
// restore_exclusive_pte, mm/memory.c; 5.14 b756a3b5e7ea to the current tree). The
// entry always holds the PTE's reference. Whether it also keeps the mapcount depends
// on the era: until 6.14 page_make_device_exclusive_one called page_remove_rmap and
// restore_exclusive_pte added the anon rmap back; from 6.15 the mapcount stays
// ("mm/rmap: keep mapcount untouched for device-exclusive entries", 1a3240bc6379).
import {
  PTE_PRESENT, PTE_WRITE, PG_ANON_EXCLUSIVE, VM_WRITE, MMU_NOTIFY_EXCLUSIVE, SCHEME_EXCLUSIVE_KEEPS_MAPCOUNT,
  SCHEME_ANON_EXCLUSIVE,
} from "./abi";
import { rule } from "./scheme";
import { findVma, vmaFlags } from "./mm";
import { ptePfn, mkPte } from "./pgtable";
import { hasFlag } from "./frames";
import { rmapAdd } from "./refcount";
import { mmuNotifierInvalidate } from "./mmu_notifier";

/**
 * Does a device-exclusive entry keep its page's mapcount? Yes from 6.15
 * ("mm/rmap: keep mapcount untouched for device-exclusive entries", 1a3240bc6379;
 * rule exclusiveKeepsMapcount, E3 on); before, page_make_device_exclusive_one dropped it.
 */
@inline export function exclusiveKeepsMapcount(): bool {
  return rule(SCHEME_EXCLUSIVE_KEEPS_MAPCOUNT) != 0;
}

/**
 * restore_exclusive_pte: the entry at p becomes a present PTE of its page again.
 * It is writable in a VM_WRITE vma when the anon page is exclusive: 6.15+
 * can_change_pte_writable; until 6.14 maybe_mkwrite of the writable entry, which was
 * made from a writable exclusive PTE. Until 6.14 the anon rmap comes back too.
 */
export function restoreExclusivePte(mm: i32, vpn: u32, p: usize): void {
  const pfn = ptePfn(load<u32>(p));
  const v = findVma(mm, vpn);
  const w = v >= 0 && (vmaFlags(v) & VM_WRITE) != 0 && (rule(SCHEME_ANON_EXCLUSIVE) == 0 || hasFlag(pfn, PG_ANON_EXCLUSIVE));
  store<u32>(p, mkPte(pfn, PTE_PRESENT | (w ? PTE_WRITE : 0)));
  if (!exclusiveKeepsMapcount()) rmapAdd(pfn); // page_add_anon_rmap in restore_exclusive_pte (<= 6.14)
}

/**
 * do_swap_page -> remove_device_exclusive_entry: a CPU access revokes the device's
 * access. MMU_NOTIFY_EXCLUSIVE with no owner goes to every mirror first, then the
 * PTE comes back. The get_page_unless_zero/put_page pair around it nets to nothing.
 */
export function removeDeviceExclusiveEntry(mm: i32, vpn: u32, p: usize): void {
  mmuNotifierInvalidate(mm, vpn, vpn + 1, MMU_NOTIFY_EXCLUSIVE, -1);
  restoreExclusivePte(mm, vpn, p);
}
