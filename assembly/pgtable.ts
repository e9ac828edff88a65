// Page tables: three levels of 512 entries, like x86-64's pgd/pmd/pte with the
// upper levels folded. Each mm owns a pgd; pmd and pte tables come from fixed pools
// (index 0 = none), so no memory is allocated after init. Each PTE has a shadow word
// beside it (one 8-byte slot: the PTE, then the value this process last wrote there,
// the expected data for corruption checks of anonymous memory), so an op that reads
// both finds them in one cache line; pteSlot(base, i) is entry i of a table.
// A pmd slot that maps a THP is `table | PMD_HUGE`: the table is the one deposited
// for a later split (pgtable_trans_huge_deposit), its PTEs stay none, its shadow
// words hold the expected data of the 512 subpages, and the PMD entry itself is
// pmdLeaf[table].
import { PT_ENTRIES, VPN_BITS, PMD_HUGE, PTE_PFN_SHIFT } from "./abi";

/** pte_pfn and mk_pte (arch/x86/include/asm/pgtable.h): the frame a PTE word names, and a PTE word for a frame. */
@inline export function ptePfn(pte: u32): u32 { return pte >> PTE_PFN_SHIFT; }
@inline export function mkPte(pfn: u32, bits: u32): u32 { return (pfn << PTE_PFN_SHIFT) | bits; }

/** Bytes per pte table entry: the PTE word, then its shadow (expected data) word. */
export const PTE_SLOT: usize = 8;
/** Entry i of the pte table at base (pteTableBase), or the PTE i entries after the one at base. */
@inline export function pteSlot(base: usize, i: usize): usize { return base + i * PTE_SLOT; }

export let pgdBase: usize = 0; // mmCap * 512 u32: pmd table index per pgd slot
let pmdPool: usize = 0; // pmd tables: pte table index per slot
let ptePool: usize = 0; // pte tables: PTE_SLOT bytes per entry, the PTE word and its shadow word
// Free tables link through their first entry (a table is zeroed when it is taken),
// so the pools' free lists cost no memory of their own. LIFO, like a free stack.
let pmdFreeHead: i32 = 0;
let pmdFreeCount: i32 = 0;
let pteFreeHead: i32 = 0;
let pteFreeCount: i32 = 0;
let tablesPerMm: usize = 0; // i32 per mm: pmd + pte tables it owns
let pmdLeaf: usize = 0; // per pte table: the PMD entry while its slot is PMD_HUGE
/** PMD mappings alive in all mms: while 0, walkers skip the PMD test on their hot paths. */
export let hugeLeaves: i32 = 0;

export function initPageTables(mmCap: i32, nPmd: i32, nPte: i32): void {
  pgdBase = heap.alloc(<usize>mmCap * PT_ENTRIES * 4);
  memory.fill(pgdBase, 0, <usize>mmCap * PT_ENTRIES * 4);
  tablesPerMm = heap.alloc(<usize>mmCap << 2);
  memory.fill(tablesPerMm, 0, <usize>mmCap << 2);
  pmdPool = heap.alloc(<usize>(nPmd + 1) * PT_ENTRIES * 4);
  ptePool = heap.alloc(<usize>(nPte + 1) * PT_ENTRIES * PTE_SLOT);
  pmdLeaf = heap.alloc(<usize>(nPte + 1) << 2);
  memory.fill(pmdLeaf, 0, <usize>(nPte + 1) << 2);
  // Tables are taken in ascending index order, so runs are deterministic and easy to read.
  for (let i = nPmd; i >= 1; i--) freePmdTable(i);
  for (let i = nPte; i >= 1; i--) freePteTable(i);
}

@inline function freePmdTable(pmd: i32): void {
  store<i32>(pmdPool + <usize>pmd * PT_ENTRIES * 4, pmdFreeHead);
  pmdFreeHead = pmd;
  pmdFreeCount++;
}

@inline function takePmdTable(): i32 {
  const pmd = pmdFreeHead;
  pmdFreeHead = load<i32>(pmdPool + <usize>pmd * PT_ENTRIES * 4);
  pmdFreeCount--;
  return pmd;
}

