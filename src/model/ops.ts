/**
 * The dispatcher: validates each op completely before it changes anything (so a
 * rejected op leaves the machine exactly as it was), then runs it. Rejections
 * carry the core's ERR_* code, the argument slot at fault and a detail number.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * import { execute } from "./ops.ts";
 * import { Rejection } from "./reject.ts";
 * import { OP_MM_NEW, OP_READ, ERR_BAD_MM, STATUS_SIGNAL, SIGSEGV } from "../../assembly/abi.ts";
 * const m = Model.create().machine;
 * console.log(execute(m, Int32Array.of(OP_MM_NEW, 0, 0, 0, 0, 0, 0, 0), 0)); // 0
 * execute(m, Int32Array.of(OP_READ, 0, 0x10000, 0, 0, 0, 0, 0), 0); // no VMA there: a kernel result
 * console.log(m.opStatus === (STATUS_SIGNAL | SIGSEGV)); // true
 * try { execute(m, Int32Array.of(OP_READ, 7, 0x10000, 0, 0, 0, 0, 0), 0); }
 * catch (e) { console.log((e as Rejection).code === ERR_BAD_MM, (e as Rejection).field); } // true 0
 * ```
 */
import {
  OP_MM_NEW, OP_MMAP, OP_MUNMAP, OP_READ, OP_WRITE, OP_FORK, OP_EXIT, OP_MADV_DONTNEED, OP_FILE_NEW,
  OP_DRIVER_NEW, OP_MIGRATE_TO_DEVICE, OP_MIGRATE_TO_RAM, OP_GUP, OP_UNPIN, OP_CHECK, OP_TEARDOWN, OP_DROP_CACHE,
  OP_DRIVER_TEARDOWN, OP_EVICT_BO, OP_FAULT_BEGIN, OP_FAULT_END, OP_TRUNCATE, OP_DMA_WRITE, OP_MADV_PAGEOUT,
  OP_DRIVER_ALLOC, OP_DRIVER_FREE, FOLIO_ORDER, OP_MPROTECT, OP_MREMAP, OP_MADV_COLLAPSE, F_MADVISE_COLLAPSE_ADDR, F_MADVISE_COLLAPSE_MM, MREMAP_VALID, MREMAP_FIXED, MREMAP_DONTUNMAP,
  VM_READ, EINVAL, EEXIST, ENOMEM, EFAULT, MMU_NOTIFY_MIGRATE, MMU_NOTIFY_CLEAR,
  VM_VALID, VM_ANON, VM_FILE, VM_SHARED, VM_WRITE, VM_HUGEPAGE, FOLL_VALID, FOLL_WRITE,
  KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT, KIND_FSDAX, KIND_DEVDAX, KIND_P2PDMA,
  VPN_BITS, PT_ENTRIES, ERR_BAD_OP, ERR_BAD_STATE, ERR_BAD_MM, ERR_SEGV, ERR_RANGE, ERR_NOMEM_FRAMES,
  ERR_NOMEM_TABLES, ERR_NOMEM_MM, ERR_NOMEM_VMA, ERR_BAD_FILE, ERR_BAD_DRIVER, ERR_BAD_BO, ERR_BAD_HANDLE,
  ERR_NOMEM_DEVICE, ERR_BAD_ARG, ERR_NOMEM_OBJECTS,
  OP_DMIRROR_NEW, OP_DMIRROR_OPEN, OP_DMIRROR_CLOSE, OP_DMIRROR_READ, OP_DMIRROR_WRITE, OP_DMIRROR_SNAPSHOT,
  OP_WRITE_RANGE, OP_READ_RANGE, ERR_BAD_DMIRROR, ERR_BAD_MIRROR, MAX_DMIRROR_DEVICES, SNAPSHOT_MAX,
  OP_DMIRROR_MIGRATE_TO_DEV, OP_DMIRROR_MIGRATE_TO_SYS, OP_DMIRROR_RELEASE, OP_DMIRROR_FLAGS, DMIRROR_CHUNK_PAGES,
  OP_DMIRROR_EXCLUSIVE, OP_DMIRROR_CHECK_EXCLUSIVE, OP_DMIRROR_MMAP, F_DMIRROR_MMAP_LENGTH, F_DMIRROR_MMAP_PROT,
  DMIRROR_CHUNK_MAX,
  OP_CPU, // simulated CPUs (the cost model is engine-only)
  NO_FIELD, F_CPU_CPU, F_DMA_WRITE_HANDLE, F_DMIRROR_ADDR, F_DMIRROR_NEW_CHUNK, F_DMIRROR_NEW_KIND,
  F_DMIRROR_NPAGES, F_DMIRROR_OPEN_DEVICE, F_DMIRROR_OPEN_MM, F_DRIVER_ALLOC_DRIVER, F_DRIVER_ALLOC_ORDER,
  F_DRIVER_ALLOC_WAIT, F_DRIVER_FREE_BO, F_DRIVER_NEW_KIND, F_DRIVER_NEW_PAGES, F_DRIVER_TEARDOWN_DRIVER,
  F_DRIVER_TEARDOWN_EVICT, F_DROP_CACHE_FILE, F_EVICT_BO_BO, F_FAULT_BEGIN_ADDR, F_FAULT_END_FAULT,
  F_FILE_NEW_DRIVER, F_FILE_NEW_LENGTH, F_GUP_ADDR, F_GUP_WRITE, F_LOOP_ADDR, F_LOOP_MM, F_LOOP_PAGES,
  F_GUP_FAST_BEGIN_MM, F_GUP_FAST_BEGIN_ADDR, F_GUP_FAST_BEGIN_WRITE, F_GUP_FAST_STEP_WALK, F_FORK_BEGIN_MM, F_FORK_END_CHILD,
  OP_GUP_FAST_BEGIN, OP_GUP_FAST_STEP, OP_FORK_BEGIN, OP_FORK_END,
  F_MADVISE_DONTNEED_ADDR, F_MADVISE_PAGEOUT_ADDR, F_MIGRATE_TO_DEVICE_ADDR, F_MIGRATE_TO_DEVICE_BO,
  F_MIGRATE_TO_DEVICE_DRIVER, F_MIGRATE_TO_DEVICE_LENGTH, F_MIGRATE_TO_RAM_ADDR, F_MIGRATE_TO_RAM_LENGTH, F_MM,
  F_MMAP_ADDR, F_MMAP_FILE, F_MMAP_LENGTH, F_MMAP_OFFSET, F_MMAP_PROT, F_MPROTECT_ADDR, F_MPROTECT_MM,
  F_MPROTECT_PROT, F_MREMAP_ADDR, F_MREMAP_LENGTH, F_MREMAP_MAYMOVE, F_MREMAP_MM, F_MREMAP_NEW_ADDR,
  F_MREMAP_NEW_LENGTH, F_MUNMAP_ADDR, F_TRUNCATE_FILE, F_TRUNCATE_LENGTH, F_TRUNCATE_OFFSET, F_TRUNCATE_SHRINK,
  F_UNPIN_HANDLE, OP_ZAP_BEGIN, OP_ZAP_END, ZAP_WINDOW_PAGES, ZAP_ORDER_PUT_FIRST, F_ZAP_BEGIN_ADDR, F_ZAP_BEGIN_LENGTH,
  F_ZAP_BEGIN_ORDER, F_ZAP_END_WINDOW, OP_MIGRATE_COLLECT, OP_MIGRATE_FINISH, OP_MIGRATION_WAIT, F_MIGRATE_COLLECT_ADDR,
  F_MIGRATE_COLLECT_DRIVER, F_MIGRATE_COLLECT_BO, F_MIGRATE_FINISH_MIGRATION, F_MIGRATION_WAIT_ADDR, F_MIGRATION_WAIT_WAITER,
} from "../../assembly/abi.ts";
import { dmirrorReadWrite, dmirrorSnapshot, dmirrorMigrateToDev, dmirrorMigrateToSys, dmirrorExclusive, dmirrorCheckExclusive } from "./dmirror_ioctl.ts";
import { isLiveChunk } from "./dmirror.ts";
import { dmirrorMmap } from "./dmirror_mmap.ts";
import type { Mirror } from "./mirror.ts";
import { loopFramesNeeded, loopTablesNeeded } from "./userloop.ts";
import type { Mm } from "./mm.ts";
import { zapRange } from "./zap.ts";
import { unmapRange, splitsVma, exitMm } from "./munmap.ts";
import { doMprotect, mprotectSlots } from "./mprotect.ts";
import { collapseRange, COLLAPSE_NOT_MODELLED } from "./khugepaged.ts";
import { doMremap, mremapSlots } from "./mremap.ts";
import { shmemZeroSetup } from "./shmem.ts";
import { kfail } from "./errno.ts";
import { mmuNotifierInvalidate } from "./mmu_notifier.ts";
import { doFork } from "./fork.ts";
import { access, checkFaultRoom, checkFolioRoom, checkDeviceRoom, checkDeviceRoomRange, beyondEof } from "./fault.ts";
import { reject } from "./reject.ts";
import { splitHugeForMigration, migrateHugeToDevice, splitDevicePmdsIn, splitDeviceFoliosOf } from "./thp.ts";
import { migrateOneToDevice, migratePageToRam, migrateBegin, migrateFinalize } from "./migrate.ts";
import { gup, unpin, checkVmaFlags, refuse } from "./gup.ts";
import { dropPageCache, fileRefusesMigrateVma } from "./file.ts";
import { registerDriver, memunmapPages, driverPadding, type Driver } from "./memremap.ts";
import { createBo, allocatedPagesOf, driverCanAlloc, driverAllocFolio, driverFreeBo } from "./driver.ts";
import { quiesceCheck } from "./check.ts";
import { faultBegin, faultEnd } from "./race.ts";
import { zapWindowBegin, zapWindowEnd } from "./zap_window.ts";
import { gupFastBegin, gupFastStep, forkBegun, forkEnd } from "./gup_fast.ts";
import { migrateCutPage, migrateCollect, migrateFinish, migrationEntryPage, migrationWaitBegin, migrationWaitPut } from "./migrate_steps.ts";
import { truncateRange, resumeWokenTruncates } from "./truncate.ts";
import { pageout } from "./lru.ts";
import { dmaWrite } from "./pins.ts";
import type { Machine } from "./machine.ts";

