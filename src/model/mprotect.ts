/**
 * mprotect (mm/mprotect.c), as assembly/mprotect.ts: do_mprotect_pkey walks the
 * VMAs of the range, vma_modify_flags splits and merges them, change_protection
 * rewrites the write bit of their entries. No reference or mapcount changes.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 3 * 4096 });
 * m.write(mm, addr + 4096, 5);
 * m.mprotect(mm, addr + 4096, 4096, "r");
 * console.log(m.machine.mms.all[mm].vmas.length, m.page(mm, addr + 4096)!.pte.write); // 3 false
 * ```
 */
import {
  VM_READ, VM_WRITE, VM_SHARED, PTE_PRESENT, PTE_WRITE, PTE_DEVICE_PRIVATE, PT_ENTRIES, FOLIO_NR, ENOMEM,
  MMU_NOTIFY_PROTECTION_VMA,
} from "../../assembly/abi.ts";
import { splitVma, mergeVmas, moveVmaBoundary, vmaMergeable, type Mm, type Vma } from "./mm.ts";
import type { Pte } from "./pgtable.ts";
import { splitHugePmd } from "./thp.ts";
import { kfail } from "./errno.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import type { Machine } from "./machine.ts";

const PROT_BITS = VM_READ | VM_WRITE;

/** calc_vm_prot_bits for the access bits; the VMA's other flags stay. */
function newFlags(v: Vma, prot: number): number { return (v.flags & ~PROT_BITS) | prot; }

function prevOf(mm: Mm, v: Vma): Vma | undefined { return mm.vmas[mm.vmas.indexOf(v) - 1]; }
function nextOf(mm: Mm, v: Vma): Vma | undefined { return mm.vmas[mm.vmas.indexOf(v) + 1]; }

/** The tail of v, given flags, continues into the next VMA. */
function joinsNext(mm: Mm, v: Vma, flags: number): boolean {
  const next = nextOf(mm, v);
  return next !== undefined && next.start === v.end && next.flags === flags && vmaMergeable(v, next);
}

/** The head of v, given flags, continues the previous VMA. */
function joinsPrev(mm: Mm, v: Vma, flags: number): boolean {
  const prev = prevOf(mm, v);
  return prev !== undefined && prev.end === v.start && prev.flags === flags && vmaMergeable(prev, v);
}

/** VMA slots the mprotect of [start, end) needs (as the core's mprotectSlots). */
export function mprotectSlots(mm: Mm, start: number, end: number, prot: number): number {
  const first = mm.findVma(start);
  if (!first) return 0;
  let n = 0;
  if (first.start < start && newFlags(first, prot) !== first.flags) {
    if (end < first.end) return 2;
    if (!joinsNext(mm, first, newFlags(first, prot))) n++;
  }
  // The cut at end, also when the range starts at first's start and ends inside it
  // (the head piece joins prev only if prev already has the new flags).
  const last = mm.findVma(end - 1);
  if (last && end < last.end && newFlags(last, prot) !== last.flags) {
    const prev = prevOf(mm, last);
    const prevFlags = !prev ? 0 : last === first ? prev.flags : newFlags(prev, prot);
    const joins = prev !== undefined && prev.end === last.start && prev.start < end
      && prevFlags === newFlags(last, prot) && vmaMergeable(prev, last);
    if (!joins) n++;
  }
  return n;
}

/** do_mprotect_pkey over [start, end): 0, or -ENOMEM at a hole (earlier VMAs keep their change). */
export function doMprotect(m: Machine, mm: Mm, start: number, end: number, prot: number): number {
  let at = start;
  while (at < end) {
    const v = mm.findVma(at);
    if (!v) return kfail(m, ENOMEM);
    const e = Math.min(v.end, end);
    const flags = newFlags(v, prot);
    if (flags !== v.flags) {
      vmaModifyFlags(m, mm, v, at, e, flags);
      changeProtection(m, mm, at, e, flags);
    }
    at = e;
  }
  return 0;
}