@inline function freePteTable(pt: i32): void {
  store<i32>(pteTableBase(pt), pteFreeHead);
  pteFreeHead = pt;
  pteFreeCount++;
}

@inline function takePteTable(): i32 {
  const pt = pteFreeHead;
  pteFreeHead = load<i32>(pteTableBase(pt));
  pteFreeCount--;
  return pt;
}

export function pmdTablesLeft(): i32 { return pmdFreeCount; }
export function pteTablesLeft(): i32 { return pteFreeCount; }
export function tablesOf(mm: i32): i32 { return load<i32>(tablesPerMm + (<usize>mm << 2)); }
@inline function addTables(mm: i32, n: i32): void {
  const p = tablesPerMm + (<usize>mm << 2);
  store<i32>(p, load<i32>(p) + n);
}

@inline export function vpnValid(vpn: i64): bool { return vpn >= 0 && vpn < (<i64>1 << VPN_BITS); }

@inline function pgdSlot(mm: i32, vpn: u32): usize {
  return pgdBase + ((<usize>mm * PT_ENTRIES + <usize>(vpn >> 18)) << 2);
}

/** The pte table covering vpn (a THP's deposited one included), or 0 when none is allocated. */
@inline export function pteTableOf(mm: i32, vpn: u32): i32 {
  const pmd = load<i32>(pgdSlot(mm, vpn));
  if (pmd == 0) return 0;
  return load<i32>(pmdPool + ((<usize>pmd * PT_ENTRIES + <usize>((vpn >> 9) & 511)) << 2)) & ~PMD_HUGE;
}

/** Address of the pmd slot for vpn, or 0 when the mm has no pmd table there. */
function pmdSlot(mm: i32, vpn: u32): usize {
  const pmd = load<i32>(pgdSlot(mm, vpn));
  if (pmd == 0) return 0;
  return pmdPool + ((<usize>pmd * PT_ENTRIES + <usize>((vpn >> 9) & 511)) << 2);
}

/** pmd_trans_huge: the PMD entry mapping vpn's 2 MiB block, or 0. */
export function hugeLeaf(mm: i32, vpn: u32): u32 {
  if (hugeLeaves == 0) return 0;
  const m = pmdSlot(mm, vpn);
  if (m == 0) return 0;
  const slot = load<i32>(m);
  return (slot & PMD_HUGE) != 0 ? load<u32>(pmdLeaf + (<usize>(slot & ~PMD_HUGE) << 2)) : 0;
}

/** pmd_none: no pte table and no PMD mapping at vpn's block (where a THP may be mapped). */
export function pmdNone(mm: i32, vpn: u32): bool {
  const m = pmdSlot(mm, vpn);
  return m == 0 || load<i32>(m) == 0;
}

/** The leaf word of the PMD mapping at vpn (the caller knows there is one). */
export function hugeLeafPtr(mm: i32, vpn: u32): usize {
  return pmdLeaf + (<usize>(load<i32>(pmdSlot(mm, vpn)) & ~PMD_HUGE) << 2);
}

/** set_pmd_at after a deposit: map vpn's block with PMD entry `leaf` (the caller checked table space). */
export function setHugeLeaf(mm: i32, vpn: u32, leaf: u32): void {
  ptePtr(mm, vpn, true); // pmd table and the deposited pte table
  const m = pmdSlot(mm, vpn);
  const t = load<i32>(m) & ~PMD_HUGE;
  if ((load<i32>(m) & PMD_HUGE) == 0) hugeLeaves++;
  store<i32>(m, t | PMD_HUGE);
  store<u32>(pmdLeaf + (<usize>t << 2), leaf);
}

/**
 * zap_huge_pmd: clear the PMD and free its deposited table (zap_deposited_table),
 * so the block is pmd_none again and a later fault may map a new THP. Returns the
 * old PMD entry; the caller already cleared the table's shadow words.
 */
