// madvise(MADV_COLLAPSE) (mm/khugepaged.c madvise_collapse, 6.1+) for private
// anonymous memory: every aligned 2 MiB block inside the range within a VMA is
// scanned (hpage_collapse_scan_pmd) and, if its small pages may go, copied into a
// new THP (collapse_huge_page, __collapse_huge_page_isolate,
// __collapse_huge_page_copy): refcount 1, entire mapcount 1, mapped by a PMD over
// the old pte table (deposited), each old page's PTE mapping and reference
// dropped. MADV_COLLAPSE is not khugepaged: max_ptes_none, max_ptes_swap,
// max_ptes_shared and the young-page test do not apply (cc->is_khugepaged false).
// What is not modelled is refused before anything changes (collapseRange(run =
// false)): file and shmem VMAs (hpage_collapse_scan_file / collapse_file) and a
// block whose collapse would fault non-present entries back in first
// (__collapse_huge_page_swapin -> do_swap_page: device-private, device-exclusive
// and migration entries). LRU state is not modelled: lru_add_drain_all puts every
// page on the LRU, and the isolation reference (folio_isolate_lru, taken and put
// back inside the op) nets out.
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PG_ANON, PG_ANON_EXCLUSIVE, PG_LOCKED, PG_PAGECACHE, FOLIO_NR, VM_WRITE,
  MMU_NOTIFY_CLEAR, SCHEME_ANON_EXCLUSIVE, ST_THP_ALLOC, ST_ATOMIC_MAP, EINVAL, ENOMEM, EAGAIN,
} from "./abi";
import { bump } from "./stats";
import { rule } from "./scheme";
import {
  allocHugeFolio, ref, mapcount, hasFlag, addFlag, folioOf, isLarge, isDevice, folioMapcount, setEntireMapcount,
  setPageIndex, setContent, content,
} from "./frames";
import { folioPut, rmapRemove } from "./refcount";
import { findVmaAfter, vmaStart, vmaEnd, vmaFlags, vmaFile, isAnon, fileIndex } from "./mm";
import { fileRefusesMigrateVma } from "./file";
import { pudPopulated, hugeLeaf, pmdNone, pteTableOf, pteTableBase, pteSlot, setHugeLeaf, ptePfn, mkPte } from "./pgtable";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { kfail } from "./errno";

// enum scan_result, the values madvise_collapse acts on (mm/khugepaged.c)
const SCAN_FAIL = 0;
const SCAN_SUCCEED = 1;
const SCAN_PMD_NULL = 2; //    no pmd table, or a non-present (device-private) PMD: whitelisted
const SCAN_PMD_NONE = 3; //    pmd_none: not whitelisted, madvise_collapse stops
const SCAN_PMD_MAPPED = 4; //  already a PMD mapping (a THP or the huge zero page): counts as collapsed
const SCAN_PAGE_RO = 5;
const SCAN_PAGE_NULL = 6;
const SCAN_PAGE_ANON = 7; //   not whitelisted
const SCAN_PAGE_LOCK = 8;
const SCAN_PAGE_COUNT = 9;
const SCAN_ALLOC_HUGE_PAGE_FAIL = 10; // not whitelisted
const NEEDS_SWAPIN = 11; //    refsim's: the scan passed with non-present entries in the block

/** collapseRange(run = false): the op would reach something refsim does not model. */
export const COLLAPSE_NOT_MODELLED: i32 = -1;

/**
 * madvise_walk_vmas for MADV_COLLAPSE over [start, end): madvise_collapse on each
 * VMA piece; the first error is returned at once, a hole makes the result -ENOMEM
 * once the mapped pieces are done. run = false changes nothing and returns
 * COLLAPSE_NOT_MODELLED or 0 (an allocation is assumed to succeed, so every block
 * the real run may reach is checked); run = true returns 0 or -errno.
 */
