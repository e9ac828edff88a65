/**
 * CPU accesses and page faults (handle_mm_fault), and the CPU's view of memory:
 * what a load returns and what a store changes, with the data check on every
 * load. An access the PTE already allows is not a fault.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E4" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * console.log(m.read(mm, addr), m.page(mm, addr)?.kind); // 0 zero
 * m.write(mm, addr, 5);
 * console.log(m.read(mm, addr), m.stats().faults); // 5 2
 * ```
 */
import {
  PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVMAP, VM_SHARED, KIND_FSDAX, KIND_DEVDAX, KIND_P2PDMA,
  SWAP_FAULT_NO_REF, V_CORRUPTION, V_UAF,
  MMU_NOTIFY_MIGRATE, MMU_NOTIFY_CLEAR, VPN_BITS, VM_READ, VM_WRITE, SIGSEGV, SIGBUS, V_LIVELOCK, FOLIO_NR,
  NO_FIELD, ERR_RANGE, ERR_NOMEM_FRAMES, ERR_NOMEM_TABLES, ERR_NOMEM_DEVICE, F_ACCESS_ADDR, F_LOOP_PAGES,
} from "../../assembly/abi.ts";
import { folioGet, folioPut, rmapAdd, rmapRemove } from "./refcount.ts";
import { Pte, type PteTable } from "./pgtable.ts";
import { findOrReadPage, isHole, needsDevicePage } from "./file.ts";
import { hugeFault, thpEligible, HUGE_NONE } from "./thp.ts";
import { ksignal } from "./errno.ts";
import { reject } from "./reject.ts";
import { unmapMappingRange } from "./truncate.ts";
import { migratePageToRam } from "./migrate.ts";
import { dmirrorFaultErase, dmirrorTakeFailAlloc } from "./dmirror.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { folioMappingsIn } from "./rmap.ts";
import { removeDeviceExclusiveEntry } from "./exclusive.ts";
import type { Frame } from "./frames.ts";
import type { Mm, Vma } from "./mm.ts";
import type { Machine } from "./machine.ts";

/** A fresh anonymous page for vpn of vma v: refcount 1 (the PTE's), mapcount 1, exclusive where the era has it. */
export function newAnonPage(m: Machine, v: Vma, vpn: number, data: number): Frame {
  v.anonVma = true; // do_anonymous_page / do_cow_fault / wp_page_copy: anon_vma_prepare (6.1 mm/memory.c)
  const page = m.frames.allocSystem();
  page.index = v.fileIndex(vpn); // folio_add_new_anon_rmap: linear_page_index
  page.content = data;
  page.anon = true;
  if (m.rules.anonExclusive) page.anonExclusive = true;
  rmapAdd(m, page); // folio_add_new_anon_rmap
  return page;
}

/**
 * A CPU access to one page of vma v: handle_mm_fault if the PTE does not allow it
 * (the caller checked the access and that 2 frames and 2 tables are free).
 * Returns the entry, which is never none afterwards.
 */
export function handleFault(m: Machine, mm: Mm, v: Vma, vpn: number, write: boolean): Pte {
  m.faultOom = false;
  const table = mm.tables.ensureTable(m.tablePool, vpn);
  const pte = table.entries.get(vpn);
  if (pte && pte.present && (!write || pte.writable)) return pte; // no fault: the PTE allows the access
  m.counters.faults++;
  if (pte?.devicePrivate) doSwapPage(m, mm, vpn, pte);
  else if (pte?.deviceExclusive) removeDeviceExclusiveEntry(m, mm, vpn, pte); // do_swap_page: the device loses its atomic access
  if (!pte) return doPteMissing(m, mm, v, vpn, table, write);
  if (write && pte.present && !pte.writable) {
    doWpPage(m, mm, v, vpn, pte, true);
    return table.entries.get(vpn)!; // a DAX hole's zero page gave way to a new entry
  }
  return pte;
}

/** Did the last handleFault end in VM_FAULT_OOM? Read once (as the core's takeFaultOom). */
export function takeFaultOom(m: Machine): boolean {
  const r = m.faultOom;
  m.faultOom = false;
  return r;
}