const VPN_LIMIT = 2 ** VPN_BITS;

/** Arguments 1 and 2 as a vpn range inside the simulated address space. */
function rangeOk(vpn: number, npages: number): boolean {
  return vpn >= 0 && npages > 0 && vpn + npages <= VPN_LIMIT;
}

/** migrate_device_range over a driver's (or one BO's) allocated pages. Returns how many moved. */
function evict(m: Machine, d: Driver, b: number): number {
  if (m.frames.freeSystemPages < d.size) reject(ERR_NOMEM_FRAMES, NO_FIELD, d.size);
  splitDeviceFoliosOf(m, d, b); // migrate_device_range of large folios: folio_split first
  let moved = 0;
  for (const page of allocatedPagesOf(m, d, b)) if (migratePageToRam(m, page, 0, -1, 0)) moved++;
  return moved;
}

/** do_mmap (MAP_FIXED_NOREPLACE when an address is given; shared anonymous memory gets a shmem file). */
function doMmap(m: Machine, mm: Mm, vpn: number, n: number, fl: number, file: number, pgoff: number): number {
  if (n <= 0 || n > VPN_LIMIT) reject(ERR_RANGE, F_MMAP_LENGTH);
  if ((fl & ~VM_VALID) !== 0) reject(ERR_BAD_ARG, F_MMAP_PROT);
  if ((fl & VM_WRITE) !== 0 && (fl & VM_READ) === 0) reject(ERR_BAD_ARG, F_MMAP_PROT, 3);
  const anon = (fl & VM_ANON) !== 0;
  const shmem = anon && (fl & VM_SHARED) !== 0;
  if (anon === ((fl & VM_FILE) !== 0)) reject(ERR_BAD_ARG, F_MMAP_PROT, 1); // exactly one of anon / file
  if (shmem && (fl & VM_HUGEPAGE) !== 0) reject(ERR_BAD_ARG, F_MMAP_PROT, 2); // shmem THP is not modelled
  if (!anon) {
    const f = m.files.open(file);
    if (!f || f.dmirrorMap) reject(ERR_BAD_FILE, F_MMAP_FILE); // a test_hmm mapping's pages are no file_new file
    if (pgoff < 0 || pgoff + n > f.pages) reject(ERR_RANGE, F_MMAP_OFFSET);
  }
  if (m.mms.vmaSlotsLeft < 1) reject(ERR_NOMEM_VMA, NO_FIELD, 1);
  if (shmem && (m.files.all.length >= m.files.fileCapacity || n > m.files.pagesLeft)) reject(ERR_NOMEM_OBJECTS, F_MMAP_LENGTH, n);
  let start: number;
  if (vpn === -1) {
    start = mm.unmappedArea(n, VPN_LIMIT);
    if (start === 0) return kfail(m, ENOMEM); // get_unmapped_area
  } else {
    if (!rangeOk(vpn, n)) reject(ERR_RANGE, F_MMAP_ADDR);
    start = vpn;
    if (mm.overlaps(start, start + n)) return kfail(m, EEXIST); // MAP_FIXED_NOREPLACE
  }
  if (shmem) {
    m.mms.insertVma(mm, start, start + n, (fl & ~VM_ANON) | VM_FILE, shmemZeroSetup(m, n).id, 0);
    return start;
  }
  m.mms.insertVma(mm, start, start + n, fl, anon ? -1 : file, anon ? start : pgoff);
  return start;
}

