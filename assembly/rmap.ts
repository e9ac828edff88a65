// Reverse mapping of anonymous pages (rmap_walk_anon): every PTE or
// device-private entry that maps a page. page->index is the page's linear index
// (linear_page_index: vm_pgoff + offset in the VMA), which fork and mremap keep
// (copy_vma carries vm_pgoff), so in each live mm the page sits where a private
// VMA's pgoff range holds its index (vma_address); a walk visits each mm there.
import { PTE_PRESENT, PTE_SPECIAL, PTE_DEVICE_PRIVATE, PTE_MIGRATION, FOLIO_NR, PT_ENTRIES } from "./abi";
import { pageIndex, mapcount } from "./frames";
import { liveMms, liveMm, firstVma, vmaNext, vmaStart, vmaEnd, vmaPgoff, isCow, shiftedVmas, cachedVma, findVmaAfter } from "./mm";
import { ptePtr, hugeLeaf, ptePfn, vpnValid, pteTableOf, pteTableBase, pteSlot, PTE_SLOT } from "./pgtable";
import { currentOp } from "./violations";

export let walkPtr: usize = 0; // PTE addresses found
export let walkMm: usize = 0;
export let walkPte: usize = 0; // the entry as it was
export let walkVpn: usize = 0; // where it maps the page
let walkCap: i32 = 0;

export function initRmap(mmCap: i32): void {
  walkCap = mmCap;
  walkPtr = heap.alloc(<usize>mmCap << 2);
  walkMm = heap.alloc(<usize>mmCap << 2);
  walkPte = heap.alloc(<usize>mmCap << 2);
  walkVpn = heap.alloc(<usize>mmCap << 2);
}

@inline export function walkAt(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }

/** No address: the index is in no private VMA of the mm. */
export const NO_ADDR: u32 = 0xffffffff;

/**
 * vma_address in mm for page index idx: the vpn where a private VMA whose pgoff
 * range holds idx puts it, and whose entry there maps pfn (a VMA mremap left
 * behind with MREMAP_DONTUNMAP keeps the range but maps nothing). NO_ADDR if none.
 */
export function anonAddress(mm: i32, idx: u32, pfn: u32): u32 {
  for (let v = firstVma(mm); v >= 0; v = vmaNext(v)) {
    if (!isCow(v) || idx < vmaPgoff(v) || idx - vmaPgoff(v) >= vmaEnd(v) - vmaStart(v)) continue;
    const vpn = vmaStart(v) + (idx - vmaPgoff(v));
    const p = ptePtr(mm, vpn, false);
    if (p != 0 && ptePfn(load<u32>(p)) == pfn) return vpn;
  }
  return NO_ADDR;
}

/** The vpn of the 2 MiB block of mm whose PMD maps large folio head (rmap of a PMD mapping), or NO_ADDR. */
export function pmdAddress(mm: i32, head: u32): u32 {
  const idx = pageIndex(head);
  for (let v = firstVma(mm); v >= 0; v = vmaNext(v)) {
    if (!isCow(v) || idx < vmaPgoff(v) || idx - vmaPgoff(v) >= vmaEnd(v) - vmaStart(v)) continue;
    const vpn = vmaStart(v) + (idx - vmaPgoff(v));
    if (ptePfn(hugeLeaf(mm, vpn)) == head) return vpn;
  }
  return NO_ADDR;
}

/**
 * How many of large folio head's mappings are in mm: its PMD there, and each page's
 * PTE at the page's address (an anon page is mapped at most once per mm). Equal to
 * the folio's mapcount when no other process maps it (what the folio's per-MM
 * mapcount slots tell folio_test_large_maybe_mapped_shared, 6.15 include/linux/mm.h).
 */
export function folioMappingsIn(mm: i32, head: u32): i32 {
  let n = pmdAddress(mm, head) != NO_ADDR ? 1 : 0;
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    const pfn = head + i;
    if (mapcount(pfn) > 0 && anonAddress(mm, pageIndex(pfn), pfn) != NO_ADDR) n++;
  }
  return n;
}

// A migrate_vma's walks (performance only). Between migrateBegin and migrateFinalize of one op no pgd or
// pmd slot of any mm changes but where the migration populates a hole (migrate.ts drops the tables then):
// migrate_vma_collect_pmd's pages lie in one 2 MiB block, so the pte table over it is looked up once per
// live mm (fillTables) and each walk of a page in that block reads one entry per mm.
const TABLES_MMS = 64; // live mms the tables cover (more: the walk looks each table up, as outside a migration)
const NO_BLOCK: u32 = 0xffffffff;
const SHIFTED_MM: u32 = 1; // walkTables' mark of an mm with a shifted VMA (a table base is never 0 or 1)
const walkTables = memory.data(TABLES_MMS * 4); // per live index: the pte table base over tablesBlock, SHIFTED_MM, or 0 (none)
let tablesOn = false;
let tablesOp: i32 = -1; // the op whose migration opened them (setCurrentOp's sequence number)
let tablesBlock: u32 = NO_BLOCK; // idx >> 9 of the block they cover, NO_BLOCK: to be filled

/** migrateBegin: the walks of this op's migration may keep the tables over their block. */
export function walkTablesBegin(): void {
  tablesOn = true;
  tablesOp = currentOp;
  tablesBlock = NO_BLOCK;
}

/** migrateFinalize: the migration is over, walks look every table up again. */
export function walkTablesEnd(): void {
  tablesOn = false;
  tablesBlock = NO_BLOCK;
}

/** A pgd or pmd slot may have changed (a hole populated): the tables are looked up again at the next walk. */
export function walkTablesDrop(): void {
  tablesBlock = NO_BLOCK;
}