/** do_swap_page on a device-private entry -> pgmap->ops->migrate_to_ram, uncontended. */
function doSwapPage(m: Machine, mm: Mm, vpn: number, pte: Pte): void {
  const page = m.frames.all[pte.pfn];
  // 6.1+ (CVE-2022-3523 fix) takes a page reference under the PTL first; before, none.
  const takeRef = m.rules.swapFaultRef !== SWAP_FAULT_NO_REF;
  if (takeRef) folioGet(m, page, 1, mm.id, vpn); // do_swap_page: get_page under the PTL (16ce101db85d)
  mmuNotifierInvalidate(m, mm.id, vpn, vpn + 1, MMU_NOTIFY_MIGRATE, page.driver!.owner); // migrate_to_ram's migrate_vma_setup
  // dmirror_devmem_fault_alloc_and_copy: order 0 with FAIL_ALLOC (cleared) is VM_FAULT_OOM, nothing moved (as the core)
  if (dmirrorTakeFailAlloc(m, page)) {
    m.faultOom = true;
    if (takeRef) folioPut(m, page, 1, mm.id, vpn);
    return;
  }
  dmirrorFaultErase(m, page, vpn); // a test_hmm chunk's page: dmirror_devmem_fault
  migratePageToRam(m, page, takeRef ? 1 : 0, mm.id, vpn);
  if (takeRef) folioPut(m, page, 1, mm.id, vpn); // do_swap_page: put_page after migrate_to_ram
}

/** do_anonymous_page / do_read_fault / do_cow_fault / do_shared_fault; DAX and p2pmem inserts. */
function doPteMissing(m: Machine, mm: Mm, v: Vma, vpn: number, table: PteTable, write: boolean): Pte {
  let pte: Pte;
  if (v.anon) {
    if (!write) pte = new Pte(0, PTE_PRESENT | PTE_SPECIAL); // the shared zero page: no ref, no rmap
    else pte = new Pte(newAnonPage(m, v, vpn, 0).pfn, PTE_PRESENT | PTE_WRITE); // do_anonymous_page
    table.entries.set(vpn, pte);
    return pte;
  }
  const f = m.files.all[v.file];
  const idx = v.fileIndex(vpn);
  const shared = (v.flags & VM_SHARED) !== 0;
  if (isHole(f, idx)) {
    if (!write) {
      f.holes.set(idx, true); // dax_load_hole (6.1 fs/dax.c; every era): the zero page, no block allocated
      pte = new Pte(0, PTE_PRESENT | PTE_SPECIAL); // vmf_insert_mixed of the zero pfn: no ref, no rmap
      table.entries.set(vpn, pte);
      table.setExpected(vpn, 0);
      return pte;
    }
    if (!shared) {
      pte = new Pte(newAnonPage(m, v, vpn, 0).pfn, PTE_PRESENT | PTE_WRITE); // do_cow_fault -> dax_fault_cow_page: zeroes
      table.entries.set(vpn, pte);
      table.setExpected(vpn, 0);
      return pte;
    }
    // A shared write allocates a block (ext4_iomap_begin); dax_insert_entry replacing a
    // zero-page entry first unmaps the zero page everywhere (unmap_mapping_pages, 6.1 fs/dax.c).
    if (f.holes.get(idx)) unmapMappingRange(m, f, idx, 1, false);
  }
  const { page, fresh } = findOrReadPage(m, f, idx);
  if (write && !shared) {
    pte = new Pte(newAnonPage(m, v, vpn, page.content).pfn, PTE_PRESENT | PTE_WRITE); // do_cow_fault
    table.entries.set(vpn, pte);
    table.setExpected(vpn, page.content); // the private copy starts with the file's data
    if (fresh && page.kind === KIND_P2PDMA) folioPut(m, page, 1, mm.id, vpn); // p2pmem_alloc_mmap: the allocation ref
    return pte;
  }
  const w = write ? PTE_WRITE : 0;
  const devmap = page.kind === KIND_FSDAX ? m.rules.fsdaxDevmap : page.kind === KIND_DEVDAX ? m.rules.devdaxDevmap : false;
  if (devmap) {
    pte = new Pte(page.pfn, PTE_PRESENT | PTE_SPECIAL | PTE_DEVMAP | w); // vmf_insert_mixed: no ref, no rmap
    table.entries.set(vpn, pte);
    return pte;
  }
  // finish_fault -> set_pte_range, vmf_insert_page_mkwrite (DAX, 6.15+), vm_insert_page (p2pmem)
  folioGet(m, page, 1, mm.id, vpn); // set_pte_range / insert_page_into_pte_locked: the PTE's reference
  rmapAdd(m, page); // folio_add_file_rmap_pte
  pte = new Pte(page.pfn, PTE_PRESENT | w);
  table.entries.set(vpn, pte);
  if (fresh && page.kind === KIND_P2PDMA) folioPut(m, page, 1, mm.id, vpn); // p2pmem_alloc_mmap's put_page after insert
  return pte;
}

