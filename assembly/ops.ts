// The batch dispatcher: validates each op completely before it changes anything,
// so a rejected op leaves the engine exactly as it was and stops the batch with
// an error naming the op and the field.
import {
  OP_WORDS, OP_MM_NEW, OP_MMAP, OP_MUNMAP, OP_READ, OP_WRITE, OP_FORK, OP_EXIT, OP_MADV_DONTNEED, OP_FILE_NEW,
  OP_DRIVER_NEW, OP_MIGRATE_TO_DEVICE, OP_MIGRATE_TO_RAM, OP_GUP, OP_UNPIN, OP_CHECK, OP_TEARDOWN, OP_DROP_CACHE,
  OP_DRIVER_TEARDOWN, OP_EVICT_BO, OP_FAULT_BEGIN, OP_FAULT_END, OP_TRUNCATE, OP_DMA_WRITE, OP_MADV_PAGEOUT,
  OP_DRIVER_ALLOC, OP_DRIVER_FREE, FOLIO_ORDER, SCHEME_DEVICE_FOLIOS, SCHEME_MADV_COLLAPSE, OP_MPROTECT, OP_MREMAP, OP_MADV_COLLAPSE, F_MADVISE_COLLAPSE_ADDR, F_MADVISE_COLLAPSE_MM, MREMAP_VALID,
  MREMAP_FIXED, MREMAP_DONTUNMAP, VM_READ, EINVAL, EEXIST, ENOMEM, EFAULT, MMU_NOTIFY_MIGRATE, MMU_NOTIFY_CLEAR,
  KIND_FSDAX, KIND_DEVDAX, KIND_P2PDMA, ERR_BAD_STATE, ST_TEARDOWNS, ST_MIGRATE_FAIL,
  VM_VALID, VM_ANON, VM_FILE, VM_SHARED, VM_WRITE, FOLL_VALID, FOLL_WRITE, KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT,
  VPN_BITS, PT_ENTRIES, VM_HUGEPAGE, PTE_PRESENT, PTE_WRITE, PTE_SPECIAL, PTE_DEVICE_PRIVATE, ERR_BAD_OP, ERR_BAD_MM, ERR_SEGV,
  ERR_RANGE, ERR_NOMEM_FRAMES, ERR_NOMEM_TABLES, ERR_NOMEM_MM, ERR_NOMEM_VMA, ERR_BAD_FILE, ERR_BAD_DRIVER, ERR_BAD_BO,
  ERR_BAD_HANDLE, ERR_NOMEM_DEVICE, ERR_BAD_ARG, ERR_NOMEM_OBJECTS, OP_DMIRROR_NEW, OP_DMIRROR_OPEN, OP_DMIRROR_CLOSE,
  OP_DMIRROR_READ, OP_DMIRROR_WRITE, OP_DMIRROR_SNAPSHOT, OP_WRITE_RANGE, OP_READ_RANGE, ERR_BAD_DMIRROR,
  ERR_BAD_MIRROR, MAX_DMIRROR_DEVICES, SNAPSHOT_MAX, ERR_NONE, OP_CPU, OP_DMIRROR_MIGRATE_TO_DEV,
  OP_DMIRROR_MIGRATE_TO_SYS, OP_DMIRROR_RELEASE, OP_DMIRROR_FLAGS, DMIRROR_CHUNK_PAGES, OP_DMIRROR_EXCLUSIVE,
  OP_DMIRROR_MMAP, F_DMIRROR_MMAP_LENGTH, F_DMIRROR_MMAP_PROT,
  OP_DMIRROR_CHECK_EXCLUSIVE, DMIRROR_CHUNK_MAX, NO_FIELD, F_CPU_CPU, F_DMA_WRITE_HANDLE, F_DMIRROR_ADDR,
  F_DMIRROR_NEW_CHUNK, F_DMIRROR_NEW_KIND, F_DMIRROR_NPAGES, F_DMIRROR_OPEN_DEVICE, F_DMIRROR_OPEN_MM,
  F_DRIVER_ALLOC_DRIVER, F_DRIVER_ALLOC_ORDER, F_DRIVER_ALLOC_WAIT, F_DRIVER_FREE_BO, F_DRIVER_NEW_KIND,
  F_DRIVER_NEW_PAGES, F_DRIVER_TEARDOWN_DRIVER, F_DRIVER_TEARDOWN_EVICT, F_DROP_CACHE_FILE, F_EVICT_BO_BO,
  F_FAULT_BEGIN_ADDR, F_FAULT_END_FAULT, F_FILE_NEW_DRIVER, F_FILE_NEW_LENGTH, F_GUP_ADDR, F_GUP_WRITE,
  F_LOOP_ADDR, F_LOOP_MM, F_LOOP_PAGES, F_MADVISE_DONTNEED_ADDR, F_MADVISE_PAGEOUT_ADDR, F_MIGRATE_TO_DEVICE_ADDR,
  F_MIGRATE_TO_DEVICE_BO, F_MIGRATE_TO_DEVICE_DRIVER, F_MIGRATE_TO_DEVICE_LENGTH, F_MIGRATE_TO_RAM_ADDR,
  F_MIGRATE_TO_RAM_LENGTH, F_MM, F_MMAP_ADDR, F_MMAP_FILE, F_MMAP_LENGTH, F_MMAP_OFFSET, F_MMAP_PROT, F_MPROTECT_ADDR,
  F_MPROTECT_MM, F_MPROTECT_PROT, F_MREMAP_ADDR, F_MREMAP_LENGTH, F_MREMAP_MAYMOVE, F_MREMAP_MM, F_MREMAP_NEW_ADDR,
  F_GUP_FAST_BEGIN_MM, F_GUP_FAST_BEGIN_ADDR, F_GUP_FAST_BEGIN_WRITE, F_GUP_FAST_STEP_WALK, F_FORK_BEGIN_MM, F_FORK_END_CHILD,
  OP_GUP_FAST_BEGIN, OP_GUP_FAST_STEP, OP_FORK_BEGIN, OP_FORK_END,
  F_MREMAP_NEW_LENGTH, F_MUNMAP_ADDR, F_TRUNCATE_FILE, F_TRUNCATE_LENGTH, F_TRUNCATE_OFFSET, F_TRUNCATE_SHRINK,
  F_UNPIN_HANDLE, OP_ZAP_BEGIN, OP_ZAP_END, ZAP_WINDOW_PAGES, ZAP_ORDER_PUT_FIRST, F_ZAP_BEGIN_ADDR, F_ZAP_BEGIN_LENGTH,
  F_ZAP_BEGIN_ORDER, F_ZAP_END_WINDOW, OP_MIGRATE_COLLECT, OP_MIGRATE_FINISH, OP_MIGRATION_WAIT, F_MIGRATE_COLLECT_ADDR,
  F_MIGRATE_COLLECT_DRIVER, F_MIGRATE_COLLECT_BO, F_MIGRATE_FINISH_MIGRATION, F_MIGRATION_WAIT_ADDR, F_MIGRATION_WAIT_WAITER,
} from "./abi";
import { dmirrorValid, dmirrorCount, newDmirror, isLiveChunk, resetChunks } from "./dmirror";
import {
  mirrorIsOpen, mirrorSlotsLeft, mirrorEntriesLeft, mirrorMm, openMirror, closeMirror, mirrorDevice, setMirrorFlags,
  setMirrorResult,
} from "./mirror";
import { dmirrorReadWrite, dmirrorSnapshot, dmirrorMigrateToDev, dmirrorMigrateToSys, dmirrorExclusive, dmirrorCheckExclusive } from "./dmirror_ioctl";
import { loopFramesNeeded, loopTablesNeeded } from "./userloop";
import { countOp, bump } from "./stats";
import { hashInRun, emitHash, setEmitHash, foldRecord } from "./workload_emit";
import { setCurrentOp } from "./violations";
import { pageout } from "./lru";
import { freeSystemFrames, isDevice, sumLateAll } from "./frames";
import { sumLateFileFaults } from "./fastpath_file";
import {
  mmValid, newMm, mmSlotsLeft, vmaSlotsLeft, findVma, overlaps, unmappedArea, insertVma, vmaStart, vmaEnd, vmaFile, mmCount,
  findVmaAfter, cachedVma, mmAlive,
} from "./mm";
import { ptePtr, pmdTablesLeft, pteTablesLeft, ptePfn, hugeLeaf, pteAt, pteTableOf, pteTableBase, pteSlot } from "./pgtable";
import { zapRange } from "./zap";
import { zapPage } from "./zap_page";
import { unmapRange, splitsVma, exitMm } from "./munmap";
import { doMprotect, mprotectSlots } from "./mprotect";
import { collapseRange, COLLAPSE_NOT_MODELLED } from "./khugepaged";
import { doMremap, mremapSlots } from "./mremap";
import { shmemZeroSetup } from "./shmem";
import { kfail, ksignal, opStatus, resetStatuses, noteStatus } from "./errno";
import { mmuNotifierInvalidate } from "./mmu_notifier";
import { doFork } from "./fork";
import { access, faultRoom, folioRoom, deviceRoom, deviceRoomRange, beyondEof } from "./fault";
import { fail, errCode, errField, errDetail, clearRejection } from "./reject";
import { splitHugeForMigration, migrateHugeToDevice, splitDevicePmdsIn, splitDeviceFoliosOf } from "./thp";
import { migrateOneToDevice, migratePageToRam, migrateBegin, migrateFinalize } from "./migrate";
import { walkTablesBegin, walkTablesEnd } from "./rmap";
import { gup, unpin, checkVmaFlags, refuse } from "./gup";
import {
  newFile, fileValid, filePages, fileSlotsLeft, fileCount, fileCap, dropPageCache, fileIsOpen, fileDevice,
  fileIsDmirrorMap, fileRefusesMigrateVma,
} from "./file";
import { dmirrorMmap } from "./dmirror_mmap";
import {
  driverValid, driverKind, registerDriver, deviceFramesLeft, driverSlotsLeft, driverState, driverSize, memunmapPages,
  DRIVER_LIVE, DRIVER_GONE, driverPadding, driverCount,
} from "./memremap";
import {
  boSlotsLeft, boLive, boDriverOf, createBo, driverPagesOfBo, driverAllocFolio, setPending, pendingOrder, markBoHeld,
  boIsHeld, driverFreeBo, driverCanAlloc,
} from "./driver";
import { rule } from "./scheme";
import { faultBegin, faultEnd, faultValid, faultSlotsLeft } from "./race";
import { zapWindowBegin, zapWindowEnd, zapWindowValid, zapWindowFree } from "./zap_window";
import {
  migrateCutPage, migrateCutFree, migrateCutValid, migrateCollect, migrateFinish, migrationEntryPage, migrationWaiterFree,
  migrationWaiterValid, migrationWaitBegin, migrationWaitPut,
} from "./migrate_steps";
import { truncateRange, truncateSlotsLeft, resumeWokenTruncates } from "./truncate";
import { quiesceCheck } from "./check";
import { counterOn, counterOpEnd, cpuLimit } from "./counters/layer";
import { setCpu } from "./cpus";
import { prefetchOn, prefetchGroup, PREFETCH_GROUP } from "./prefetch";
import { fastAccess } from "./fastpath_anon";
import { handleValid, pinSlotsLeft, dmaWrite } from "./pins";
import { gupFastBegin, gupFastStep, walkValid, walkAtLastStep, walkSlotsLeft, forkBegun, forkEnd, forkInProgress, forkingParent, walkInFlight, setDeferParentWp } from "./gup_fast";

