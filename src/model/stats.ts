/**
 * Statistics counters of the model, one named field per core counter (ST_* in
 * assembly/abi.ts), turned into the same Stats object Engine.stats() returns.
 *
 * @example
 * ```ts
 * import { Counters } from "./stats.ts";
 * const c = new Counters();
 * c.noteAlloc();
 * console.log(c.toStats(0).frames); // { allocated: 1, freed: 0, live: 1, peak: 1 }
 * ```
 */
import { OP_COUNT, V_KINDS } from "../../assembly/abi.ts";
import { DmirrorCounters } from "./dmirror.ts";
import { OP_CODES, type OpName } from "../core/ops.ts";
import { VIOLATION_KINDS } from "../core/violations.ts";
import type { Stats } from "../core/stats.ts";

export class Counters {
  /** Ops executed, by op code. */
  readonly ops: number[] = new Array<number>(OP_COUNT).fill(0);
  /** Atomic RMWs on _refcount (one per folio_ref_add/sub call, whatever n is). */
  atomicRef = 0;
  /** Atomic RMWs on _mapcount (rmap add/remove). */
  atomicMap = 0;
  framesAllocated = 0;
  framesFreed = 0;
  liveFrames = 0;
  peakFrames = 0;
  deviceAllocated = 0;
  /** page_free callbacks. */
  devicePageFree = 0;
  bosCreated = 0;
  bosFreed = 0;
  liveBos = 0;
  faults = 0;
  wpCopy = 0;
  wpReuse = 0;
  migrated = 0;
  migrateFailed = 0;
  tlbFlushes = 0;
  ptesCopied = 0;
  ptesZapped = 0;
  /** Live GUP handles. */
  pins = 0;
  /** GUP calls that found the page but could not take it (try_grab_folio refused). */
  gupFailed = 0;
  truncateWaits = 0;
  /** memunmap_pages calls. */
  driverTeardowns = 0;
  thpAllocated = 0;
  thpFallback = 0;
  thpFreed = 0;
  thpSplitPmd = 0;
  thpSplitFolio = 0;
  thpSplitFailed = 0;
  /** mmu_notifier_invalidate_range_start calls. */
  mmuNotify = 0;
  /** Entries move_page_tables moved. */
  ptesMoved = 0;
  /** Pages change_protection counted. */
  protChanged = 0;
  /** Ops the kernel failed with an errno or a signal. */
  kernelErrors = 0;
  /** Shmem files released with their last VMA. */
  shmemReleased = 0;
  /** The test_hmm device model's counters. */
  readonly dmirror = new DmirrorCounters();
  /** Violations found, by V_* kind (stored or not). */
  readonly violations: number[] = new Array<number>(V_KINDS).fill(0);
  violationsDropped = 0;

  /** A frame left a free list (buddy or a driver's): live and peak accounting. */
  noteAlloc(): void {
    this.framesAllocated++;
    this.liveFrames++;
    if (this.liveFrames > this.peakFrames) this.peakFrames = this.liveFrames;
  }

  /** A frame went back to a free list. */
  noteFree(): void {
    this.framesFreed++;
    this.liveFrames--;
  }

  /** The Stats shape of src/core/stats.ts readStats. */
  toStats(recorded: number): Stats {
    const ops = {} as Record<OpName, number>;
    for (const [name, code] of Object.entries(OP_CODES)) ops[name as OpName] = this.ops[code];
    const violations = { total: 0, recorded, dropped: this.violationsDropped } as Stats["violations"];
    VIOLATION_KINDS.forEach((k, i) => {
      violations[k] = this.violations[i];
      violations.total += this.violations[i];
    });
    return {
      ops,
      atomics: { refcount: this.atomicRef, mapcount: this.atomicMap },
      frames: { allocated: this.framesAllocated, freed: this.framesFreed, live: this.liveFrames, peak: this.peakFrames },
      device: { allocated: this.deviceAllocated, pageFree: this.devicePageFree },
      bufferObjects: { created: this.bosCreated, freed: this.bosFreed, live: this.liveBos },
      faults: this.faults,
      wpCopy: this.wpCopy,
      wpReuse: this.wpReuse,
      migrated: this.migrated,
      migrateFailed: this.migrateFailed,
      tlbFlushes: this.tlbFlushes,
      ptesCopied: this.ptesCopied,
      ptesZapped: this.ptesZapped,
      gupLive: this.pins,
      gupFailed: this.gupFailed,
      truncateWaits: this.truncateWaits,
      driverTeardowns: this.driverTeardowns,
      thp: {
        allocated: this.thpAllocated, fallback: this.thpFallback, freed: this.thpFreed,
        splitPmd: this.thpSplitPmd, splitFolio: this.thpSplitFolio, splitFailed: this.thpSplitFailed,
      },
      mmuNotify: this.mmuNotify,
      ptesMoved: this.ptesMoved,
      protChanged: this.protChanged,
      kernelErrors: this.kernelErrors,
      shmemReleased: this.shmemReleased,
      dmirror: {
        faults: this.dmirror.faults, faultPages: this.dmirror.faultPages, devicePages: this.dmirror.devicePages,
        mirrorEntries: this.dmirror.mirrorEntries, invalidated: this.dmirror.mirrorInvalidated,
      },
      violations,
    };
  }
}
