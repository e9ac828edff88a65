/**
 * madvise(MADV_COLLAPSE) in the model (mm/khugepaged.c madvise_collapse, 6.1+), as
 * assembly/khugepaged.ts: each aligned 2 MiB block of the range inside a private
 * anonymous VMA is scanned (hpage_collapse_scan_pmd) and copied into a new THP
 * (collapse_huge_page): refcount 1, entire mapcount 1, PMD-mapped over the
 * deposited pte table; each old page loses its PTE mapping and its reference.
 * max_ptes_none/swap/shared are khugepaged's only. File and shmem VMAs and blocks
 * whose non-present entries would be faulted in (__collapse_huge_page_swapin) are
 * not modelled: collapseRange(run = false) finds them before anything changes.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4", capacity: { systemPages: 1024, hugePages: 1 } });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { addr: 0x40000000, length: 2 << 20 });
 * for (let i = 0; i < 512; i++) m.write(mm, addr + i * 4096, i);
 * console.log(m.madviseCollapse(mm, addr, 2 << 20), m.page(mm, addr + 4096)!.pmd, m.read(mm, addr + 4096)); // 0 true 1
 * ```
 */
import {
  PTE_PRESENT, PTE_WRITE, FOLIO_NR, VM_WRITE, MMU_NOTIFY_CLEAR, EINVAL, ENOMEM, EAGAIN,
} from "../../assembly/abi.ts";
import { folioPut, rmapRemove } from "./refcount.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { kfail } from "./errno.ts";
import { Pte } from "./pgtable.ts";
import { fileRefusesMigrateVma } from "./file.ts";
import type { Frame } from "./frames.ts";
import type { Mm, Vma } from "./mm.ts";
import type { Machine } from "./machine.ts";

// enum scan_result, the values madvise_collapse acts on (as the core)
const SCAN_FAIL = 0;
const SCAN_SUCCEED = 1;
const SCAN_PMD_NULL = 2;
const SCAN_PMD_NONE = 3;
const SCAN_PMD_MAPPED = 4;
const SCAN_PAGE_RO = 5;
const SCAN_PAGE_NULL = 6;
const SCAN_PAGE_ANON = 7;
const SCAN_PAGE_LOCK = 8;
const SCAN_PAGE_COUNT = 9;
const SCAN_ALLOC_HUGE_PAGE_FAIL = 10;
const NEEDS_SWAPIN = 11;
/** madvise_collapse's whitelist: results after which the next block is tried. */
const GO_ON = new Set([SCAN_PMD_NULL, SCAN_PAGE_RO, SCAN_PAGE_NULL, SCAN_PAGE_COUNT, SCAN_PAGE_LOCK]);

/** collapseRange(run = false): the op would reach something refsim does not model. */
export const COLLAPSE_NOT_MODELLED = -1;

/** madvise_walk_vmas for MADV_COLLAPSE (as the core): run = false checks only; run = true returns 0 or -errno. */
export function collapseRange(m: Machine, mm: Mm, start: number, end: number, run: boolean): number {
  let at = start;
  let hole = false;
  let v = mm.findVmaAfter(at);
  for (;;) {
    if (!v) return run ? kfail(m, ENOMEM) : 0;
    if (at < v.start) {
      hole = true; // unmapped_error = -ENOMEM
      at = v.start;
      if (at >= end) break;
    }
    const e = Math.min(v.end, end);
    const r = vmaCollapse(m, mm, v, at, e, run);
    if (r === COLLAPSE_NOT_MODELLED) return r;
    if (r !== 0) return run ? kfail(m, r) : 0;
    at = e;
    if (at >= end) break;
    v = mm.findVmaAfter(at);
  }
  return hole && run ? kfail(m, ENOMEM) : 0;
}

/** madvise_collapse on v's piece [s, e): 0, an errno, or COLLAPSE_NOT_MODELLED. */
function vmaCollapse(m: Machine, mm: Mm, v: Vma, s: number, e: number, run: boolean): number {
  if (!v.anon) {
    // thp_vma_allowable_order: vma_is_dax, and VM_NO_KHUGEPAGED (VM_MIXEDMAP: p2pmem, a test_hmm mapping) -> 0
    if (fileRefusesMigrateVma(m, v.file)) return EINVAL;
    return COLLAPSE_NOT_MODELLED; // hpage_collapse_scan_file
  }
  // __thp_vma_allowable_orders (!in_pf): thp_vma_suitable_order at vm_end - HPAGE_PMD_SIZE
  if (v.end - v.start < FOLIO_NR || Math.floor((v.end - FOLIO_NR) / FOLIO_NR) * FOLIO_NR < v.start) return EINVAL;
  const hstart = Math.ceil(s / FOLIO_NR) * FOLIO_NR;
  const hend = Math.floor(e / FOLIO_NR) * FOLIO_NR;
  let thps = 0;
  let lastFail = SCAN_FAIL;
  for (let b = hstart; b < hend; b += FOLIO_NR) {
    let r = scanBlock(m, mm, b);
    if (r === NEEDS_SWAPIN) return COLLAPSE_NOT_MODELLED;
    if (r === SCAN_SUCCEED && run) r = collapseBlock(m, mm, v, b);
    if (r === SCAN_SUCCEED || r === SCAN_PMD_MAPPED) {
      thps++;
      continue;
    }
    lastFail = r;
    if (!GO_ON.has(r)) break;
  }
  return thps === Math.max(0, (hend - hstart) / FOLIO_NR) ? 0 : collapseErrno(lastFail);
}

