// refsim core: the WASM module's exports. The host (src/core/) calls init once,
// writes the scheme block, then fills the op buffer and calls runBatch; everything
// else it reads through typed-array views at the pointers exported here.
import {
  CAP_SYS_FRAMES, CAP_DEV_FRAMES, CAP_MMS, CAP_VMAS, CAP_PTE_TABLES, CAP_PMD_TABLES, CAP_FILES, CAP_FILE_PAGES,
  CAP_DRIVERS, CAP_BOS, CAP_PINS, CAP_VIOLATIONS, CAP_BATCH, CAP_HUGE_PAGES, CAP_WORDS, MAX_FRAMES,
} from "./abi";
import { initStats, statsBase } from "./stats";
import { initViolations, violationBase, violationCount } from "./violations";
import { initScheme, schemeBase } from "./scheme";
import {
  initFrames, refBase, mapBase, flagsBase, indexBase, contentBase, lastOpBase, frameCount, sysFrames, freeSystemFrames,
  systemFramesFor, hugeBase, freeHugeFolios, folioOf, entireMapcount, folioPincount, isLarge,
} from "./frames";
import { driverFree, driverBase, driverSize, driverCount, deviceOwner, driverState, pgmapRefOf } from "./memremap";
import { initDevices, boStateOf, boRefsOf, boDriverOf, boCount } from "./driver";
import { initPageTables, ptePtr, pteTablesLeft, pmdTablesLeft, hugeLeaf } from "./pgtable";
import { initMm, mmValid, mmCount, vmaCount, firstVma, vmaNext, vmaStart, vmaEnd, vmaFlags, vmaFile, vmaPgoff } from "./mm";
import { initFiles, fileIsShmem, initEvictInode } from "./file";
import { shmemRelease } from "./shmem";
import { initMmuGather } from "./mmu_gather";
import { initRmap } from "./rmap";
import { initCheck, coverLoadedFrames } from "./check";
import { initPrefetch } from "./prefetch";
import { initOps, runBatch, opBase, resultBase, errorBase, opSeq, batchDone } from "./ops";
import { initErrno, statusListPtr as statusList, statusCount as failedOps } from "./errno";
import { initMigrate } from "./migrate";
import { initRace } from "./race";
import { initZapWindow } from "./zap_window";
import { initGupFast } from "./gup_fast";
import { initMigrateSteps } from "./migrate_steps";
import { initDmirror } from "./dmirror";
import { initMirrors, mirrorIsOpen, mirrorExists, mirrorCpages, mirrorFaults, mirrorEntryCount, mirrorDevice, mirrorMm } from "./mirror";
import { initHmm } from "./hmm";
import { initDmirrorIoctl, snapshotBase, snapshotLength } from "./dmirror_ioctl";
import { capacityBytes as tableBytes, capacityLargestTable, capacityLimit, TABLE_MAX } from "./sizing";
import { reserveHeap } from "./heap";
import { fastPathCount } from "./fastpath";
import { fileFastCount } from "./fastpath_file";
import { initPins, handleValid, handlePfn } from "./pins";
import { initWaitBit } from "./wait_bit";
import { daxPageIdle, initTruncate } from "./truncate";

let capsBuf: usize = 0;
let ready = false;

/** Buffer for the CAP_* words; write them, then call init(). */
export function capsPtr(): usize {
  if (capsBuf == 0) {
    capsBuf = heap.alloc(CAP_WORDS << 2);
    memory.fill(capsBuf, 0, CAP_WORDS << 2);
  }
  return capsBuf;
}

@inline function cap(i: i32): i32 { return load<i32>(capsBuf + (<usize>i << 2)); }