export function collapseRange(mm: i32, start: u32, end: u32, run: bool): i32 {
  let at = start;
  let hole = false;
  let v = findVmaAfter(mm, at);
  while (true) {
    if (v < 0) return run ? kfail(ENOMEM) : 0; // madvise_walk_vmas: no VMA at or after start
    if (at < vmaStart(v)) {
      hole = true; // unmapped_error = -ENOMEM
      at = vmaStart(v);
      if (at >= end) break;
    }
    const e = min<u32>(vmaEnd(v), end);
    const r = vmaCollapse(mm, v, at, e, run);
    if (r == COLLAPSE_NOT_MODELLED) return r;
    if (r != 0) return run ? kfail(r) : 0;
    at = e;
    if (at >= end) break;
    v = findVmaAfter(mm, at);
  }
  return hole && run ? kfail(ENOMEM) : 0;
}

/** madvise_collapse on VMA v's piece [s, e): 0, an errno, or COLLAPSE_NOT_MODELLED (run = false only). */
function vmaCollapse(mm: i32, v: i32, s: u32, e: u32, run: bool): i32 {
  if (!isAnon(v)) {
    // thp_vma_allowable_order: vma_is_dax, and VM_NO_KHUGEPAGED (VM_MIXEDMAP: p2pmem, a test_hmm mapping) -> 0
    if (fileRefusesMigrateVma(vmaFile(v))) return EINVAL;
    return COLLAPSE_NOT_MODELLED; // shmem / page-cache file: hpage_collapse_scan_file
  }
  // __thp_vma_allowable_orders (!in_pf): thp_vma_suitable_order at vm_end - HPAGE_PMD_SIZE
  if (vmaEnd(v) - vmaStart(v) < <u32>FOLIO_NR || ((vmaEnd(v) - FOLIO_NR) & ~(FOLIO_NR - 1)) < vmaStart(v)) return EINVAL;
  const hstart = (s + FOLIO_NR - 1) & ~(FOLIO_NR - 1);
  const hend = e & ~(FOLIO_NR - 1);
  let thps: u32 = 0;
  let lastFail = SCAN_FAIL;
  for (let b = hstart; b < hend; b += FOLIO_NR) {
    let r = scanBlock(mm, b);
    if (r == NEEDS_SWAPIN) return COLLAPSE_NOT_MODELLED; // the dry run saw it first: never with run = true
    if (r == SCAN_SUCCEED && run) r = collapseBlock(mm, v, b);
    if (r == SCAN_SUCCEED || r == SCAN_PMD_MAPPED) {
      thps++;
      continue;
    }
    lastFail = r;
    // madvise_collapse's whitelist: go on to the next block; any other result stops
    if (r != SCAN_PMD_NULL && r != SCAN_PAGE_RO && r != SCAN_PAGE_NULL && r != SCAN_PAGE_COUNT && r != SCAN_PAGE_LOCK) break;
  }
  return thps == (hend > hstart ? (hend - hstart) / FOLIO_NR : 0) ? 0 : collapseErrno(lastFail);
}

/** madvise_collapse_errno. */
function collapseErrno(r: i32): i32 {
  if (r == SCAN_ALLOC_HUGE_PAGE_FAIL) return ENOMEM;
  if (r == SCAN_PAGE_COUNT || r == SCAN_PAGE_LOCK) return EAGAIN; // and SCAN_PAGE_LRU, SCAN_DEL_PAGE_LRU (LRU not modelled)
  return EINVAL;
}

/**
 * hpage_collapse_scan_pmd (and __collapse_huge_page_isolate, whose checks give the
 * same answer inside one op) for block b: find_pmd_or_thp_or_none, then each PTE.
 */
