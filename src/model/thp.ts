/**
 * Transparent huge pages in the model: PMD-mapped anonymous folios of FOLIO_NR
 * pages (mm/huge_memory.c), as assembly/thp.ts. The folio's refcount is on its
 * head Frame, a PMD mapping counts in head.entireMapcount, PTE mappings in each
 * page's mapcount, FOLL_PIN in head.pincount. Paths that do not handle a PMD
 * split it first into the deposited pte table.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4", capacity: { systemPages: 1024, hugePages: 1 } });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { addr: 0x40000000, length: 2 << 20, huge: true });
 * m.write(mm, addr, 1);
 * const p = m.page(mm, addr)!;
 * console.log(p.pmd, p.folioRefcount, p.entireMapcount); // true 1 1
 * ```
 */
import { MMU_NOTIFY_CLEAR, MMU_NOTIFY_MIGRATE, PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVICE_PRIVATE, FOLIO_NR, VM_HUGEPAGE, V_UAF, V_UNDERFLOW } from "../../assembly/abi.ts";
import { folioGet, folioPut } from "./refcount.ts";
import { pageFree, type Driver } from "./memremap.ts";
import { allocDeviceFolio, type BufferObject } from "./driver.ts";
import { Pte, type PteTable } from "./pgtable.ts";
import { tlbRemoveFolio } from "./mmu_gather.ts";
import { pmdAddress } from "./rmap.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { migratePageToRam } from "./migrate.ts";
import { detachPins } from "./pins.ts";
import { dmirrorFaultErase, dmirrorTakeFailAlloc } from "./dmirror.ts";
import type { Frame } from "./frames.ts";
import type { Mm, Vma } from "./mm.ts";
import type { Machine } from "./machine.ts";

/** E5: whole PMD-mapped THPs of [start, end) into large device-private folios of driver d (as the core). */
export function migrateHugeToDevice(m: Machine, mm: Mm, start: number, end: number, d: Driver, bo: BufferObject): void {
  for (let blk = Math.ceil(start / FOLIO_NR) * FOLIO_NR; blk + FOLIO_NR <= end; blk += FOLIO_NR) {
    const leaf = mm.tables.hugeLeaf(blk);
    if (!leaf || leaf.pfn === 0 || !leaf.present) continue;
    const src = m.frames.all[leaf.pfn];
    if (!wholeThp(src)) continue;
    const dst = allocDeviceFolio(m, d, bo);
    if (!dst) continue;
    mapDeviceFolioPmd(m, mm, null, blk, src, dst, leaf.writable);
  }
}

/** migrate_vma_check_page for a PMD-mapped THP (as the core): only its one PMD holds it. */
export function wholeThp(src: Frame): boolean { return src.entireMapcount === 1 && src.refcount === 1; }

/**
 * E5: block blk maps device folio dst by a device-private PMD (as the core's
 * mapDeviceFolioPmd): from THP src (remove_migration_pmd), or from a hole or the
 * huge zero page (src null, migrate_vma_insert_huge_pmd_page) as a cleared anon folio of v.
 */
export function mapDeviceFolioPmd(m: Machine, mm: Mm, v: Vma | null, blk: number, src: Frame | null, dst: Frame, write: boolean): void {
  if (src) {
    copyFolio(m, src, dst);
  } else {
    v!.anonVma = true; // anon_vma_prepare
    for (let i = 0; i < FOLIO_NR; i++) {
      const t = m.frames.all[dst.pfn + i];
      t.content = 0; // clear_highpage
      t.index = v!.fileIndex(blk) + i;
      t.anon = true;
    }
    if (m.rules.anonExclusive) dst.anonExclusive = true;
  }
  const bits = PTE_DEVICE_PRIVATE | (write ? PTE_WRITE : 0);
  const leaf = mm.tables.hugeLeaf(blk);
  if (leaf) { // over the THP's or the huge zero page's PMD
    leaf.pfn = dst.pfn;
    leaf.bits = bits;
  } else {
    mm.tables.setHugeLeaf(m.tablePool, blk, new Pte(dst.pfn, bits)); // pmd_none
  }
  folioGet(m, dst, 1, mm.id, blk);
  dst.entireMapcount = 1;
  m.counters.atomicMap++;
  folioPut(m, dst, 1, -1, -1); // migrate_vma_finalize: the driver's allocation reference
  if (src) {
    src.entireMapcount = 0;
    m.counters.atomicMap++;
    folioPut(m, src, 1, mm.id, blk); // the THP's last reference: back to the pool
  }
  m.counters.migrated += FOLIO_NR;
}

