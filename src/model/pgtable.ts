/**
 * Page tables of one address space: x86-64-like pgd/pmd/pte levels of 512
 * entries. Entries are Pte objects kept in a Map per leaf table, beside a shadow
 * Map of what this process last wrote at each address (the expected data of its
 * reads). Tables come out of a machine-wide pool (TablePool) whose limits match
 * the core's, so table exhaustion rejects the same ops. A missing entry is pte_none.
 *
 * @example
 * ```ts
 * import { PageTables, TablePool, Pte } from "./pgtable.ts";
 * import { PTE_PRESENT } from "../../assembly/abi.ts";
 * const pool = new TablePool(4, 4);
 * const pt = new PageTables();
 * pt.ensureTable(pool, 0x10000).entries.set(0x10000, new Pte(5, PTE_PRESENT));
 * console.log(pt.get(0x10000)?.pfn, pt.tableCount, pool.pteFree); // 5 2 3
 * ```
 */
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVMAP, PTE_DEVICE_PRIVATE, PTE_DEVICE_EXCLUSIVE, PTE_MIGRATION, PT_ENTRIES,
} from "../../assembly/abi.ts";

/** One page-table entry: the frame and the PTE_* bits. */
export class Pte {
  constructor(public pfn: number, public bits: number) {}

  get present(): boolean { return (this.bits & PTE_PRESENT) !== 0; }
  get writable(): boolean { return (this.bits & PTE_WRITE) !== 0; }
  /** vm_normal_page() returns NULL (zero page, devmap, pfnmap). */
  get special(): boolean { return (this.bits & PTE_SPECIAL) !== 0; }
  get devmap(): boolean { return (this.bits & PTE_DEVMAP) !== 0; }
  /** Non-present device-private swap entry. */
  get devicePrivate(): boolean { return (this.bits & PTE_DEVICE_PRIVATE) !== 0; }
  /** Non-present device-exclusive entry (make_device_exclusive). */
  get deviceExclusive(): boolean { return (this.bits & PTE_DEVICE_EXCLUSIVE) !== 0; }
  /** A device-private or migration entry: non-present, found by rmap walks (the device-private one refcounted). */
  get swapLike(): boolean { return (this.bits & (PTE_DEVICE_PRIVATE | PTE_MIGRATION)) !== 0; }
  /** A migration entry: holds no reference and no rmap (try_to_migrate_one dropped them). */
  get migration(): boolean { return (this.bits & PTE_MIGRATION) !== 0; }
  /** A present PTE that vm_normal_page() resolves to a refcounted page. */
  get normalPresent(): boolean { return (this.bits & (PTE_PRESENT | PTE_SPECIAL)) === PTE_PRESENT; }
}

/** A leaf (pte) table: up to 512 entries and their shadow data, keyed by vpn. */
export class PteTable {
  readonly entries = new Map<number, Pte>();
  /** What the process last wrote at each vpn (absent: 0). */
  readonly expected = new Map<number, number>();

  expectedAt(vpn: number): number {
    return this.expected.get(vpn) ?? 0;
  }

  setExpected(vpn: number, value: number): void {
    if (value === 0) this.expected.delete(vpn);
    else this.expected.set(vpn, value);
  }
}

/** The fixed pools of pmd and pte tables shared by all address spaces. */
export class TablePool {
  constructor(public pmdFree: number, public pteFree: number) {}
}

const PMD_SHIFT = 18; // vpn bits covered by one pmd table (512 * 512 pages)
const PTE_SHIFT = 9; // vpn bits covered by one pte table

export class PageTables {
  /** Allocated pmd tables, by vpn >> 18. */
  readonly #pmds = new Set<number>();
  /** Allocated pte tables, by vpn >> 9 (each lies under an allocated pmd). */
  readonly #ptes = new Map<number, PteTable>();
  /** pmd + pte tables this mm owns. */
  tableCount = 0;
  /** PMD mappings (THP or huge zero page), by vpn >> 9; each keeps its deposited pte table in #ptes. */
  readonly #huge = new Map<number, Pte>();

  /** pmd_trans_huge: the PMD entry mapping vpn's 2 MiB block, if any. */
  hugeLeaf(vpn: number): Pte | undefined {
    return this.#huge.size === 0 ? undefined : this.#huge.get(vpn >> PTE_SHIFT);
  }

  /** Whether any PMD mapping exists in this mm. */
  get hasHuge(): boolean {
    return this.#huge.size > 0;
  }

