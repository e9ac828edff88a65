// Unmapping: zap_pte_range with the mmu_gather batch (mmu_gather.ts). The rmap is
// removed when a PTE is cleared, but the PTE's page reference is only dropped after
// the TLB flush. Device-private entries are put at once (zap_nonpresent_ptes).
import {
  PTE_PRESENT, PTE_SPECIAL, PTE_DEVICE_PRIVATE, PTE_DEVICE_EXCLUSIVE, PTE_MIGRATION, PT_ENTRIES, SCHEME_TLB_BATCH, SCHEME_PTE_BATCH,
  ST_PTES_ZAPPED, ST_PINS, V_UAF, PG_PAGECACHE, PTE_PFN_SHIFT, FOLIO_NR, PG_ALLOCATED, ST_ATOMIC_MAP, PG_ANON,
  SCHEME_FREE_AT_COHERENT, KIND_DEVICE_COHERENT, PG_KIND_SHIFT,
} from "./abi";
import { exclusiveKeepsMapcount } from "./exclusive";
import { bump, stat } from "./stats";
import { rule, freeAt } from "./scheme";
import {
  ref, mapcount, setMapcount, flags, setLastOp, isDevice, kindOf, hasFlag, isLarge, folioOf, largeLive,
  refBase, mapBase, flagsBase, lastOpBase,
} from "./frames";
import { rangeFastOk, fpNote, FP_ZAP_FAST, FP_ZAP_FULL, FP_ZAP_PTE_FULL } from "./fastpath";
import { folioPut, rmapRemove, frameUsable } from "./refcount";
import { pteTableOf, pteTableBase, pteSlot, shadowOf, hugeLeaf, ptePfn, PTE_SLOT } from "./pgtable";
import { zapHugePmd, splitHugePmd, blockStart, folioPteBatch } from "./thp";
import { violation, currentOp } from "./violations";
import {
  MAX_GATHER, ORDINARY_MASK, GATHER_REFS_OFFSET, tlbFlush, tlbRemoveFolio, gatherPfns, gatheredCount, gatherSync, gatherOwner,
} from "./mmu_gather";
import { detachPins } from "./pins";

/** PTE bits beside PTE_PRESENT that make it no normal page's (vm_normal_page, the non-present entries). */
export const NOT_NORMAL: u32 = PTE_PRESENT | PTE_SPECIAL | PTE_DEVICE_PRIVATE | PTE_MIGRATION;
/**
 * Clear one PTE: the zap_present_ptes / zap_nonpresent_ptes accounting for it.
 * evenCows is zap_details.even_cows: a hole punch (unmap_mapping_pages(..., 0))
 * passes false, and should_zap_folio keeps anonymous folios, the private COWed
 * copies, whether mapped, device-private or migrating (5.15-7.0 mm/memory.c).
 */
