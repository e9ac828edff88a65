/**
 * One simulated machine as plain objects: frames, drivers and BOs, the page-table
 * pool, address spaces, files, GUP handles, the mmu_gather, counters and the
 * violation log, under one scheme's rules. Every other model file is a set of
 * functions over a Machine, one kernel concept per file, like the core.
 *
 * @example
 * ```ts
 * import { Machine } from "./machine.ts";
 * import { DEFAULT_CAPACITY } from "../core/capacity.ts";
 * import { resolveScheme } from "../scheme/resolve.ts";
 * const m = new Machine({ ...DEFAULT_CAPACITY, systemPages: 16 }, resolveScheme("E1"));
 * console.log(m.frames.freeSystemPages, m.rules.idlePrivate); // 16 1
 * ```
 */
import type { Capacity } from "../core/capacity.ts";
import type { Scheme } from "../scheme/presets.ts";
import { Rules } from "./scheme.ts";
import { Counters } from "./stats.ts";
import { ViolationLog } from "./violations.ts";
import { Frames } from "./frames.ts";
import { Devices } from "./driver.ts";
import { TablePool } from "./pgtable.ts";
import { AddressSpaces } from "./mm.ts";
import { Files } from "./file.ts";
import { Gather } from "./mmu_gather.ts";
import { Faults } from "./race.ts";
import { ZapWindows } from "./zap_window.ts";
import { GupFast } from "./gup_fast.ts";
import { MigrateSteps } from "./migrate_steps.ts";
import { shmemRelease } from "./shmem.ts";
import { DmirrorDevices } from "./dmirror.ts";
import { Mirrors, type Mirror } from "./mirror.ts";
import { MAX_MIRRORS, MIRROR_ENTRIES } from "../../assembly/abi.ts";
import { Pins } from "./pins.ts";
import type { Sleeper } from "./wait_bit.ts";
import { daxPageIdle } from "./truncate.ts";
import type { Frame } from "./frames.ts";

export class Machine {
  readonly rules: Rules;
  readonly counters = new Counters();
  readonly log: ViolationLog;
  readonly frames: Frames;
  readonly devices: Devices;
  readonly tablePool: TablePool;
  readonly mms: AddressSpaces;
  readonly files: Files;
  readonly gather = new Gather();
  readonly pins: Pins;
  /** do_swap_page faults in flight between OP_FAULT_BEGIN and OP_FAULT_END. */
  readonly faults: Faults;
  /** madvise zaps held open between OP_ZAP_BEGIN and OP_ZAP_END (their mmu_gather window). */
  readonly zapWindows = new ZapWindows();
  /** GUP-fast walks in flight, mm->write_protect_seq, forks between fork_begin and fork_end. */
  readonly gupFast: GupFast;
  /** migrate_to_device cut at migrate_vma_collect (OP_MIGRATE_COLLECT / OP_MIGRATE_FINISH) and migration_wait waiters. */
  readonly migrateSteps = new MigrateSteps();
  /** Sequence number of the next op (ops rejected do not get one). */
  opSeq = 0;
  /** Simulated CPUs a cpu op may name (EngineOptions.cpus); the model has no cost layer. */
  cpus = 1;
  /** The migrate_vma in progress: its end, whether holes were notified, device pages to put at finalize. */
  readonly migration = {
    end: 0, holeNotified: false, refused: [] as Frame[],
    /** args->pgmap_owner of the migration being run (its collect notifications carry it). */
    owner: -1,
    /** A test_hmm MIGRATE_TO_DEV: the mirror whose device allocates, or null (a driver's BO). */
    toMirror: null as Mirror | null,
    /** The last page migrateOneToDevice moved and whether its source PTE was writable (MIGRATE_PFN_WRITE). */
    lastDst: null as Frame | null, lastSrcWrite: false,
    /** The small pages devicePmdFault's fallback moved. */
    pmdFaultMoved: 0,
  };
  /** The current op's kernel status: 0, an errno, or STATUS_SIGNAL | signo (errno.ts). */
  opStatus = 0;
  /** The last handleFault returned VM_FAULT_OOM (test_hmm's FAIL_ALLOC on migrate_to_ram; fault.ts takeFaultOom). */
  faultOom = false;
  /** The test_hmm devices and their open files (dmirror.ts, mirror.ts). */
  readonly dmirrors = new DmirrorDevices();
  readonly mirrors = new Mirrors(MAX_MIRRORS, MIRROR_ENTRIES, this.counters.dmirror);
  /** The bytes of the last HMM_DMIRROR_SNAPSHOT. */
  snapshot = new Uint8Array(0);
  /** The sleeper wake_up_var wakes: a truncate waiting in dax_break_layout goes on when the page is idle. */
  readonly sleeper: Sleeper = daxPageIdle;

  /** Capacities as the core's init() applies them (0 drivers, BOs, files, GUP handles or violation records means none). */
  constructor(cap: Capacity, scheme: Scheme) {
    this.rules = new Rules(scheme);
    this.log = new ViolationLog(cap.violationRecords, this.counters);
    this.frames = new Frames(cap.systemPages, cap.hugePages, cap.devicePages, this.counters);
    this.devices = new Devices(cap.devicePages, cap.drivers, cap.bufferObjects);
    this.tablePool = new TablePool(cap.pmdTables, cap.pteTables);
    this.mms = new AddressSpaces(cap.processes, cap.vmas);
    this.files = new Files(cap.files, cap.filePages);
    this.pins = new Pins(cap.gupHandles);
    this.faults = new Faults(cap.gupHandles);
    this.gupFast = new GupFast(cap.gupHandles);
    this.mms.fileRef = (id, delta) => {
      const f = this.files.all[id];
      f.vmas += delta;
      if (f.vmas === 0 && f.shmem) shmemRelease(this, f); // fput of the last VMA: shmem_evict_inode
      if (f.vmas === 0 && f.dmirrorMap) f.open = false; // the mapping's pages went with its PTEs (zap)
    };
  }
}