/** folio_split of a large device-private folio: every PMD of it split, then small pages; false if refused. */
export function splitDeviceFolio(m: Machine, head: Frame, heldPage: Frame | null, held: number): boolean {
  if (!head.head) return true;
  for (const mm of m.mms.alive) {
    const blk = pmdAddress(mm, head); // rmap: where this mm maps the folio by a PMD
    if (blk !== undefined) splitHugePmd(m, mm, blk);
  }
  if (head.refcount !== m.frames.folioMapcount(head) + held) {
    m.counters.thpSplitFailed++;
    return false;
  }
  const pages: Frame[] = [];
  for (let i = 0; i < FOLIO_NR; i++) pages.push(m.frames.all[head.pfn + i]);
  for (const f of pages) {
    f.refcount = f.mapcount + (f === heldPage ? held : 0);
    f.head = false;
    f.tail = false;
  }
  head.entireMapcount = 0;
  m.frames.noteSplitLarge();
  m.counters.thpSplitFolio++;
  for (const f of pages) if (f.refcount === 0) pageFree(m, f, -1, -1); // unmapped pages go back
  return true;
}

/** Large device folios PMD-mapped in [start, end) of mm, split. */
export function splitDevicePmdsIn(m: Machine, mm: Mm, start: number, end: number): void {
  for (let b = blockStart(start); b < end; b += FOLIO_NR) {
    const leaf = mm.tables.hugeLeaf(b);
    if (leaf && leaf.devicePrivate) splitDeviceFolio(m, m.frames.all[leaf.pfn], null, 0);
  }
}

/** Every large device folio of driver d (of BO b if b > 0) that processes map, split (migrate_device_range). */
export function splitDeviceFoliosOf(m: Machine, d: Driver, b: number): void {
  for (let pfn = d.base; pfn < d.base + d.size; pfn++) {
    const f = m.frames.all[pfn];
    if (!f.head || f.driverHeld || (b > 0 && f.owner !== b)) continue;
    splitDeviceFolio(m, f, null, 0);
  }
}

/** hugeFault's answer when the access must go through a PTE instead. */
export const HUGE_NONE = -1;

export function blockStart(vpn: number): number {
  return vpn - (vpn % FOLIO_NR);
}

/** thp_vma_allowable_order + pmd_none: may a fault at vpn map a PMD-sized folio? */
export function thpEligible(mm: Mm, v: Vma, vpn: number): boolean {
  if ((v.flags & VM_HUGEPAGE) === 0 || !v.anon) return false;
  const s = blockStart(vpn);
  return s >= v.start && s + FOLIO_NR <= v.end && mm.tables.pmdNone(vpn);
}

/** do_huge_pmd_anonymous_page: the huge zero page on a read, a new THP on a write; false if no THP is free. */
export function doHugePmdAnonymousPage(m: Machine, mm: Mm, v: Vma, vpn: number, write: boolean): boolean {
  const s = blockStart(vpn);
  v.anonVma = true; // 6.1 mm/huge_memory.c: before the huge zero page test, so a read sets it too
  if (!write) {
    mm.tables.setHugeLeaf(m.tablePool, s, new Pte(0, PTE_PRESENT | PTE_SPECIAL)); // mm_get_huge_zero_folio
    return true;
  }
  const head = m.frames.allocHuge();
  if (!head) {
    m.counters.thpFallback++;
    return false;
  }
  for (let i = 0; i < FOLIO_NR; i++) {
    const page = m.frames.all[head.pfn + i];
    page.index = v.fileIndex(s) + i;
    page.anon = true;
  }
  if (m.rules.anonExclusive) head.anonExclusive = true;
  head.entireMapcount = 1; // folio_add_new_anon_rmap (RMAP_EXCLUSIVE), PMD level
  m.counters.atomicMap++;
  mm.tables.setHugeLeaf(m.tablePool, s, new Pte(head.pfn, PTE_PRESENT | PTE_WRITE));
  m.counters.thpAllocated++;
  return true;
}

