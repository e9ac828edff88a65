/**
 * The open files of the test_hmm device (struct dmirror, lib/test_hmm.c): each
 * mirrors one mm and keeps a device page table, the xarray `pt`: vpn -> page,
 * tagged DPT_XA_TAG_WRITE (3) or DPT_XA_TAG_ATOMIC (1). The pt holds no page
 * references; dmirror_interval_invalidate clears entries before the CPU page tables
 * change, except the MIGRATE events its own device starts (range->owner ==
 * dmirror->mdevice). Twin of assembly/mirror.ts.
 *
 * @example
 * ```ts
 * import { Mirrors } from "./mirror.ts";
 * import { DmirrorCounters } from "./dmirror.ts";
 * import { MMU_NOTIFY_UNMAP } from "../../assembly/abi.ts";
 * const mirrors = new Mirrors(4, 64, new DmirrorCounters());
 * const fd = mirrors.open(0, 7);
 * mirrors.setEntry(fd, 0x10000, 42, 3);
 * mirrors.setEntry(fd, 0x10001, 43, 3);
 * mirrors.invalidate(7, 0x10000, 0x10001, MMU_NOTIFY_UNMAP, -1); // the page after the range goes too
 * console.log(fd.pt.size); // 0
 * ```
 */
import { DMIRROR_OWNER_BASE, MMU_NOTIFY_MIGRATE } from "../../assembly/abi.ts";
import type { DmirrorCounters } from "./dmirror.ts";

export interface MirrorEntry {
  pfn: number;
  tag: number;
}

export class Mirror {
  open = true;
  /** dmirror->flags (HMM_DMIRROR_FLAGS). */
  flags = 0;
  /** cmd.cpages and cmd.faults of the last ioctl that returned 0. */
  cpages = 0;
  faults = 0;
  readonly pt = new Map<number, MirrorEntry>();
  constructor(readonly id: number, readonly device: number, readonly mm: number) {}
}

export class Mirrors {
  readonly all: Mirror[] = [];
  #openCount = 0;
  /** Entries in all pts together. */
  used = 0;

  constructor(readonly capacity: number, readonly entryCapacity: number, private readonly counters: DmirrorCounters) {}

  get slotsLeft(): number { return this.capacity - this.all.length; }
  get entriesLeft(): number { return this.entryCapacity - this.used; }
  get anyOpen(): boolean { return this.#openCount > 0; }

  /** An open mirror by id. */
  live(id: number): Mirror | undefined {
    const f = id >= 0 && id < this.all.length ? this.all[id] : undefined;
    return f && f.open ? f : undefined;
  }

  /** dmirror_fops_open. */
  open(device: number, mm: number): Mirror {
    const f = new Mirror(this.all.length, device, mm);
    this.all.push(f);
    this.#openCount++;
    return f;
  }

  /** dmirror_fops_release: notifier removed, xa_destroy (the caller evicts the chunks). */
  close(f: Mirror): void {
    this.used -= f.pt.size;
    this.counters.mirrorEntries -= f.pt.size;
    f.pt.clear();
    f.open = false;
    this.#openCount--;
  }

  /** xa_store (the caller checked entriesLeft). */
  setEntry(f: Mirror, vpn: number, pfn: number, tag: number): void {
    const e = f.pt.get(vpn);
    if (e) {
      e.pfn = pfn;
      e.tag = tag;
      return;
    }
    f.pt.set(vpn, { pfn, tag });
    this.used++;
    this.counters.mirrorEntries++;
  }

  /** xa_erase; whether there was an entry. */
  erase(f: Mirror, vpn: number): boolean {
    if (!f.pt.delete(vpn)) return false;
    this.used--;
    this.counters.mirrorEntries--;
    return true;
  }

  /**
   * dmirror_interval_invalidate of every open mirror of mm for the vpns [start, end):
   * dmirror_do_update's xa_for_each_range takes end >> PAGE_SHIFT inclusively.
   */
  invalidate(mm: number, start: number, end: number, event: number, owner: number): void {
    if (this.#openCount === 0 || end <= start) return;
    for (const f of this.all) {
      if (!f.open || f.mm !== mm || f.pt.size === 0) continue;
      if (event === MMU_NOTIFY_MIGRATE && owner === DMIRROR_OWNER_BASE + f.device) continue; // its own device's migration
      if (end - start < f.pt.size * 4) {
        for (let vpn = start; vpn <= end; vpn++) if (this.erase(f, vpn)) this.counters.mirrorInvalidated++;
      } else {
        for (const vpn of [...f.pt.keys()]) {
          if (vpn >= start && vpn <= end && this.erase(f, vpn)) this.counters.mirrorInvalidated++;
        }
      }
    }
  }
}