/**
 * do_wp_page: write (or, for FOLL_PIN, unshare) fault on a present read-only PTE.
 * Shared mappings are made writable in place (wp_page_shared); private ones reuse
 * the anon page when the era allows it (wp_can_reuse_anon_folio), otherwise copy
 * (wp_page_copy).
 */
export function doWpPage(m: Machine, mm: Mm, v: Vma, vpn: number, pte: Pte, makeWritable: boolean): void {
  if ((v.flags & VM_SHARED) !== 0) {
    if (pte.special && pte.pfn === 0 && v.file >= 0) {
      // a DAX hole's zero page: wp_pfn_shared -> pfn_mkwrite (ext4_dax_fault) -> dax_iomap_pte_fault, a write
      doPteMissing(m, mm, v, vpn, mm.tables.ensureTable(m.tablePool, vpn), true);
      return;
    }
    pte.bits |= PTE_WRITE; // wp_page_shared / wp_pfn_shared
    return;
  }
  const old = m.frames.all[pte.pfn];
  if (!pte.special && old.anon) {
    // 5.19+: reuse at once if PageAnonExclusive; otherwise wp_can_reuse_anon_folio decides.
    const exclusive = m.rules.anonExclusive && old.anonExclusive;
    if (exclusive || wpCanReuseAnonFolio(m, mm, old)) {
      if (m.rules.anonExclusive) old.anonExclusive = true;
      if (makeWritable) pte.bits |= PTE_WRITE;
      m.counters.wpReuse++;
      return;
    }
  }
  // wp_page_copy: the copy is an ordinary system page even if the old one was device memory.
  const oldBits = pte.bits;
  const copy = newAnonPage(m, v, vpn, old.content);
  pte.pfn = copy.pfn;
  pte.bits = makeWritable ? PTE_PRESENT | PTE_WRITE : PTE_PRESENT | (oldBits & PTE_WRITE);
  // A copy of a file page starts with the file's data; an anon page's copy already matches.
  if (v.file >= 0 && ((oldBits & PTE_SPECIAL) !== 0 || !old.anon)) mm.tables.table(vpn)!.setExpected(vpn, old.content);
  m.counters.wpCopy++;
  mmuNotifierInvalidate(m, mm.id, vpn, vpn + 1, MMU_NOTIFY_CLEAR, -1); // wp_page_copy
  if ((oldBits & PTE_SPECIAL) === 0) {
    rmapRemove(m, old, mm.id, vpn); // folio_remove_rmap_pte(old)
    folioPut(m, old, 1, mm.id, vpn); // folio_put(old)
  } else if (old.pfn !== 0) {
    old.lastOp = m.log.currentOp; // a devmap/special mapping goes away without any put
  }
}

/**
 * wp_can_reuse_anon_folio for a page that is not PageAnonExclusive. A small folio, or a
 * large one before 6.15: only when its one reference is this mapping (folio_ref_count
 * == 1; 5.15 page_count reads the head), so a large folio only at its last mapping. A
 * large one from 6.15 (__wp_can_reuse_large_anon_folio, 1da190f4d0a6): when more than
 * one page is mapped, every mapping is this process's (!maybe_mapped_shared) and every
 * reference is a mapping (folio_large_mapcount == folio_ref_count).
 */
function wpCanReuseAnonFolio(m: Machine, mm: Mm, page: Frame): boolean {
  const head = m.frames.folioOf(page);
  if (!page.large || !m.rules.largeAnonReuse) return head.refcount === 1;
  const mapped = m.frames.folioMapcount(head);
  if (mapped <= 1) return false; // one page left mapped: copy it and let the large folio go
  if (head.refcount !== mapped) return false; // a GUP reference or a pin besides the mappings
  return folioMappingsIn(m, mm, head) === mapped; // no other process maps it
}

/** The value the CPU sees at a present PTE, checked against what this process expects. */
export function loadChecked(m: Machine, mm: Mm, v: Vma, vpn: number, pte: Pte): number {
  return loadPage(m, mm, v, vpn, m.frames.all[pte.pfn]);
}