function scanBlock(mm: i32, b: u32): i32 {
  if (!pudPopulated(mm, b)) return SCAN_PMD_NULL; // mm_find_pmd: no pmd table
  const leaf = hugeLeaf(mm, b);
  if (leaf != 0) return (leaf & PTE_PRESENT) != 0 ? SCAN_PMD_MAPPED : SCAN_PMD_NULL; // pmd_trans_huge / !pmd_present
  if (pmdNone(mm, b)) return SCAN_PMD_NONE;
  const base = pteTableBase(pteTableOf(mm, b));
  let writable = false;
  let unmapped = 0;
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    const pte = load<u32>(pteSlot(base, <usize>i));
    if (pte == 0) continue; // pte_none: max_ptes_none is khugepaged's only
    if ((pte & PTE_PRESENT) == 0) { unmapped++; continue; } // is_swap_pte: max_ptes_swap is khugepaged's only
    const pfn = ptePfn(pte);
    if ((pte & PTE_SPECIAL) != 0 && pfn == 0) continue; // is_zero_pfn, counted as none
    if ((pte & PTE_WRITE) != 0) writable = true;
    if ((pte & PTE_SPECIAL) != 0 || isDevice(pfn)) return SCAN_PAGE_NULL; // !vm_normal_page || is_zone_device_page
    const folio = folioOf(pfn);
    if (!hasFlag(folio, PG_ANON)) return SCAN_PAGE_ANON;
    // folio_likely_mapped_shared: max_ptes_shared is khugepaged's only
    if (hasFlag(folio, PG_LOCKED)) return SCAN_PAGE_LOCK;
    if (!refcountSuitable(folio)) return SCAN_PAGE_COUNT; // a GUP reference or pin, a driver's reference
  }
  if (!writable) return SCAN_PAGE_RO;
  return unmapped > 0 ? NEEDS_SWAPIN : SCAN_SUCCEED;
}

/** is_refcount_suitable: only mappings (and a page cache's references) hold the folio. */
function refcountSuitable(folio: u32): bool {
  let expected = isLarge(folio) ? folioMapcount(folio) : mapcount(folio);
  if (hasFlag(folio, PG_PAGECACHE)) expected += isLarge(folio) ? FOLIO_NR : 1;
  return ref(folio) == expected;
}

/**
 * collapse_huge_page of block b (its scan passed): alloc_charge_folio, the
 * mmu-notifier CLEAR, __collapse_huge_page_copy (clear_user_highpage for none and
 * zero PTEs; __collapse_huge_page_copy_succeeded: ptep_clear, folio_remove_rmap_pte
 * and free_page_and_swap_cache for each mapped page), then
 * folio_add_new_anon_rmap(RMAP_EXCLUSIVE), pgtable_trans_huge_deposit of the pte
 * table and set_pmd_at (writable if the VMA is, maybe_pmd_mkwrite).
 */
function collapseBlock(mm: i32, v: i32, b: u32): i32 {
  const head = allocHugeFolio();
  if (head == 0) return SCAN_ALLOC_HUGE_PAGE_FAIL;
  mmuNotifierInvalidate(mm, b, b + FOLIO_NR, MMU_NOTIFY_CLEAR, -1);
  const base = pteTableBase(pteTableOf(mm, b));
  for (let i: u32 = 0; i < <u32>FOLIO_NR; i++) {
    const p = pteSlot(base, <usize>i);
    const pte = load<u32>(p);
    const page = head + i;
    setPageIndex(page, fileIndex(v, b) + i);
    addFlag(page, PG_ANON);
    store<u32>(p, 0); // ptep_clear (the shadow word beside it keeps what the process wrote)
    if (pte == 0 || (pte & PTE_SPECIAL) != 0) { // pte_none or the zero page (the scan let nothing else special through)
      setContent(page, 0);
      continue;
    }
    const src = ptePfn(pte);
    setContent(page, content(src)); // copy_mc_user_highpage
    rmapRemove(src, mm, <i32>(b + i));
    folioPut(src, 1, mm, <i32>(b + i)); // the mapping's reference: freed when it was the last
  }
  if (rule(SCHEME_ANON_EXCLUSIVE) != 0) addFlag(head, PG_ANON_EXCLUSIVE);
  setEntireMapcount(head, 1);
  bump(ST_ATOMIC_MAP);
  setHugeLeaf(mm, b, mkPte(head, PTE_PRESENT | ((vmaFlags(v) & VM_WRITE) != 0 ? PTE_WRITE : 0)));
  bump(ST_THP_ALLOC);
  return SCAN_SUCCEED;
}