export let opBase: usize = 0;
export let resultBase: usize = 0;
export let errorBase: usize = 0; // [code, op index in batch, field, detail]
export let batchCap: i32 = 0;
export let opSeq: i32 = 0; // global sequence number of the next op

const VPN_LIMIT: i64 = <i64>1 << VPN_BITS;

/** Ops whose first argument is an mm, as a bit mask by op code. */
const NEEDS_MM: u32 = (1 << OP_MMAP) | (1 << OP_MUNMAP) | (1 << OP_READ) | (1 << OP_WRITE) | (1 << OP_FORK)
  | (1 << OP_EXIT) | (1 << OP_MADV_DONTNEED) | (1 << OP_MIGRATE_TO_DEVICE) | (1 << OP_MIGRATE_TO_RAM) | (1 << OP_GUP)
  | (1 << OP_FAULT_BEGIN) | (1 << OP_MADV_PAGEOUT) | (1 << OP_ZAP_BEGIN);

let scratchBase: usize = 0;
let scratchCap: i32 = 0;

export function initOps(cap: i32, devFrames: i32): void {
  scratchCap = max<i32>(devFrames, 1);
  scratchBase = heap.alloc(<usize>scratchCap << 2);
  batchCap = cap;
  opBase = heap.alloc(<usize>cap * OP_WORDS * 4);
  resultBase = heap.alloc(<usize>cap * 4);
  errorBase = heap.alloc(16);
  memory.fill(errorBase, 0, 16);
}

/** Arguments 1 and 2 as a vpn range inside the simulated address space. */
@inline function rangeOk(vpn: i32, npages: i32): bool {
  // vpn >= 0 && npages > 0 && vpn + npages <= VPN_LIMIT, in u32 without the i64 sum (performance only)
  return <u32>vpn < <u32>VPN_LIMIT && npages > 0 && <u32>npages <= <u32>VPN_LIMIT - <u32>vpn;
}

/** migrate_device_range over a driver's (or one BO's) allocated pages. Returns how many moved. */
function evict(d: i32, b: i32): i32 {
  const n = driverSize(d);
  if (<i64>freeSystemFrames() < <i64>n) return fail(ERR_NOMEM_FRAMES, NO_FIELD, n);
  splitDeviceFoliosOf(d, b); // migrate_device_range of large folios: folio_split first
  const k = driverPagesOfBo(d, b, scratchBase, scratchCap);
  let moved = 0;
  for (let i = 0; i < k; i++) {
    const pfn = load<u32>(scratchBase + (<usize>i << 2));
    if (migratePageToRam(pfn, 0, -1, 0)) moved++;
  }
  return moved;
}

function doMmap(mm: i32, vpn: i32, n: i32, fl: i32, file: i32, pgoff: i32): i32 {
  // The checks a test at a time, in their order: plain branches for V8 where Binaryen folds || and && into
  // selects and materialised booleans (performance only)
  if (n <= 0) return fail(ERR_RANGE, F_MMAP_LENGTH);
  if (<i64>n > VPN_LIMIT) return fail(ERR_RANGE, F_MMAP_LENGTH);
  if ((fl & ~VM_VALID) != 0) return fail(ERR_BAD_ARG, F_MMAP_PROT);
  if ((fl & (VM_WRITE | VM_READ)) == VM_WRITE) return fail(ERR_BAD_ARG, F_MMAP_PROT, 3); // PROT_WRITE alone is not modelled
  const anon = (fl & VM_ANON) != 0;
  if ((fl & (VM_ANON | VM_FILE)) == 0) return fail(ERR_BAD_ARG, F_MMAP_PROT, 1); // exactly one of anon / file
  if ((fl & (VM_ANON | VM_FILE)) == (VM_ANON | VM_FILE)) return fail(ERR_BAD_ARG, F_MMAP_PROT, 1);
  const shmem = (fl & (VM_ANON | VM_SHARED)) == (VM_ANON | VM_SHARED); // MAP_SHARED | MAP_ANONYMOUS
  if ((fl & (VM_ANON | VM_SHARED | VM_HUGEPAGE)) == (VM_ANON | VM_SHARED | VM_HUGEPAGE)) return fail(ERR_BAD_ARG, F_MMAP_PROT, 2); // shmem THP is not modelled
  if (!anon) {
    if (!fileValid(file) || fileIsDmirrorMap(file)) return fail(ERR_BAD_FILE, F_MMAP_FILE); // a test_hmm mapping's pages are no file_new file
    if (pgoff < 0 || <i64>pgoff + <i64>n > <i64>filePages(file)) return fail(ERR_RANGE, F_MMAP_OFFSET);
  }
  if (vmaSlotsLeft() < 1) return fail(ERR_NOMEM_VMA, NO_FIELD, 1);
  if (shmem) { // the shmem file
    if (fileCount >= fileCap) return fail(ERR_NOMEM_OBJECTS, F_MMAP_LENGTH, n);
    if (<i64>n > <i64>fileSlotsLeft()) return fail(ERR_NOMEM_OBJECTS, F_MMAP_LENGTH, n);
  }
  let start: u32;
  if (vpn == -1) {
    start = unmappedArea(mm, <u32>n, <u32>VPN_LIMIT);
    if (start == 0) return kfail(ENOMEM); // get_unmapped_area found no room
  } else {
    // rangeOk(vpn, n) a test at a time (n > 0 tested first)
    if (<u32>vpn >= <u32>VPN_LIMIT) return fail(ERR_RANGE, F_MMAP_ADDR);
    if (<u32>n > <u32>VPN_LIMIT - <u32>vpn) return fail(ERR_RANGE, F_MMAP_ADDR);
    start = <u32>vpn;
    if (overlaps(mm, start, start + <u32>n)) return kfail(EEXIST); // do_mmap: MAP_FIXED_NOREPLACE
  }
  if (shmem) {
    // shmem_zero_setup: a shared file mapping of a new shmem file, at offset 0
    insertVma(mm, start, start + <u32>n, (fl & ~VM_ANON) | VM_FILE, shmemZeroSetup(<u32>n), 0);
    return <i32>start;
  }
  // an anonymous VMA's pgoff is its address (do_mmap: pgoff = addr >> PAGE_SHIFT), so page->index is too
  insertVma(mm, start, start + <u32>n, fl, anon ? -1 : file, anon ? start : <u32>pgoff);
  return <i32>start;
}