/**
 * The driver and BO of a migration into device memory (as the core's
 * migrateTarget): a device-private or device-coherent driver not gone; the BO, if
 * given, live and the driver's; a BO slot for a new one. Rejects otherwise.
 */
function migrateTarget(m: Machine, d: number, b: number, fDriver: number, fBo: number) {
  const driver = m.devices.driver(d);
  if (!driver) reject(ERR_BAD_DRIVER, fDriver);
  if (driver.kind !== KIND_DEVICE_PRIVATE && driver.kind !== KIND_DEVICE_COHERENT) reject(ERR_BAD_ARG, fDriver); // migrate_vma targets
  if (driver.state === "gone") reject(ERR_BAD_STATE, fDriver);
  const existing = b !== 0 ? m.devices.liveBo(b) : undefined;
  if (b !== 0 && (!existing || existing.driver !== d)) reject(ERR_BAD_BO, fBo);
  if (b === 0 && m.devices.boSlotsLeft < 1) reject(ERR_NOMEM_OBJECTS, fBo);
  return { driver, existing };
}

/** A driver's migrate_vma into device memory (as the core's doMigrateToDevice). */
function doMigrateToDevice(m: Machine, mm: Mm, vpn: number, n: number, d: number, b: number): number {
  if (!rangeOk(vpn, n)) reject(ERR_RANGE, F_MIGRATE_TO_DEVICE_ADDR);
  const { driver, existing } = migrateTarget(m, d, b, F_MIGRATE_TO_DEVICE_DRIVER, F_MIGRATE_TO_DEVICE_BO);
  const tables = Math.trunc(n / PT_ENTRIES) + 2;
  if (m.tablePool.pteFree < tables || m.tablePool.pmdFree < Math.trunc(tables / PT_ENTRIES) + 2) {
    reject(ERR_NOMEM_TABLES, F_MIGRATE_TO_DEVICE_LENGTH, tables);
  }
  const v = mm.findVma(vpn);
  if (!v || vpn + n > v.end) return kfail(m, EINVAL); // migrate_vma_setup: start/end outside args->vma
  if (fileRefusesMigrateVma(m, v.file)) return kfail(m, EINVAL); // vma_is_dax, or VM_MIXEDMAP (p2pmem, a test_hmm mapping)
  const bo = existing ?? createBo(m, driver);
  migrateBegin(m, mm, vpn, vpn + n, d);
  if (m.rules.deviceFolios && driver.kind === KIND_DEVICE_PRIVATE) migrateHugeToDevice(m, mm, vpn, vpn + n, driver, bo); // E5: whole THPs
  splitHugeForMigration(m, mm, vpn, vpn + n); // migrate_vma_collect_pmd: split_folio, or skip
  for (let i = 0; i < n; i++) {
    const leaf = mm.tables.hugeLeaf(vpn + i);
    if (leaf) { // a THP that could not be split stays; device memory is not selected
      if (leaf.present) m.counters.migrateFailed++;
      continue;
    }
    migrateOneToDevice(m, mm, vpn + i, driver, bo);
  }
  migrateFinalize(m);
  return bo.id;
}

/** Driver-initiated migrate_vma with MIGRATE_VMA_SELECT_DEVICE_PRIVATE / _COHERENT. */
function doMigrateToRam(m: Machine, mm: Mm, vpn: number, n: number): number {
  if (!rangeOk(vpn, n)) reject(ERR_RANGE, F_MIGRATE_TO_RAM_ADDR);
  if (m.frames.freeSystemPages < n) reject(ERR_NOMEM_FRAMES, F_MIGRATE_TO_RAM_LENGTH, n);
  const v = mm.findVma(vpn);
  if (!v || vpn + n > v.end) return kfail(m, EINVAL);
  if (fileRefusesMigrateVma(m, v.file)) return kfail(m, EINVAL);
  mmuNotifierInvalidate(m, mm.id, vpn, vpn + n, MMU_NOTIFY_MIGRATE, -1); // migrate_vma_collect
  splitDevicePmdsIn(m, mm, vpn, vpn + n); // large device folios mapped here: folio_split first
  let moved = 0;
  for (const [at, pte] of mm.tables.entriesIn(vpn, vpn + n)) {
    // vm_normal_page skips devmap PTEs, so only device-private entries and normal device PTEs are selected
    const selected = pte.devicePrivate || (pte.normalPresent && m.frames.isDevice(pte.pfn));
    if (selected && migratePageToRam(m, m.frames.all[pte.pfn], 0, mm.id, at)) moved++;
  }
  return moved;
}

/** madvise_walk_vmas for MADV_DONTNEED or MADV_PAGEOUT (as the core). */
function madvise(m: Machine, mm: Mm, start: number, end: number, pageoutAdvice: boolean): number {
  let hole = false;
  let isolated = 0;
  let at = start;
  while (at < end) {
    const v = mm.findVmaAfter(at);
    if (!v) return kfail(m, ENOMEM);
    if (v.start > at) {
      hole = true;
      at = v.start;
      if (at >= end) break;
    }
    const e = Math.min(v.end, end);
    if (pageoutAdvice) isolated += pageout(m, mm, at, e);
    else {
      mmuNotifierInvalidate(m, mm.id, at, e, MMU_NOTIFY_CLEAR, -1);
      zapRange(m, mm, at, e);
    }
    at = e;
  }
  return hole ? kfail(m, ENOMEM) : isolated;
}

/** A range of npages (0 allowed, as the ioctls take) at vpn inside the simulated address space. */
function ioctlRangeOk(vpn: number, npages: number): boolean {
  return vpn >= 0 && npages >= 0 && vpn + npages <= VPN_LIMIT;
}