export function zapOne(mm: i32, vpn: u32, p: usize, evenCows: bool = true): void {
  const pte = load<u32>(p);
  if (pte == 0) return;
  const pfn = ptePfn(pte);
  if (!evenCows && (pte & PTE_SPECIAL) == 0 && hasFlag(pfn, PG_ANON)) return;
  store<u32>(p, 0);
  store<u32>(shadowOf(p), 0);
  bump(ST_PTES_ZAPPED);
  // A migration entry holds neither rmap nor reference (try_to_migrate_one dropped
  // both): zap_nonpresent_ptes only lowers the rss counter (5.15-7.0 mm/memory.c).
  if ((pte & PTE_MIGRATION) != 0) return;
  if ((pte & PTE_DEVICE_PRIVATE) != 0) {
    if (!frameUsable(pfn)) {
      violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 4);
      return;
    }
    rmapRemove(pfn, mm, <i32>vpn); // device-private entry: rmap and put at once
    folioPut(pfn, 1, mm, <i32>vpn);
    return;
  }
  if ((pte & PTE_DEVICE_EXCLUSIVE) != 0) {
    if (!frameUsable(pfn)) {
      violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 4);
      return;
    }
    // zap_nonpresent_ptes: the entry's reference is put; its rmap only where it kept one (6.15+)
    if (exclusiveKeepsMapcount()) rmapRemove(pfn, mm, <i32>vpn);
    folioPut(pfn, 1, mm, <i32>vpn);
    return;
  }
  if ((pte & PTE_PRESENT) == 0) return;
  if ((pte & PTE_SPECIAL) != 0) {
    // vm_normal_page() == NULL: zero page, devmap, pfnmap. Nothing is dropped.
    if (pfn != 0) {
      setLastOp(pfn, currentOp);
      if (ref(pfn) > freeAt(kindOf(pfn)) + 1) detachPins(mm, vpn, pfn); // beyond base and owner: maybe pinned
    }
    return;
  }
  if (!frameUsable(pfn)) {
    violation(V_UAF, pfn, mm, <i32>vpn, ref(pfn), mapcount(pfn), 4);
    return;
  }
  if (largeLive > 0 && isLarge(pfn)) {
    if (stat(ST_PINS) > 0) detachPins(mm, vpn, pfn);
  } else if (ref(pfn) > mapcount(pfn) + freeAt(kindOf(pfn)) + (hasFlag(pfn, PG_PAGECACHE) ? 1 : 0)) {
    // More references than mappings (this one still counted), base and cache: maybe a GUP pin on it.
    detachPins(mm, vpn, pfn);
  }
  rmapRemove(pfn, mm, <i32>vpn);
  tlbRemoveFolio(mm, pfn, 1);
}

/**
 * zap_present_folio_ptes with PTE batching (6.9+): a run of PTEs mapping
 * consecutive pages of one large folio loses its rmap page by page but its
 * references in one entry (one folio_put_refs of nr). Returns the run length.
 */
function zapFolioRun(mm: i32, vpn: u32, p: usize, last: u32): i32 {
  const pte = load<u32>(p);
  const pfn = ptePfn(pte);
  const head = folioOf(pfn);
  const nr = folioPteBatch(p, vpn, last);
  for (let i: u32 = 0; i < nr; i++) {
    const q = pteSlot(p, <usize>i);
    store<u32>(q, 0);
    store<u32>(shadowOf(q), 0);
    if (stat(ST_PINS) > 0) detachPins(mm, vpn + i, pfn + i);
    rmapRemove(pfn + i, mm, <i32>(vpn + i));
  }
  bump(ST_PTES_ZAPPED, nr);
  tlbRemoveFolio(mm, head, <i32>nr);
  return <i32>nr;
}

/** A present, refcounted PTE of a live large folio: where PTE batching applies. */
@inline function batchable(pte: u32): bool {
  if ((pte & (PTE_PRESENT | PTE_SPECIAL)) != PTE_PRESENT) return false;
  const pfn = ptePfn(pte);
  return isLarge(pfn) && frameUsable(pfn);
}

/**
 * Fast path of zap_pte_range (6.1 mm/memory.c: its pte_present branch for a normal page):
 * under rangeFastOk() (no PMD mapping, no large folio anywhere) each PTE of an
 * allocated small system page that has no more references than mappings, and the
 * page cache's one if it is cached (no pin to detach), loses its PTE, rmap and (gathered)
 * reference here; its statistics are summed over the range. Any other PTE goes
 * through zapOne, as on the full path. Inlined into its one caller: a call less per zap.
 */