/** A load from `page` mapped at vpn (through a PTE or a PMD); vpn's table holds the expected data. */
export function loadPage(m: Machine, mm: Mm, v: Vma, vpn: number, page: Frame): number {
  if (page.pfn !== 0 && !page.usable) m.log.record(V_UAF, page.pfn, mm.id, vpn, page.refcount, page.mapcount, 2);
  const got = page.content;
  // A file vma's page that is not an anon COW copy shows the file's data, cached or not.
  const fromFile = page.pfn !== 0 && v.file >= 0 && !page.anon;
  const expected = fromFile ? m.files.all[v.file].disk[v.fileIndex(vpn)] : mm.tables.table(vpn)!.expectedAt(vpn);
  if (got !== expected) m.log.record(V_CORRUPTION, page.pfn, mm.id, vpn, got, expected, 0);
  return got;
}

/** A CPU store to a writable present PTE: the page changes, and so does what we expect. */
export function storeValue(m: Machine, mm: Mm, v: Vma, vpn: number, pte: Pte, value: number): void {
  storePage(m, mm, v, vpn, m.frames.all[pte.pfn], value);
}

/** A store to `page` mapped writable at vpn (through a PTE or a PMD). */
export function storePage(m: Machine, mm: Mm, v: Vma, vpn: number, page: Frame, value: number): void {
  if (page.pfn !== 0 && !page.usable) m.log.record(V_UAF, page.pfn, mm.id, vpn, page.refcount, page.mapcount, 3);
  page.content = value;
  mm.tables.table(vpn)!.setExpected(vpn, value);
  if (v.file >= 0 && !page.anon) m.files.all[v.file].disk[v.fileIndex(vpn)] = value;
}

// The CPU access itself, do_user_addr_fault (arch/x86/mm/fault.c) into handle_mm_fault (mm/memory.c),
// with the room checks the dispatcher makes before it (refsim's capacity: a Rejection, not a kernel
// result); here and not in ops.ts because hmm_vma_fault (mm/hmm.c) calls handle_mm_fault too.

const VPN_LIMIT = 2 ** VPN_BITS;

/** Room for a fault, if the access needs one: two frames (a migrate_to_ram and a copy) and its page tables. */
export function checkFaultRoom(m: Machine, mm: Mm, vpn: number, write: boolean): void {
  const pte = mm.tables.get(vpn);
  if (pte && pte.present && (!write || pte.writable)) return; // no fault
  checkRoomForFault(m, mm, vpn);
}

/** Two free frames and the page tables a fault at vpn would allocate. */
function checkRoomForFault(m: Machine, mm: Mm, vpn: number): void {
  if (m.frames.freeSystemPages < 2) reject(ERR_NOMEM_FRAMES, NO_FIELD, 2);
  const t = mm.tables.tablesNeeded(vpn);
  if (m.tablePool.pteFree < 1 || (t === 2 && m.tablePool.pmdFree < 1)) reject(ERR_NOMEM_TABLES, NO_FIELD, t);
}

/** Would a fault at vpn of file VMA v take a page from the file's device (as the core's needsDeviceFault)? */
function needsDeviceFault(m: Machine, mm: Mm, v: Vma, vpn: number, write: boolean): boolean {
  if (v.file < 0 || v.fileIndex(vpn) >= m.files.all[v.file].pages) return false; // past EOF: no page (as the core)
  const blockWrite = write && (v.flags & VM_SHARED) !== 0;
  const pte = mm.tables.get(vpn);
  // a shared write on a DAX hole's zero page allocates its block (wp_pfn_shared -> pfn_mkwrite)
  if (pte && !(blockWrite && pte.present && pte.special && pte.pfn === 0)) return false;
  return needsDevicePage(m.files.all[v.file], v.fileIndex(vpn), blockWrite);
}

/** A fault on a file living on a device needs a free device page there (else SIGBUS). */
export function checkDeviceRoom(m: Machine, mm: Mm, v: Vma, vpn: number, write: boolean): void {
  if (needsDeviceFault(m, mm, v, vpn, write) && m.devices.drivers[m.files.all[v.file].driver].free.length < 1) reject(ERR_NOMEM_DEVICE, F_ACCESS_ADDR);
}

/**
 * checkDeviceRoom for every fault of a range op over [vpn, vpn + n) at once, before any runs
 * (as the core's deviceRoomRange): one pass over the VMAs, skipping those without a file, counts
 * each driver's pages; the error names the range's length (F_LOOP_PAGES).
 */