/** Room for the faults a loop or an hmm_range_fault over [vpn, vpn + n) of mm may take, device pages too (as the core's loopRoom). */
function checkLoopRoom(m: Machine, mm: Mm, vpn: number, n: number, write: boolean): void {
  const frames = loopFramesNeeded(mm, vpn, n, write);
  if (m.frames.freeSystemPages < frames) reject(ERR_NOMEM_FRAMES, F_LOOP_PAGES, Math.min(frames, 0x7fffffff));
  const pte = loopTablesNeeded(mm, vpn, n, false);
  if (m.tablePool.pteFree < pte) reject(ERR_NOMEM_TABLES, F_LOOP_PAGES, pte);
  const pmd = loopTablesNeeded(mm, vpn, n, true);
  if (m.tablePool.pmdFree < pmd) reject(ERR_NOMEM_TABLES, F_LOOP_PAGES, pmd);
  checkDeviceRoomRange(m, mm, vpn, n, write); // and the DAX / p2pmem pages the faults take
}

/** The test_hmm ops (as the core's doDmirror). */
/** mmap(MAP_PRIVATE) of test_hmm file fd by the process that opened it (as the core's doDmirrorMmap). */
function doDmirrorMmap(m: Machine, fd: Mirror, vpn: number, n: number, prot: number): number {
  const mm = m.mms.live(fd.mm);
  if (!mm) reject(ERR_BAD_MM, F_DMIRROR_OPEN_DEVICE); // the file's process has exited
  if (n <= 0 || n > VPN_LIMIT) reject(ERR_RANGE, F_DMIRROR_MMAP_LENGTH);
  if ((prot & ~(VM_READ | VM_WRITE)) !== 0 || prot === VM_WRITE) reject(ERR_BAD_ARG, F_DMIRROR_MMAP_PROT);
  if (vpn !== -1 && !rangeOk(vpn, n)) reject(ERR_RANGE, F_DMIRROR_ADDR);
  if (m.mms.vmaSlotsLeft < 1) reject(ERR_NOMEM_VMA, NO_FIELD, 1);
  if (m.files.all.length >= m.files.fileCapacity || n > m.files.pagesLeft) reject(ERR_NOMEM_OBJECTS, F_DMIRROR_MMAP_LENGTH, n);
  if (m.frames.freeSystemPages < n) reject(ERR_NOMEM_FRAMES, F_DMIRROR_MMAP_LENGTH, n);
  const tables = Math.trunc(n / PT_ENTRIES) + 2; // the PTE tables vm_insert_page fills
  if (m.tablePool.pteFree < tables || m.tablePool.pmdFree < Math.trunc(tables / PT_ENTRIES) + 2) reject(ERR_NOMEM_TABLES, F_DMIRROR_MMAP_LENGTH, tables);
  let start: number;
  if (vpn === -1) {
    start = mm.unmappedArea(n, VPN_LIMIT);
    if (start === 0) return kfail(m, ENOMEM); // get_unmapped_area
  } else {
    start = vpn;
    if (mm.overlaps(start, start + n)) return kfail(m, EEXIST); // MAP_FIXED_NOREPLACE
  }
  dmirrorMmap(m, mm, start, n, prot);
  return start;
}

function doDmirror(m: Machine, op: number, a0: number, a1: number, a2: number, a3: number, a4: number): number {
  if (op === OP_DMIRROR_NEW) {
    if (a0 !== KIND_DEVICE_PRIVATE && a0 !== KIND_DEVICE_COHERENT) reject(ERR_BAD_ARG, F_DMIRROR_NEW_KIND);
    if (a1 < 0 || a1 > DMIRROR_CHUNK_MAX) reject(ERR_BAD_ARG, F_DMIRROR_NEW_CHUNK, DMIRROR_CHUNK_MAX);
    if (m.dmirrors.count >= MAX_DMIRROR_DEVICES) reject(ERR_NOMEM_OBJECTS, NO_FIELD, MAX_DMIRROR_DEVICES);
    return m.dmirrors.create(a0, a1 === 0 ? DMIRROR_CHUNK_PAGES : a1);
  }
  if (op === OP_DMIRROR_OPEN) {
    if (!m.dmirrors.valid(a0)) reject(ERR_BAD_DMIRROR, F_DMIRROR_OPEN_DEVICE);
    if (!m.mms.live(a1)) reject(ERR_BAD_MM, F_DMIRROR_OPEN_MM);
    if (m.mirrors.slotsLeft < 1) reject(ERR_NOMEM_OBJECTS, NO_FIELD);
    return m.mirrors.open(a0, a1).id;
  }
  const fd = m.mirrors.live(a0);
  if (!fd) reject(ERR_BAD_MIRROR, F_DMIRROR_OPEN_DEVICE);
  if (op === OP_DMIRROR_MMAP) return doDmirrorMmap(m, fd, a1, a2, a3);
  if (op === OP_DMIRROR_CLOSE) {
    const chunks = m.devices.drivers.filter((d) => isLiveChunk(d, fd.device));
    const pages = chunks.reduce((n, d) => n + d.size, 0);
    if (m.frames.freeSystemPages < pages) reject(ERR_NOMEM_FRAMES, NO_FIELD, pages);
    m.mirrors.close(fd); // the notifier goes first
    for (const d of chunks) evict(m, d, 0); // dmirror_fops_release since 744dd97752ef (as the core)
    return 0;
  }
  if (!ioctlRangeOk(a1, a2)) reject(ERR_RANGE, a1 < 0 ? F_DMIRROR_ADDR : F_DMIRROR_NPAGES);
  let r: number;
  if (op === OP_DMIRROR_MIGRATE_TO_DEV) {
    if (m.mirrors.entriesLeft < a2) reject(ERR_NOMEM_OBJECTS, F_DMIRROR_NPAGES, m.mirrors.entriesLeft);
    const tables = Math.trunc(a2 / PT_ENTRIES) + 2; // migrate_vma_insert_page: tables for the holes
    if (m.tablePool.pteFree < tables || m.tablePool.pmdFree < Math.trunc(tables / PT_ENTRIES) + 2) reject(ERR_NOMEM_TABLES, F_DMIRROR_NPAGES, tables);
    if (a2 === 0) return kfail(m, EINVAL); // dmirror_fops_unlocked_ioctl: cmd.addr >= cmd.addr + size
    r = dmirrorMigrateToDev(m, fd, a1, a2);
  } else if (op === OP_DMIRROR_MIGRATE_TO_SYS) {
    if (m.frames.freeSystemPages < a2) reject(ERR_NOMEM_FRAMES, F_DMIRROR_NPAGES, a2);
    if (a2 === 0) return kfail(m, EINVAL);
    r = dmirrorMigrateToSys(m, fd, a1, a2);
  } else if (op === OP_DMIRROR_EXCLUSIVE) {
    if (m.mirrors.entriesLeft < a2) reject(ERR_NOMEM_OBJECTS, F_DMIRROR_NPAGES, m.mirrors.entriesLeft);
    const mm = m.mms.live(fd.mm);
    if (mm) checkLoopRoom(m, mm, a1, a2, true); // GUP's write faults
    if (a2 === 0) return kfail(m, EINVAL);
    r = dmirrorExclusive(m, fd, a1, a2);
  } else if (op === OP_DMIRROR_CHECK_EXCLUSIVE) {
    if (a2 === 0) return kfail(m, EINVAL);
    r = dmirrorCheckExclusive(fd, a1, a2);
  } else if (op === OP_DMIRROR_RELEASE) {
    if (a2 === 0) return kfail(m, EINVAL);
    r = dmirrorRelease(m, fd);
  } else if (op === OP_DMIRROR_FLAGS) {
    if (a2 === 0) return kfail(m, EINVAL); // cmd.npages is the flags word: 0 is an empty range
    fd.flags = a2; // dmirror->flags = cmd.npages
    fd.cpages = 0;
    fd.faults = 0;
    r = 0;
  } else if (op === OP_DMIRROR_SNAPSHOT) {
    if (a2 > SNAPSHOT_MAX) reject(ERR_BAD_ARG, F_DMIRROR_NPAGES, SNAPSHOT_MAX);
    if (a2 === 0) return kfail(m, EINVAL); // dmirror_fops_unlocked_ioctl: an empty range
    r = dmirrorSnapshot(m, fd, a1, a2);
  } else {
    const write = op === OP_DMIRROR_WRITE;
    if (m.mirrors.entriesLeft < a2) reject(ERR_NOMEM_OBJECTS, F_DMIRROR_NPAGES, m.mirrors.entriesLeft);
    const mm = m.mms.live(fd.mm);
    if (mm) checkLoopRoom(m, mm, a1, a2, write);
    if (a2 === 0) return kfail(m, EINVAL); // dmirror_fops_unlocked_ioctl: an empty range
    r = dmirrorReadWrite(m, fd, a1, a2, write, a3, a4);
  }
  return r < 0 ? kfail(m, -r) : r;
}