@inline function zapRangeFast(mm: i32, start: u32, end: u32): void {
  const batch = min<i32>(rule(SCHEME_TLB_BATCH), MAX_GATHER);
  const pfns = gatherPfns();
  const gatherEnd = pfns + (<usize>max<i32>(batch, 0) << 2); // the entry where the gather is full
  let zapped = 0;
  let vpn = start;
  while (vpn < end) {
    const tableEnd = min<u32>((vpn | (PT_ENTRIES - 1)) + 1, end);
    const pt = pteTableOf(mm, vpn);
    if (pt != 0) {
      const first = pteSlot(pteTableBase(pt), <usize>(vpn & (PT_ENTRIES - 1)));
      const last = pteSlot(first, <usize>(tableEnd - vpn));
      let p = first;
      while (p < last) {
        // The fast PTEs from p on, in a function of its own without calls (V8 keeps its values in
        // registers): it stops at a PTE for zapOne, or at `stop`, where the gather may be full: a slot
        // adds at most one entry, so the run stops no later than the slot that fills the gather.
        const e0 = pfns + (<usize>gatheredCount() << 2);
        let e = e0;
        let stop = last;
        if (batch > 0) {
          const room = max<i32>(batch - gatheredCount(), 1); // 1: a gather found full still takes one entry, as tlbGather
          stop = p + min<usize>(last - p, <usize>room * PTE_SLOT);
          p = zapRunFast(p, stop, e0);
          e = runGather;
        }
        if (e != e0) { // tlbGather's gatherMm and count, for the stretch's entries
          zapped += <i32>((e - e0) >> 2);
          gatherOwner(mm);
          gatherSync(<i32>((e - pfns) >> 2));
          if (e >= gatherEnd) { tlbFlush(); continue; } // the PTE that filled it was zapped
        }
        if (p >= stop) continue; // the run reached its stop: no PTE for zapOne there
        fpNote(FP_ZAP_PTE_FULL);
        zapOne(mm, vpn + <u32>((p - first) / PTE_SLOT), p);
        p += PTE_SLOT;
      }
    }
    vpn = tableEnd;
  }
  bump(ST_PTES_ZAPPED, zapped);
  bump(ST_ATOMIC_MAP, zapped);
}

/** Where zapRunFast left the gather: the address of its next entry. */
let runGather: usize = 0;
/** The PTE of the shared zero page as a fault maps it (fault.ts, fastpath.ts): mkPte(0, PTE_PRESENT | PTE_SPECIAL). */
const ZERO_PTE: u32 = PTE_PRESENT | PTE_SPECIAL;
/** The flags of an allocated small device-coherent page, masked with ORDINARY_MASK. */
const COHERENT_PAGE: u32 = PG_ALLOCATED | (KIND_DEVICE_COHERENT << PG_KIND_SHIFT);

/**
 * zapRangeFast's per-PTE work over the slots [p, stop) of one table: each present PTE of an
 * ordinary small system page with no more references than mappings is cleared, loses its
 * rmap, and its reference goes into the gather at e (gatherPfn, gatherRefs a fixed distance
 * on); a zero-page PTE is just cleared. Stops at the first other non-none PTE (returned) or
 * at stop, which the caller puts where the gather cannot overflow (no end test per entry);
 * leaves the gather's next entry in runGather. Nothing beyond the original loop's values stays live
 * across it (a zero-page PTE bumps its statistic in place, the coherent idle count is read
 * in its branch): more would spill the dense loop's registers (fork-small +8 % instructions).
 */
