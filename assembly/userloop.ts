// Room for the faults of many pages at once, checked before any of them runs: the
// tests' user-space loops over a buffer (write_range / read_range, hmm-tests.c's
// for (i...) ptr[i] = i) and hmm_range_fault over an ioctl's range (ops.ts).
import { PTE_PRESENT, PTE_WRITE, PT_ENTRIES } from "./abi";
import { ptePtr, hugeLeaf, tablesNeeded } from "./pgtable";

/**
 * System frames the faults may take, an upper bound: two per page whose entry does
 * not allow the access (a page-cache page and a COW copy, or a device-private page
 * coming back and its copy), one per PMD-mapped page written (the THP pool is
 * separate), and the two any single fault is checked for.
 */
export function loopFramesNeeded(mm: i32, vpn: u32, n: u32, write: bool): i64 {
  let need: i64 = 2;
  for (let p = vpn; p < vpn + n; p++) {
    if (hugeLeaf(mm, p) != 0) { if (write) need++; continue; }
    const at = ptePtr(mm, p, false);
    const pte = at == 0 ? 0 : load<u32>(at);
    if ((pte & PTE_PRESENT) == 0 || (write && (pte & PTE_WRITE) == 0)) need += 2;
  }
  return need;
}

/** Page tables the loop may allocate: pte tables (pmd false) or pmd tables (pmd true). */
export function loopTablesNeeded(mm: i32, vpn: u32, n: u32, pmd: bool): i32 {
  const span: u32 = pmd ? 1 << 18 : PT_ENTRIES;
  let t = 0;
  for (let p = vpn; p < vpn + n; p = (p | (span - 1)) + 1) {
    const k = tablesNeeded(mm, p);
    if (pmd ? k == 2 : k >= 1) t++;
  }
  return t;
}
