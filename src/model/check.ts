/**
 * Quiesce check: with no op in flight, count every holder of every frame and
 * compare with the frame's counters (spec §6 invariants 1-4):
 *   refcount == base + refcounted mappings + GUP refs/pins + page cache + owner ref
 *   mapcount == refcounted mappings
 *   no entry, pin or cache slot reaches a freed frame (use-after-free)
 *   every allocated frame is reachable from a mapping, a pin or a file (else leak)
 * and every live BO whose remaining pages are all leaked is a BO leak; a truncate
 * or memunmap_pages still waiting is a hang (each reported once).
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E0-devmap" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * m.write(mm, addr, 7);
 * const gpu = m.driverNew("device-coherent", 4);
 * m.migrateToDevice(mm, addr, 4096, gpu);
 * m.munmap(mm, addr, 4096);
 * m.check();
 * console.log(m.violations().map((v) => v.kind)); // [ 'leak_page', 'leak_bo' ]
 * ```
 */
import {
  V_LEAK_PAGE, V_LEAK_BO, V_UAF, V_REFCOUNT, V_MAPCOUNT, V_HANG, PGMAP_REF_PER_PAGE, FOLL_PIN, FOLIO_NR, PT_ENTRIES,
} from "../../assembly/abi.ts";
import { exclusiveKeepsMapcount } from "./exclusive.ts";
import { zapWindowQueued } from "./zap_window.ts";
import { migrateStepsHolding } from "./migrate_steps.ts";
import { pgmapKilled, hangingDriver } from "./memremap.ts";
import { cachedPage } from "./file.ts";
import type { Frame } from "./frames.ts";
import type { Machine } from "./machine.ts";

/** What the scan found holding one frame. */
interface Holders {
  refs: number;
  maps: number;
}

/**
 * A large folio as a whole: the head's refcount against the holders of all its
 * pages, entire mapcount and _pincount against PMD mappings and pins, each page's
 * mapcount against its PTEs; one leak if nothing reaches any page (as the core).
 */
function checkLargeFolio(m: Machine, head: Frame, held: Map<Frame, Holders>, entire: number, pins: number): void {
  let refs = 0;
  let reached = false;
  let blame = -1;
  for (let i = 0; i < FOLIO_NR; i++) {
    const f = m.frames.all[head.pfn + i];
    blame = Math.max(blame, f.lastOp);
    const h = held.get(f);
    refs += h?.refs ?? 0;
    if (h) reached = true;
    const maps = h?.maps ?? 0;
    if (f.mapcount !== maps) m.log.record(V_MAPCOUNT, f.pfn, -1, f.index, head.refcount, f.mapcount, maps);
  }
  refs += m.rules.freeAt(head.kind); // a device folio's era base (0 for E5's device-private folios)
  if (head.refcount !== refs) m.log.record(V_REFCOUNT, head.pfn, -1, head.index, head.refcount, head.mapcount, refs);
  if (head.entireMapcount !== entire) m.log.record(V_MAPCOUNT, head.pfn, -1, head.index, head.refcount, head.entireMapcount, entire);
  if (head.pincount !== pins) m.log.record(V_REFCOUNT, head.pfn, -1, head.index, head.pincount, head.mapcount, pins);
  if (reached || head.leakReported) return;
  m.log.record(V_LEAK_PAGE, head.pfn, -1, head.index, head.refcount, head.entireMapcount, 0, blame);
  head.leakReported = true;
}

