/**
 * A CPU fault on a device-private entry split at the point where do_swap_page
 * drops the page-table lock, so other ops can run in between (spec S4, S21):
 *   begin: <= 6.0 takes no reference; 6.1 get_page under the PTL; 6.15 trylock the
 *          page first and, if another fault holds the lock, return to refault.
 *   end:   pgmap->ops->migrate_to_ram, then unlock and put.
 * Without a reference a concurrent munmap can free the page in between, and
 * migrate_to_ram then runs on a page the driver may already have reused
 * (CVE-2022-3523). With references but no lock, many faulters on one page each
 * hold a ref that blocks every other's migration: a livelock (6.1-6.14).
 * Fault tokens are numbered from 1 and never reused.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E0" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * m.write(mm, addr, 1);
 * m.migrateToDevice(mm, addr, 4096, m.driverNew("device-private", 4));
 * const t = m.faultBegin(mm, addr);
 * m.munmap(mm, addr, 4096); // the page goes back to the driver: no reference held it
 * console.log(m.faultEnd(t), m.violations().map((v) => v.kind)); // 0 [ 'use_after_free' ]
 * ```
 */
import { SWAP_FAULT_NO_REF, SWAP_FAULT_TRYLOCK, SWAP_FAULT_WAIT, V_UAF, V_LIVELOCK, MMU_NOTIFY_MIGRATE } from "../../assembly/abi.ts";
import { folioGet, folioPut } from "./refcount.ts";
import { migratePageToRam } from "./migrate.ts";
import { dmirrorFaultErase } from "./dmirror.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { rmapWalk } from "./rmap.ts";
import type { Frame } from "./frames.ts";
import type { Machine } from "./machine.ts";

/** One in-flight fault between begin and end. */
export class FaultToken {
  /** Still in flight (FAULT_LIVE). */
  live = true;
  constructor(
    readonly page: Frame,
    readonly mm: number,
    readonly vpn: number,
    /** do_swap_page took a page reference. */
    readonly ref: boolean,
    /** do_swap_page holds the page lock. */
    readonly lock: boolean,
    /** The page's kind and zone_device_data at begin: a change means it was reused. */
    readonly kind: number,
    readonly owner: number,
    /** page->index at begin: another one means it was handed out again. */
    readonly index: number,
  ) {}
}

export class Faults {
  /** Tokens by number; token 0 means "refault". */
  readonly tokens: Array<FaultToken | undefined> = [undefined];
  constructor(readonly capacity: number) {}

  get slotsLeft(): number { return this.capacity - (this.tokens.length - 1); }

  live(t: number): FaultToken | undefined {
    const tok = t > 0 && t < this.tokens.length ? this.tokens[t] : undefined;
    return tok && tok.live ? tok : undefined;
  }
}

/** References held on page by other in-flight faults. */
function othersHolding(m: Machine, page: Frame, self: FaultToken): number {
  let n = 0;
  for (const tok of m.faults.tokens) {
    if (tok && tok !== self && tok.live && tok.ref && tok.page === page) n++;
  }
  return n;
}

/** do_swap_page up to pte_unmap_unlock. Returns a fault token, or 0 when it must refault. */
export function faultBegin(m: Machine, mm: number, vpn: number, page: Frame): number {
  const mode = m.rules.swapFaultRef;
  let lock = false;
  if (mode === SWAP_FAULT_TRYLOCK || mode === SWAP_FAULT_WAIT) {
    // folio_trylock failed: 6.15 refaults at once; 7.0 sleeps until unlock first (b570f37a2ce4), in the stepper
    if (page.locked) return 0;
    page.locked = true;
    lock = true;
  }
  const ref = mode !== SWAP_FAULT_NO_REF;
  if (ref) folioGet(m, page, 1, mm, vpn); // do_swap_page: get_page under the PTL (6.1+)
  m.faults.tokens.push(new FaultToken(page, mm, vpn, ref, lock, page.kind, page.owner, page.index));
  return m.faults.tokens.length - 1;
}

/** The rest of do_swap_page: migrate_to_ram, unlock, put. Returns 1 if the page moved to RAM. */
export function faultEnd(m: Machine, t: number): number {
  const tok = m.faults.tokens[t]!;
  const { page, mm, vpn } = tok;
  tok.live = false;
  const held = tok.ref ? 1 : 0;
  // Freed, or freed and handed out again (another BO, or another address of the same one).
  if (!page.usable || page.kind !== tok.kind || page.owner !== tok.owner || page.index !== tok.index) {
    // The page went back to the driver while the fault held nothing on it.
    m.log.record(V_UAF, page.pfn, mm, vpn, page.refcount, page.mapcount, 9);
    return 0;
  }
  let moved = 0;
  if (rmapWalk(m, page).length > 0) {
    mmuNotifierInvalidate(m, mm, vpn, vpn + 1, MMU_NOTIFY_MIGRATE, page.driver!.owner); // migrate_to_ram's migrate_vma_setup
    dmirrorFaultErase(m, page, vpn); // a test_hmm chunk's page: dmirror_devmem_fault
    if (migratePageToRam(m, page, held, mm, vpn)) moved = 1;
    else {
      const others = othersHolding(m, page, tok);
      if (others > 0) m.log.record(V_LIVELOCK, page.pfn, mm, vpn, page.refcount, page.mapcount, others);
    }
  }
  if (tok.lock) page.locked = false;
  if (held) folioPut(m, page, 1, mm, vpn); // do_swap_page: put_page
  return moved;
}