/** HMM_DMIRROR_RELEASE (as the core's dmirrorRelease): evict and memunmap every live chunk of the device. */
function dmirrorRelease(m: Machine, fd: Mirror): number {
  const chunks = m.devices.drivers.filter((d) => isLiveChunk(d, fd.device));
  const pages = chunks.reduce((n, d) => n + d.size, 0);
  if (m.frames.freeSystemPages < pages) reject(ERR_NOMEM_FRAMES, NO_FIELD, pages);
  for (const d of chunks) {
    evict(m, d, 0);
    memunmapPages(m, d);
  }
  m.dmirrors.chunks[fd.device] = 0;
  fd.cpages = 0;
  fd.faults = 0;
  return 0;
}

/** The tests' user-space loops (as the core's doUserLoop). */
function doUserLoop(m: Machine, mm: Mm | undefined, vpn: number, n: number, write: boolean, value: number, step: number, check: boolean): number {
  if (!mm) reject(ERR_BAD_MM, F_LOOP_MM);
  if (!rangeOk(vpn, n)) reject(ERR_RANGE, vpn < 0 ? F_LOOP_ADDR : F_LOOP_PAGES);
  checkLoopRoom(m, mm, vpn, n, write);
  let bad = 0;
  for (let k = 0; k < n; k++) {
    const want = (value + Math.imul(k, step)) | 0;
    const got = access(m, mm, vpn + k, write, want);
    if (m.opStatus !== 0) return 0;
    if (!write && check && got !== want) bad++;
  }
  return bad;
}

function doGup(m: Machine, mm: Mm, vpn: number, fl: number): number {
  if ((fl & ~FOLL_VALID) !== 0) reject(ERR_BAD_ARG, F_GUP_WRITE);
  if (vpn < 0 || vpn >= VPN_LIMIT) reject(ERR_RANGE, F_GUP_ADDR);
  const v = mm.findVma(vpn);
  if (!v) return refuse(m, EFAULT); // __get_user_pages: gup_vma_lookup found no VMA
  const bad = checkVmaFlags(m, v, fl);
  if (bad !== 0) return refuse(m, bad);
  if (m.pins.slotsLeft < 1) reject(ERR_NOMEM_OBJECTS, NO_FIELD);
  if (m.frames.freeSystemPages < 3) reject(ERR_NOMEM_FRAMES, NO_FIELD, 3);
  checkFaultRoom(m, mm, vpn, true);
  checkFolioRoom(m, mm.tables.hugeLeaf(vpn));
  checkDeviceRoom(m, mm, v, vpn, (fl & FOLL_WRITE) !== 0);
  if (!mm.tables.get(vpn) && beyondEof(m, v, vpn)) return kfail(m, EFAULT); // faultin_page: VM_FAULT_SIGBUS
  return gup(m, mm, v, vpn, fl);
}

const NEEDS_MM = new Set([
  OP_MMAP, OP_MUNMAP, OP_READ, OP_WRITE, OP_FORK, OP_EXIT, OP_MADV_DONTNEED, OP_MIGRATE_TO_DEVICE, OP_MIGRATE_TO_RAM, OP_GUP,
  OP_FAULT_BEGIN, OP_MADV_PAGEOUT, OP_ZAP_BEGIN, OP_MIGRATE_COLLECT, OP_MIGRATION_WAIT,
]);
/** Ops with an mm that check it in their own case (codes past the core's 32-bit mask). */
const OWN_MM = new Set([OP_MPROTECT, OP_MREMAP, OP_MADV_COLLAPSE]);

/** Execute the op record at words[at..]; returns its result or throws a Rejection. */
export function execute(m: Machine, words: Int32Array, at: number): number {
  const r = executeOp(m, words, at);
  resumeWokenTruncates(m); // a truncate the op's wake_up_var woke goes on after it
  return r;
}