  /** The blocks (vpn >> 9) PMD-mapped in [start, end), ascending. */
  hugeBlocksIn(start: number, end: number): number[] {
    if (this.#huge.size === 0) return [];
    return [...this.#huge.keys()].filter((b) => b * PT_ENTRIES < end && (b + 1) * PT_ENTRIES > start).sort((a, b) => a - b);
  }

  /** pmd_none: neither a pte table nor a PMD mapping covers vpn's block. */
  pmdNone(vpn: number): boolean {
    return !this.#ptes.has(vpn >> PTE_SHIFT);
  }

  /** set_pmd_at after a deposit: the pte table (and pmd) are allocated as for a fault; callers check space. */
  setHugeLeaf(pool: TablePool, vpn: number, leaf: Pte): void {
    this.ensureTable(pool, vpn);
    this.#huge.set(vpn >> PTE_SHIFT, leaf);
  }

  /** zap_huge_pmd: the PMD goes and its deposited table with it (zap_deposited_table): the block is pmd_none again. */
  zapHugeLeaf(pool: TablePool, vpn: number): Pte | undefined {
    const leaf = this.clearHugeLeaf(vpn);
    this.#ptes.delete(vpn >> PTE_SHIFT);
    pool.pteFree++;
    this.tableCount--;
    return leaf;
  }

  /** pmdp_huge_clear: the PMD goes, its deposited table stays (empty) for the caller. */
  clearHugeLeaf(vpn: number): Pte | undefined {
    const leaf = this.#huge.get(vpn >> PTE_SHIFT);
    this.#huge.delete(vpn >> PTE_SHIFT);
    return leaf;
  }

  /** pte_offset_map without allocation: the entry for vpn, or undefined for pte_none. */
  get(vpn: number): Pte | undefined {
    return this.#ptes.get(vpn >> PTE_SHIFT)?.entries.get(vpn);
  }

  /** The pte table covering vpn, if allocated. */
  table(vpn: number): PteTable | undefined {
    return this.#ptes.get(vpn >> PTE_SHIFT);
  }

  /** pud_none is false: vpn's 1 GiB slot has a pmd table. */
  pudPopulated(vpn: number): boolean {
    return this.#pmds.has(vpn >> PMD_SHIFT);
  }

  /**
   * move_normal_pmd / move_huge_pmd: the pte table of block `from` (a PMD mapping
   * with its deposited table included) moves to block `to`, which is pmd_none, with
   * its entries and expected data; `to`'s pmd table is allocated if needed.
   */
  moveTable(pool: TablePool, from: number, to: number): void {
    if (!this.#pmds.has(to >> PMD_SHIFT)) {
      pool.pmdFree--;
      this.#pmds.add(to >> PMD_SHIFT);
      this.tableCount++;
    }
    const src = this.#ptes.get(from >> PTE_SHIFT)!;
    const dst = new PteTable();
    const delta = to - from;
    for (const [vpn, pte] of src.entries) dst.entries.set(vpn + delta, pte);
    for (const [vpn, value] of src.expected) dst.expected.set(vpn + delta, value);
    this.#ptes.delete(from >> PTE_SHIFT);
    this.#ptes.set(to >> PTE_SHIFT, dst);
    const leaf = this.#huge.get(from >> PTE_SHIFT);
    if (leaf) {
      this.#huge.delete(from >> PTE_SHIFT);
      this.#huge.set(to >> PTE_SHIFT, leaf);
    }
  }

  /** Tables that a fault at vpn would have to allocate (0, 1 or 2): for the space check. */
  tablesNeeded(vpn: number): number {
    if (!this.#pmds.has(vpn >> PMD_SHIFT)) return 2;
    return this.#ptes.has(vpn >> PTE_SHIFT) ? 0 : 1;
  }

  /** __pte_alloc: the pte table for vpn, allocating it (and its pmd) from the pool. Callers check space. */
  ensureTable(pool: TablePool, vpn: number): PteTable {
    if (!this.#pmds.has(vpn >> PMD_SHIFT)) {
      if (pool.pmdFree === 0) throw new Error("model: pmd table allocated with the pool empty");
      pool.pmdFree--;
      this.#pmds.add(vpn >> PMD_SHIFT);
      this.tableCount++;
    }
    let t = this.#ptes.get(vpn >> PTE_SHIFT);
    if (!t) {
      if (pool.pteFree === 0) throw new Error("model: pte table allocated with the pool empty");
      pool.pteFree--;
      t = new PteTable();
      this.#ptes.set(vpn >> PTE_SHIFT, t);
      this.tableCount++;
    }
    return t;
  }

  /** Every entry with start <= vpn < end, in ascending vpn order (the order zap and fork walk). */
  entriesIn(start: number, end: number): Array<[number, Pte]> {
    const first = start >> PTE_SHIFT;
    const last = (end - 1) >> PTE_SHIFT;
    let tables: number[];
    if (last - first < this.#ptes.size) {
      tables = [];
      for (let t = first; t <= last; t++) if (this.#ptes.has(t)) tables.push(t);
    } else {
      tables = [...this.#ptes.keys()].filter((t) => t >= first && t <= last).sort((a, b) => a - b);
    }
    const out: Array<[number, Pte]> = [];
    for (const t of tables) {
      const entries = this.#ptes.get(t)!.entries;
      const lo = Math.max(start, t * PT_ENTRIES);
      const hi = Math.min(end, (t + 1) * PT_ENTRIES);
      if (hi - lo <= entries.size) {
        // a narrow range: look each vpn up
        for (let v = lo; v < hi; v++) {
          const pte = entries.get(v);
          if (pte) out.push([v, pte]);
        }
      } else {
        const vpns = [...entries.keys()].filter((v) => v >= lo && v < hi).sort((a, b) => a - b);
        for (const v of vpns) out.push([v, entries.get(v)!]);
      }
    }
    return out;
  }

  /** free_pgtables: release the pte tables lying wholly inside [start, end); pmd tables stay. */
  freeTablesIn(pool: TablePool, start: number, end: number): void {
    const from = Math.ceil(start / PT_ENTRIES) * PT_ENTRIES;
    for (const t of [...this.#ptes.keys()]) {
      const base = t * PT_ENTRIES;
      if (base >= from && base + PT_ENTRIES <= end) {
        this.#ptes.delete(t);
        this.#huge.delete(t); // the caller zapped any PMD mapping first
        pool.pteFree++;
        this.tableCount--;
      }
    }
  }

  /** exit_mmap -> free_pgtables over everything: every table back to the pool. */
  freeAll(pool: TablePool): void {
    pool.pteFree += this.#ptes.size;
    pool.pmdFree += this.#pmds.size;
    this.#ptes.clear();
    this.#pmds.clear();
    this.#huge.clear();
    this.tableCount = 0;
  }
}