/** munmap (__do_munmap, 6.1 mm/mmap.c): the range checked, then unmapRange's zap and VMA surgery. */
@inline function doMunmap(mm: i32, vpn: i32, n: i32): i32 { // inlined: dispatch and execute each have one
  if (!rangeOk(vpn, n)) return fail(ERR_RANGE, F_MUNMAP_ADDR);
  if (vmaSlotsLeft() < 1 && splitsVma(mm, <u32>vpn, <u32>(vpn + n))) return fail(ERR_NOMEM_VMA, NO_FIELD, 1);
  unmapRange(mm, <u32>vpn, <u32>(vpn + n));
  return 0;
}

/**
 * madvise_walk_vmas for MADV_DONTNEED (zap_page_range_single: an mmu-notifier
 * CLEAR and a zap per VMA piece) or MADV_PAGEOUT (LRU isolation; returns how many
 * folios were isolated). The mapped pieces are done even when the range has holes;
 * then the result is -ENOMEM. Inlined: one call less per MADV_DONTNEED, half the churn bench's ops.
 */
@inline function madvise(mm: i32, start: u32, end: u32, pageoutAdvice: bool): i32 {
  if (!pageoutAdvice) {
    // The range inside the vma find_vma found last: the walk visits that one vma and finds no
    // hole (what the loop below does for it, without the list walk; performance only).
    const c = cachedVma(mm);
    if (c >= 0) {
      if (start >= vmaStart(c)) {
        if (end <= vmaEnd(c)) {
          mmuNotifierInvalidate(mm, start, end, MMU_NOTIFY_CLEAR, -1);
          if (end - start == 1) zapPage(mm, start);
          else zapRange(mm, start, end);
          return 0;
        }
      }
    }
  }
  let hole = false;
  let isolated = 0;
  let at = start;
  while (at < end) {
    const v = findVmaAfter(mm, at); // find_vma: the first VMA ending above at
    if (v < 0) return kfail(ENOMEM);
    if (vmaStart(v) > at) {
      hole = true;
      at = vmaStart(v);
      if (at >= end) break;
    }
    const e = min<u32>(vmaEnd(v), end);
    if (pageoutAdvice) isolated += pageout(mm, at, e);
    else {
      mmuNotifierInvalidate(mm, at, e, MMU_NOTIFY_CLEAR, -1);
      zapRange(mm, at, e);
    }
    at = e;
  }
  return hole ? kfail(ENOMEM) : isolated;
}

/**
 * The driver and BO of a migration into device memory are usable (migrate_vma's
 * targets: a device-private or device-coherent driver not gone; the BO, if given,
 * live and the driver's; a BO slot for a new one): 0, else the rejection's -1.
 */
function migrateTarget(d: i32, b: i32, fDriver: i32, fBo: i32): i32 {
  if (!driverValid(d)) return fail(ERR_BAD_DRIVER, fDriver);
  const dk = driverKind(d);
  if (dk != KIND_DEVICE_PRIVATE && dk != KIND_DEVICE_COHERENT) return fail(ERR_BAD_ARG, fDriver);
  if (driverState(d) == DRIVER_GONE) return fail(ERR_BAD_STATE, fDriver);
  if (b != 0 && (!boLive(b) || boDriverOf(b) != d)) return fail(ERR_BAD_BO, fBo);
  if (b == 0 && boSlotsLeft() < 1) return fail(ERR_NOMEM_OBJECTS, fBo);
  return 0;
}

/**
 * A driver's migrate_vma into device memory (migrate_vma_setup / _pages /
 * _finalize) over [vpn, vpn+n), for a new BO unless b is given. migrate_vma_setup
 * takes any VMA but hugetlb, VM_SPECIAL (p2pmem's vm_insert_page makes it
 * VM_MIXEDMAP) and DAX ones, with the range inside it (-EINVAL otherwise); which
 * pages move is migrate_vma_collect_pmd's per-page rule (migrate.ts).
 */
function doMigrateToDevice(mm: i32, vpn: i32, n: i32, d: i32, b: i32): i32 {
  if (!rangeOk(vpn, n)) return fail(ERR_RANGE, F_MIGRATE_TO_DEVICE_ADDR);
  if (migrateTarget(d, b, F_MIGRATE_TO_DEVICE_DRIVER, F_MIGRATE_TO_DEVICE_BO) < 0) return -1;
  const tables = n / PT_ENTRIES + 2;
  if (pteTablesLeft() < tables || pmdTablesLeft() < tables / PT_ENTRIES + 2) return fail(ERR_NOMEM_TABLES, F_MIGRATE_TO_DEVICE_LENGTH, tables);
  const v = findVma(mm, <u32>vpn);
  if (v < 0 || <i64>vpn + <i64>n > <i64>vmaEnd(v)) return kfail(EINVAL); // migrate_vma_setup: start/end outside args->vma
  if (fileRefusesMigrateVma(vmaFile(v))) return kfail(EINVAL); // vma_is_dax, or VM_MIXEDMAP (p2pmem, a test_hmm mapping)
  const bo = b != 0 ? b : createBo(d);
  migrateBegin(mm, <u32>vpn, <u32>(vpn + n), d);
  if (rule(SCHEME_DEVICE_FOLIOS) != 0 && driverKind(d) == KIND_DEVICE_PRIVATE) migrateHugeToDevice(mm, <u32>vpn, <u32>(vpn + n), d, bo); // E5: whole THPs
  splitHugeForMigration(mm, <u32>vpn, <u32>(vpn + n)); // migrate_vma_collect_pmd: split_folio, or skip
  for (let i = 0; i < n; i++) {
    const at = <u32>(vpn + i);
    const leaf = hugeLeaf(mm, at);
    if (leaf != 0) { // a THP that could not be split stays; device memory is not selected
      if ((leaf & PTE_PRESENT) != 0) bump(ST_MIGRATE_FAIL);
      continue;
    }
    migrateOneToDevice(mm, at, d, bo);
  }
  migrateFinalize();
  return bo;
}

function doMigrateToRam(mm: i32, vpn: i32, n: i32): i32 {
  if (!rangeOk(vpn, n)) return fail(ERR_RANGE, F_MIGRATE_TO_RAM_ADDR);
  if (<i64>freeSystemFrames() < <i64>n) return fail(ERR_NOMEM_FRAMES, F_MIGRATE_TO_RAM_LENGTH, n);
  const v = findVma(mm, <u32>vpn);
  if (v < 0 || <i64>vpn + <i64>n > <i64>vmaEnd(v)) return kfail(EINVAL); // migrate_vma_setup: the range outside the VMA
  if (fileRefusesMigrateVma(vmaFile(v))) return kfail(EINVAL); // vma_is_dax / VM_SPECIAL
  mmuNotifierInvalidate(mm, <u32>vpn, <u32>(vpn + n), MMU_NOTIFY_MIGRATE, -1); // migrate_vma_collect
  splitDevicePmdsIn(mm, <u32>vpn, <u32>(vpn + n)); // large device folios mapped here: folio_split first
  let moved = 0;
  // migrate_vma_collect_pmd: one pte table per 512 pages, its slots in a row (ptePtr per page before;
  // performance only). The table is looked up again after each migration, which may change it.
  const end = <u32>(vpn + n);
  let at = <u32>vpn;
  walkTablesBegin(); // this migrate_vma's rmap walks keep the pte tables over their block (rmap.ts)
  while (at < end) {
    const tableEnd = min<u32>((at | (PT_ENTRIES - 1)) + 1, end);
    let pt = pteTableOf(mm, at);
    while (pt != 0 && at < tableEnd) {
      const pte = load<u32>(pteSlot(pteTableBase(pt), <usize>(at & (PT_ENTRIES - 1))));
      at++;
      // MIGRATE_VMA_SELECT_DEVICE_PRIVATE / _COHERENT: vm_normal_page skips devmap PTEs. A test at a time
      // (Binaryen folds || into a select; performance only)
      if ((pte & PTE_DEVICE_PRIVATE) == 0) {
        if ((pte & (PTE_PRESENT | PTE_SPECIAL)) != PTE_PRESENT) continue;
        if (!isDevice(ptePfn(pte))) continue;
      }
      if (migratePageToRam(ptePfn(pte), 0, mm, at - 1)) moved++;
      pt = pteTableOf(mm, at - 1);
    }
    at = tableEnd;
  }
  walkTablesEnd();
  return moved;
}

