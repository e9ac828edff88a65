/**
 * Device-exclusive entries (make_device_exclusive, mm/rmap.c; restore_exclusive_pte
 * and remove_device_exclusive_entry, mm/memory.c): the entry keeps the PTE's
 * reference, and its mapcount from 6.15 (1a3240bc6379; until 6.14 the rmap was
 * removed at conversion and added back at restore). Twin of assembly/exclusive.ts.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 2 * 4096 });
 * m.write(mm, addr, 2, 7);
 * const fd = m.dmirrorOpen(m.dmirrorNew("device-private"), mm);
 * console.log(m.dmirrorExclusive(fd, addr, 2), m.page(mm, addr)!.pte.present); // 2 false
 * ```
 */
import { PTE_PRESENT, PTE_WRITE, VM_WRITE, MMU_NOTIFY_EXCLUSIVE } from "../../assembly/abi.ts";
import { rmapAdd } from "./refcount.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import type { Pte } from "./pgtable.ts";
import type { Mm } from "./mm.ts";
import type { Machine } from "./machine.ts";

/** 6.15+ (1a3240bc6379; rule exclusiveKeepsMapcount): the entry keeps the mapcount; before, it was dropped at conversion. */
export function exclusiveKeepsMapcount(m: Machine): boolean {
  return m.rules.exclusiveKeepsMapcount;
}

/** restore_exclusive_pte: present again, writable in a VM_WRITE vma when the anon page is exclusive. */
export function restoreExclusivePte(m: Machine, mm: Mm, vpn: number, pte: Pte): void {
  const page = m.frames.all[pte.pfn];
  const v = mm.findVma(vpn);
  const w = !!v && (v.flags & VM_WRITE) !== 0 && (!m.rules.anonExclusive || page.anonExclusive);
  pte.bits = PTE_PRESENT | (w ? PTE_WRITE : 0);
  if (!exclusiveKeepsMapcount(m)) rmapAdd(m, page); // page_add_anon_rmap (<= 6.14)
}

/** do_swap_page -> remove_device_exclusive_entry: MMU_NOTIFY_EXCLUSIVE (no owner), then the PTE comes back. */
export function removeDeviceExclusiveEntry(m: Machine, mm: Mm, vpn: number, pte: Pte): void {
  mmuNotifierInvalidate(m, mm.id, vpn, vpn + 1, MMU_NOTIFY_EXCLUSIVE, -1);
  restoreExclusivePte(m, mm, vpn, pte);
}
