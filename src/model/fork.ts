/**
 * fork: dup_mmap -> copy_page_range -> copy_pte_range for each private vma (and
 * anon vma); shared file vmas are refaulted by the child instead (vma_needs_copy).
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * m.write(mm, addr, 1);
 * const child = m.fork(mm);
 * const page = m.page(child, addr)!;
 * console.log(page.refcount, page.mapcount, page.pte.write); // 2 2 false
 * ```
 */
import {
  PTE_PRESENT, PTE_WRITE, V_UAF, PT_ENTRIES, KIND_P2PDMA, MMU_NOTIFY_PROTECTION_PAGE, ERR_NOMEM_MM, ERR_NOMEM_VMA, ERR_NOMEM_TABLES,
  ERR_NOMEM_FRAMES, F_FORK_MM,
} from "../../assembly/abi.ts";
import { restoreExclusivePte } from "./exclusive.ts";
import { folioGet, rmapAdd } from "./refcount.ts";
import { Pte, type PteTable } from "./pgtable.ts";
import { copyHugePmd, largeMaybePinned, pinnedHugeIn, folioPteBatch } from "./thp.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { copyCowSeq } from "./gup_fast.ts";
import { reject } from "./reject.ts";
import type { Frame } from "./frames.ts";
import type { Mm, Vma } from "./mm.ts";
import type { Machine } from "./machine.ts";

/** page_needs_cow_for_dma: the mm has pinned pages and this one may be pinned. */
export function needsCowForDma(m: Machine, mm: Mm, page: Frame): boolean {
  if (!m.rules.cowPinnedAtFork || mm.pinned === 0) return false;
  return page.large ? largeMaybePinned(m.frames.folioOf(page)) : page.refcount >= m.rules.pinBias; // folio_maybe_dma_pinned
}

/** ptep_set_wrprotect of the parent's entry in a COW mapping, unless fork_begin defers it to fork_end (gup_fast.ts). */
function wrprotectSrc(m: Machine, cow: boolean, src: Pte): void {
  if (cow && !m.gupFast.deferParentWp) src.bits &= ~PTE_WRITE;
}

/** Copy one PTE of a private or anon vma from parent to child. */
function copyOne(m: Machine, parent: Mm, child: Mm, cow: boolean, vpn: number, src: Pte): void {
  const table = child.tables.ensureTable(m.tablePool, vpn); // the caller checked table space
  m.counters.ptesCopied++;
  const page = m.frames.all[src.pfn];
  if (page.pfn !== 0 && !page.usable) m.log.record(V_UAF, page.pfn, parent.id, vpn, page.refcount, page.mapcount, 5);
  // copy_nonpresent_pte: a device-exclusive entry is restored in the parent first
  // (try_restore_exclusive_pte, no notifier), then copied as the present PTE it is again
  if (src.deviceExclusive) restoreExclusivePte(m, parent, vpn, src);
  let dst: Pte;
  if (src.migration) {
    // copy_nonpresent_pte: a migration entry (an open migrate_collect) holds no reference and no
    // rmap: copied as it is, readable in both if COW (5.15 and newest mm/memory.c)
    if (cow) src.bits &= ~PTE_WRITE;
    dst = new Pte(src.pfn, src.bits);
  } else if (src.devicePrivate) {
    // copy_nonpresent_pte: device-private entry, folio_try_dup_anon_rmap_pte + get
    folioGet(m, page, 1, parent.id, vpn); // copy_nonpresent_pte: folio_get
    rmapAdd(m, page); // folio_try_dup_anon_rmap_pte
    page.anonExclusive = false;
    dst = new Pte(src.pfn, cow ? src.bits & ~PTE_WRITE : src.bits); // writable entries become readable in both
    wrprotectSrc(m, cow, src);
  } else if (src.special) {
    // vm_normal_page() == NULL (zero page, devmap): copy the PTE, no ref, no rmap
    dst = new Pte(src.pfn, cow ? src.bits & ~PTE_WRITE : src.bits);
    wrprotectSrc(m, cow, src);
  } else if (page.anon && needsCowForDma(m, parent, page)) {
    // copy_present_page: a maybe-pinned page stays with the parent; the child gets a copy
    const copy = m.frames.allocSystem();
    copy.index = page.index; // the child's VMA has the parent's vm_pgoff
    copy.content = page.content;
    copy.anon = true;
    if (m.rules.anonExclusive) copy.anonExclusive = true;
    rmapAdd(m, copy); // folio_add_new_anon_rmap
    dst = new Pte(copy.pfn, src.bits & (PTE_PRESENT | PTE_WRITE));
    m.counters.wpCopy++;
  } else {
    // copy_present_ptes: share the page, +1 ref, +1 map, both write-protected if COW
    folioGet(m, page, 1, parent.id, vpn); // copy_present_ptes: folio_ref_add
    rmapAdd(m, page); // folio_try_dup_anon_rmap_ptes / folio_dup_file_rmap_ptes
    if (page.anon) page.anonExclusive = false;
    dst = new Pte(src.pfn, cow ? src.bits & ~PTE_WRITE : src.bits);
    wrprotectSrc(m, cow, src);
  }
  table.entries.set(vpn, dst);
  table.setExpected(vpn, parent.tables.table(vpn)!.expectedAt(vpn));
}

/**
 * copy_present_ptes with PTE batching (6.9+): a run of PTEs mapping consecutive
 * pages of one large folio is shared with one folio_ref_add of nr. Returns nr.
 */