/** A range of npages (0 allowed, as the ioctls take) at vpn inside the simulated address space. */
@inline function ioctlRangeOk(vpn: i32, npages: i32): bool {
  return vpn >= 0 && npages >= 0 && <i64>vpn + <i64>npages <= VPN_LIMIT;
}

/**
 * Room for the faults a loop or an hmm_range_fault over [vpn, vpn + n) of mm may take (userloop.ts):
 * frames, page tables and device pages, all before the first fault, so a refusal changes nothing.
 */
function loopRoom(mm: i32, vpn: u32, n: u32, write: bool): i32 {
  const frames = loopFramesNeeded(mm, vpn, n, write);
  if (<i64>freeSystemFrames() < frames) return fail(ERR_NOMEM_FRAMES, F_LOOP_PAGES, <i32>min<i64>(frames, 0x7fffffff));
  const pte = loopTablesNeeded(mm, vpn, n, false);
  if (pteTablesLeft() < pte) return fail(ERR_NOMEM_TABLES, F_LOOP_PAGES, pte);
  const pmd = loopTablesNeeded(mm, vpn, n, true);
  if (pmdTablesLeft() < pmd) return fail(ERR_NOMEM_TABLES, F_LOOP_PAGES, pmd);
  return deviceRoomRange(mm, vpn, n, write); // and the DAX / p2pmem pages the faults take
}

/** The test_hmm ops (OP_DMIRROR_*): validated whole, then the ioctl; its -errno is a kernel result. */
/**
 * mmap(MAP_PRIVATE) of test_hmm file `mirror` by the process that opened it
 * (dmirror_fops_mmap, dmirror_mmap.ts), at vpn (MAP_FIXED_NOREPLACE) or, for -1,
 * where get_unmapped_area finds room. Returns the vpn.
 */
function doDmirrorMmap(mirror: i32, vpn: i32, n: i32, prot: i32): i32 {
  const mm = mirrorMm(mirror);
  if (!mmValid(mm)) return fail(ERR_BAD_MM, F_DMIRROR_OPEN_DEVICE); // the file's process has exited
  if (n <= 0 || <i64>n > VPN_LIMIT) return fail(ERR_RANGE, F_DMIRROR_MMAP_LENGTH);
  if ((prot & ~(VM_READ | VM_WRITE)) != 0 || prot == VM_WRITE) return fail(ERR_BAD_ARG, F_DMIRROR_MMAP_PROT);
  if (vpn != -1 && !rangeOk(vpn, n)) return fail(ERR_RANGE, F_DMIRROR_ADDR);
  if (vmaSlotsLeft() < 1) return fail(ERR_NOMEM_VMA, NO_FIELD, 1);
  if (fileCount >= fileCap || <i64>n > <i64>fileSlotsLeft()) return fail(ERR_NOMEM_OBJECTS, F_DMIRROR_MMAP_LENGTH, n);
  if (<i64>freeSystemFrames() < <i64>n) return fail(ERR_NOMEM_FRAMES, F_DMIRROR_MMAP_LENGTH, n);
  const tables = n / PT_ENTRIES + 2; // the PTE tables vm_insert_page fills
  if (pteTablesLeft() < tables || pmdTablesLeft() < tables / PT_ENTRIES + 2) return fail(ERR_NOMEM_TABLES, F_DMIRROR_MMAP_LENGTH, tables);
  let start: u32;
  if (vpn == -1) {
    start = unmappedArea(mm, <u32>n, <u32>VPN_LIMIT);
    if (start == 0) return kfail(ENOMEM); // get_unmapped_area found no room
  } else {
    start = <u32>vpn;
    if (overlaps(mm, start, start + <u32>n)) return kfail(EEXIST); // do_mmap: MAP_FIXED_NOREPLACE
  }
  dmirrorMmap(mm, start, <u32>n, prot);
  return <i32>start;
}

function doDmirror(op: i32, a0: i32, a1: i32, a2: i32, a3: i32, a4: i32): i32 {
  if (op == OP_DMIRROR_NEW) {
    if (a0 != KIND_DEVICE_PRIVATE && a0 != KIND_DEVICE_COHERENT) return fail(ERR_BAD_ARG, F_DMIRROR_NEW_KIND);
    if (a1 < 0 || a1 > DMIRROR_CHUNK_MAX) return fail(ERR_BAD_ARG, F_DMIRROR_NEW_CHUNK, DMIRROR_CHUNK_MAX);
    if (dmirrorCount >= MAX_DMIRROR_DEVICES) return fail(ERR_NOMEM_OBJECTS, NO_FIELD, MAX_DMIRROR_DEVICES);
    return newDmirror(a0, a1 == 0 ? DMIRROR_CHUNK_PAGES : a1);
  }
  if (op == OP_DMIRROR_OPEN) {
    if (!dmirrorValid(a0)) return fail(ERR_BAD_DMIRROR, F_DMIRROR_OPEN_DEVICE);
    if (!mmValid(a1)) return fail(ERR_BAD_MM, F_DMIRROR_OPEN_MM);
    if (mirrorSlotsLeft() < 1) return fail(ERR_NOMEM_OBJECTS, NO_FIELD);
    return openMirror(a0, a1);
  }
  if (!mirrorIsOpen(a0)) return fail(ERR_BAD_MIRROR, F_DMIRROR_OPEN_DEVICE);
  if (op == OP_DMIRROR_MMAP) return doDmirrorMmap(a0, a1, a2, a3);
  if (op == OP_DMIRROR_CLOSE) {
    const dev = mirrorDevice(a0);
    const pages = chunkPages(dev);
    if (<i64>freeSystemFrames() < pages) return fail(ERR_NOMEM_FRAMES, NO_FIELD, <i32>pages);
    closeMirror(a0); // mmu_interval_notifier_remove first: this file sees none of the eviction's notifications
    // dmirror_fops_release since 744dd97752ef (2026, not in 6.1.y): every chunk of the device is
    // evicted before the dmirror is freed (no device page keeps a dangling rpage->zone_device_data)
    for (let d = 0; d < driverCount; d++) if (isLiveChunk(d, dev)) evict(d, 0);
    return 0;
  }
  if (!ioctlRangeOk(a1, a2)) return fail(ERR_RANGE, a1 < 0 ? F_DMIRROR_ADDR : F_DMIRROR_NPAGES);
  const mm = mirrorMm(a0);
  let r: i32 = 0;
  if (op == OP_DMIRROR_MIGRATE_TO_DEV) {
    if (mirrorEntriesLeft() < a2) return fail(ERR_NOMEM_OBJECTS, F_DMIRROR_NPAGES, mirrorEntriesLeft());
    const tables = a2 / PT_ENTRIES + 2; // migrate_vma_insert_page: tables for the holes
    if (pteTablesLeft() < tables || pmdTablesLeft() < tables / PT_ENTRIES + 2) return fail(ERR_NOMEM_TABLES, F_DMIRROR_NPAGES, tables);
    if (a2 == 0) return kfail(EINVAL); // dmirror_fops_unlocked_ioctl: cmd.addr >= cmd.addr + size
    r = dmirrorMigrateToDev(a0, <u32>a1, <u32>a2);
  } else if (op == OP_DMIRROR_MIGRATE_TO_SYS) {
    if (<i64>freeSystemFrames() < <i64>a2) return fail(ERR_NOMEM_FRAMES, F_DMIRROR_NPAGES, a2);
    if (a2 == 0) return kfail(EINVAL);
    r = dmirrorMigrateToSys(a0, <u32>a1, <u32>a2);
  } else if (op == OP_DMIRROR_EXCLUSIVE) {
    if (mirrorEntriesLeft() < a2) return fail(ERR_NOMEM_OBJECTS, F_DMIRROR_NPAGES, mirrorEntriesLeft());
    if (mmValid(mm) && loopRoom(mm, <u32>a1, <u32>a2, true) < 0) return -1; // GUP's write faults
    if (a2 == 0) return kfail(EINVAL);
    r = dmirrorExclusive(a0, <u32>a1, <u32>a2);
  } else if (op == OP_DMIRROR_CHECK_EXCLUSIVE) {
    if (a2 == 0) return kfail(EINVAL);
    r = dmirrorCheckExclusive(a0, <u32>a1, <u32>a2);
  } else if (op == OP_DMIRROR_RELEASE) {
    if (a2 == 0) return kfail(EINVAL);
    r = dmirrorRelease(a0);
  } else if (op == OP_DMIRROR_FLAGS) {
    if (a2 == 0) return kfail(EINVAL); // cmd.npages is the flags word: 0 is an empty range
    setMirrorFlags(a0, a2); // dmirror->flags = cmd.npages
    setMirrorResult(a0, 0, 0);
  } else if (op == OP_DMIRROR_SNAPSHOT) {
    if (a2 > SNAPSHOT_MAX) return fail(ERR_BAD_ARG, F_DMIRROR_NPAGES, SNAPSHOT_MAX);
    if (a2 == 0) return kfail(EINVAL); // dmirror_fops_unlocked_ioctl: an empty range
    r = dmirrorSnapshot(a0, <u32>a1, <u32>a2);
  } else {
    const write = op == OP_DMIRROR_WRITE;
    if (mirrorEntriesLeft() < a2) return fail(ERR_NOMEM_OBJECTS, F_DMIRROR_NPAGES, mirrorEntriesLeft());
    if (mmValid(mm) && loopRoom(mm, <u32>a1, <u32>a2, write) < 0) return -1;
    if (a2 == 0) return kfail(EINVAL); // dmirror_fops_unlocked_ioctl: an empty range
    r = dmirrorReadWrite(a0, <u32>a1, <u32>a2, write, <u32>a3, <u32>a4);
  }
  if (errCode != ERR_NONE) return -1;
  return r < 0 ? kfail(-r) : r;
}