/** What init() would allocate for the capacity words now in the caps buffer (64-bit, nothing allocated). */
export function capacityBytes(): u64 { return tableBytes(capsPtr()); }
export { capacityLargestTable, capacityLimit };
/** Bytes init() allocated: capacityBytes() of the same capacities (test/capacity-size.test.ts). */
export function tablesAllocated(): u64 { return tablesEnd - tablesStart; }
/** The first byte after the last table init() allocated (bench/memory.ts reads the heap's end here). */
export function tablesEndPtr(): u64 { return tablesEnd; }
let tablesStart: u64 = 0;
let tablesEnd: u64 = 0;

/**
 * Allocate every table once (no memory.grow after this). Returns 0, the CAP_* index that
 * is invalid + 1, or CAP_WORDS + 1 when the tables together do not fit the memory.
 */
export function init(): i32 {
  if (ready) return -1;
  for (let i = 0; i <= CAP_HUGE_PAGES; i++) if (cap(i) < 0) return i + 1;
  const sys = systemFramesFor(<u32>cap(CAP_SYS_FRAMES), <u32>cap(CAP_HUGE_PAGES));
  if (<i64>sys + <i64>cap(CAP_DEV_FRAMES) + 1 > <i64>MAX_FRAMES) return cap(CAP_HUGE_PAGES) > 0 ? CAP_HUGE_PAGES + 1 : CAP_SYS_FRAMES + 1;
  if (cap(CAP_MMS) < 1) return CAP_MMS + 1;
  if (cap(CAP_VMAS) < 1) return CAP_VMAS + 1;
  if (cap(CAP_PTE_TABLES) < 1) return CAP_PTE_TABLES + 1;
  if (cap(CAP_PMD_TABLES) < 1) return CAP_PMD_TABLES + 1;
  if (cap(CAP_BATCH) < 1) return CAP_BATCH + 1;
  // Sizes in 64 bits first: in 32-bit usize a large capacity would wrap to a tiny table.
  const bytes = tableBytes(capsBuf);
  if (bytes > capacityLimit() || capacityLargestTable() > TABLE_MAX) return CAP_WORDS + 1;
  reserveHeap(bytes + 32); // the tables, and the two 0-byte blocks that mark where they start and end
  tablesStart = <u64>heap.alloc(0) + 12; // a 0-byte block has a 12-byte payload: the first table starts after it
  initStats();
  initScheme();
  initViolations(cap(CAP_VIOLATIONS)); // 0: count violations, keep no records
  initFrames(<u32>cap(CAP_SYS_FRAMES), <u32>cap(CAP_HUGE_PAGES), <u32>cap(CAP_DEV_FRAMES));
  initDevices(<u32>cap(CAP_DEV_FRAMES), cap(CAP_DRIVERS), cap(CAP_BOS) + 1); // BO 0 is "none"
  initMm(cap(CAP_MMS), cap(CAP_VMAS));
  initPageTables(cap(CAP_MMS), cap(CAP_PMD_TABLES), cap(CAP_PTE_TABLES));
  initFiles(cap(CAP_FILES), <u32>cap(CAP_FILE_PAGES));
  initTruncate(2 * cap(CAP_FILES), cap(CAP_FILES)); // truncates waiting in ext4_break_layouts (or behind one)
  initEvictInode(shmemRelease); // shmem_ops.evict_inode = shmem_evict_inode (mm/shmem.c)
  initMmuGather();
  initWaitBit(daxPageIdle); // a truncate waiting in dax_break_layout goes on when the page is idle
  initRmap(cap(CAP_MMS));
  initPins(cap(CAP_PINS));
  initCheck(frameCount, cap(CAP_BOS) + 1);
  initPrefetch(frameCount);
  initOps(cap(CAP_BATCH), cap(CAP_DEV_FRAMES));
  initErrno(cap(CAP_BATCH));
  initMigrate(cap(CAP_DEV_FRAMES));
  initRace(cap(CAP_PINS));
  initZapWindow();
  initGupFast(cap(CAP_PINS), cap(CAP_MMS));
  initMigrateSteps();
  initDmirror(<u32>cap(CAP_DEV_FRAMES), cap(CAP_DRIVERS));
  initMirrors();
  initHmm();
  initDmirrorIoctl();
  tablesEnd = <u64>heap.alloc(0) - 4;
  ready = true;
  return 0;
}