function copyFolioRun(m: Machine, parent: Mm, child: Mm, cow: boolean, vpn: number, table: PteTable, src: Pte, last: number): number {
  const head = m.frames.folioOf(m.frames.all[src.pfn]);
  const nr = folioPteBatch(m, table, vpn, src, last);
  folioGet(m, head, nr, parent.id, vpn); // folio_ref_add(folio, nr)
  const bits = cow ? src.bits & ~PTE_WRITE : src.bits;
  for (let i = 0; i < nr; i++) {
    const page = m.frames.all[src.pfn + i];
    const dst = child.tables.ensureTable(m.tablePool, vpn + i);
    rmapAdd(m, page); // folio_try_dup_anon_rmap_ptes: each page's mapping
    page.anonExclusive = false;
    if (!m.gupFast.deferParentWp) table.entries.get(vpn + i)!.bits = bits; // fork_begin: the parent's write-protect waits for fork_end
    dst.entries.set(vpn + i, new Pte(page.pfn, bits));
    dst.setExpected(vpn + i, table.expectedAt(vpn + i));
  }
  m.counters.ptesCopied += nr;
  return nr;
}

/** copy_pmd_range / copy_pte_range over one vma, in vpn order. */
export function copyRange(m: Machine, parent: Mm, child: Mm, v: Vma): void {
  const batching = m.rules.pteBatch && m.frames.hasLarge;
  if (!batching && !parent.tables.hasHuge) {
    for (const [vpn, pte] of parent.tables.entriesIn(v.start, v.end)) copyOne(m, parent, child, v.cow, vpn, pte);
    return;
  }
  for (let vpn = v.start; vpn < v.end;) {
    const tableEnd = Math.min(vpn - (vpn % PT_ENTRIES) + PT_ENTRIES, v.end);
    // A THP's block lies inside one vma; a pinned one is split and copied by PTEs.
    if (parent.tables.hugeLeaf(vpn) && copyHugePmd(m, parent, child, v.cow, vpn)) {
      vpn = tableEnd;
      continue;
    }
    const table = parent.tables.table(vpn);
    if (table) {
      let skipUntil = vpn;
      for (const [x, pte] of parent.tables.entriesIn(vpn, tableEnd)) {
        if (x < skipUntil) continue; // copied by a batch
        const page = m.frames.all[pte.pfn];
        if (batching && pte.normalPresent && page.large && page.usable && !needsCowForDma(m, parent, page)) {
          skipUntil = x + copyFolioRun(m, parent, child, v.cow, x, table, pte, tableEnd);
        } else {
          copyOne(m, parent, child, v.cow, x, pte);
        }
      }
    }
    vpn = tableEnd;
  }
}

/** Frames copy_present_page could need in [start, end): present pages that may be pinned. */
export function pinnedPagesIn(m: Machine, parent: Mm, start: number, end: number): number {
  if (parent.pinned === 0) return 0;
  let n = pinnedHugeIn(m, parent, start, end);
  for (const [, pte] of parent.tables.entriesIn(start, end)) {
    if (pte.normalPresent && needsCowForDma(m, parent, m.frames.all[pte.pfn])) n++;
  }
  return n;
}

/**
 * vma_needs_copy (7.0 mm/memory.c; inline in 5.15 copy_page_range): only a vma with an
 * anon_vma, or VM_MIXEDMAP (p2pmem's vm_insert_page), has its PTEs copied at fork.
 */
function vmaNeedsCopy(m: Machine, v: Vma): boolean {
  if (v.anonVma) return true;
  const f = v.file >= 0 ? m.files.all[v.file] : undefined;
  if (f?.dmirrorMap) return true; // a test_hmm mapping: vm_insert_page set VM_MIXEDMAP
  return f !== undefined && f.driver >= 0 && m.devices.drivers[f.driver].kind === KIND_P2PDMA;
}

/** dup_mmap (6.1 kernel/fork.c) after the dispatcher's room checks (as the core's doFork). */
export function doFork(m: Machine, parent: Mm): number {
  if (m.mms.mmSlotsLeft < 1) reject(ERR_NOMEM_MM, F_FORK_MM);
  if (m.mms.vmaSlotsLeft < parent.vmas.length) reject(ERR_NOMEM_VMA, F_FORK_MM, parent.vmas.length);
  const tables = parent.tables.tableCount;
  if (m.tablePool.pteFree < tables || m.tablePool.pmdFree < tables) reject(ERR_NOMEM_TABLES, F_FORK_MM, tables);
  let copies = 0;
  for (const v of parent.vmas) copies += pinnedPagesIn(m, parent, v.start, v.end);
  if (m.frames.freeSystemPages < copies) reject(ERR_NOMEM_FRAMES, F_FORK_MM, copies);
  const child = m.mms.create();
  for (const v of parent.vmas) {
    m.mms.insertVma(child, v.start, v.end, v.flags, v.file, v.pgoff).anonVma = v.anonVma; // anon_vma_fork
    if (vmaNeedsCopy(m, v)) {
      if (v.cow) {
        mmuNotifierInvalidate(m, parent.id, v.start, v.end, MMU_NOTIFY_PROTECTION_PAGE, -1); // copy_page_range of a COW mapping
        copyCowSeq(m, parent); // write_protect_seq, is_cow_mapping only (6.1 copy_page_range)
      }
      copyRange(m, parent, child, v);
    }
  }
  return child.id;
}