/**
 * HMM_DMIRROR_RELEASE (dmirror_device_remove_chunks, current mm tree): every chunk of
 * the file's device is marked removed (its freed pages no longer go back to the
 * allocator), evicted to system memory (dmirror_device_evict_chunk:
 * migrate_device_range over its pfns) and memunmap_pages'd; devmem_count drops to
 * 0, so the device makes a new chunk at its next allocation. Validated first: room
 * in system memory for every page of every chunk.
 */
/** System frames an eviction of all of dev's chunks may need (evict() asks for a chunk's size each). */
function chunkPages(dev: i32): i64 {
  let pages: i64 = 0;
  for (let d = 0; d < driverCount; d++) if (isLiveChunk(d, dev)) pages += driverSize(d);
  return pages;
}

function dmirrorRelease(m: i32): i32 {
  const dev = mirrorDevice(m);
  const pages = chunkPages(dev);
  if (<i64>freeSystemFrames() < pages) return fail(ERR_NOMEM_FRAMES, NO_FIELD, <i32>pages);
  for (let d = 0; d < driverCount; d++) {
    if (!isLiveChunk(d, dev)) continue;
    evict(d, 0);
    memunmapPages(d);
  }
  resetChunks(dev);
  setMirrorResult(m, 0, 0);
  return 0;
}

/**
 * The tests' user-space loops (hmm-tests.c: for (i...) ptr[i] = i, and the loops
 * that check): one CPU store or load per page, as the write and read ops; page k
 * gets, or is compared with, value + k * step. A signal ends the loop there (the
 * process would die of it). read_range with check returns how many pages differ.
 */
function doUserLoop(mm: i32, vpn: i32, n: i32, write: bool, value: i32, step: i32, check: bool): i32 {
  if (!mmValid(mm)) return fail(ERR_BAD_MM, F_LOOP_MM);
  if (!rangeOk(vpn, n)) return fail(ERR_RANGE, vpn < 0 ? F_LOOP_ADDR : F_LOOP_PAGES);
  if (loopRoom(mm, <u32>vpn, <u32>n, write) < 0) return -1;
  let bad = 0;
  for (let k = 0; k < n; k++) {
    const want = value + k * step;
    const got = access(mm, vpn + k, write, want);
    if (errCode != ERR_NONE) return -1;
    if (opStatus != 0) return 0;
    if (!write && check && got != want) bad++;
  }
  return bad;
}

function doGup(mm: i32, vpn: i32, fl: i32): i32 {
  if ((fl & ~FOLL_VALID) != 0) return fail(ERR_BAD_ARG, F_GUP_WRITE);
  if (<u32>vpn >= <u32>VPN_LIMIT) return fail(ERR_RANGE, F_GUP_ADDR); // vpn < 0 too: one unsigned test
  const v = findVma(mm, <u32>vpn);
  if (v < 0) return refuse(EFAULT); // __get_user_pages: gup_vma_lookup found no VMA
  const bad = checkVmaFlags(v, fl);
  if (bad != 0) return refuse(bad);
  if (pinSlotsLeft() < 1) return fail(ERR_NOMEM_OBJECTS, NO_FIELD);
  if (freeSystemFrames() < 3) return fail(ERR_NOMEM_FRAMES, NO_FIELD, 3);
  // Performance only: an anonymous VMA's present writable PTE (the pin of an ordinary page) passes
  // every room check below (faultRoom, asked as for a write: no fault; deviceRoom: no file; beyondEof:
  // a PTE), so one walk serves the checks and gup's fault-in; anything else takes the full checks.
  const p = ptePtr(mm, <u32>vpn, false);
  if (p != 0) { // a test at a time: plain branches for V8 (performance only)
    if (vmaFile(v) < 0) {
      const pte = load<u32>(p);
      if ((pte & (PTE_PRESENT | PTE_WRITE)) == (PTE_PRESENT | PTE_WRITE)) {
        const huge = folioRoom(hugeLeaf(mm, <u32>vpn)); // 0 unless a device-private PMD maps vpn's block
        if (huge < 0) return huge;
        return gup(mm, v, <u32>vpn, fl, p);
      }
    }
  }
  const room = faultRoom(mm, <u32>vpn, true);
  if (room < 0) return room;
  const folio = folioRoom(hugeLeaf(mm, <u32>vpn));
  if (folio < 0) return folio;
  const dev = deviceRoom(mm, v, <u32>vpn, (fl & FOLL_WRITE) != 0);
  if (dev < 0) return dev;
  if (pteAt(mm, <u32>vpn) == 0 && beyondEof(v, <u32>vpn)) return kfail(EFAULT); // faultin_page: VM_FAULT_SIGBUS -> -EFAULT
  return gup(mm, v, <u32>vpn, fl);
}

/**
 * Execute one op record; returns its result, or sets errCode through fail().
 * OP_READ, OP_WRITE and OP_MADV_DONTNEED are most ops of every workload: they are
 * decoded here, before the NEEDS_MM table and execute()'s 60-way switch, with
 * only the argument words they read (about 5 % of the churn bench's time); so is
 * OP_CPU, half of shared-pages' ops.
 */