export function checkDeviceRoomRange(m: Machine, mm: Mm, vpn: number, n: number, write: boolean): void {
  const need = new Map<number, number>(); // driver id -> device pages the faults take from it
  const end = vpn + n;
  for (const v of mm.vmas) {
    if (v.end <= vpn || v.file < 0) continue; // anonymous memory takes no device page
    if (v.start >= end) break;
    const d = m.files.all[v.file].driver;
    for (let p = Math.max(vpn, v.start); p < Math.min(v.end, end); p++) {
      if (needsDeviceFault(m, mm, v, p, write)) need.set(d, (need.get(d) ?? 0) + 1);
    }
  }
  for (const d of [...need.keys()].sort((a, b) => a - b)) { // the core checks drivers in id order
    if (m.devices.drivers[d].free.length < need.get(d)!) reject(ERR_NOMEM_DEVICE, F_LOOP_PAGES, need.get(d)!);
  }
}

/** A fault on a device-private PMD moves the whole folio back: a THP, or 512 small pages (devicePmdFault). */
export function checkFolioRoom(m: Machine, leaf: Pte | undefined): void {
  if (leaf?.devicePrivate && m.frames.freeHugeFolios === 0 && m.frames.freeSystemPages < FOLIO_NR) reject(ERR_NOMEM_FRAMES, NO_FIELD, FOLIO_NR);
}

/** A file VMA's page past the end of its file. */
export function beyondEof(m: Machine, v: Vma, vpn: number): boolean {
  if (v.file >= 0 && m.files.all[v.file].dmirrorMap) return m.mms.live(v.mm)!.tables.get(vpn) === undefined; // no ->fault: VM_FAULT_SIGBUS
  return v.file >= 0 && v.fileIndex(vpn) >= m.files.all[v.file].pages;
}

/** handle_mm_fault for hmm_range_fault (hmm.ts): the fault of a CPU access, no load or store. */
export function faultIn(m: Machine, mm: Mm, vpn: number, write: boolean): number {
  return access(m, mm, vpn, write, 0, false);
}

/** A CPU load or store at vpn (touch false: only the fault, as handle_mm_fault for hmm_range_fault). */
export function access(m: Machine, mm: Mm, vpn: number, write: boolean, value: number, touch = true): number {
  if (vpn < 0 || vpn >= VPN_LIMIT) reject(ERR_RANGE, F_ACCESS_ADDR);
  const v = mm.findVma(vpn);
  if (!v) return ksignal(m, SIGSEGV); // bad_area
  if ((v.flags & (write ? VM_WRITE : VM_READ)) === 0) return ksignal(m, SIGSEGV); // access_error
  if (!mm.tables.get(vpn)) {
    // pte_none: a PMD may map the block (MADV_COLLAPSE makes one in any anon vma), or in a huge-page vma a THP fault may map one.
    const leaf = mm.tables.hugeLeaf(vpn);
    if (leaf || thpEligible(mm, v, vpn)) {
      if (!leaf || !leaf.present || (write && !leaf.writable)) checkRoomForFault(m, mm, vpn);
      checkFolioRoom(m, leaf);
      const pfn = hugeFault(m, mm, v, vpn, write, false);
      if (pfn !== HUGE_NONE) {
        if (!touch) return 0;
        const page = m.frames.all[pfn];
        if (!write) return loadPage(m, mm, v, vpn, page);
        storePage(m, mm, v, vpn, page, value);
        return 0;
      }
    }
  }
  const cur = mm.tables.get(vpn);
  if (!(cur && cur.present && (!write || cur.writable)) && beyondEof(m, v, vpn)) return ksignal(m, SIGBUS); // filemap_fault
  checkFaultRoom(m, mm, vpn, write);
  checkDeviceRoom(m, mm, v, vpn, write);
  let pte = handleFault(m, mm, v, vpn, write);
  // VM_FAULT_OOM: pagefault_out_of_memory returns and the instruction faults again (as the core)
  if (m.faultOom) {
    if (!touch) return 0; // the flag stays for hmm_vma_fault
    pte = handleFault(m, mm, v, vpn, write); // handleFault clears the spent flag
  }
  if (!pte.present) {
    // migrate_to_ram failed and nothing will change that: the CPU refaults forever.
    const page = m.frames.all[pte.pfn];
    m.log.record(V_LIVELOCK, page.pfn, mm.id, vpn, page.refcount, page.mapcount, 0);
    return 0;
  }
  if (!touch) return 0;
  if (!write) return loadChecked(m, mm, v, vpn, pte);
  storeValue(m, mm, v, vpn, pte, value);
  return 0;
}
