// Guarded fast path (issue 14) of a CPU access to a VMA of an ordinary file (page
// cache, no device): the read or shared write fault on pte_none of a page the cache
// already holds (allocating the page tables the walk needs), and the access through a
// PTE that already allows it, each with the state changes access() makes for it and
// nothing else. Every guard is tested before anything changes; anything else (a DAX or
// p2pmem file, a test_hmm mapping, a PMD mapping, a page not cached, a private write
// fault, a large folio, the counter layer, low memory, a page past EOF, a page that
// would raise a violation...) goes on to the full path in access() (fault.ts),
// unchanged. Performance only.
import { VM_SHARED, PTE_PRESENT, PTE_WRITE, PG_ANON, PG_ALLOCATED, ST_FAULTS, ST_ATOMIC_REF, ST_ATOMIC_MAP } from "./abi";
import { bump } from "./stats";
import { content, setContent, flags, ref, setRef, mapcount, setMapcount, freeSystemFrames } from "./frames";
import { frameUsable } from "./refcount";
import { ptePtr, shadowOf, hugeLeaves, pteTablesLeft, pmdTablesLeft, tablesNeeded, mkPte, ptePfn } from "./pgtable";
import { vmaFlags, vmaFile, fileIndex } from "./mm";
import { fileDevice, fileIsDmirrorMap, filePages, cachedSystemPageAt, diskRead, diskWrite, notePageCached } from "./file";
import { ORDINARY_MASK } from "./mmu_gather";
import { counterOn } from "./counters/layer";

// fileFastAccess's answers
export const FILE_FULL = 0; // not done: the caller runs the full path
export const FILE_DONE = 1; // done, no fault
export const FILE_FAULTED = 2; // done through a fault (handleFault's work)

// How often the fast path ran and how often its guard sent a file VMA's access the full way (FF_* indexes)
export const FF_FAST = 0;
export const FF_FULL = 1;
export const FF_COUNT = 2;
const ff = new StaticArray<i32>(FF_COUNT);
export function fileFastCount(i: i32): i32 { return i >= 0 && i < FF_COUNT ? unchecked(ff[i]) + (i == FF_FAST ? lateFileFaults : 0) : -1; }

/**
 * Faults done here whose pure counters are not summed yet: each is ST_FAULTS, filemap_fault's ST_ATOMIC_REF,
 * page_add_file_rmap's ST_ATOMIC_MAP and one FF_FAST. Nothing in the core reads them during a batch, so
 * runBatch sums them at its end, as frames.ts's late anon faults (performance only: the same statistics).
 */
let lateFileFaults: i32 = 0;

/** Sum the late file faults' counters (runBatch, at a batch's end). */
@inline export function sumLateFileFaults(): void {
  if (lateFileFaults != 0) addLateFileFaults();
}

function addLateFileFaults(): void {
  const k = <i64>lateFileFaults;
  lateFileFaults = 0;
  bump(ST_FAULTS, k);
  bump(ST_ATOMIC_REF, k);
  bump(ST_ATOMIC_MAP, k);
  unchecked(ff[FF_FAST] += <i32>k);
}

/** The load's value (0 for a store) of the last fileFastAccess that did not return FILE_FULL. */
export let fileFastResult: i32 = 0;

/**
 * OP_READ / OP_WRITE at vpn of file VMA v of mm, for access() once it found v and
 * checked vpn's range and the VMA's permission for the access (touch: a load or a
 * store follows the fault). FILE_FULL, with nothing changed, when a guard fails.
 */
