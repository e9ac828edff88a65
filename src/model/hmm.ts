/**
 * hmm_range_fault (mm/hmm.c): the device's view of a process's page tables, each
 * page as an hmm pfn, with the pages faulted in first when asked. No page
 * references are taken. The walk follows walk_page_range (holes without a vma,
 * hmm_vma_walk_test, then PMD by PMD and PTE by PTE); a page that needs a fault is
 * recorded with the end of its walk unit and hmm_do_fault runs handle_mm_fault on
 * every page from there to that end before the walk restarts. Twin of
 * assembly/hmm.ts.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * import { hmmRangeFault } from "./hmm.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 8192 });
 * const out: number[] = [];
 * const r = hmmRangeFault(m.machine, m.machine.mms.all[mm], addr / 4096, addr / 4096 + 2, true, false, out);
 * console.log(r, out.map((w) => (w >>> 0).toString(16))); // 0 [ '80000000', '80000000' ] (the zero page)
 * ```
 */
import { PT_ENTRIES, VM_READ, VM_WRITE, EFAULT, EPERM, EBUSY } from "../../assembly/abi.ts";
import { faultIn, takeFaultOom } from "./fault.ts";
import { takeSigbus } from "./errno.ts";
import { dmirrorOfDriver } from "./dmirror.ts";
import type { Mm } from "./mm.ts";
import type { Pte } from "./pgtable.ts";
import type { Machine } from "./machine.ts";

export const HMM_PFN_VALID = 2 ** 31;
export const HMM_PFN_WRITE = 2 ** 30;
export const HMM_PFN_ERROR = 2 ** 29;
export const HMM_PFN_PMD = 2 ** 28;
export const HMM_PFN_HUGE_ZERO = 2 ** 27;
export const HMM_PFN_MASK = 2 ** 27 - 1;

const PENDING = 1;

class Walk {
  faultFrom = 0;
  faultTo = 0;
  constructor(
    readonly m: Machine,
    readonly mm: Mm,
    readonly start: number,
    readonly end: number,
    readonly fault: boolean,
    readonly write: boolean,
    readonly out: number[],
    /** range->dev_private_owner: the test_hmm device whose own private pages are reported, or -1. */
    readonly owner: number,
  ) {}

  set(vpn: number, w: number): void { this.out[vpn - this.start] = w; }
  fill(from: number, to: number, w: number): void { for (let v = from; v < to; v++) this.set(v, w); }

  record(from: number, to: number): number {
    this.faultFrom = from;
    this.faultTo = to;
    return PENDING;
  }

  nextVmaStart(vpn: number): number {
    for (const v of this.mm.vmas) if (v.start > vpn) return Math.min(v.start, this.end);
    return this.end;
  }

  run(from: number): number {
    let vpn = from;
    while (vpn < this.end) {
      const v = this.mm.findVma(vpn);
      if (!v) {
        const holeEnd = this.nextVmaStart(vpn);
        if (this.fault) return -EFAULT;
        this.fill(vpn, holeEnd, HMM_PFN_ERROR);
        vpn = holeEnd;
        continue;
      }
      const vEnd = Math.min(this.end, v.end);
      if ((v.flags & VM_READ) === 0) {
        if (this.fault) return -EFAULT;
        this.fill(vpn, vEnd, HMM_PFN_ERROR);
        vpn = vEnd;
        continue;
      }
      while (vpn < vEnd) {
        const pend = Math.min(vEnd, (vpn | (PT_ENTRIES - 1)) + 1);
        const r = this.pmd(vpn, pend);
        if (r !== 0) return r;
        vpn = pend;
      }
    }
    return 0;
  }