function executeOp(m: Machine, words: Int32Array, at: number): number {
  const op = words[at];
  const a0 = words[at + 1];
  const a1 = words[at + 2];
  const a2 = words[at + 3];
  const a3 = words[at + 4];
  const a4 = words[at + 5];
  const a5 = words[at + 6];
  let mm: Mm | undefined;
  if (OWN_MM.has(op)) mm = m.mms.live(a0);
  if (NEEDS_MM.has(op)) {
    mm = m.mms.live(a0);
    if (!mm) reject(ERR_BAD_MM, F_MM);
  }
  switch (op) {
    case OP_MM_NEW:
      if (m.mms.mmSlotsLeft < 1) reject(ERR_NOMEM_MM, NO_FIELD);
      return m.mms.create().id;
    case OP_MMAP:
      return doMmap(m, mm!, a1, a2, a3, a4, a5);
    case OP_MUNMAP:
      if (!rangeOk(a1, a2)) reject(ERR_RANGE, F_MUNMAP_ADDR);
      if (m.mms.vmaSlotsLeft < 1 && splitsVma(mm!, a1, a1 + a2)) reject(ERR_NOMEM_VMA, NO_FIELD, 1);
      unmapRange(m, mm!, a1, a1 + a2);
      return 0;
    case OP_READ:
      return access(m, mm!, a1, false, 0);
    case OP_WRITE:
      return access(m, mm!, a1, true, a2);
    case OP_FORK:
      return doFork(m, mm!);
    case OP_EXIT:
      // a forking task holds mm_users of the parent, and the child is nobody's until dup_mmap returns (kernel/fork.c)
      if (m.gupFast.forking(a0) || m.gupFast.forkParent.has(a0) || m.gupFast.walking(a0)) reject(ERR_BAD_STATE, F_MM); // the engine's OP_EXIT: no exit_mmap under a fork or a GUP-fast walk
      exitMm(m, mm!);
      return 0;
    case OP_MADV_DONTNEED:
      if (!rangeOk(a1, a2)) reject(ERR_RANGE, F_MADVISE_DONTNEED_ADDR);
      return madvise(m, mm!, a1, a1 + a2, false);
    case OP_FILE_NEW: {
      if (a0 <= 0) reject(ERR_RANGE, F_FILE_NEW_LENGTH);
      const d = a1 - 1; // a1 0: an ordinary file; d + 1: a file on device driver d
      if (a1 !== 0) {
        const driver = m.devices.driver(d);
        if (!driver) reject(ERR_BAD_DRIVER, F_FILE_NEW_DRIVER);
        if (driver.kind !== KIND_FSDAX && driver.kind !== KIND_DEVDAX && driver.kind !== KIND_P2PDMA) reject(ERR_BAD_ARG, F_FILE_NEW_DRIVER);
        if (driver.state !== "live") reject(ERR_BAD_STATE, F_FILE_NEW_DRIVER);
      }
      if (m.files.all.length >= m.files.fileCapacity) reject(ERR_NOMEM_OBJECTS, NO_FIELD);
      if (a0 > m.files.pagesLeft) reject(ERR_NOMEM_OBJECTS, F_FILE_NEW_LENGTH, a0);
      return m.files.create(a0, d).id;
    }
    case OP_DRIVER_NEW:
      if (a0 < KIND_DEVICE_PRIVATE || a0 > KIND_P2PDMA) reject(ERR_BAD_ARG, F_DRIVER_NEW_KIND);
      if (a1 <= 0) reject(ERR_RANGE, F_DRIVER_NEW_PAGES);
      if (a1 + driverPadding(m, a0) > m.devices.framesLeft) reject(ERR_NOMEM_DEVICE, F_DRIVER_NEW_PAGES, m.devices.framesLeft); // E5: 2 MiB-aligned
      if (m.devices.driverSlotsLeft < 1) reject(ERR_NOMEM_OBJECTS, NO_FIELD);
      return registerDriver(m, a0, a1).id;
    case OP_DRIVER_ALLOC: {
      const d = m.devices.driver(a0);
      if (!d) reject(ERR_BAD_DRIVER, F_DRIVER_ALLOC_DRIVER);
      if (d.kind !== KIND_DEVICE_PRIVATE) reject(ERR_BAD_ARG, F_DRIVER_ALLOC_DRIVER); // device-private memory only
      if (d.state !== "live") reject(ERR_BAD_STATE, F_DRIVER_ALLOC_DRIVER);
      if (a1 !== 0 && (a1 !== FOLIO_ORDER || !m.rules.deviceFolios)) reject(ERR_BAD_ARG, F_DRIVER_ALLOC_ORDER); // order 9 needs E5's large device folios
      if (a2 !== 0 && a2 !== 1) reject(ERR_BAD_ARG, F_DRIVER_ALLOC_WAIT);
      if (m.devices.boSlotsLeft < 1) reject(ERR_NOMEM_OBJECTS, NO_FIELD);
      if (a2 === 0 && !driverCanAlloc(m, d, a1)) reject(ERR_NOMEM_DEVICE, F_DRIVER_ALLOC_ORDER);
      if (a2 === 1 && d.pending && !driverCanAlloc(m, d, a1)) reject(ERR_BAD_STATE, F_DRIVER_ALLOC_WAIT); // one blocked allocation at a time
      const bo = createBo(m, d);
      bo.held = true;
      if (!driverAllocFolio(m, d, bo, a1)) d.pending = { order: a1, bo }; // blocks until a free returns memory
      return bo.id;
    }
    case OP_DRIVER_FREE: {
      const bo = m.devices.liveBo(a0);
      if (!bo) reject(ERR_BAD_BO, F_DRIVER_FREE_BO);
      if (!bo.held) reject(ERR_BAD_BO, F_DRIVER_FREE_BO, 1); // only the driver's own allocations
      if (m.devices.drivers[bo.driver].state === "gone") reject(ERR_BAD_STATE, F_DRIVER_FREE_BO);
      driverFreeBo(m, bo);
      return 0;
    }
    case OP_MIGRATE_TO_DEVICE:
      return doMigrateToDevice(m, mm!, a1, a2, a3, a4);
    case OP_MIGRATE_TO_RAM:
      return doMigrateToRam(m, mm!, a1, a2);
    case OP_GUP:
      return doGup(m, mm!, a1, a2);
    case OP_UNPIN:
      if (!m.pins.live(a0)) reject(ERR_BAD_HANDLE, F_UNPIN_HANDLE);
      unpin(m, a0);
      return 0;
    case OP_CHECK:
      quiesceCheck(m);
      return 0;
    case OP_TEARDOWN:
      for (const x of [...m.mms.alive]) exitMm(m, x);
      for (const f of m.files.all) if (f.open) dropPageCache(m, f);
      quiesceCheck(m);
      return 0;
    case OP_DROP_CACHE: {
      const f = m.files.open(a0);
      if (!f || f.dmirrorMap) reject(ERR_BAD_FILE, F_DROP_CACHE_FILE);
      dropPageCache(m, f);
      return 0;
    }
    case OP_DRIVER_TEARDOWN: {
      const d = m.devices.driver(a0);
      if (!d) reject(ERR_BAD_DRIVER, F_DRIVER_TEARDOWN_DRIVER);
      if (d.kind !== KIND_DEVICE_PRIVATE && d.kind !== KIND_DEVICE_COHERENT) reject(ERR_BAD_ARG, F_DRIVER_TEARDOWN_DRIVER);
      if (d.state !== "live") reject(ERR_BAD_STATE, F_DRIVER_TEARDOWN_DRIVER);
      if (a1 !== 0 && a1 !== 1) reject(ERR_BAD_ARG, F_DRIVER_TEARDOWN_EVICT);
      if (a1 === 1) evict(m, d, 0); // migrate_device_range first
      m.counters.driverTeardowns++;
      return memunmapPages(m, d);
    }
    case OP_EVICT_BO: {
      const bo = m.devices.liveBo(a0);
      if (!bo) reject(ERR_BAD_BO, F_EVICT_BO_BO);
      const d = m.devices.drivers[bo.driver];
      if (d.state === "gone") reject(ERR_BAD_STATE, F_EVICT_BO_BO);
      return evict(m, d, a0);
    }
    case OP_GUP_FAST_BEGIN: {
      const x = m.mms.live(a0);
      if (!x) reject(ERR_BAD_MM, F_GUP_FAST_BEGIN_MM);
      if ((a2 & ~FOLL_VALID) !== 0) reject(ERR_BAD_ARG, F_GUP_FAST_BEGIN_WRITE);
      if (a1 < 0 || a1 >= VPN_LIMIT) reject(ERR_RANGE, F_GUP_FAST_BEGIN_ADDR);
      if (m.gupFast.slotsLeft < 1 || m.pins.slotsLeft < 1) reject(ERR_NOMEM_OBJECTS, NO_FIELD);
      return gupFastBegin(m, x, a1, a2);
    }
    case OP_GUP_FAST_STEP:
      if (!m.gupFast.live(a0)) reject(ERR_BAD_HANDLE, F_GUP_FAST_STEP_WALK);
      if (m.gupFast.live(a0)!.atLastStep && m.pins.slotsLeft < 1) reject(ERR_NOMEM_OBJECTS, NO_FIELD); // the last step makes a handle
      return gupFastStep(m, a0);
    case OP_FORK_BEGIN: {
      const parent = m.mms.live(a0);
      if (!parent) reject(ERR_BAD_MM, F_FORK_BEGIN_MM);
      if (m.gupFast.forking(a0)) reject(ERR_BAD_STATE, F_FORK_BEGIN_MM); // its mmap_lock is held for write by the other fork
      m.gupFast.deferParentWp = true;
      let child: number;
      try {
        child = doFork(m, parent);
      } finally {
        m.gupFast.deferParentWp = false;
      }
      forkBegun(m, parent, m.mms.all[child]);
      return child;
    }
    case OP_FORK_END: {
      const child = m.mms.live(a0);
      if (!child || !m.gupFast.forkParent.has(a0)) reject(ERR_BAD_MM, F_FORK_END_CHILD);
      forkEnd(m, child);
      return 0;
    }
    case OP_FAULT_BEGIN: {
      if (a1 < 0 || a1 >= VPN_LIMIT) reject(ERR_RANGE, F_FAULT_BEGIN_ADDR);
      if (!mm!.findVma(a1)) reject(ERR_SEGV, F_FAULT_BEGIN_ADDR);
      const pte = mm!.tables.get(a1);
      if (!pte?.devicePrivate) reject(ERR_BAD_STATE, F_FAULT_BEGIN_ADDR); // only device-private entries fault this way
      if (m.faults.slotsLeft < 1) reject(ERR_NOMEM_OBJECTS, NO_FIELD);
      return faultBegin(m, a0, a1, m.frames.all[pte.pfn]);
    }
    case OP_FAULT_END:
      if (!m.faults.live(a0)) reject(ERR_BAD_HANDLE, F_FAULT_END_FAULT);
      if (m.frames.freeSystemPages < 1) reject(ERR_NOMEM_FRAMES, NO_FIELD, 1);
      return faultEnd(m, a0);
    case OP_ZAP_BEGIN: {
      if (!rangeOk(a1, a2)) reject(ERR_RANGE, F_ZAP_BEGIN_ADDR);
      if (a2 > ZAP_WINDOW_PAGES) reject(ERR_RANGE, F_ZAP_BEGIN_LENGTH, ZAP_WINDOW_PAGES); // one gather batch's worth
      const v = mm!.findVma(a1);
      if (!v || v.end < a1 + a2) reject(ERR_SEGV, F_ZAP_BEGIN_ADDR); // madvise_dontneed_single_vma: one whole VMA
      if (a3 !== 0 && a3 !== ZAP_ORDER_PUT_FIRST) reject(ERR_BAD_ARG, F_ZAP_BEGIN_ORDER);
      if (m.zapWindows.free() < 0) reject(ERR_NOMEM_OBJECTS, NO_FIELD);
      return zapWindowBegin(m, mm!, a1, a1 + a2, a3);
    }
    case OP_MIGRATE_COLLECT: {
      if (!rangeOk(a1, 1)) reject(ERR_RANGE, F_MIGRATE_COLLECT_ADDR);
      const { driver, existing } = migrateTarget(m, a2, a3, F_MIGRATE_COLLECT_DRIVER, F_MIGRATE_COLLECT_BO);
      const page = migrateCutPage(m, mm!, a1);
      if (!page) reject(ERR_BAD_STATE, F_MIGRATE_COLLECT_ADDR); // not a page the cut takes: migrate_to_device runs whole
      if (m.migrateSteps.freeCut() < 0) reject(ERR_NOMEM_OBJECTS, NO_FIELD);
      return migrateCollect(m, mm!, a1, page, driver, existing ?? null);
    }
    case OP_MIGRATE_FINISH:
      if (!m.migrateSteps.cut(a0)) reject(ERR_BAD_HANDLE, F_MIGRATE_FINISH_MIGRATION);
      return migrateFinish(m, a0);
    case OP_MIGRATION_WAIT: {
      if (!rangeOk(a1, 1)) reject(ERR_RANGE, F_MIGRATION_WAIT_ADDR);
      if (a2 !== 0) {
        if (!m.migrateSteps.waiter(a2)) reject(ERR_BAD_HANDLE, F_MIGRATION_WAIT_WAITER);
        migrationWaitPut(m, a2, mm!, a1);
        return 0;
      }
      const page = migrationEntryPage(m, mm!, a1);
      if (!page) reject(ERR_BAD_STATE, F_MIGRATION_WAIT_ADDR); // no migration entry: nothing to wait on
      if (m.migrateSteps.freeWaiter() < 0) reject(ERR_NOMEM_OBJECTS, NO_FIELD);
      return migrationWaitBegin(m, page, mm!, a1);
    }
    case OP_ZAP_END:
      if (!m.zapWindows.live(a0)) reject(ERR_BAD_HANDLE, F_ZAP_END_WINDOW);
      zapWindowEnd(m, a0);
      return 0;
    case OP_TRUNCATE: {
      const f = m.files.open(a0);
      if (!f || f.dmirrorMap) reject(ERR_BAD_FILE, F_TRUNCATE_FILE);
      // device-dax and p2pmem are device files: they have no blocks to truncate
      if (f.driver >= 0 && m.devices.driver(f.driver)!.kind !== KIND_FSDAX) reject(ERR_BAD_ARG, F_TRUNCATE_FILE);
      if (a3 !== 0 && a3 !== 1) reject(ERR_BAD_ARG, F_TRUNCATE_SHRINK);
      if (f.driver >= 0 && m.files.truncateSlotsLeft < 1) reject(ERR_NOMEM_OBJECTS, NO_FIELD); // it may have to wait
      if (a3 === 1) { // truncate(2) to a1 pages: no larger than the file
        if (a1 < 0 || a1 > f.pages) reject(ERR_RANGE, F_TRUNCATE_OFFSET);
        return truncateRange(m, f, a1, f.pages - a1, true);
      }
      if (a1 < 0 || a1 >= f.pages) reject(ERR_RANGE, F_TRUNCATE_OFFSET);
      if (a2 <= 0) reject(ERR_RANGE, F_TRUNCATE_LENGTH);
      return truncateRange(m, f, a1, Math.min(a2, f.pages - a1), false);
    }
    case OP_MADV_PAGEOUT:
      if (!rangeOk(a1, a2)) reject(ERR_RANGE, F_MADVISE_PAGEOUT_ADDR);
      return madvise(m, mm!, a1, a1 + a2, true);
    case OP_MPROTECT: {
      if (!mm) reject(ERR_BAD_MM, F_MPROTECT_MM);
      if (!rangeOk(a1, a2)) reject(ERR_RANGE, F_MPROTECT_ADDR);
      if (a3 !== 0 && a3 !== VM_READ && a3 !== (VM_READ | VM_WRITE)) reject(ERR_BAD_ARG, F_MPROTECT_PROT);
      const slots = mprotectSlots(mm, a1, a1 + a2, a3);
      if (m.mms.vmaSlotsLeft < slots) reject(ERR_NOMEM_VMA, NO_FIELD, slots);
      return doMprotect(m, mm, a1, a1 + a2, a3);
    }
    case OP_MADV_COLLAPSE: {
      if (!mm) reject(ERR_BAD_MM, F_MADVISE_COLLAPSE_MM);
      if (!rangeOk(a1, a2)) reject(ERR_RANGE, F_MADVISE_COLLAPSE_ADDR);
      if (!m.rules.madvCollapse) return kfail(m, EINVAL); // before 6.1 madvise_behavior_valid knows no MADV_COLLAPSE
      if (collapseRange(m, mm, a1, a1 + a2, false) === COLLAPSE_NOT_MODELLED) reject(ERR_BAD_STATE, F_MADVISE_COLLAPSE_ADDR);
      return collapseRange(m, mm, a1, a1 + a2, true);
    }
    case OP_MREMAP: {
      if (!mm) reject(ERR_BAD_MM, F_MREMAP_MM);
      if (!rangeOk(a1, a2)) reject(ERR_RANGE, F_MREMAP_ADDR);
      if (a3 <= 0 || a3 > VPN_LIMIT) reject(ERR_RANGE, F_MREMAP_NEW_LENGTH);
      if ((a4 & ~MREMAP_VALID) !== 0) reject(ERR_BAD_ARG, F_MREMAP_MAYMOVE);
      if ((a4 & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0 && !rangeOk(a5, a3)) reject(ERR_RANGE, F_MREMAP_NEW_ADDR);
      const slots = mremapSlots(a2, a3, a4);
      if (m.mms.vmaSlotsLeft < slots) reject(ERR_NOMEM_VMA, NO_FIELD, slots);
      const tables = Math.trunc(a2 / PT_ENTRIES) + 2;
      if (m.tablePool.pteFree < tables || m.tablePool.pmdFree < Math.trunc(tables / PT_ENTRIES) + 2) reject(ERR_NOMEM_TABLES, F_MREMAP_LENGTH, tables);
      return doMremap(m, mm, a1, a2, a3, a4, a5);
    }
    case OP_DMIRROR_NEW: case OP_DMIRROR_OPEN: case OP_DMIRROR_CLOSE: case OP_DMIRROR_READ: case OP_DMIRROR_WRITE:
    case OP_DMIRROR_SNAPSHOT: case OP_DMIRROR_MIGRATE_TO_DEV: case OP_DMIRROR_MIGRATE_TO_SYS: case OP_DMIRROR_RELEASE:
    case OP_DMIRROR_FLAGS: case OP_DMIRROR_EXCLUSIVE: case OP_DMIRROR_CHECK_EXCLUSIVE: case OP_DMIRROR_MMAP:
      return doDmirror(m, op, a0, a1, a2, a3, a4);
    case OP_WRITE_RANGE:
      return doUserLoop(m, m.mms.live(a0), a1, a2, true, a3, a4, false);
    case OP_READ_RANGE:
      return doUserLoop(m, m.mms.live(a0), a1, a2, false, a3, a4, a5 !== 0);
    case OP_CPU:
      if (a0 < 0 || a0 >= m.cpus) reject(ERR_BAD_ARG, F_CPU_CPU);
      return 0;
    case OP_DMA_WRITE:
      if (!m.pins.live(a0)) reject(ERR_BAD_HANDLE, F_DMA_WRITE_HANDLE);
      dmaWrite(m, a0, a1);
      return 0;
  }
  return reject(ERR_BAD_OP, NO_FIELD);
}