export function zapHugeLeaf(mm: i32, vpn: u32): u32 {
  const m = pmdSlot(mm, vpn);
  const t = load<i32>(m) & ~PMD_HUGE;
  const p = pmdLeaf + (<usize>t << 2);
  const leaf = load<u32>(p);
  store<u32>(p, 0);
  store<i32>(m, 0);
  hugeLeaves--;
  freePteTable(t);
  addTables(mm, -1);
  return leaf;
}

/**
 * pmdp_huge_clear / the start of __split_huge_pmd: the slot points at its deposited
 * table again, as an ordinary (still empty) pte table; returns the old PMD entry.
 */
export function clearHugeLeaf(mm: i32, vpn: u32): u32 {
  const m = pmdSlot(mm, vpn);
  const t = load<i32>(m) & ~PMD_HUGE;
  const p = pmdLeaf + (<usize>t << 2);
  const leaf = load<u32>(p);
  store<u32>(p, 0);
  store<i32>(m, t);
  hugeLeaves--;
  return leaf;
}

/** pud_none is false: vpn's 1 GiB slot has a pmd table (change_pud_range starts its notifier there). */
export function pudPopulated(mm: i32, vpn: u32): bool { return load<i32>(pgdSlot(mm, vpn)) != 0; }

/**
 * move_normal_pmd / move_huge_pmd: the pte table under vpn `from`'s pmd slot (a
 * PMD mapping with its deposited table included) moves to `to`'s slot, which is
 * pmd_none; the entries and their expected data go with it. Allocates `to`'s pmd
 * table if there is none (the caller checked space).
 */
export function moveTable(mm: i32, from: u32, to: u32): void {
  const src = pmdSlot(mm, from);
  let g = pgdSlot(mm, to);
  let pmd = load<i32>(g);
  if (pmd == 0) {
    pmd = takePmdTable();
    memory.fill(pmdPool + <usize>pmd * PT_ENTRIES * 4, 0, PT_ENTRIES * 4);
    store<i32>(g, pmd);
    addTables(mm, 1);
  }
  const dst = pmdPool + ((<usize>pmd * PT_ENTRIES + <usize>((to >> 9) & 511)) << 2);
  store<i32>(dst, load<i32>(src));
  store<i32>(src, 0);
}

/** Tables that a fault at vpn would have to allocate (0, 1 or 2): for the space check. */
@inline export function tablesNeeded(mm: i32, vpn: u32): i32 {
  const pmd = load<i32>(pgdSlot(mm, vpn));
  if (pmd == 0) return 2;
  return load<i32>(pmdPool + ((<usize>pmd * PT_ENTRIES + <usize>((vpn >> 9) & 511)) << 2)) == 0 ? 1 : 0; // a THP's slot has its table
}

/** Address of the PTE for vpn (pte_offset_map); allocates tables when asked. 0 if absent. */
@inline export function ptePtr(mm: i32, vpn: u32, alloc: bool): usize {
  const g = pgdSlot(mm, vpn);
  let pmd = load<i32>(g);
  if (pmd == 0) {
    if (!alloc || pmdFreeCount == 0) return 0;
    pmd = takePmdTable();
    memory.fill(pmdPool + <usize>pmd * PT_ENTRIES * 4, 0, PT_ENTRIES * 4);
    store<i32>(g, pmd);
    addTables(mm, 1);
  }
  const m = pmdPool + ((<usize>pmd * PT_ENTRIES + <usize>((vpn >> 9) & 511)) << 2);
  let pt = load<i32>(m) & ~PMD_HUGE;
  if (pt == 0) {
    if (!alloc || pteFreeCount == 0) return 0;
    pt = takePteTable();
    memory.fill(pteTableBase(pt), 0, <usize>PT_ENTRIES * PTE_SLOT); // the PTEs and their shadow words
    store<i32>(m, pt);
    addTables(mm, 1);
  }
  return pteSlot(pteTableBase(pt), <usize>(vpn & 511));
}

/** Entry j of pmd table `pmd`: a pte table index or 0, | PMD_HUGE for a THP mapping. */
@inline export function pmdEntry(pmd: i32, j: i32): i32 {
  return load<i32>(pmdPool + ((<usize>pmd * PT_ENTRIES + <usize>j) << 2));
}