@inline function dispatch(op: i32, w: usize, counting: bool): i32 {
  if (op == OP_WRITE) { // most ops of the fault workloads: tested first, one compare (performance only)
    const a0 = load<i32>(w, 4);
    const a1 = load<i32>(w, 8);
    const a2 = load<i32>(w, 12);
    if (<u32>a0 >= <u32>mmCount) return fail(ERR_BAD_MM, F_MM); // !mmValid(a0), a test at a time
    if (!mmAlive(a0)) return fail(ERR_BAD_MM, F_MM);
    return fastAccess(a0, a1, true, a2, counting); // inlined, `write` a constant
  }
  // then the other two, a plain compare each (V8 turned a bit test of FAST_OPS into booleans; performance only)
  if (op == OP_MADV_DONTNEED) {
    const a0 = load<i32>(w, 4);
    const a1 = load<i32>(w, 8);
    const a2 = load<i32>(w, 12);
    if (<u32>a0 >= <u32>mmCount) return fail(ERR_BAD_MM, F_MM);
    if (!mmAlive(a0)) return fail(ERR_BAD_MM, F_MM);
    // !rangeOk(a1, a2), a test at a time
    if (<u32>a1 >= <u32>VPN_LIMIT) return fail(ERR_RANGE, F_MADVISE_DONTNEED_ADDR);
    if (a2 <= 0) return fail(ERR_RANGE, F_MADVISE_DONTNEED_ADDR);
    if (<u32>a2 > <u32>VPN_LIMIT - <u32>a1) return fail(ERR_RANGE, F_MADVISE_DONTNEED_ADDR);
    return madvise(a0, <u32>a1, <u32>(a1 + a2), false);
  }
  if (op == OP_READ) {
    const a0 = load<i32>(w, 4);
    const a1 = load<i32>(w, 8);
    if (<u32>a0 >= <u32>mmCount) return fail(ERR_BAD_MM, F_MM);
    if (!mmAlive(a0)) return fail(ERR_BAD_MM, F_MM);
    return fastAccess(a0, a1, false, 0, counting); // OP_READ has no value
  }
  if (op == OP_CPU) { // half of shared-pages' ops: execute()'s case, without its seven loads and 60-way switch
    const c = load<i32>(w, 4);
    if (c < 0 || c >= cpuLimit) return fail(ERR_BAD_ARG, F_CPU_CPU); // a CPU the engine was created with
    setCpu(c);
    return 0;
  }
  if (op == OP_MUNMAP) { // half of mmap1's ops, and OP_MMAP the other half
    const a0 = load<i32>(w, 4);
    if (<u32>a0 >= <u32>mmCount) return fail(ERR_BAD_MM, F_MM);
    if (!mmAlive(a0)) return fail(ERR_BAD_MM, F_MM);
    return doMunmap(a0, load<i32>(w, 8), load<i32>(w, 12));
  }
  if (op == OP_MMAP) {
    const a0 = load<i32>(w, 4);
    if (<u32>a0 >= <u32>mmCount) return fail(ERR_BAD_MM, F_MM);
    if (!mmAlive(a0)) return fail(ERR_BAD_MM, F_MM);
    return doMmap(a0, load<i32>(w, 8), load<i32>(w, 12), load<i32>(w, 16), load<i32>(w, 20), load<i32>(w, 24));
  }
  return execute(w);
}