/** __split_huge_pmd_locked: the PMD becomes FOLIO_NR PTEs; +FOLIO_NR-1 refs, a mapping per page, entire -1. */
export function splitHugePmd(m: Machine, mm: Mm, vpn: number): void {
  const s = blockStart(vpn);
  mmuNotifierInvalidate(m, mm.id, s, s + FOLIO_NR, MMU_NOTIFY_CLEAR, -1); // __split_huge_pmd
  const leaf = mm.tables.clearHugeLeaf(s)!;
  m.counters.thpSplitPmd++;
  const table = mm.tables.table(s)!;
  if (leaf.pfn === 0) {
    for (let i = 0; i < FOLIO_NR; i++) table.entries.set(s + i, new Pte(0, PTE_PRESENT | PTE_SPECIAL)); // huge zero page
    return;
  }
  const head = m.frames.all[leaf.pfn];
  const bits = leaf.bits & (PTE_PRESENT | PTE_WRITE | PTE_DEVICE_PRIVATE); // a device-private PMD splits into device-private entries
  const exclusive = head.anonExclusive;
  for (let i = 0; i < FOLIO_NR; i++) {
    const page = m.frames.all[head.pfn + i];
    table.entries.set(s + i, new Pte(page.pfn, bits));
    page.mapcount++;
    if (exclusive) page.anonExclusive = true;
  }
  m.counters.atomicMap += FOLIO_NR; // folio_add_anon_rmap_ptes: each page's _mapcount
  folioGet(m, head, FOLIO_NR - 1, mm.id, s); // folio_ref_add(HPAGE_PMD_NR - 1)
  head.entireMapcount--;
  m.counters.atomicMap++;
}

/**
 * migrate_vma_collect_pmd over the PMD mappings [start, end) touches: the huge zero
 * page is split; a THP is split whole (split_folio) when only mappings hold it and
 * no other process maps it by a PMD, else skipped and left PMD-mapped (as the core).
 */
export function splitHugeForMigration(m: Machine, mm: Mm, start: number, end: number): void {
  for (let b = blockStart(start); b < end; b += FOLIO_NR) {
    const leaf = mm.tables.hugeLeaf(b);
    if (!leaf || !leaf.present) continue; // a device-private PMD is not system memory to migrate
    const head = leaf.pfn === 0 ? undefined : m.frames.all[leaf.pfn];
    if (head && (head.entireMapcount !== 1 || head.refcount !== m.frames.folioMapcount(head))) {
      m.counters.thpSplitFailed++;
      continue;
    }
    splitHugePmd(m, mm, b);
    if (head) {
      m.frames.splitFolioPages(head);
      m.counters.thpSplitFolio++;
    }
  }
}

/** zap_huge_pmd: the PMD and its deposited table go; entire mapcount now, the reference after the TLB flush. */
export function zapHugePmd(m: Machine, mm: Mm, vpn: number): void {
  const s = blockStart(vpn);
  const leaf = mm.tables.zapHugeLeaf(m.tablePool, s)!; // and zap_deposited_table: the block is pmd_none again
  m.counters.ptesZapped++;
  if (leaf.pfn === 0) return; // the huge zero page holds nothing
  const head = m.frames.all[leaf.pfn];
  if (!head.usable) {
    m.log.record(V_UAF, head.pfn, mm.id, s, head.refcount, head.entireMapcount, 4);
    return;
  }
  if (m.counters.pins > 0) for (let i = 0; i < FOLIO_NR; i++) detachPins(m, mm.id, s + i, head.pfn + i);
  m.counters.atomicMap++;
  if (head.entireMapcount <= 0) m.log.record(V_UNDERFLOW, head.pfn, mm.id, s, head.refcount, head.entireMapcount, -1);
  else head.entireMapcount--;
  head.lastOp = m.log.currentOp;
  if (leaf.devicePrivate) folioPut(m, head, 1, mm.id, s); // a device-private PMD is not TLB-batched
  else tlbRemoveFolio(m, mm.id, head, 1);
}

/**
 * folio_pte_batch: how many PTEs from vpn (before `last`) map consecutive pages of
 * pte's large folio with the same bits, so fork and zap can handle them as one.
 */