/** The pte table base over block blk of each live mm (pteTableOf), or SHIFTED_MM, or 0. */
function fillTables(blk: u32): void {
  tablesBlock = blk;
  for (let i = 0; i < liveMms; i++) {
    const mm = liveMm(i);
    let t: u32 = SHIFTED_MM;
    if (shiftedVmas(mm) == 0) {
      const pt = pteTableOf(mm, blk << 9);
      t = pt == 0 ? 0 : <u32>pteTableBase(pt);
    }
    store<u32>(walkTables + (<usize>i << 2), t);
  }
}

/**
 * Collect the refcounted mappings of anon page pfn; returns how many. Two passes over the live mms
 * (performance only): the first, with no call, reads the entry at vpn idx of each mm whose VMAs are
 * all unshifted and keeps as candidates those that map pfn and every mm with a shifted VMA; the
 * second looks at the candidates, in the same mm order, as the one-pass walk did.
 */
export function rmapWalk(pfn: u32): i32 {
  const idx = pageIndex(pfn);
  const direct = vpnValid(<i64>idx); // else no VMA reaches vpn idx
  let c = 0; // candidates, in walkMm / walkPtr (ptr 0: a shifted mm, walked in full)
  if (tablesOn && direct && currentOp == tablesOp && liveMms <= TABLES_MMS) {
    // the same candidates as below, from the tables over idx's block
    if (idx >> 9 != tablesBlock) fillTables(idx >> 9);
    const off = <usize>(idx & (PT_ENTRIES - 1)) * PTE_SLOT;
    for (let i = 0; i < liveMms; i++) {
      const t = load<u32>(walkTables + (<usize>i << 2));
      if (t == 0) continue;
      let p: usize = 0;
      if (t != SHIFTED_MM) {
        p = <usize>t + off;
        if (ptePfn(load<u32>(p)) != pfn) continue;
      }
      store<i32>(walkMm + (<usize>c << 2), liveMm(i));
      store<i32>(walkPtr + (<usize>c << 2), <i32>p);
      c++;
    }
    return recordCandidates(idx, pfn, c);
  }
  for (let i = 0; i < liveMms; i++) {
    const mm = liveMm(i);
    let p: usize = 0;
    if (shiftedVmas(mm) == 0) {
      // Every private VMA of mm has vm_pgoff == vm_start: the one whose pgoff range holds idx is the
      // one containing vpn idx (vma_address is idx), so the entry there is read first and the VMA
      // looked up only for an entry that maps pfn (recordAt): the same answer as walkShifted.
      if (!direct) continue;
      const pt = pteTableOf(mm, idx);
      if (pt == 0) continue;
      p = pteSlot(pteTableBase(pt), <usize>(idx & (PT_ENTRIES - 1)));
      if (ptePfn(load<u32>(p)) != pfn) continue;
    }
    store<i32>(walkMm + (<usize>c << 2), mm);
    store<i32>(walkPtr + (<usize>c << 2), <i32>p);
    c++;
  }
  return recordCandidates(idx, pfn, c);
}

/** rmapWalk's second pass: the c candidates in mm order, each recorded if it maps the page. */
@inline function recordCandidates(idx: u32, pfn: u32, c: i32): i32 {
  let n = 0; // n <= k: record overwrites only candidates already read
  for (let k = 0; k < c; k++) {
    const mm = walkAt(walkMm, k);
    const p = <usize>walkAt(walkPtr, k);
    n = p == 0 ? walkShifted(mm, idx, pfn, n) : recordAt(mm, idx, p, n);
  }
  return n;
}

/** rmapWalk in an unshifted mm whose entry at vpn maps the page: record it if a private VMA holds vpn. */
@inline function recordAt(mm: i32, vpn: u32, p: usize, n: i32): i32 {
  return privateVmaHolds(mm, vpn) ? record(mm, vpn, p, n) : n;
}

/** rmapWalk in an mm with a shifted VMA: anonAddress inlined, the entry it finds is the one recorded (no second ptePtr). */
function walkShifted(mm: i32, idx: u32, pfn: u32, n: i32): i32 {
  for (let v = firstVma(mm); v >= 0; v = vmaNext(v)) {
    const off = vmaPgoff(v);
    if (!isCow(v) || idx < off || idx - off >= vmaEnd(v) - vmaStart(v)) continue;
    const at = vmaStart(v) + (idx - off);
    const q = ptePtr(mm, at, false);
    if (q == 0 || ptePfn(load<u32>(q)) != pfn) continue;
    return record(mm, at, q, n); // anonAddress's first match is the mm's one address for the page
  }
  return n;
}

/** The walk's n-th mapping: the entry at p maps the page at (mm, vpn); kept if it holds a reference (n < walkCap). */
@inline function record(mm: i32, vpn: u32, p: usize, n: i32): i32 {
  const pte = load<u32>(p);
  const mapped = (pte & (PTE_PRESENT | PTE_SPECIAL)) == PTE_PRESENT || (pte & (PTE_DEVICE_PRIVATE | PTE_MIGRATION)) != 0;
  if (!mapped || n >= walkCap) return n;
  store<i32>(walkPtr + (<usize>n << 2), <i32>p);
  store<i32>(walkMm + (<usize>n << 2), mm);
  store<u32>(walkPte + (<usize>n << 2), pte);
  store<u32>(walkVpn + (<usize>n << 2), vpn);
  return n + 1;
}

/** A private VMA of mm contains vpn (find_vma's answer, but the vmacache left as it was: a walk is no access). */
@inline function privateVmaHolds(mm: i32, vpn: u32): bool {
  let v = cachedVma(mm);
  if (v < 0 || vpn < vmaStart(v) || vpn >= vmaEnd(v)) {
    v = findVmaAfter(mm, vpn);
    if (v < 0 || vpn < vmaStart(v)) return false;
  }
  return isCow(v);
}
