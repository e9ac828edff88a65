/**
 * Reading the core's counters into a plain object.
 *
 * @example
 * ```ts
 * import { Engine } from "./engine.ts";
 * const e = await Engine.create();
 * e.mmNew();
 * console.log(e.stats().ops.mm_new); // 1
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { OP_CODES, type OpName } from "./ops.ts";
import { VIOLATION_KINDS, type ViolationKind } from "./violations.ts";

export interface Stats {
  /** Ops executed, by name. */
  ops: Record<OpName, number>;
  /** Atomic read-modify-writes of _refcount and _mapcount. */
  atomics: { refcount: number; mapcount: number };
  frames: { allocated: number; freed: number; live: number; peak: number };
  device: { allocated: number; pageFree: number };
  bufferObjects: { created: number; freed: number; live: number };
  faults: number;
  wpCopy: number;
  wpReuse: number;
  migrated: number;
  migrateFailed: number;
  tlbFlushes: number;
  ptesCopied: number;
  ptesZapped: number;
  gupLive: number;
  gupFailed: number;
  truncateWaits: number;
  driverTeardowns: number;
  /** Transparent huge pages (PMD-sized anonymous folios). */
  thp: { allocated: number; fallback: number; freed: number; splitPmd: number; splitFolio: number; splitFailed: number };
  /** mmu_notifier_invalidate_range_start calls the kernel made (subscribers or not). */
  mmuNotify: number;
  /** Page-table entries mremap moved (move_page_tables). */
  ptesMoved: number;
  /** Pages mprotect's change_protection counted. */
  protChanged: number;
  /** Ops the kernel failed: a syscall's errno, or a signal for a CPU access. */
  kernelErrors: number;
  /** Shmem files (shared anonymous mappings) released with their last VMA. */
  shmemReleased: number;
  /** The test_hmm device model: READ/WRITE fault rounds, pages hmm_range_fault faulted, pages the device copied, pt entries now and erased by invalidations. */
  dmirror: { faults: number; faultPages: number; devicePages: number; mirrorEntries: number; invalidated: number };
  violations: Record<ViolationKind, number> & { total: number; recorded: number; dropped: number };
}

export function readStats(c: BigInt64Array, recorded: number): Stats {
  const n = (i: number) => Number(c[i]);
  const ops = {} as Record<OpName, number>;
  for (const [name, code] of Object.entries(OP_CODES)) ops[name as OpName] = n(abi.ST_OPS + code);
  const violations = { total: 0, recorded, dropped: n(abi.ST_VIOLATIONS_DROPPED) } as Stats["violations"];
  VIOLATION_KINDS.forEach((k, i) => {
    violations[k] = n(abi.ST_VIOLATIONS + i);
    violations.total += violations[k];
  });
  return {
    ops,
    atomics: { refcount: n(abi.ST_ATOMIC_REF), mapcount: n(abi.ST_ATOMIC_MAP) },
    frames: { allocated: n(abi.ST_FRAMES_ALLOC), freed: n(abi.ST_FRAMES_FREED), live: n(abi.ST_LIVE_FRAMES), peak: n(abi.ST_PEAK_FRAMES) },
    device: { allocated: n(abi.ST_DEV_ALLOC), pageFree: n(abi.ST_DEV_FREED) },
    bufferObjects: { created: n(abi.ST_BO_CREATED), freed: n(abi.ST_BO_FREED), live: n(abi.ST_LIVE_BOS) },
    faults: n(abi.ST_FAULTS),
    wpCopy: n(abi.ST_WP_COPY),
    wpReuse: n(abi.ST_WP_REUSE),
    migrated: n(abi.ST_MIGRATED),
    migrateFailed: n(abi.ST_MIGRATE_FAIL),
    tlbFlushes: n(abi.ST_TLB_FLUSH),
    ptesCopied: n(abi.ST_PTES_COPIED),
    ptesZapped: n(abi.ST_PTES_ZAPPED),
    gupLive: n(abi.ST_PINS),
    gupFailed: n(abi.ST_GUP_FAILED),
    truncateWaits: n(abi.ST_TRUNCATE_WAITS),
    driverTeardowns: n(abi.ST_TEARDOWNS),
    thp: {
      allocated: n(abi.ST_THP_ALLOC), fallback: n(abi.ST_THP_FALLBACK), freed: n(abi.ST_THP_FREED),
      splitPmd: n(abi.ST_THP_SPLIT_PMD), splitFolio: n(abi.ST_THP_SPLIT_FOLIO), splitFailed: n(abi.ST_THP_SPLIT_FAIL),
    },
    mmuNotify: n(abi.ST_MMU_NOTIFY),
    ptesMoved: n(abi.ST_PTES_MOVED),
    protChanged: n(abi.ST_PROT_CHANGED),
    kernelErrors: n(abi.ST_KERNEL_ERRNO),
    shmemReleased: n(abi.ST_SHMEM_RELEASED),
    dmirror: {
      faults: n(abi.ST_DMIRROR_FAULTS), faultPages: n(abi.ST_HMM_FAULT_PAGES), devicePages: n(abi.ST_DEVICE_PAGES),
      mirrorEntries: n(abi.ST_MIRROR_ENTRIES), invalidated: n(abi.ST_MIRROR_INVALIDATED),
    },
    violations,
  };
}
