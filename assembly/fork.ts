// fork: dup_mmap -> copy_page_range -> copy_pte_range for each private vma.
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVICE_PRIVATE, PT_ENTRIES, PG_ANON, PG_ANON_EXCLUSIVE,
  SCHEME_ANON_EXCLUSIVE, SCHEME_COW_PINNED, ST_PTES_COPIED, ST_WP_COPY, V_UAF,
} from "./abi";
import { bump } from "./stats";
import { rule, pinBias } from "./scheme";
import {
  allocSystemPage, ref, mapcount, content, setContent, hasFlag, clearFlag, addFlag, setPageIndex,
} from "./frames";
import { folioGet, rmapAdd, frameUsable } from "./refcount";
import { pteTableOf, pteTableBase, ptePtr, shadowOf } from "./pgtable";
import { isCow, pinnedIn } from "./mm";
import { ptePfn, mkPte } from "./fault";
import { violation } from "./violations";

/** page_needs_cow_for_dma: the mm has pinned pages and this one may be pinned. */
export function needsCowForDma(mm: i32, pfn: u32): bool {
  return rule(SCHEME_COW_PINNED) != 0 && pinnedIn(mm) > 0 && ref(pfn) >= pinBias();
}

/** Copy one PTE of a private or shared vma from parent to child. */
function copyOne(parent: i32, child: i32, cow: bool, vpn: u32, src: usize): void {
  const pte = load<u32>(src);
  if (pte == 0) return;
  const dst = ptePtr(child, vpn, true); // the caller checked table space
  const data = load<u32>(shadowOf(src));
  bump(ST_PTES_COPIED);
  const pfn = ptePfn(pte);
  if (pfn != 0 && !frameUsable(pfn)) violation(V_UAF, pfn, parent, <i32>vpn, ref(pfn), mapcount(pfn), 5);
  if ((pte & PTE_DEVICE_PRIVATE) != 0) {
    // copy_nonpresent_pte: device-private entry, folio_try_dup_anon_rmap_pte + get
    folioGet(pfn, 1, parent, <i32>vpn);
    rmapAdd(pfn);
    clearFlag(pfn, PG_ANON_EXCLUSIVE);
    const shared = cow ? pte & ~PTE_WRITE : pte; // writable entries become readable in both
    store<u32>(src, shared);
    store<u32>(dst, shared);
  } else if ((pte & PTE_SPECIAL) != 0) {
    // vm_normal_page() == NULL (zero page, devmap): copy the PTE, no ref, no rmap
    const shared = cow ? pte & ~PTE_WRITE : pte;
    store<u32>(src, shared);
    store<u32>(dst, shared);
  } else if (hasFlag(pfn, PG_ANON) && needsCowForDma(parent, pfn)) {
    // copy_present_page: a maybe-pinned page stays with the parent; the child gets a copy
    const copy = allocSystemPage();
    setPageIndex(copy, vpn);
    setContent(copy, content(pfn));
    addFlag(copy, rule(SCHEME_ANON_EXCLUSIVE) != 0 ? PG_ANON | PG_ANON_EXCLUSIVE : PG_ANON);
    rmapAdd(copy);
    store<u32>(dst, mkPte(copy, pte & (PTE_PRESENT | PTE_WRITE)));
    bump(ST_WP_COPY);
  } else {
    // copy_present_ptes: share the page, +1 ref, +1 map, both write-protected if COW
    folioGet(pfn, 1, parent, <i32>vpn);
    rmapAdd(pfn);
    if (hasFlag(pfn, PG_ANON)) clearFlag(pfn, PG_ANON_EXCLUSIVE);
    const shared = cow ? pte & ~PTE_WRITE : pte;
    store<u32>(src, shared);
    store<u32>(dst, shared);
  }
  store<u32>(shadowOf(dst), data);
}

/** copy_pte_range over [start, end) of one vma. */
export function copyRange(parent: i32, child: i32, v: i32, start: u32, end: u32): void {
  const cow = isCow(v);
  let vpn = start;
  while (vpn < end) {
    const tableEnd = min<u32>((vpn | (PT_ENTRIES - 1)) + 1, end);
    const pt = pteTableOf(parent, vpn);
    if (pt != 0) {
      const base = pteTableBase(pt);
      for (let x = vpn; x < tableEnd; x++) copyOne(parent, child, cow, x, base + (<usize>(x & (PT_ENTRIES - 1)) << 2));
    }
    vpn = tableEnd;
  }
}

/** Frames copy_present_page would need: the pinned anon pages of a range. */
export function pinnedPagesIn(parent: i32, start: u32, end: u32): i32 {
  if (pinnedIn(parent) == 0) return 0;
  let n = 0;
  for (let vpn = start; vpn < end; vpn++) {
    const pt = pteTableOf(parent, vpn);
    if (pt == 0) { vpn |= PT_ENTRIES - 1; continue; }
    const pte = load<u32>(pteTableBase(pt) + (<usize>(vpn & (PT_ENTRIES - 1)) << 2));
    if ((pte & (PTE_PRESENT | PTE_SPECIAL)) == PTE_PRESENT && needsCowForDma(parent, ptePfn(pte))) n++;
  }
  return n;
}