/** Execute one op record but READ / WRITE / MADV_DONTNEED / CPU (dispatch() has them). */
function execute(w: usize): i32 { // not inlined: runOps is compiled twice
  const op = load<i32>(w);
  const a0 = load<i32>(w, 4);
  const a1 = load<i32>(w, 8);
  const a2 = load<i32>(w, 12);
  const a3 = load<i32>(w, 16);
  const a4 = load<i32>(w, 20);
  const a5 = load<i32>(w, 24);
  if (<u32>op < 32 && ((NEEDS_MM >> <u32>op) & 1) != 0 && !mmValid(a0)) return fail(ERR_BAD_MM, F_MM);
  switch (op) {
    case OP_MM_NEW: {
      if (mmSlotsLeft() < 1) return fail(ERR_NOMEM_MM, NO_FIELD);
      return newMm();
    }
    case OP_MMAP: return doMmap(a0, a1, a2, a3, a4, a5);
    case OP_MUNMAP: return doMunmap(a0, a1, a2);
    case OP_FORK: return doFork(a0);
    case OP_EXIT: {
      // a forking task holds mm_users of the parent, and the child is nobody's until dup_mmap returns (kernel/fork.c);
      // a task in gup_fast holds mm_users of its own mm (mm/gup.c walks current->mm): exit_mmap cannot run under either
      if (forkingParent(a0) || forkInProgress(a0) || walkInFlight(a0)) return fail(ERR_BAD_STATE, F_MM);
      exitMm(a0);
      return 0;
    }
    case OP_FILE_NEW: {
      if (a0 <= 0) return fail(ERR_RANGE, F_FILE_NEW_LENGTH);
      const d = a1 - 1; // 0: an ordinary file; d + 1: a file on device driver d
      if (a1 != 0) {
        if (!driverValid(d)) return fail(ERR_BAD_DRIVER, F_FILE_NEW_DRIVER);
        const k = driverKind(d);
        if (k != KIND_FSDAX && k != KIND_DEVDAX && k != KIND_P2PDMA) return fail(ERR_BAD_ARG, F_FILE_NEW_DRIVER); // only these back files
        if (driverState(d) != DRIVER_LIVE) return fail(ERR_BAD_STATE, F_FILE_NEW_DRIVER);
      }
      if (fileCount >= fileCap) return fail(ERR_NOMEM_OBJECTS, NO_FIELD);
      if (<i64>a0 > <i64>fileSlotsLeft()) return fail(ERR_NOMEM_OBJECTS, F_FILE_NEW_LENGTH, a0);
      return newFile(<u32>a0, d);
    }
    case OP_DRIVER_NEW: {
      if (a0 != KIND_DEVICE_PRIVATE && a0 != KIND_DEVICE_COHERENT && a0 != KIND_FSDAX && a0 != KIND_DEVDAX && a0 != KIND_P2PDMA) return fail(ERR_BAD_ARG, F_DRIVER_NEW_KIND);
      if (a1 <= 0) return fail(ERR_RANGE, F_DRIVER_NEW_PAGES);
      const need = <i64>a1 + <i64>driverPadding(a0); // E5: a device-private pgmap starts 2 MiB-aligned
      if (need > <i64>deviceFramesLeft()) return fail(ERR_NOMEM_DEVICE, F_DRIVER_NEW_PAGES, <i32>deviceFramesLeft());
      if (driverSlotsLeft() < 1) return fail(ERR_NOMEM_OBJECTS, NO_FIELD);
      return registerDriver(a0, <u32>a1);
    }
    case OP_DRIVER_ALLOC: {
      if (!driverValid(a0)) return fail(ERR_BAD_DRIVER, F_DRIVER_ALLOC_DRIVER);
      if (driverKind(a0) != KIND_DEVICE_PRIVATE) return fail(ERR_BAD_ARG, F_DRIVER_ALLOC_DRIVER); // device-private memory only
      if (driverState(a0) != DRIVER_LIVE) return fail(ERR_BAD_STATE, F_DRIVER_ALLOC_DRIVER);
      if (a1 != 0 && (a1 != FOLIO_ORDER || rule(SCHEME_DEVICE_FOLIOS) == 0)) return fail(ERR_BAD_ARG, F_DRIVER_ALLOC_ORDER); // order 9 needs E5's large device folios
      if (a2 != 0 && a2 != 1) return fail(ERR_BAD_ARG, F_DRIVER_ALLOC_WAIT);
      if (boSlotsLeft() < 1) return fail(ERR_NOMEM_OBJECTS, NO_FIELD);
      if (a2 == 0 && !driverCanAlloc(a0, a1)) return fail(ERR_NOMEM_DEVICE, F_DRIVER_ALLOC_ORDER);
      if (a2 == 1 && pendingOrder(a0) >= 0 && !driverCanAlloc(a0, a1)) return fail(ERR_BAD_STATE, F_DRIVER_ALLOC_WAIT); // one blocked allocation at a time
      const b = createBo(a0);
      markBoHeld(b);
      if (driverAllocFolio(a0, b, a1) == 0) setPending(a0, b, a1); // blocks until a free returns memory
      return b;
    }
    case OP_DRIVER_FREE: {
      if (!boLive(a0)) return fail(ERR_BAD_BO, F_DRIVER_FREE_BO);
      if (!boIsHeld(a0)) return fail(ERR_BAD_BO, F_DRIVER_FREE_BO, 1); // only the driver's own allocations
      if (driverState(boDriverOf(a0)) == DRIVER_GONE) return fail(ERR_BAD_STATE, F_DRIVER_FREE_BO);
      driverFreeBo(a0);
      return 0;
    }
    case OP_MIGRATE_TO_DEVICE: return doMigrateToDevice(a0, a1, a2, a3, a4);
    case OP_MIGRATE_TO_RAM: return doMigrateToRam(a0, a1, a2);
    case OP_GUP: return doGup(a0, a1, a2);
    case OP_UNPIN: {
      if (!handleValid(a0)) return fail(ERR_BAD_HANDLE, F_UNPIN_HANDLE);
      unpin(a0);
      return 0;
    }
    case OP_CHECK: { quiesceCheck(); return 0; }
    case OP_TEARDOWN: {
      for (let mm = 0; mm < mmCount; mm++) if (mmValid(mm)) exitMm(mm);
      for (let f = 0; f < fileCount; f++) if (fileIsOpen(f)) dropPageCache(f);
      quiesceCheck();
      return 0;
    }
    case OP_DROP_CACHE: {
      if (!fileValid(a0) || fileIsDmirrorMap(a0)) return fail(ERR_BAD_FILE, F_DROP_CACHE_FILE);
      dropPageCache(a0);
      return 0;
    }
    case OP_DRIVER_TEARDOWN: {
      if (!driverValid(a0)) return fail(ERR_BAD_DRIVER, F_DRIVER_TEARDOWN_DRIVER);
      const k = driverKind(a0);
      if (k != KIND_DEVICE_PRIVATE && k != KIND_DEVICE_COHERENT) return fail(ERR_BAD_ARG, F_DRIVER_TEARDOWN_DRIVER);
      if (driverState(a0) != DRIVER_LIVE) return fail(ERR_BAD_STATE, F_DRIVER_TEARDOWN_DRIVER);
      if (a1 != 0 && a1 != 1) return fail(ERR_BAD_ARG, F_DRIVER_TEARDOWN_EVICT);
      if (a1 == 1) {
        const moved = evict(a0, 0);
        if (moved < 0) return moved;
      }
      bump(ST_TEARDOWNS);
      return memunmapPages(a0);
    }
    case OP_EVICT_BO: {
      if (!boLive(a0)) return fail(ERR_BAD_BO, F_EVICT_BO_BO);
      if (driverState(boDriverOf(a0)) == DRIVER_GONE) return fail(ERR_BAD_STATE, F_EVICT_BO_BO);
      return evict(boDriverOf(a0), a0);
    }
    case OP_GUP_FAST_BEGIN: {
      if (!mmValid(a0)) return fail(ERR_BAD_MM, F_GUP_FAST_BEGIN_MM);
      if ((a2 & ~FOLL_VALID) != 0) return fail(ERR_BAD_ARG, F_GUP_FAST_BEGIN_WRITE);
      if (a1 < 0 || <i64>a1 >= VPN_LIMIT) return fail(ERR_RANGE, F_GUP_FAST_BEGIN_ADDR);
      if (walkSlotsLeft() < 1 || pinSlotsLeft() < 1) return fail(ERR_NOMEM_OBJECTS, NO_FIELD);
      return gupFastBegin(a0, <u32>a1, a2);
    }
    case OP_GUP_FAST_STEP: {
      if (!walkValid(a0)) return fail(ERR_BAD_HANDLE, F_GUP_FAST_STEP_WALK);
      if (walkAtLastStep(a0) && pinSlotsLeft() < 1) return fail(ERR_NOMEM_OBJECTS, NO_FIELD); // the last step makes a handle
      return gupFastStep(a0);
    }
    case OP_FORK_BEGIN: {
      if (!mmValid(a0)) return fail(ERR_BAD_MM, F_FORK_BEGIN_MM);
      if (forkingParent(a0)) return fail(ERR_BAD_STATE, F_FORK_BEGIN_MM); // its mmap_lock is held for write by the other fork
      setDeferParentWp(true);
      const child = doFork(a0);
      setDeferParentWp(false);
      if (child >= 0) forkBegun(a0, child);
      return child;
    }
    case OP_FORK_END: {
      if (!mmValid(a0) || !forkInProgress(a0)) return fail(ERR_BAD_MM, F_FORK_END_CHILD);
      forkEnd(a0);
      return 0;
    }
    case OP_FAULT_BEGIN: {
      if (a1 < 0 || <i64>a1 >= VPN_LIMIT) return fail(ERR_RANGE, F_FAULT_BEGIN_ADDR);
      if (findVma(a0, <u32>a1) < 0) return fail(ERR_SEGV, F_FAULT_BEGIN_ADDR);
      const pte = pteAt(a0, <u32>a1);
      if ((pte & PTE_DEVICE_PRIVATE) == 0) return fail(ERR_BAD_STATE, F_FAULT_BEGIN_ADDR); // only device-private entries fault this way
      if (faultSlotsLeft() < 1) return fail(ERR_NOMEM_OBJECTS, NO_FIELD);
      return faultBegin(a0, <u32>a1, ptePfn(pte));
    }
    case OP_FAULT_END: {
      if (!faultValid(a0)) return fail(ERR_BAD_HANDLE, F_FAULT_END_FAULT);
      if (freeSystemFrames() < 1) return fail(ERR_NOMEM_FRAMES, NO_FIELD, 1);
      return faultEnd(a0);
    }
    case OP_ZAP_BEGIN: {
      if (!rangeOk(a1, a2)) return fail(ERR_RANGE, F_ZAP_BEGIN_ADDR);
      if (a2 > ZAP_WINDOW_PAGES) return fail(ERR_RANGE, F_ZAP_BEGIN_LENGTH, ZAP_WINDOW_PAGES); // one gather batch's worth
      const v = findVma(a0, <u32>a1);
      if (v < 0 || vmaEnd(v) < <u32>(a1 + a2)) return fail(ERR_SEGV, F_ZAP_BEGIN_ADDR); // madvise_dontneed_single_vma: one whole VMA
      if (a3 != 0 && a3 != ZAP_ORDER_PUT_FIRST) return fail(ERR_BAD_ARG, F_ZAP_BEGIN_ORDER);
      if (zapWindowFree() < 0) return fail(ERR_NOMEM_OBJECTS, NO_FIELD);
      return zapWindowBegin(a0, <u32>a1, <u32>(a1 + a2), a3);
    }
    case OP_MIGRATE_COLLECT: {
      if (!mmValid(a0)) return fail(ERR_BAD_MM, F_MM);
      if (!rangeOk(a1, 1)) return fail(ERR_RANGE, F_MIGRATE_COLLECT_ADDR);
      if (migrateTarget(a2, a3, F_MIGRATE_COLLECT_DRIVER, F_MIGRATE_COLLECT_BO) < 0) return -1;
      const pfn = migrateCutPage(a0, <u32>a1);
      if (pfn == 0) return fail(ERR_BAD_STATE, F_MIGRATE_COLLECT_ADDR); // not a page the cut takes: migrate_to_device runs whole
      if (migrateCutFree() < 0) return fail(ERR_NOMEM_OBJECTS, NO_FIELD);
      return migrateCollect(a0, <u32>a1, pfn, a2, a3);
    }
    case OP_MIGRATE_FINISH: {
      if (!migrateCutValid(a0)) return fail(ERR_BAD_HANDLE, F_MIGRATE_FINISH_MIGRATION);
      return migrateFinish(a0);
    }
    case OP_MIGRATION_WAIT: {
      if (!mmValid(a0)) return fail(ERR_BAD_MM, F_MM);
      if (!rangeOk(a1, 1)) return fail(ERR_RANGE, F_MIGRATION_WAIT_ADDR);
      if (a2 != 0) {
        if (!migrationWaiterValid(a2)) return fail(ERR_BAD_HANDLE, F_MIGRATION_WAIT_WAITER);
        migrationWaitPut(a2, a0, <u32>a1);
        return 0;
      }
      const pfn = migrationEntryPage(a0, <u32>a1);
      if (pfn == 0) return fail(ERR_BAD_STATE, F_MIGRATION_WAIT_ADDR); // no migration entry: nothing to wait on
      if (migrationWaiterFree() < 0) return fail(ERR_NOMEM_OBJECTS, NO_FIELD);
      return migrationWaitBegin(pfn, a0, <u32>a1);
    }
    case OP_ZAP_END: {
      if (!zapWindowValid(a0)) return fail(ERR_BAD_HANDLE, F_ZAP_END_WINDOW);
      zapWindowEnd(a0);
      return 0;
    }
    case OP_TRUNCATE: {
      if (!fileValid(a0) || fileIsDmirrorMap(a0)) return fail(ERR_BAD_FILE, F_TRUNCATE_FILE);
      // device-dax and p2pmem are device files: they have no blocks to truncate
      if (fileDevice(a0) >= 0 && driverKind(fileDevice(a0)) != KIND_FSDAX) return fail(ERR_BAD_ARG, F_TRUNCATE_FILE);
      if (a3 != 0 && a3 != 1) return fail(ERR_BAD_ARG, F_TRUNCATE_SHRINK);
      if (fileDevice(a0) >= 0 && truncateSlotsLeft() < 1) return fail(ERR_NOMEM_OBJECTS, NO_FIELD); // it may have to wait
      if (a3 == 1) { // truncate(2) to a1 pages: no larger than the file
        if (a1 < 0 || <u32>a1 > filePages(a0)) return fail(ERR_RANGE, F_TRUNCATE_OFFSET);
        return truncateRange(a0, <u32>a1, filePages(a0) - <u32>a1, true);
      }
      if (a1 < 0 || <u32>a1 >= filePages(a0)) return fail(ERR_RANGE, F_TRUNCATE_OFFSET);
      if (a2 <= 0) return fail(ERR_RANGE, F_TRUNCATE_LENGTH);
      return truncateRange(a0, <u32>a1, <u32>min<i32>(a2, <i32>filePages(a0) - a1), false);
    }
    case OP_MADV_PAGEOUT: {
      if (!rangeOk(a1, a2)) return fail(ERR_RANGE, F_MADVISE_PAGEOUT_ADDR);
      return madvise(a0, <u32>a1, <u32>(a1 + a2), true);
    }
    case OP_MPROTECT: {
      if (!mmValid(a0)) return fail(ERR_BAD_MM, F_MPROTECT_MM);
      if (!rangeOk(a1, a2)) return fail(ERR_RANGE, F_MPROTECT_ADDR);
      if (a3 != 0 && a3 != VM_READ && a3 != (VM_READ | VM_WRITE)) return fail(ERR_BAD_ARG, F_MPROTECT_PROT); // PROT_NONE, PROT_READ, PROT_READ|PROT_WRITE
      const slots = mprotectSlots(a0, <u32>a1, <u32>(a1 + a2), a3);
      if (vmaSlotsLeft() < slots) return fail(ERR_NOMEM_VMA, NO_FIELD, slots);
      return doMprotect(a0, <u32>a1, <u32>(a1 + a2), a3);
    }
    case OP_MADV_COLLAPSE: {
      if (!mmValid(a0)) return fail(ERR_BAD_MM, F_MADVISE_COLLAPSE_MM);
      if (!rangeOk(a1, a2)) return fail(ERR_RANGE, F_MADVISE_COLLAPSE_ADDR);
      if (rule(SCHEME_MADV_COLLAPSE) == 0) return kfail(EINVAL); // before 6.1 madvise_behavior_valid knows no MADV_COLLAPSE
      // what the op would reach that is not modelled (file/shmem VMAs, entries to fault in) is refused first
      if (collapseRange(a0, <u32>a1, <u32>(a1 + a2), false) == COLLAPSE_NOT_MODELLED) return fail(ERR_BAD_STATE, F_MADVISE_COLLAPSE_ADDR);
      return collapseRange(a0, <u32>a1, <u32>(a1 + a2), true);
    }
    case OP_MREMAP: {
      if (!mmValid(a0)) return fail(ERR_BAD_MM, F_MREMAP_MM);
      if (!rangeOk(a1, a2)) return fail(ERR_RANGE, F_MREMAP_ADDR);
      if (a3 <= 0 || <i64>a3 > VPN_LIMIT) return fail(ERR_RANGE, F_MREMAP_NEW_LENGTH);
      if ((a4 & ~MREMAP_VALID) != 0) return fail(ERR_BAD_ARG, F_MREMAP_MAYMOVE);
      if ((a4 & (MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0 && !rangeOk(a5, a3)) return fail(ERR_RANGE, F_MREMAP_NEW_ADDR);
      const slots = mremapSlots(<u32>a2, <u32>a3, a4);
      if (vmaSlotsLeft() < slots) return fail(ERR_NOMEM_VMA, NO_FIELD, slots);
      const tables = a2 / PT_ENTRIES + 2; // move_page_tables: the destination's tables
      if (pteTablesLeft() < tables || pmdTablesLeft() < tables / PT_ENTRIES + 2) return fail(ERR_NOMEM_TABLES, F_MREMAP_LENGTH, tables);
      return doMremap(a0, <u32>a1, <u32>a2, <u32>a3, a4, <u32>a5);
    }
    case OP_DMIRROR_NEW: case OP_DMIRROR_OPEN: case OP_DMIRROR_CLOSE: case OP_DMIRROR_READ: case OP_DMIRROR_WRITE:
    case OP_DMIRROR_SNAPSHOT: case OP_DMIRROR_MIGRATE_TO_DEV: case OP_DMIRROR_MIGRATE_TO_SYS: case OP_DMIRROR_RELEASE:
    case OP_DMIRROR_FLAGS: case OP_DMIRROR_EXCLUSIVE: case OP_DMIRROR_CHECK_EXCLUSIVE: case OP_DMIRROR_MMAP:
      return doDmirror(op, a0, a1, a2, a3, a4);
    case OP_WRITE_RANGE: return doUserLoop(a0, a1, a2, true, a3, a4, false);
    case OP_READ_RANGE: return doUserLoop(a0, a1, a2, false, a3, a4, a5 != 0);
    case OP_DMA_WRITE: {
      if (!handleValid(a0)) return fail(ERR_BAD_HANDLE, F_DMA_WRITE_HANDLE);
      dmaWrite(a0, <u32>a1);
      return 0;
    }
  }
  return fail(ERR_BAD_OP, NO_FIELD);
}

/**
 * Run n op records from the op buffer. Returns how many ran; if fewer than n, the
 * error block holds [code, index, field, detail] for the op that was rejected.
 */
export function runBatch(n: i32): i32 {
  store<i32>(errorBase, 0);
  clearRejection(); // only fail() sets it (with field and detail), and the batch stops there
  resetStatuses(); // kfail()/ksignal() set an op's kernel status; the batch goes on
  batchDone = 0;
  // No op changes these: read once per batch, not per op. Without group prefetching and the
  // counter layer (the common case) the loop is compiled again with them folded away, once for a
  // host's batch and once for a core generator's (hashed): fewer live values in the hot loop
  // (performance only).
  if (!prefetchOn && !counterOn) return hashInRun ? runOps(n, false, true, false) : runOps(n, false, false, false);
  return runOps(n, prefetchOn, hashInRun, counterOn);
}

/** runBatch's loop; prefetch, hashing and counting are constants at two of its three call sites. */
@inline function runOps(n: i32, prefetch: bool, hashing: bool, counting: bool): i32 {
  const ops = opBase, results = resultBase;
  let seq = opSeq;
  let h = emitHash; // a core generator's batch: its records are folded into the stream hash here
  for (let i = 0; i < n; i++) {
    const w = ops + <usize>i * OP_WORDS * 4;
    if (prefetch && i % PREFETCH_GROUP == 0) prefetchGroup(ops, i, min<i32>(i + PREFETCH_GROUP, n));
    setCurrentOp(seq);
    if (hashing) h = foldRecord(h, w);
    const op = load<i32>(w);
    const r = dispatch(op, w, counting);
    resumeWokenTruncates(); // a truncate the op's wake_up_var woke goes on after it
    if (opStatus != 0) noteStatus(i);
    if (errCode != 0) {
      store<i32>(errorBase, errCode);
      store<i32>(errorBase, i, 4);
      store<i32>(errorBase, errField, 8);
      store<i32>(errorBase, errDetail, 12);
      if (hashing) setEmitHash(h);
      sumLateAll();
      sumLateFileFaults();
      opSeq = seq;
      batchDone = i;
      return i;
    }
    countOp(op);
    if (counting) counterOpEnd(op);
    store<i32>(results + (<usize>i << 2), r);
    seq++;
  }
  // opSeq and batchDone once per batch: only the host reads them, between batches (performance only)
  if (hashing) setEmitHash(h);
  sumLateAll(); // the fast faults' and one-page zaps' statistics, before the host reads them
  sumLateFileFaults(); // and the file fast path's faults'
  opSeq = seq;
  batchDone = n;
  return n;
}

/** Ops the last runBatch ran (the rejected one, if any, not counted). */
export let batchDone: i32 = 0;