function zapRunFast(p: usize, stop: usize, e: usize): usize {
  // Loop invariants in locals: V8 reloads a wasm global at each use (none changes in a zap).
  const refB = refBase, mapB = mapBase, flB = flagsBase, lastB = lastOpBase;
  const op = currentOp;
  for (; p < stop; p += PTE_SLOT) {
    const pte = load<u32>(p);
    const pfn = ptePfn(pte);
    const at = <usize>pfn << 2;
    // One test a statement: Binaryen folds `a || b` into arithmetic on booleans, V8 then
    // materializes each (setcc, movzx, or) where separate branches cost a compare each.
    if ((pte & NOT_NORMAL) != PTE_PRESENT) { // pte_none too: tested in here, off the common path
      if (pte == 0) continue;
      // zap_pte_range (6.1 mm/memory.c): vm_normal_page() is NULL for the shared zero page, so its
      // PTE is cleared and nothing is put or unmapped (zapOne's PTE_SPECIAL branch for pfn 0).
      if (pte != ZERO_PTE) break;
      store<u64>(p, 0); // the PTE and its shadow word
      bump(ST_PTES_ZAPPED); // a static word: no register held across the loop for it
      continue;
    }
    const fl = load<u32>(flB + at);
    if ((fl & ORDINARY_MASK) != PG_ALLOCATED) {
      // Not an ordinary system page. A device-coherent page (MEMORY_DEVICE_COHERENT, 6.0+): a present
      // PTE vm_normal_page() returns, zapped like a system page (zap_pte_range, 6.1 mm/memory.c;
      // zap_present_ptes since 6.9); its idle references are freeAt's (zapOne's pin test). Any other
      // page: zapOne. No isDevice(pfn) test first: a device frame's flags always hold its kind
      // (memremap.ts, driver.ts), a system frame's never a device kind (performance only).
      if ((fl & ORDINARY_MASK) != COHERENT_PAGE) break;
      const md = load<i32>(mapB + at);
      if (md <= 0) break;
      if (load<i32>(refB + at) > md + rule(SCHEME_FREE_AT_COHERENT) + <i32>((fl & PG_PAGECACHE) != 0)) break;
      store<u64>(p, 0);
      store<i32>(mapB + at, md - 1);
      store<i32>(lastB + at, op);
      store<u32>(e, pfn);
      store<i32>(e, 1, GATHER_REFS_OFFSET);
      e += 4;
      continue;
    }
    const m = load<i32>(mapB + at);
    if (m <= 0) break;
    // no pin to detach: no more references than mappings, and the page cache's own one (zapOne's
    // test), the cache's tested only when there are more (an anon page's test is one compare)
    const r = load<i32>(refB + at);
    if (r > m) {
      if ((fl & PG_PAGECACHE) == 0) break;
      if (r > m + 1) break;
    }
    store<u64>(p, 0); // the PTE and its shadow word after it (pgtable.ts shadowOf)
    store<i32>(mapB + at, m - 1); // folio_remove_rmap_pte
    store<i32>(lastB + at, op);
    store<u32>(e, pfn); // __tlb_remove_folio_pages: the pfn, and 1 reference in gatherRefs
    store<i32>(e, 1, GATHER_REFS_OFFSET);
    e += 4;
  }
  runGather = e;
  return p;
}

/**
 * zap_pte_range over [start, end) of mm, then tlb_finish_mmu; evenCows as zapOne's.
 * finish false leaves the last batch gathered, its puts not yet made (zap_window.ts).
 */
export function zapRange(mm: i32, start: u32, end: u32, evenCows: bool = true, finish: bool = true): void {
  if (evenCows && rangeFastOk()) {
    fpNote(FP_ZAP_FAST);
    zapRangeFast(mm, start, end);
    if (finish) tlbFlush();
    return;
  }
  fpNote(FP_ZAP_FULL);
  const batching = largeLive > 0 && rule(SCHEME_PTE_BATCH) != 0 && evenCows;
  let vpn = start;
  while (vpn < end) {
    const tableEnd = min<u32>((vpn | (PT_ENTRIES - 1)) + 1, end);
    if (hugeLeaf(mm, vpn) != 0) {
      // zap_pmd_range: a whole PMD goes at once; a partly covered one is split first
      if (vpn == blockStart(vpn) && tableEnd == vpn + FOLIO_NR) {
        zapHugePmd(mm, vpn);
        vpn = tableEnd;
        continue;
      }
      splitHugePmd(mm, vpn);
    }
    const pt = pteTableOf(mm, vpn);
    if (pt != 0) {
      const base = pteTableBase(pt);
      let v = vpn;
      while (v < tableEnd) {
        const p = pteSlot(base, <usize>(v & (PT_ENTRIES - 1)));
        if (batching && batchable(load<u32>(p))) {
          v += zapFolioRun(mm, v, p, tableEnd);
        } else {
          zapOne(mm, v, p, evenCows);
          v++;
        }
      }
    }
    vpn = tableEnd;
  }
  if (finish) tlbFlush();
}
