/**
 * mremap (mm/mremap.c), as assembly/mremap.ts: shrink, grow in place, or move
 * the VMA (copy_vma) and its entries (move_page_tables): entries move, none is
 * duplicated, no reference or mapcount changes; a PMD mapping moves whole only
 * between aligned blocks, otherwise it is split first.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 2 * 4096 });
 * m.write(mm, addr, 7);
 * const to = m.mremap(mm, addr, 2 * 4096, 2 * 4096, { maymove: true, fixed: true, newAddr: 0x20000000 });
 * console.log(to === 0x20000000, m.read(mm, to), m.page(mm, addr)); // true 7 null
 * ```
 */
import {
  MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP, EINVAL, EFAULT, ENOMEM, PT_ENTRIES, FOLIO_NR, MMU_NOTIFY_UNMAP, VPN_BITS,
} from "../../assembly/abi.ts";
import { vmaMergeable, mergeVmas, setVmaRange, type Mm, type Vma } from "./mm.ts";
import { splitHugePmd } from "./thp.ts";
import { unmapRange } from "./munmap.ts";
import { kfail } from "./errno.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { movePins } from "./pins.ts";
import type { Machine } from "./machine.ts";

const VPN_LIMIT = 2 ** VPN_BITS;

/** VMA slots an mremap may need (as the core's mremapSlots). */
export function mremapSlots(oldN: number, newN: number, flags: number): number {
  if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) === 0 && newN <= oldN) return newN < oldN ? 1 : 0;
  return 3;
}

/** do_mremap: the new start vpn, or -errno through kfail. */
export function doMremap(m: Machine, mm: Mm, addr: number, oldN: number, newN: number, flags: number, newAddr: number): number {
  const moving = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
  if (moving && (flags & MREMAP_MAYMOVE) === 0) return kfail(m, EINVAL);
  if ((flags & MREMAP_DONTUNMAP) !== 0 && oldN !== newN) return kfail(m, EINVAL);
  if (!mm.findVma(addr)) return kfail(m, EFAULT);
  return moving ? mremapTo(m, mm, addr, oldN, newN, flags, newAddr) : mremapAt(m, mm, addr, oldN, newN, flags);
}

function mremapTo(m: Machine, mm: Mm, addr: number, oldN: number, newN: number, flags: number, newAddr: number): number {
  if (addr + oldN > newAddr && newAddr + newN > addr) return kfail(m, EINVAL);
  if ((flags & MREMAP_FIXED) !== 0) {
    unmapRange(m, mm, newAddr, newAddr + newN);
    if (!mm.findVma(addr)) return kfail(m, EFAULT);
  }
  if (newN < oldN) {
    unmapRange(m, mm, addr + newN, addr + oldN);
    oldN = newN;
  }
  const v = mm.findVma(addr)!;
  if (addr + oldN > v.end) return kfail(m, EFAULT);
  let to = newAddr;
  if ((flags & MREMAP_FIXED) === 0) {
    if (to === 0 || mm.overlaps(to, to + newN) || to + newN > VPN_LIMIT) to = mm.unmappedArea(newN, VPN_LIMIT); // 0: no hint
    if (to === 0) return kfail(m, ENOMEM);
  }
  return moveVma(m, mm, v, addr, oldN, to, newN, flags);
}

function mremapAt(m: Machine, mm: Mm, addr: number, oldN: number, newN: number, flags: number): number {
  if (newN === oldN) return addr;
  if (newN < oldN) {
    unmapRange(m, mm, addr + newN, addr + oldN);
    return addr;
  }
  const v = mm.findVma(addr)!;
  if (addr + oldN > v.end) return kfail(m, EFAULT);
  const delta = newN - oldN;
  if (addr + oldN === v.end && v.end + delta <= VPN_LIMIT && !mm.overlaps(v.end, v.end + delta)) {
    setVmaRange(v, v.start, v.end + delta);
    const next = mm.vmas[mm.vmas.indexOf(v) + 1];
    if (next && next.start === v.end && next.flags === v.flags && vmaMergeable(v, next)) mergeVmas(m.mms, mm, v, next);
    return addr;
  }
  if ((flags & MREMAP_MAYMOVE) === 0) return kfail(m, ENOMEM);
  const to = mm.unmappedArea(newN, VPN_LIMIT);
  if (to === 0) return kfail(m, ENOMEM);
  return moveVma(m, mm, v, addr, oldN, to, newN, flags);
}

function moveVma(m: Machine, mm: Mm, v: Vma, addr: number, oldN: number, to: number, newN: number, flags: number): number {
  const nv = m.mms.insertVma(mm, to, to + newN, v.flags, v.file, v.pgoff + (addr - v.start));
  nv.anonVma = v.anonVma; // copy_vma: anon_vma_clone
  movePageTables(m, mm, addr, to, oldN);
  movePins(m, mm.id, addr, oldN, to);
  // MREMAP_DONTUNMAP leaves the source VMA mapped and empty (dontunmap_complete)
  if ((flags & MREMAP_DONTUNMAP) === 0) unmapRange(m, mm, addr, addr + oldN);
  joinNeighbours(m, mm, nv);
  return to;
}

function joinNeighbours(m: Machine, mm: Mm, nv: Vma): void {
  let v = nv;
  const prev = mm.vmas[mm.vmas.indexOf(v) - 1];
  if (prev && prev.end === v.start && prev.flags === v.flags && vmaMergeable(prev, v)) {
    mergeVmas(m.mms, mm, prev, v);
    v = prev;
  }
  const next = mm.vmas[mm.vmas.indexOf(v) + 1];
  if (next && next.start === v.end && next.flags === v.flags && vmaMergeable(v, next)) mergeVmas(m.mms, mm, v, next);
}

/** move_page_tables (as the core). */
function movePageTables(m: Machine, mm: Mm, from: number, to: number, n: number): void {
  if (n === 0) return;
  mmuNotifierInvalidate(m, mm.id, from, from + n, MMU_NOTIFY_UNMAP, -1);
  const t = mm.tables;
  let moved = 0;
  for (let off = 0; off < n;) {
    const o = from + off;
    const d = to + off;
    const extent = Math.min(PT_ENTRIES - (o % PT_ENTRIES), PT_ENTRIES - (d % PT_ENTRIES), n - off);
    if (t.hugeLeaf(o)) {
      if (extent === FOLIO_NR && t.pmdNone(d)) {
        t.moveTable(m.tablePool, o, d);
        moved += FOLIO_NR;
        off += extent;
        continue;
      }
      splitHugePmd(m, mm, o);
    } else if (extent === PT_ENTRIES && t.table(o) && t.pmdNone(d)) {
      moved += t.table(o)!.entries.size;
      t.moveTable(m.tablePool, o, d);
      off += extent;
      continue;
    }
    const src = t.table(o);
    if (src) {
      for (const [vpn, pte] of t.entriesIn(o, o + extent)) {
        const dst = t.ensureTable(m.tablePool, vpn - o + d);
        dst.entries.set(vpn - o + d, pte);
        dst.setExpected(vpn - o + d, src.expectedAt(vpn));
        src.entries.delete(vpn);
        src.setExpected(vpn, 0);
        moved++;
      }
    }
    off += extent;
  }
  m.counters.ptesMoved += moved;
}