/** vma_modify_flags: [s, e) of v with the new flags, merged with a neighbour it continues. */
function vmaModifyFlags(m: Machine, mm: Mm, v: Vma, s: number, e: number, flags: number): void {
  const head = s === v.start;
  const tail = e === v.end;
  const prev = prevOf(mm, v);
  const next = nextOf(mm, v);
  const left = head && joinsPrev(mm, v, flags);
  const right = tail && joinsNext(mm, v, flags);
  if (head && tail) {
    if (left) {
      mergeVmas(m.mms, mm, prev!, v);
      if (right) mergeVmas(m.mms, mm, prev!, next!);
      return;
    }
    v.flags = flags;
    if (right) mergeVmas(m.mms, mm, v, next!);
    return;
  }
  if (head) {
    if (left) moveVmaBoundary(prev!, v, e);
    else {
      splitVma(m.mms, mm, v, e);
      v.flags = flags;
    }
    return;
  }
  if (tail) {
    if (right) moveVmaBoundary(v, next!, s);
    else splitVma(m.mms, mm, v, s).flags = flags;
    return;
  }
  const mid = splitVma(m.mms, mm, v, s);
  splitVma(m.mms, mm, mid, e);
  mid.flags = flags;
}

/** change_protection of [s, e) for a VMA now carrying flags (as the core). */
function changeProtection(m: Machine, mm: Mm, s: number, e: number, flags: number): void {
  for (let slot = Math.floor(s / 2 ** 18); slot * 2 ** 18 < e; slot++) {
    if (!mm.tables.pudPopulated(slot * 2 ** 18)) continue;
    mmuNotifierInvalidate(m, mm.id, Math.max(s, slot * 2 ** 18), e, MMU_NOTIFY_PROTECTION_VMA, -1);
    break;
  }
  const shared = (flags & VM_SHARED) !== 0;
  const writable = (flags & VM_WRITE) !== 0;
  const upgrade = !shared && writable && m.rules.mprotectWriteUpgrade;
  let changed = 0;
  let vpn = s;
  while (vpn < e) {
    const tableEnd = Math.min(Math.floor(vpn / PT_ENTRIES) * PT_ENTRIES + PT_ENTRIES, e);
    const leaf = mm.tables.hugeLeaf(vpn);
    if (leaf) {
      if (vpn % FOLIO_NR === 0 && tableEnd === vpn + FOLIO_NR) {
        const before = leaf.bits;
        leaf.bits = leaf.pfn === 0 ? before & ~PTE_WRITE : newBits(m, leaf, shared, writable, upgrade);
        if ((before & PTE_PRESENT) !== 0) changed += FOLIO_NR;
        vpn = tableEnd;
        continue;
      }
      splitHugePmd(m, mm, vpn);
    }
    for (const [, pte] of mm.tables.entriesIn(vpn, tableEnd)) {
      const bits = newBits(m, pte, shared, writable, upgrade);
      if (pte.present || bits !== pte.bits) changed++;
      pte.bits = bits;
    }
    vpn = tableEnd;
  }
  m.counters.protChanged += changed;
}

/** The bits change_pte_range leaves (as the core's newPte). */
function newBits(m: Machine, pte: Pte, shared: boolean, writable: boolean, upgrade: boolean): number {
  if ((pte.bits & PTE_DEVICE_PRIVATE) !== 0) return pte.bits & ~PTE_WRITE;
  if (!pte.present) return pte.bits;
  if (shared) return writable ? pte.bits | PTE_WRITE : pte.bits & ~PTE_WRITE;
  const page = pte.special ? undefined : m.frames.all[pte.pfn];
  return upgrade && page !== undefined && page.anon && page.anonExclusive ? pte.bits | PTE_WRITE : pte.bits & ~PTE_WRITE;
}