/** The PMD entry of a huge pmd slot value (see pmdEntry). */
@inline export function leafOfSlot(slot: i32): u32 { return load<u32>(pmdLeaf + (<usize>(slot & ~PMD_HUGE) << 2)); }

/** The pmd table index in vpn's pgd slot of mm, 0 when none (ptePtr's first level, for walks that exit on a miss). */
@inline export function pgdEntry(mm: i32, vpn: u32): i32 { return load<i32>(pgdSlot(mm, vpn)); }

/**
 * The PTE of vpn in pmd slot value `slot` (a pmdEntry, not 0): ptePtr's last level. A THP
 * slot's PMD_HUGE (bit 30) leaves the 32-bit address in the product by 4096 (PT_ENTRIES *
 * PTE_SLOT bytes per table), so the deposited table's PTE comes out with no mask (performance only).
 */
@inline export function pteOfSlot(slot: i32, vpn: u32): usize {
  return ptePool + <usize>slot * PT_ENTRIES * PTE_SLOT + <usize>(vpn & (PT_ENTRIES - 1)) * PTE_SLOT;
}

/** First PTE of pte table `pt`. */
@inline export function pteTableBase(pt: i32): usize { return ptePool + <usize>pt * PT_ENTRIES * PTE_SLOT; }

/** The shadow (expected data) word beside a PTE. */
@inline export function shadowOf(pte: usize): usize { return pte + 4; }
/** shadowOf(p) == p + shadowDelta(): for loops that keep it in a local (V8 reloads a wasm global at every use). */
@inline export function shadowDelta(): usize { return 4; }

/** free_pgtables: release the pte tables lying wholly inside [start, end). */
export function freeTablesIn(mm: i32, start: u32, end: u32): void {
  if (tablesOf(mm) == 0) return; // no table to free: free_pgd_range's walk of empty slots, skipped
  let v = (start + 511) & ~511;
  while (v + 512 <= end) {
    const pmd = load<i32>(pgdSlot(mm, v));
    if (pmd != 0) {
      const m = pmdPool + ((<usize>pmd * PT_ENTRIES + <usize>((v >> 9) & 511)) << 2);
      const pt = load<i32>(m) & ~PMD_HUGE; // the caller zapped any PMD mapping first
      if (pt != 0) {
        store<u32>(pmdLeaf + (<usize>pt << 2), 0);
        store<i32>(m, 0);
        freePteTable(pt);
        addTables(mm, -1);
      }
    }
    v += 512;
  }
}

/** Release every table of an mm (exit_mmap -> free_pgtables over the whole range). */
export function freeAllTables(mm: i32): void {
  // The walk ends when it has met every table the mm owns (tablesOf: its pmd and pte tables, a PMD
  // leaf's deposited one too): the slots after those are all empty (performance only).
  let left = tablesOf(mm);
  for (let i = 0; i < PT_ENTRIES; i++) {
    if (left <= 0) break;
    const g = pgdBase + ((<usize>mm * PT_ENTRIES + <usize>i) << 2);
    const pmd = load<i32>(g);
    if (pmd == 0) continue;
    left--;
    for (let j = 0; j < PT_ENTRIES; j++) {
      if (left <= 0) break;
      const slot = load<i32>(pmdPool + ((<usize>pmd * PT_ENTRIES + <usize>j) << 2));
      if ((slot & PMD_HUGE) != 0) hugeLeaves--; // exit_mmap zapped it; its table goes too
      const pt = slot & ~PMD_HUGE;
      if (pt != 0) {
        left--;
        store<u32>(pmdLeaf + (<usize>pt << 2), 0);
        freePteTable(pt);
      }
    }
    freePmdTable(pmd);
    store<i32>(g, 0);
  }
  store<i32>(tablesPerMm + (<usize>mm << 2), 0);
}

/** The PTE word at vpn, 0 where no pte table maps it (ptep_get on pte_offset_map; no table is allocated). */
export function pteAt(mm: i32, vpn: u32): u32 {
  const p = ptePtr(mm, vpn, false);
  return p == 0 ? 0 : load<u32>(p);
}