export function folioPteBatch(m: Machine, table: PteTable, vpn: number, pte: Pte, last: number): number {
  const head = m.frames.folioOf(m.frames.all[pte.pfn]);
  let nr = 1;
  for (;;) {
    if (vpn + nr >= last || pte.pfn + nr >= head.pfn + FOLIO_NR) return nr;
    const next = table.entries.get(vpn + nr);
    if (!next || next.pfn !== pte.pfn + nr || next.bits !== pte.bits) return nr;
    nr++;
  }
}

/** folio_maybe_dma_pinned for a large folio: the exact _pincount. */
export function largeMaybePinned(head: Frame): boolean {
  return head.pincount > 0;
}

/** copy_huge_pmd: share the THP with the child, or (maybe pinned) split it and return false for a PTE copy. */
export function copyHugePmd(m: Machine, parent: Mm, child: Mm, cow: boolean, vpn: number): boolean {
  const s = blockStart(vpn);
  const leaf = parent.tables.hugeLeaf(s)!;
  const head = leaf.pfn === 0 ? undefined : m.frames.all[leaf.pfn];
  if (head && !head.usable) m.log.record(V_UAF, head.pfn, parent.id, s, head.refcount, head.entireMapcount, 5);
  if (head && m.rules.cowPinnedAtFork && parent.pinned > 0 && largeMaybePinned(head)) {
    splitHugePmd(m, parent, s); // folio_try_dup_anon_rmap_pmd failed: __split_huge_pmd, -EAGAIN
    return false;
  }
  if (cow) leaf.bits &= ~PTE_WRITE;
  child.tables.setHugeLeaf(m.tablePool, s, new Pte(leaf.pfn, leaf.bits));
  const from = parent.tables.table(s)!.expected;
  const to = child.tables.table(s)!;
  for (const [v, value] of from) to.setExpected(v, value);
  m.counters.ptesCopied++;
  if (!head) return true;
  folioGet(m, head, 1, parent.id, s);
  head.entireMapcount++;
  m.counters.atomicMap++;
  head.anonExclusive = false;
  return true;
}

/** do_huge_pmd_wp_page: reuse an exclusive (or singly referenced) THP, else split; true if reused. */
export function doHugePmdWpPage(m: Machine, mm: Mm, vpn: number, makeWritable: boolean): boolean {
  const s = blockStart(vpn);
  const leaf = mm.tables.hugeLeaf(s)!;
  if (leaf.pfn !== 0) {
    const head = m.frames.all[leaf.pfn];
    const exclusive = m.rules.anonExclusive && head.anonExclusive;
    if (exclusive || head.refcount === 1) {
      if (m.rules.anonExclusive) head.anonExclusive = true;
      if (makeWritable) leaf.bits |= PTE_WRITE;
      m.counters.wpReuse++;
      return true;
    }
  }
  splitHugePmd(m, mm, s);
  return false;
}

/** can_split_folio + split_folio before migrating a PTE-mapped THP; true when split (or small). */
export function trySplitFolio(m: Machine, head: Frame): boolean {
  if (!head.head) return true;
  if (head.entireMapcount !== 0 || head.refcount !== m.frames.folioMapcount(head)) {
    m.counters.thpSplitFailed++;
    return false;
  }
  m.frames.splitFolioPages(head);
  m.counters.thpSplitFolio++;
  return true;
}

/** A migration source in a large folio is split first (THP: split_folio; device folio: folio_split); false if it cannot be. */
export function splitForMigration(m: Machine, src: Frame, held: number): boolean {
  if (!src.large) return true;
  const head = m.frames.folioOf(src);
  return m.frames.isDevice(src.pfn) ? splitDeviceFolio(m, head, src, held) : trySplitFolio(m, head);
}

/** Frames copy_present_page would need at fork for PMD-mapped, maybe-pinned THPs in [start, end). */
export function pinnedHugeIn(m: Machine, parent: Mm, start: number, end: number): number {
  if (!m.rules.cowPinnedAtFork || parent.pinned === 0) return 0;
  let n = 0;
  for (let b = blockStart(start); b < end; b += FOLIO_NR) {
    const leaf = parent.tables.hugeLeaf(b);
    if (leaf && leaf.pfn !== 0 && largeMaybePinned(m.frames.all[leaf.pfn])) n += FOLIO_NR;
  }
  return n;
}

/**
 * The PMD part of handle_mm_fault: the page an access at vpn reaches through a
 * PMD (0 for the huge zero page), or HUGE_NONE when the PTE path must handle it.
 */