/** Run the whole check, recording what it finds as violations. */
export function quiesceCheck(m: Machine): void {
  const held = new Map<Frame, Holders>();
  const hold = (f: Frame, refs: number, maps: number, mm: number, vpn: number, how: number): void => {
    if (!f.usable) {
      m.log.record(V_UAF, f.pfn, mm, vpn, f.refcount, f.mapcount, how); // a dangling holder
      return;
    }
    const h = held.get(f);
    if (h) {
      h.refs += refs;
      h.maps += maps;
    } else {
      held.set(f, { refs, maps });
    }
  };

  // Expected PMD mappings and FOLL_PIN pins of each large folio, by head.
  const entire = new Map<Frame, number>();
  const pinsOf = new Map<Frame, number>();
  const bump = (map: Map<Frame, number>, f: Frame) => map.set(f, (map.get(f) ?? 0) + 1);

  // Page tables, mm by mm in vpn order: refcounted entries hold a ref and a map; devmap entries only reach;
  // a PMD mapping holds one folio reference and one entire mapping (the huge zero page nothing).
  for (const mm of m.mms.alive) {
    const blocks = mm.tables.hugeBlocksIn(0, 1 << 27);
    let next = 0;
    const pmd = (b: number) => {
      const leaf = mm.tables.hugeLeaf(b * PT_ENTRIES)!;
      if (leaf.pfn === 0) return;
      const head = m.frames.all[leaf.pfn];
      hold(head, 1, 0, mm.id, b * PT_ENTRIES, 6);
      bump(entire, head);
    };
    for (const [vpn, pte] of mm.tables.entriesIn(0, 1 << 27)) {
      while (next < blocks.length && blocks[next] * PT_ENTRIES < vpn) pmd(blocks[next++]);
      const f = m.frames.all[pte.pfn];
      if (pte.migration) hold(f, 0, 0, mm.id, vpn, 6); // try_to_migrate_one dropped ref and rmap
      else if (pte.deviceExclusive) hold(f, 1, exclusiveKeepsMapcount(m) ? 1 : 0, mm.id, vpn, 6); // the mapcount by era
      else if (pte.swapLike || !pte.special) hold(f, 1, 1, mm.id, vpn, 6);
      else if (pte.pfn !== 0) hold(f, 0, 0, mm.id, vpn, 6);
    }
    while (next < blocks.length) pmd(blocks[next++]);
  }
  // In-flight faults (fault_begin without fault_end) hold their page reference.
  for (const tok of m.faults.tokens) {
    if (tok && tok.live && tok.ref) hold(tok.page, 1, 0, -1, -1, 9);
  }
  // An open zap window (zap_begin without zap_end) holds the references its mmu_gather queued.
  for (const [page, nr] of zapWindowQueued(m)) hold(page, nr, 0, -1, -1, 9);
  // A GUP-fast walk between try_grab_folio and its end holds what it grabbed.
  for (const w of m.gupFast.walks) {
    if (!w || w.holding === 0) continue;
    const page = m.frames.all[w.pfn];
    hold(page, w.holding, 0, -1, -1, 7);
    if ((w.flags & FOLL_PIN) !== 0 && page.large) bump(pinsOf, m.frames.folioOf(page)); // try_grab_folio's _pincount
  }
  // An open migrate_collect cut holds its collect reference; a pre-5.17 migration_wait waiter its own.
  for (const page of migrateStepsHolding(m)) hold(page, 1, 0, -1, -1, 9);
  // The driver's own folios (OP_DRIVER_ALLOC) hold the driver's reference.
  for (let pfn = m.frames.systemPages + 1; pfn < m.frames.all.length; pfn++) {
    const f = m.frames.all[pfn];
    if (f.driverHeld) hold(f, 1, 0, -1, -1, 12);
  }
  // GUP handles in handle order.
  const pins = m.pins;
  for (let h = 1; h <= pins.issued; h++) {
    const pin = pins.handles[h]!;
    if (pin.refs === 0 || pin.pfn === 0) continue;
    const page = m.frames.all[pin.pfn];
    hold(page, pin.refs, 0, -1, -1, 7);
    if ((pin.flags & FOLL_PIN) !== 0 && page.large) bump(pinsOf, m.frames.folioOf(page));
  }
  // Page caches of open files, in index order; a DAX entry associates its page without a reference.
  for (const file of m.files.all) {
    if (!file.open) continue;
    const refs = file.cacheHoldsRef ? 1 : 0;
    for (const idx of [...file.cache.keys()].sort((a, b) => a - b)) {
      const page = cachedPage(file, idx);
      if (page) hold(page, refs, 0, -1, idx, 8);
    }
  }

  const boLeaks = new Map<number, { pages: number; op: number }>();
  for (let pfn = 1; pfn < m.frames.all.length; pfn++) {
    const f = m.frames.all[pfn];
    const hangReported = f.hangReported;
    if (f.truncateWait && !f.hangReported) {
      m.log.record(V_HANG, pfn, -1, f.index, f.refcount, f.mapcount, 0); // truncate waits on a pin
      f.hangReported = true;
    }
    if (!f.allocated) continue;
    if (f.head) {
      checkLargeFolio(m, f, held, entire.get(f) ?? 0, pinsOf.get(f) ?? 0);
      pfn += FOLIO_NR - 1;
      continue;
    }
    const h = held.get(f);
    const maps = h?.maps ?? 0;
    // E0's base reference belongs to the pgmap; memunmap_pages puts it.
    const base = m.rules.pgmapRef === PGMAP_REF_PER_PAGE && pgmapKilled(f) ? 0 : m.rules.freeAt(f.kind);
    const expected = (h?.refs ?? 0) + base + (f.ownerRef ? 1 : 0);
    if (f.refcount !== expected) m.log.record(V_REFCOUNT, pfn, -1, f.index, f.refcount, f.mapcount, expected);
    if (f.mapcount !== maps) m.log.record(V_MAPCOUNT, pfn, -1, f.index, f.refcount, f.mapcount, maps);
    if (h) continue;
    // Nothing reaches it: a leak, blamed on the op that dropped its last holder.
    if (!f.leakReported) {
      m.log.record(V_LEAK_PAGE, pfn, -1, f.index, f.refcount, f.mapcount, 0, f.lastOp);
      f.leakReported = true;
      f.hangReported = hangReported; // as the core: its flags word is written back from before the hang report
    }
    if (m.frames.isDevice(pfn) && f.owner > 0) {
      const leak = boLeaks.get(f.owner) ?? { pages: 0, op: -1 };
      leak.pages++;
      leak.op = f.lastOp;
      boLeaks.set(f.owner, leak);
    }
  }
  // memunmap_pages still waiting for pgmap references
  for (const d of m.devices.drivers) {
    if (hangingDriver(d)) m.log.record(V_HANG, 0, -1, -1, d.pgmapRef, 0, d.id);
  }
  for (const bo of m.devices.bos) {
    const leak = boLeaks.get(bo.id);
    if (bo.state !== "live" || !leak || leak.pages !== bo.pages || bo.leakReported) continue;
    bo.leakReported = true;
    m.log.record(V_LEAK_BO, 0, -1, -1, bo.pages, 0, bo.id, leak.op);
  }
}
