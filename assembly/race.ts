// A CPU fault on a device-private entry split at the point where do_swap_page
// drops the page-table lock, so other ops can run in between (spec S4, S21):
//   begin: <= 6.0 takes no reference; 6.1 get_page under the PTL; 6.15 trylock the
//          page first and, if another fault holds the lock, return to refault (7.0:
//          after sleeping until the lock is released).
//   end:   pgmap->ops->migrate_to_ram, then unlock and put.
// Without a reference a concurrent munmap can free the page in between, and
// migrate_to_ram then runs on a page the driver may already have reused
// (CVE-2022-3523). With references but no lock, many faulters on one page each
// hold a ref that blocks every other's migration: a livelock (6.1-6.14, Xe SVM).
import {
  MMU_NOTIFY_MIGRATE, SCHEME_SWAP_FAULT_REF, SWAP_FAULT_NO_REF, SWAP_FAULT_TRYLOCK, SWAP_FAULT_WAIT, PG_LOCKED, V_UAF, V_LIVELOCK,
} from "./abi";
import { rule } from "./scheme";
import { ref, mapcount, hasFlag, addFlag, clearFlag, kindOf, pageIndex } from "./frames";
import { deviceOwner, driverOf, pgmapOwner } from "./memremap";
import { dmirrorFaultErase } from "./dmirror";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { folioGet, folioPut, frameUsable } from "./refcount";
import { migratePageToRam } from "./migrate";
import { rmapWalk } from "./rmap";
import { violation } from "./violations";

const FAULT_REF: i32 = 1;
const FAULT_LOCK: i32 = 2;
const FAULT_LIVE: i32 = 4;

let cap: i32 = 0;
let count: i32 = 0;
let tokPfn: usize = 0;
let tokMm: usize = 0;
let tokVpn: usize = 0;
let tokState: usize = 0;
let tokKind: usize = 0;
let tokOwner: usize = 0; // zone_device_data at begin: a change means the page was reused
let tokIndex: usize = 0; // page->index at begin: another one means the page was handed out again

export function initRace(n: i32): void {
  cap = n;
  count = 0;
  tokPfn = heap.alloc(<usize>(n + 1) << 2);
  tokMm = heap.alloc(<usize>(n + 1) << 2);
  tokVpn = heap.alloc(<usize>(n + 1) << 2);
  tokState = heap.alloc(<usize>(n + 1) << 2);
  tokKind = heap.alloc(<usize>(n + 1) << 2);
  tokOwner = heap.alloc(<usize>(n + 1) << 2);
  tokIndex = heap.alloc(<usize>(n + 1) << 2);
}

@inline function get(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline function put(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

export function faultSlotsLeft(): i32 { return cap - count; }
export function faultValid(t: i32): bool { return t > 0 && t <= count && (get(tokState, t) & FAULT_LIVE) != 0; }

/** The page and reference (0 or 1) of in-flight fault t, for the quiesce check; page 0 if t is not live. */
export function faultHolding(t: i32): u32 {
  const st = get(tokState, t);
  return (st & (FAULT_LIVE | FAULT_REF)) == (FAULT_LIVE | FAULT_REF) ? <u32>get(tokPfn, t) : 0;
}
export function faultsStarted(): i32 { return count; }

/** References held on pfn by other in-flight faults. */
function othersHolding(pfn: u32, self: i32): i32 {
  let n = 0;
  for (let t = 1; t <= count; t++) {
    if (t == self) continue;
    const st = get(tokState, t);
    if ((st & (FAULT_LIVE | FAULT_REF)) == (FAULT_LIVE | FAULT_REF) && <u32>get(tokPfn, t) == pfn) n++;
  }
  return n;
}

/** do_swap_page up to pte_unmap_unlock. Returns a fault token, or 0 when it must refault. */
export function faultBegin(mm: i32, vpn: u32, pfn: u32): i32 {
  const mode = rule(SCHEME_SWAP_FAULT_REF);
  let st = FAULT_LIVE;
  if (mode == SWAP_FAULT_TRYLOCK || mode == SWAP_FAULT_WAIT) {
    // folio_trylock failed: 6.15 drops the PTL and refaults at once; 7.0 sleeps until the folio
    // is unlocked first (softleaf_entry_wait_on_locked, b570f37a2ce4), which the stepper models.
    if (hasFlag(pfn, PG_LOCKED)) return 0;
    addFlag(pfn, PG_LOCKED);
    st |= FAULT_LOCK;
  }
  if (mode != SWAP_FAULT_NO_REF) {
    folioGet(pfn, 1, mm, <i32>vpn);
    st |= FAULT_REF;
  }
  const t = ++count;
  put(tokPfn, t, <i32>pfn);
  put(tokMm, t, mm);
  put(tokVpn, t, <i32>vpn);
  put(tokState, t, st);
  put(tokKind, t, kindOf(pfn));
  put(tokOwner, t, deviceOwner(pfn));
  put(tokIndex, t, <i32>pageIndex(pfn));
  return t;
}

/** The rest of do_swap_page: migrate_to_ram, unlock, put. Returns 1 if the page moved to RAM. */
export function faultEnd(t: i32): i32 {
  const pfn = <u32>get(tokPfn, t);
  const mm = get(tokMm, t);
  const vpn = get(tokVpn, t);
  const st = get(tokState, t);
  put(tokState, t, 0);
  const held = (st & FAULT_REF) != 0 ? 1 : 0;
  // Freed, or freed and handed out again (another BO, or another address of the same one).
  if (!frameUsable(pfn) || kindOf(pfn) != get(tokKind, t) || deviceOwner(pfn) != get(tokOwner, t) || pageIndex(pfn) != <u32>get(tokIndex, t)) {
    // The page went back to the driver while the fault held nothing on it.
    violation(V_UAF, pfn, mm, vpn, ref(pfn), mapcount(pfn), 9);
    return 0;
  }
  let moved = 0;
  if (rmapWalk(pfn) > 0) {
    mmuNotifierInvalidate(mm, <u32>vpn, <u32>vpn + 1, MMU_NOTIFY_MIGRATE, pgmapOwner(driverOf(pfn))); // migrate_to_ram's migrate_vma_setup
    dmirrorFaultErase(pfn, <u32>vpn); // a test_hmm chunk's page: dmirror_devmem_fault
    if (migratePageToRam(pfn, held, mm, <u32>vpn)) moved = 1;
    else {
      const others = othersHolding(pfn, t);
      if (others > 0) violation(V_LIVELOCK, pfn, mm, vpn, ref(pfn), mapcount(pfn), others);
    }
  }
  if ((st & FAULT_LOCK) != 0) clearFlag(pfn, PG_LOCKED);
  if (held != 0) folioPut(pfn, 1, mm, vpn);
  return moved;
}