export { runBatch };
/** After the host loaded a saved state (Engine.loadState): the quiesce check covers every frame it changed. */
export { coverLoadedFrames };

export function opBufferPtr(): usize { return opBase; }
export function resultsPtr(): usize { return resultBase; }
/** [op index, status] pairs of the ops of the last batch the kernel failed (an errno or a signal). */
export function statusListPtr(): usize { return statusList(); }
export function statusCount(): i32 { return failedOps; }
/** Ops the last runBatch ran. */
export function batchRan(): i32 { return batchDone; }
export function errorPtr(): usize { return errorBase; }
export function statsPtr(): usize { return statsBase; }
export function schemePtr(): usize { return schemeBase; }
export function violationsPtr(): usize { return violationBase; }
export function violationsRecorded(): i32 { return violationCount; }
export function opsExecuted(): i32 { return opSeq; }
/** How often fast path counter i (fastpath.ts FP_*) ran or fell through; -1 past the last. */
export function fastPathCounter(i: i32): i32 { return fastPathCount(i); }
/** How often the file-VMA access fast path (fastpath_file.ts FF_*) ran or fell through; -1 past the last. */
export function fileFastPathCounter(i: i32): i32 { return fileFastCount(i); }

export function framesTotal(): u32 { return frameCount; }
export function systemFrames(): u32 { return sysFrames; }
export function systemFramesFree(): u32 { return freeSystemFrames(); }
export function refcountPtr(): usize { return refBase; }
export function mapcountPtr(): usize { return mapBase; }
export function flagsPtr(): usize { return flagsBase; }
export function indexPtr(): usize { return indexBase; }
export function contentPtr(): usize { return contentBase; }
export function lastOpPtr(): usize { return lastOpBase; }
export function memoryBytes(): usize { return <usize>memory.size() << 16; }