  pmd(vpn: number, pend: number): number {
    const leaf = this.mm.tables.hugeLeaf(vpn);
    if (leaf) {
      const head = leaf.pfn;
      if (leaf.present) {
        if (this.fault && this.write && !leaf.writable) return this.record(vpn, pend);
        const flags = HMM_PFN_VALID + HMM_PFN_PMD + (leaf.writable ? HMM_PFN_WRITE : 0) + (head === 0 ? HMM_PFN_HUGE_ZERO : 0);
        for (let p = vpn; p < pend; p++) this.set(p, flags + (head === 0 ? 0 : head + (p % PT_ENTRIES)));
        return 0;
      }
      // hmm_vma_handle_absent_pmd (as the core): the caller's own device's folio is reported, order PMD
      const d = leaf.devicePrivate && this.owner >= 0 ? this.m.frames.all[head].driver : null;
      if (d && dmirrorOfDriver(d) === this.owner) {
        const flags = HMM_PFN_VALID + HMM_PFN_PMD + (leaf.writable ? HMM_PFN_WRITE : 0);
        for (let p = vpn; p < pend; p++) this.set(p, flags + head + (p % PT_ENTRIES));
        return 0;
      }
      if (this.fault) return leaf.devicePrivate ? this.record(vpn, pend) : -EFAULT;
      this.fill(vpn, pend, HMM_PFN_ERROR);
      return 0;
    }
    const table = this.mm.tables.table(vpn);
    if (!table) {
      if (this.fault) return this.record(vpn, pend);
      this.fill(vpn, pend, 0);
      return 0;
    }
    for (let p = vpn; p < pend; p++) {
      const r = this.pte(p, pend, table.entries.get(p));
      if (r !== 0) return r;
    }
    return 0;
  }

  pte(vpn: number, pend: number, pte: Pte | undefined): number {
    if (!pte) {
      if (this.fault) return this.record(vpn, pend);
      this.set(vpn, 0);
      return 0;
    }
    if (!pte.present) {
      // the caller's own device-private page is reported (VALID, WRITE if the entry is writable), never faulted
      if (pte.devicePrivate && this.owner >= 0) {
        const d = this.m.frames.all[pte.pfn].driver;
        if (d && dmirrorOfDriver(d) === this.owner) {
          this.set(vpn, HMM_PFN_VALID + (pte.writable ? HMM_PFN_WRITE : 0) + pte.pfn);
          return 0;
        }
      }
      if (!this.fault) {
        this.set(vpn, 0);
        return 0;
      }
      if (pte.devicePrivate) return this.record(vpn, pend); // do_swap_page -> migrate_to_ram
      if (pte.deviceExclusive) return this.record(vpn, pend); // do_swap_page -> remove_device_exclusive_entry
      return -EFAULT;
    }
    if (this.fault && this.write && !pte.writable) return this.record(vpn, pend);
    if (pte.special && pte.pfn !== 0) {
      if (this.fault) return -EFAULT;
      this.set(vpn, HMM_PFN_ERROR);
      return 0;
    }
    this.set(vpn, HMM_PFN_VALID + (pte.writable ? HMM_PFN_WRITE : 0) + pte.pfn);
    return 0;
  }

  /** hmm_do_fault. */
  doFault(): number {
    const v = this.mm.findVma(this.faultFrom);
    if (!v) return -EFAULT;
    if (this.write && (v.flags & VM_WRITE) === 0) return -EPERM;
    for (let vpn = this.faultFrom; vpn < this.faultTo; vpn++) {
      const r = faultIn(this.m, this.mm, vpn, this.write); // throws when rejected
      if (r < 0) return r;
      if (takeSigbus(this.m)) return -EFAULT; // hmm_vma_fault: VM_FAULT_ERROR (no ->fault, or past EOF) -> -EFAULT
      if (takeFaultOom(this.m)) return -EFAULT; // VM_FAULT_OOM is in VM_FAULT_ERROR too (as the core)
      this.m.counters.dmirror.faultPages++;
    }
    return 0;
  }
}

/**
 * hmm_range_fault over [start, end) (at most HMM_CHUNK pages) of mm; `out` gets the hmm pfns. Returns 0
 * or -errno (-EBUSY when a fault makes no progress: the driver's timeout).
 */
export function hmmRangeFault(m: Machine, mm: Mm, start: number, end: number, fault: boolean, write: boolean, out: number[], owner = -1): number {
  const w = new Walk(m, mm, start, end, fault, write, out, owner);
  let from = start;
  let lastFault = -1;
  for (;;) {
    const r = w.run(from);
    if (r !== PENDING) return r;
    if (w.faultFrom === lastFault) return -EBUSY;
    lastFault = w.faultFrom;
    const f = w.doFault();
    if (f < 0) return f;
    from = w.faultFrom;
  }
}