/**
 * do_huge_pmd_device_private -> migrate_to_ram with vmf->pte == NULL, as
 * dmirror_devmem_fault does it (as the core's devicePmdFault): the whole folio
 * into a THP mapped by every PMD that mapped it, or 512 small pages after a split.
 */
export function devicePmdFault(m: Machine, mm: Mm, blk: number, head: Frame, failAlloc: boolean): boolean {
  mmuNotifierInvalidate(m, mm.id, blk, blk + FOLIO_NR, MMU_NOTIFY_MIGRATE, head.driver!.owner); // migrate_vma_collect
  for (let i = 0; i < FOLIO_NR; i++) dmirrorFaultErase(m, m.frames.all[head.pfn + i], blk + i); // xa_erase per page
  const pmds = head.entireMapcount;
  const whole = m.frames.folioMapcount(head) === pmds && head.refcount === pmds;
  const dst = whole && !failAlloc ? m.frames.allocHuge() : undefined;
  m.migration.pmdFaultMoved = 0;
  if (!dst) {
    splitDeviceFolio(m, head, null, 0);
    for (let i = 0; i < FOLIO_NR; i++) {
      const pte = mm.tables.get(blk + i);
      if (pte?.devicePrivate && migratePageToRam(m, m.frames.all[pte.pfn], 0, mm.id, blk + i)) m.migration.pmdFaultMoved++;
    }
    return false;
  }
  copyFolio(m, head, dst);
  for (const space of m.mms.alive) {
    const at = pmdAddress(space, head);
    if (at === undefined) continue;
    const leaf = space.tables.hugeLeaf(at)!;
    leaf.pfn = dst.pfn; // remove_migration_pmd
    leaf.bits = PTE_PRESENT | (leaf.bits & PTE_WRITE);
    folioGet(m, dst, 1, space.id, at);
    dst.entireMapcount++;
    head.entireMapcount--;
    m.counters.atomicMap += 2;
    folioPut(m, head, 1, space.id, at); // the device PMD's reference
  }
  m.counters.thpAllocated++;
  m.counters.migrated += FOLIO_NR;
  folioPut(m, dst, 1, -1, -1); // migrate_vma_finalize: the new folio's allocation reference
  return true;
}

export function hugeFault(m: Machine, mm: Mm, v: Vma, vpn: number, write: boolean, unshare: boolean, unshareZero = false): number {
  let leaf = mm.tables.hugeLeaf(vpn);
  if (!leaf) {
    if (!thpEligible(mm, v, vpn) || !doHugePmdAnonymousPage(m, mm, v, vpn, write)) return HUGE_NONE;
    m.counters.faults++;
    leaf = mm.tables.hugeLeaf(vpn)!;
  }
  let head = leaf.pfn;
  if (leaf.devicePrivate) {
    m.counters.faults++;
    const dev = m.frames.all[head];
    if (!devicePmdFault(m, mm, blockStart(vpn), dev, dmirrorTakeFailAlloc(m, dev))) return HUGE_NONE; // now mapped by PTEs
    leaf = mm.tables.hugeLeaf(vpn)!; // a THP mapped by the PMD
    head = leaf.pfn;
  }
  const needsWp = write && (leaf.bits & PTE_WRITE) === 0;
  const needsUnshare = unshare && head !== 0 && m.rules.anonExclusive && !m.frames.all[head].anonExclusive;
  if (needsWp || needsUnshare || (unshareZero && head === 0)) {
    if (!doHugePmdWpPage(m, mm, vpn, needsWp)) return HUGE_NONE;
    m.counters.faults++;
    head = mm.tables.hugeLeaf(vpn)!.pfn;
  }
  return head === 0 ? 0 : head + (vpn % FOLIO_NR);
}

/** The driver's copy of a whole anonymous folio (folio_copy / copy_highpage per page): data, index, anon, exclusive. */
function copyFolio(m: Machine, src: Frame, dst: Frame): void {
  for (let i = 0; i < FOLIO_NR; i++) {
    const s = m.frames.all[src.pfn + i];
    const t = m.frames.all[dst.pfn + i];
    t.content = s.content;
    t.index = s.index;
    t.anon = true;
  }
  if (src.anonExclusive) dst.anonExclusive = true;
}
