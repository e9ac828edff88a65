/**
 * Unmapping VMAs, as assembly/munmap.ts: munmap (unmap_vmas, then trim, split or
 * drop each VMA the range touches) and exit_mmap.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 3 * 4096 });
 * m.munmap(mm, addr + 4096, 4096);
 * console.log(m.machine.mms.all[mm].vmas.length); // 2
 * ```
 */
import { MMU_NOTIFY_UNMAP, MMU_NOTIFY_RELEASE, VPN_BITS, PT_ENTRIES } from "../../assembly/abi.ts";
import { setVmaRange, splitVma, type Mm } from "./mm.ts";
import { zapRange } from "./zap.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import type { Machine } from "./machine.ts";

/** Would unmapping [start, end) cut a vma in two (and so need a new vma slot)? */
export function splitsVma(mm: Mm, start: number, end: number): boolean {
  const v = mm.findVma(start);
  return v !== undefined && v.start < start && end < v.end;
}

/** munmap's vma surgery: zap [start, end) and trim, split or drop each vma it touches. */
export function unmapRange(m: Machine, mm: Mm, start: number, end: number): void {
  if (!mm.overlaps(start, end)) return; // do_vmi_munmap: nothing to unmap, no table freed
  mmuNotifierInvalidate(m, mm.id, start, end, MMU_NOTIFY_UNMAP, -1); // unmap_vmas
  for (const v of [...mm.vmas]) {
    const s = v.start;
    const e = v.end;
    if (e <= start) continue;
    if (s >= end) break;
    const zs = Math.max(s, start);
    const ze = Math.min(e, end);
    zapRange(m, mm, zs, ze);
    if (zs === s && ze === e) {
      m.mms.removeVma(mm, v);
    } else if (zs === s) {
      setVmaRange(v, ze, e);
    } else if (ze === e) {
      setVmaRange(v, s, zs);
    } else {
      splitVma(m.mms, mm, v, ze); // __split_vma: the tail keeps the file, pgoff and anon_vma
      setVmaRange(v, s, zs);
      break;
    }
  }
  // unmap_region -> free_pgtables(prev->vm_end, next->vm_start) -> free_pgd_range:
  // the range's PTE tables lying wholly between the neighbouring vmas go (as the core)
  let floor = 0; // FIRST_USER_ADDRESS
  for (const v of mm.vmas) if (v.end <= start) floor = v.end;
  const ceiling = mm.vmas.find((v) => v.start >= end)?.start ?? 2 ** VPN_BITS; // USER_PGTABLES_CEILING: the top
  const lo = start - (start % PT_ENTRIES);
  const hi = Math.ceil(end / PT_ENTRIES) * PT_ENTRIES;
  mm.tables.freeTablesIn(m.tablePool, Math.max(lo, floor), Math.min(hi, ceiling));
}

/** exit_mmap: mmu_notifier_release, unmap_vmas over everything, free the vmas and the page tables. */
export function exitMm(m: Machine, mm: Mm): void {
  const all = 2 ** VPN_BITS;
  mmuNotifierInvalidate(m, mm.id, 0, all, MMU_NOTIFY_RELEASE, -1);
  if (mm.vmas.length) mmuNotifierInvalidate(m, mm.id, 0, all, MMU_NOTIFY_UNMAP, -1);
  for (const v of [...mm.vmas]) {
    zapRange(m, mm, v.start, v.end);
    m.mms.removeVma(mm, v);
  }
  mm.tables.freeAll(m.tablePool);
  m.mms.kill(mm);
}
