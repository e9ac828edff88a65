// Reverse mapping of anonymous pages (rmap_walk_anon): every PTE or
// device-private entry that maps a page. Anon pages never move in the address
// space here (no mremap), so page->index is the vpn in every mm that inherited
// the page by fork; a walk visits each live mm at that vpn.
import { PTE_PRESENT, PTE_SPECIAL, PTE_DEVICE_PRIVATE, PTE_MIGRATION } from "./abi";
import { pageIndex } from "./frames";
import { mmCount, mmValid, findVma, isCow } from "./mm";
import { ptePtr } from "./pgtable";
import { ptePfn } from "./fault";

export let walkPtr: usize = 0; // PTE addresses found
export let walkMm: usize = 0;
export let walkPte: usize = 0; // the entry as it was
let walkCap: i32 = 0;

export function initRmap(mmCap: i32): void {
  walkCap = mmCap;
  walkPtr = heap.alloc(<usize>mmCap << 2);
  walkMm = heap.alloc(<usize>mmCap << 2);
  walkPte = heap.alloc(<usize>mmCap << 2);
}

@inline export function walkAt(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }

/** Collect the refcounted mappings of anon page pfn; returns how many. */
export function rmapWalk(pfn: u32): i32 {
  const vpn = pageIndex(pfn);
  let n = 0;
  for (let mm = 0; mm < mmCount; mm++) {
    if (!mmValid(mm)) continue;
    const v = findVma(mm, vpn);
    if (v < 0 || !isCow(v)) continue;
    const p = ptePtr(mm, vpn, false);
    if (p == 0) continue;
    const pte = load<u32>(p);
    if (ptePfn(pte) != pfn) continue;
    const mapped = (pte & (PTE_PRESENT | PTE_SPECIAL)) == PTE_PRESENT || (pte & (PTE_DEVICE_PRIVATE | PTE_MIGRATION)) != 0;
    if (!mapped || n >= walkCap) continue;
    store<i32>(walkPtr + (<usize>n << 2), <i32>p);
    store<i32>(walkMm + (<usize>n << 2), mm);
    store<u32>(walkPte + (<usize>n << 2), pte);
    n++;
  }
  return n;
}