/** madvise_collapse_errno. */
function collapseErrno(r: number): number {
  if (r === SCAN_ALLOC_HUGE_PAGE_FAIL) return ENOMEM;
  if (r === SCAN_PAGE_COUNT || r === SCAN_PAGE_LOCK) return EAGAIN;
  return EINVAL;
}

/** hpage_collapse_scan_pmd / __collapse_huge_page_isolate for block b (as the core). */
function scanBlock(m: Machine, mm: Mm, b: number): number {
  if (!mm.tables.pudPopulated(b)) return SCAN_PMD_NULL; // mm_find_pmd
  const leaf = mm.tables.hugeLeaf(b);
  if (leaf) return leaf.present ? SCAN_PMD_MAPPED : SCAN_PMD_NULL;
  if (mm.tables.pmdNone(b)) return SCAN_PMD_NONE;
  const table = mm.tables.table(b)!;
  let writable = false;
  let unmapped = 0;
  for (let i = 0; i < FOLIO_NR; i++) {
    const pte = table.entries.get(b + i);
    if (!pte) continue; // pte_none
    if (!pte.present) { unmapped++; continue; } // is_swap_pte
    if (pte.special && pte.pfn === 0) continue; // is_zero_pfn
    if (pte.writable) writable = true;
    if (pte.special || m.frames.isDevice(pte.pfn)) return SCAN_PAGE_NULL; // !vm_normal_page || is_zone_device_page
    const folio = m.frames.folioOf(m.frames.all[pte.pfn]);
    if (!folio.anon) return SCAN_PAGE_ANON;
    if (folio.locked) return SCAN_PAGE_LOCK;
    if (!refcountSuitable(m, folio)) return SCAN_PAGE_COUNT;
  }
  if (!writable) return SCAN_PAGE_RO;
  return unmapped > 0 ? NEEDS_SWAPIN : SCAN_SUCCEED;
}

/** is_refcount_suitable: only mappings (and a page cache's references) hold the folio. */
function refcountSuitable(m: Machine, folio: Frame): boolean {
  let expected = folio.large ? m.frames.folioMapcount(folio) : folio.mapcount;
  if (folio.pageCache) expected += folio.large ? FOLIO_NR : 1;
  return folio.refcount === expected;
}

/** collapse_huge_page of block b (as the core's collapseBlock). */
function collapseBlock(m: Machine, mm: Mm, v: Vma, b: number): number {
  const head = m.frames.allocHuge();
  if (!head) return SCAN_ALLOC_HUGE_PAGE_FAIL;
  mmuNotifierInvalidate(m, mm.id, b, b + FOLIO_NR, MMU_NOTIFY_CLEAR, -1);
  const table = mm.tables.table(b)!;
  for (let i = 0; i < FOLIO_NR; i++) {
    const pte = table.entries.get(b + i);
    const page = m.frames.all[head.pfn + i];
    page.index = v.fileIndex(b) + i;
    page.anon = true;
    table.entries.delete(b + i); // ptep_clear (the expected data stays)
    if (!pte || pte.special) { // pte_none or the zero page: clear_user_highpage
      page.content = 0;
      continue;
    }
    const src = m.frames.all[pte.pfn];
    page.content = src.content; // copy_mc_user_highpage
    rmapRemove(m, src, mm.id, b + i);
    folioPut(m, src, 1, mm.id, b + i);
  }
  if (m.rules.anonExclusive) head.anonExclusive = true;
  head.entireMapcount = 1; // folio_add_new_anon_rmap (RMAP_EXCLUSIVE)
  m.counters.atomicMap++;
  mm.tables.setHugeLeaf(m.tablePool, b, new Pte(head.pfn, PTE_PRESENT | ((v.flags & VM_WRITE) !== 0 ? PTE_WRITE : 0)));
  m.counters.thpAllocated++;
  return SCAN_SUCCEED;
}