/** The PTE word mapping vpn in mm: 0 for none, -1 if mm is not a live address space. */
export function pteAt(mm: i32, vpn: i32): i32 {
  if (!mmValid(mm) || vpn < 0 || vpn >= (1 << 27)) return -1;
  const p = ptePtr(mm, <u32>vpn, false);
  return p == 0 ? 0 : load<i32>(p);
}
export function mmLive(mm: i32): bool { return mmValid(mm); }
export function mmsCreated(): i32 { return mmCount; }
export function mmVmaCount(mm: i32): i32 { return mmValid(mm) ? vmaCount(mm) : -1; }
/** Word w of mm's i-th VMA in address order (0 start vpn, 1 end vpn, 2 flags, 3 file, 4 pgoff, 5 shmem); -1 past the last. */
export function mmVmaWord(mm: i32, i: i32, w: i32): i32 {
  if (!mmValid(mm)) return -1;
  let v = firstVma(mm);
  for (let k = 0; k < i && v >= 0; k++) v = vmaNext(v);
  if (v < 0) return -1;
  if (w == 0) return <i32>vmaStart(v);
  if (w == 1) return <i32>vmaEnd(v);
  if (w == 2) return vmaFlags(v);
  if (w == 3) return vmaFile(v);
  if (w == 4) return <i32>vmaPgoff(v);
  return vmaFile(v) >= 0 && fileIsShmem(vmaFile(v)) ? 1 : 0;
}
export function bosCreated(): i32 { return boCount - 1; }
export function boState(b: i32): i32 { return b > 0 && b < boCount ? boStateOf(b) : -1; }
export function boPages(b: i32): i32 { return b > 0 && b < boCount ? boRefsOf(b) : -1; }
export function boDriver(b: i32): i32 { return b > 0 && b < boCount ? boDriverOf(b) : -1; }
export function driversCreated(): i32 { return driverCount; }
export function driverFreePages(d: i32): i32 { return d >= 0 && d < driverCount ? driverFree(d) : -1; }
export function driverFirstPfn(d: i32): i32 { return d >= 0 && d < driverCount ? driverBase(d) : -1; }
export function driverPages(d: i32): i32 { return d >= 0 && d < driverCount ? driverSize(d) : -1; }
export function driverStateOf(d: i32): i32 { return d >= 0 && d < driverCount ? driverState(d) : -1; }
export function driverPgmapRef(d: i32): i32 { return d >= 0 && d < driverCount ? pgmapRefOf(d) : -1; }
export function deviceBo(pfn: u32): i32 { return pfn > sysFrames && pfn < frameCount ? deviceOwner(pfn) : 0; }
export function thpPoolFirstPfn(): u32 { return hugeBase; }
export function thpFree(): u32 { return freeHugeFolios(); }
/** The folio of a frame: its head pfn (itself for a small page). */
export function folioHead(pfn: u32): u32 { return pfn < frameCount ? folioOf(pfn) : 0; }
export function folioIsLarge(pfn: u32): bool { return pfn < frameCount && isLarge(pfn); }
export function folioEntireMapcount(pfn: u32): i32 { return pfn < frameCount && isLarge(pfn) ? entireMapcount(pfn) : 0; }
export function folioPins(pfn: u32): i32 { return pfn < frameCount && isLarge(pfn) ? folioPincount(pfn) : 0; }
/** The PMD leaf mapping vpn in mm (a THP or the huge zero page), 0 for none, -1 if mm is not live. */
export function pmdAt(mm: i32, vpn: i32): i32 {
  if (!mmValid(mm) || vpn < 0 || vpn >= (1 << 27)) return -1;
  return <i32>hugeLeaf(mm, <u32>vpn);
}
export function pinPfn(h: i32): i32 { return handleValid(h) ? <i32>handlePfn(h) : -1; }
export function tablesFree(): i32 { return pteTablesLeft() + pmdTablesLeft(); }

// Simulated CPUs and the counter layer (assembly/counters/layer.ts): configured by the host after init().
export {
  counterConfigPtr, counterInit, counterBytes, setCpuLimit, counterDrain, counterNow, counterPendingZeros, counterStateBytes,
  counterCpus, counterClocksPtr, counterCpuStatsPtr, counterDelayHistPtr,
} from "./counters/layer";

// The test_hmm model (dmirror.ts, mirror.ts, dmirror_ioctl.ts): what the ioctls copy back to the caller.
/** The bytes of the last HMM_DMIRROR_SNAPSHOT: snapshotLen() of them at snapshotPtr(). */
export function snapshotPtr(): usize { return snapshotBase; }
export function snapshotLen(): i32 { return snapshotLength; }
/** A mirror (open file): -1 if never opened, 0 closed, 1 open. */
export function mirrorState(m: i32): i32 { return !mirrorExists(m) ? -1 : mirrorIsOpen(m) ? 1 : 0; }
/** cmd.cpages and cmd.faults of the mirror's last ioctl that returned 0, its pt entries, its device and mm. */
export function mirrorCpagesOf(m: i32): i32 { return mirrorCpages(m); }
export function mirrorFaultsOf(m: i32): i32 { return mirrorFaults(m); }
export function mirrorEntriesOf(m: i32): i32 { return mirrorEntryCount(m); }
export function mirrorDeviceOf(m: i32): i32 { return mirrorDevice(m); }
export function mirrorMmOf(m: i32): i32 { return mirrorMm(m); }

// Workload generators inside the core (workload_run.ts): the host starts one, then steps it batch by batch.
export { workloadPageFault, workloadMmap1, workloadSharedPages, workloadForkHeavy, workloadForkHeavyChild, workloadGpuChurn, workloadGpuChurnMm, workloadRdmaPins, workloadMix, workloadMixWeight, workloadMixStop, workloadMixMismatches, workloadStep, workloadHash } from "./workload_run";