@inline export function fileFastAccess(mm: i32, v: i32, vpn: u32, write: bool, value: i32): i32 {
  // inlined where accessVma is (fastpath_anon.ts: once per access kind), each test its own if (performance only)
  const f = vmaFile(v);
  if (counterOn) return full(); // folioGet's counter update
  if (fileDevice(f) >= 0) return full(); // DAX, p2pmem
  if (fileIsDmirrorMap(f)) return full(); // test_hmm
  let p = ptePtr(mm, vpn, false); // 0: no PTE table yet (pte_none)
  const pte = p == 0 ? 0 : load<u32>(p);
  const idx = fileIndex(v, vpn);
  if (pte == 0) {
    // handle_mm_fault -> do_read_fault / do_shared_fault (6.1 mm/memory.c): filemap_fault finds the
    // folio in the page cache with a reference (filemap_get_folio, 6.1 mm/filemap.c), finish_fault ->
    // do_set_pte maps it (page_add_file_rmap; 6.8+ set_pte_range, folio_add_file_rmap_pte); doPteMissing's work
    if (hugeLeaves != 0) return full(); // a PMD may map the block
    if (write && (vmaFlags(v) & VM_SHARED) == 0) return full(); // do_cow_fault: a new anon page
    if (idx >= filePages(f)) return full(); // SIGBUS past EOF
    const t = p == 0 ? tablesNeeded(mm, vpn) : 0; // the tables the walk must allocate
    if (freeSystemFrames() < 2 || pteTablesLeft() < 1 || (t == 2 && pmdTablesLeft() < 1)) return full(); // faultRoomFor rejects the op
    const page = cachedSystemPageAt(f, idx); // cachedPageAt for a file on no device (tested above)
    if (page == 0) return full(); // read in from disk: a new page
    // a small system page (no compound head: folioOf(page) == page), allocated (no use after free), not anon
    if ((flags(page) & (ORDINARY_MASK | PG_ANON)) != PG_ALLOCATED) return full();
    if (!write && content(page) != diskRead(f, idx)) return full(); // V_CORRUPTION: the full path records it
    if (p == 0) p = ptePtr(mm, vpn, true); // handleFault's walk: __pte_alloc (and __pmd_alloc), room checked above
    notePageCached(); // findOrReadPage found it
    lateFileFaults++; // its ST_FAULTS, ST_ATOMIC_REF and ST_ATOMIC_MAP and its FF_FAST, summed later
    setRef(page, ref(page) + 1); // filemap_fault's reference, kept by the PTE
    setMapcount(page, mapcount(page) + 1); // page_add_file_rmap
    store<u32>(p, mkPte(page, write ? PTE_PRESENT | PTE_WRITE : PTE_PRESENT));
    if (write) {
      setContent(page, <u32>value); // the store, written through to disk
      store<u32>(shadowOf(p), <u32>value);
      diskWrite(f, idx, <u32>value);
      fileFastResult = 0;
      return FILE_FAULTED;
    }
    fileFastResult = <i32>content(page);
    return FILE_FAULTED;
  }
  // No fault: the PTE allows the access (else do_wp_page, a device entry...: the full path).
  if ((pte & PTE_PRESENT) == 0 || (write && (pte & PTE_WRITE) == 0)) return full();
  const pfn = ptePfn(pte);
  if (pfn != 0 && !frameUsable(pfn)) return full(); // a use after free to report
  // a file page shows the file's data; an anon COW copy (or the zero page) what this process expects
  const filePage = pfn != 0 && (flags(pfn) & PG_ANON) == 0;
  if (write) { // storePage
    setContent(pfn, <u32>value);
    store<u32>(shadowOf(p), <u32>value);
    if ((flags(pfn) & PG_ANON) == 0) diskWrite(f, idx, <u32>value);
    return fast(0, FILE_DONE);
  }
  const got = content(pfn); // loadPage
  if (got != (filePage ? diskRead(f, idx) : load<u32>(shadowOf(p)))) return full(); // V_CORRUPTION: the full path
  return fast(<i32>got, FILE_DONE);
}

@inline function full(): i32 {
  unchecked(ff[FF_FULL]++);
  return FILE_FULL;
}

@inline function fast(result: i32, how: i32): i32 {
  unchecked(ff[FF_FAST]++);
  fileFastResult = result;
  return how;
}
