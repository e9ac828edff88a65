/**
 * gpu-churn: many processes share a GPU whose memory is smaller than their working
 * set, the HMM/SVM pattern of amdkfd and nouveau. Each process has an anonymous
 * buffer split into ranges of `chunk` pages (svm ranges). Turns:
 *  - migrate: the driver moves a range into device memory (migrate_vma_setup /
 *    pages / finalize into a new buffer object); when its memory is full it first
 *    evicts its oldest range (probability `evictFirst`), otherwise it over-commits
 *    and the migration partly fails for want of device pages;
 *  - evict: the driver moves a range back (migrate_vma with SELECT_DEVICE_*);
 *  - read / write: the CPU touches `touch` pages of a range: a device-private page
 *    faults back through do_swap_page -> migrate_to_ram, a device-coherent page is
 *    accessed in place;
 *  - zap: MADV_DONTNEED of a range (device pages go back to the driver via page_free);
 *  - remap: munmap and mmap the whole buffer again;
 *  - respawn: the process exits and a new one takes its place.
 * With kind "device-coherent" under E0-devmap the devmap PTEs hold no reference, so
 * every zap, munmap and exit leaks the device page and its BO: the final quiesce
 * check reports them; E2+ frees them.
 *
 * The driver model follows amdkfd: a BO per migration, freed with its last page.
 * BO ids and mm ids are never reused by the core, so migrations and respawns are
 * paced over the budget (4095 BOs and 256 mm ids with the default capacity: a
 * run of millions of ops migrates less often; raise capacity.bufferObjects).
 *
 * The run: setup (drivers, mm_new + mmap per process, `populate` of the pages
 * written), the loop, the drain (exit every process) and a quiesce check. On an
 * Engine the mmaps, the writes and the loop run inside the core
 * (assembly/workload_gpu_churn.ts: the same PRNG draws, the same op stream); this
 * class is the reference, and the loop for every other target.
 *
 * Capacity with the defaults (8 processes x 1024 pages, 2048 device pages):
 * 8192 + 67 system frames, 2048 device pages, 2 drivers, about 24 pte tables,
 * 9 VMAs, 8 mm ids + respawns, BOs paced.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runGpuChurn } from "./gpu-churn.ts";
 * const old = runGpuChurn(await Engine.create({ scheme: "E0-devmap" }), { kind: "device-coherent" }, 1, 30_000);
 * console.log(old.migrated > 0, old.violations.leak_page > 0); // true true (devmap PTEs hold no reference)
 * const now = runGpuChurn(await Engine.create({ scheme: "E4" }), { kind: "device-coherent" }, 1, 30_000);
 * console.log(now.migrated > 0, now.violations.leak_page > 0); // true false
 * ```
 */
import { VM_READ, VM_WRITE, VM_ANON, KIND_DEVICE_PRIVATE, KIND_DEVICE_COHERENT } from "../../assembly/abi.ts";
import {
  Session, Pacer, resolveParams, defaultsOf, need, pteTablesFor, coreEngine, runInCore, MAP_BASE, DEFAULT_SEED, DEFAULT_BUDGET,
  type Spec, type WorkloadDef, type WorkloadSummary, type RunOptions,
} from "./common.ts";
import { Weights } from "./prng.ts";
import type { OpTarget } from "./target.ts";

export type GpuKind = "device-private" | "device-coherent" | "both";

export type GpuChurnTurn = "migrate" | "evict" | "read" | "write" | "zap" | "remap" | "respawn";
export type GpuChurnWeights = Record<GpuChurnTurn, number>;

export interface GpuChurnParams {
  processes: number;
  pages: number;
  populate: number;
  chunk: number;
  kind: GpuKind;
  devicePages: number;
  touch: number;
  evictFirst: number;
  weights: GpuChurnWeights;
}

const TURNS: readonly GpuChurnTurn[] = ["migrate", "evict", "read", "write", "zap", "remap", "respawn"];

export const GPU_CHURN_SPEC: Spec<GpuChurnParams> = {
  processes: { default: 8, min: 1, integer: true, doc: "processes using the GPU" },
  pages: { default: 1024, min: 1, integer: true, doc: "pages of each process's anonymous buffer (a multiple of chunk)" },
  populate: { default: 0.5, min: 0, max: 1, doc: "fraction of each buffer written at setup (the rest are holes or the zero page)" },
  chunk: { default: 64, min: 1, integer: true, doc: "pages per range the driver migrates (an svm range)" },
  kind: {
    default: "both", choices: ["device-private", "device-coherent", "both"],
    doc: "the GPU's memory: device-private, device-coherent, or both (two drivers, half the pages each)",
  },
  devicePages: {
    default: 2048, min: 1, integer: true,
    doc: "device memory in pages, split between the drivers; smaller than processes*pages so the driver has to evict",
  },
  touch: { default: 8, min: 1, integer: true, doc: "pages a CPU read or write turn touches in one range" },
  evictFirst: { default: 0.9, min: 0, max: 1, doc: "probability that a full driver evicts its oldest range before migrating (else migrations partly fail)" },
  weights: {
    default: { migrate: 4, evict: 2, read: 3, write: 3, zap: 0.5, remap: 0.2, respawn: 0.05 }, min: 0,
    doc: "relative frequency of each turn: migrate, evict, read, write, zap (MADV_DONTNEED a range), remap (munmap + mmap the buffer), respawn (exit + new process)",
  },
};

const NAME = "gpu-churn";

/**
 * The generator: one method per turn, as MixGenerator (./mix.ts) has them. A class rather
 * than closures inside runGpuChurn: its methods are compiled once per process, where
 * closures made anew on every run were deoptimised and re-optimised on every run
 * (--trace-deopt: runGpuChurn in most measured bench rounds).
 */
class GpuChurnGenerator {
  readonly p: GpuChurnParams;
  readonly s: Session;
  readonly enc: Session["enc"];
  readonly rng: Session["rng"];
  readonly P: number;
  readonly pages: number;
  readonly chunk: number;
  readonly touch: number;
  readonly nDrv: number;
  readonly reserve: number;
  readonly stepMax: number;
  readonly populate: number;
  readonly flags = VM_READ | VM_WRITE | VM_ANON;

  readonly drvId: Int32Array;
  readonly drvPages: Int32Array;
  /** pages believed on each driver */
  readonly resident: Int32Array;
  readonly mm: Int32Array;
  /** chunks per process */
  readonly cpp: number;
  readonly nChunks: number;
  /** 0: believed in RAM; d+1: believed on driver d */
  readonly where: Int32Array;
  /** when it was migrated (for eviction order) */
  readonly stamp: Float64Array;
  clock = 0;
  readonly bos: Pacer;
  readonly respawns: Pacer;
  readonly weights: number[];
  readonly draws: Weights;
  /**
   * Each driver's ranges in migration order (stamp order), for "evict the oldest": a range
   * leaves its driver by eviction, zap or remap without being removed here, so an entry
   * counts only while the range is still on that driver with the stamp it was queued with.
   * Finds the same victim as scanning every range for the smallest stamp, without the scan.
   */
  readonly queue: StampQueue[];

  constructor(target: OpTarget, params: Partial<GpuChurnParams> | undefined, seed: number, budget: number) {
    const p = (this.p = resolveParams(NAME, GPU_CHURN_SPEC, params));
    const s = (this.s = new Session(NAME, target, seed, budget));
    const { processes: P, pages, chunk, touch } = p;
    this.P = P;
    this.pages = pages;
    this.chunk = chunk;
    this.touch = touch;
    const cap = s.capacity;
    const nDrv = (this.nDrv = p.kind === "both" ? 2 : 1);
    need(pages % chunk === 0, NAME, "chunk", `pages (${pages}) must be a multiple of chunk (${chunk})`);
    need(p.devicePages >= nDrv, NAME, "devicePages", `needs at least one device page per driver`);
    need(s.usage.mms + P <= cap.processes, NAME, "processes", `${P} processes need ${P} mm ids, ${cap.processes - s.usage.mms} are left (capacity.processes)`);
    need(s.usage.drivers + nDrv <= cap.drivers, NAME, "kind", `needs ${nDrv} drivers, ${cap.drivers - s.usage.drivers} are left (capacity.drivers)`);
    // Device pages registered by earlier driver_new ops are not visible in the counters: a fresh target is assumed.
    need(p.devicePages <= cap.devicePages, NAME, "devicePages", `exceeds capacity.devicePages (${cap.devicePages})`);
    need(P * pages + chunk + 3 <= cap.systemPages - s.usage.systemLive, NAME, "pages",
      `processes * pages + chunk + 3 = ${P * pages + chunk + 3} frames, ${cap.systemPages - s.usage.systemLive} system frames are free`);
    const T = pteTablesFor(pages) + 1;
    need(P * T + pteTablesFor(chunk) + 3 <= cap.pteTables, NAME, "pages", `needs ${P * T + pteTablesFor(chunk) + 3} pte tables, capacity.pteTables is ${cap.pteTables}`);
    need(P * 2 + 3 <= cap.pmdTables, NAME, "processes", `needs ${P * 2 + 3} pmd tables, capacity.pmdTables is ${cap.pmdTables}`);
    need(P + 1 <= cap.vmas, NAME, "processes", `needs ${P + 1} VMAs, capacity.vmas is ${cap.vmas}`);
    need(s.usage.bos + 1 < cap.bufferObjects, NAME, "budget", `no buffer object ids are left (capacity.bufferObjects)`);
    this.reserve = P + 1; // exit per process, check
    this.stepMax = Math.max(touch, 3);
    this.populate = Math.round(p.populate * pages);
    s.needBudget(nDrv + 2 * P + P * this.populate + this.reserve + this.stepMax);
    this.enc = s.enc;
    this.rng = s.rng;

    this.drvId = new Int32Array(nDrv);
    this.drvPages = new Int32Array(nDrv);
    this.resident = new Int32Array(nDrv);
    this.mm = new Int32Array(P);
    this.cpp = pages / chunk;
    this.nChunks = P * this.cpp;
    this.where = new Int32Array(this.nChunks);
    this.stamp = new Float64Array(this.nChunks);
    // Made before setup as before: the Pacers and Weights draw nothing, so the stream is unchanged.
    this.bos = new Pacer(cap.bufferObjects - 1 - s.usage.bos, budget);
    this.respawns = new Pacer(cap.processes - s.usage.mms - P, budget);
    this.queue = Array.from({ length: nDrv }, () => new StampQueue(this.nChunks));
    const weights = (this.weights = TURNS.map((k) => p.weights[k]));
    // Checked before any op is issued (it used to be checked after setup had run on the target).
    need(weights.some((w) => w > 0), NAME, "weights", "at least one weight must be above 0");
    this.draws = new Weights(weights);
  }

  /** drivers (memremap_pages of the GPU memory) and one mm per process */
  setupIds(): void {
    const { enc, p, nDrv, P, drvPages, mm } = this;
    for (let d = 0; d < nDrv; d++) {
      const kind = p.kind === "device-coherent" || (p.kind === "both" && d === 1) ? KIND_DEVICE_COHERENT : KIND_DEVICE_PRIVATE;
      drvPages[d] = d === 0 ? Math.ceil(p.devicePages / nDrv) : Math.floor(p.devicePages / nDrv);
      enc.driverNew(kind, drvPages[d]);
      enc.want();
    }
    for (let i = 0; i < P; i++) {
      enc.mmNew();
      enc.want();
    }
    enc.flush();
    for (let d = 0; d < nDrv; d++) this.drvId[d] = enc.take();
    for (let i = 0; i < P; i++) mm[i] = enc.take();
  }

  /** each process's buffer mapped and its first `populate` pages written */
  setupMaps(): void {
    const { enc, rng, P, mm } = this;
    for (let i = 0; i < P; i++) {
      enc.mmap(mm[i], MAP_BASE, this.pages, this.flags, -1, 0);
      for (let k = 0; k < this.populate; k++) enc.write(mm[i], MAP_BASE + k, rng.u32() | 0);
    }
  }

  /** the oldest range still on driver d, or -1 */
  oldest(d: number): number {
    const q = this.queue[d];
    const where = this.where;
    const stamp = this.stamp;
    while (q.size > 0 && (where[q.id()] !== d + 1 || stamp[q.id()] !== q.stamp())) q.drop();
    return q.size > 0 ? q.id() : -1;
  }

  /** the driver moves range id back to RAM */
  evictRange(id: number): void {
    const proc = (id / this.cpp) | 0;
    this.enc.migrateToRam(this.mm[proc], MAP_BASE + (id - proc * this.cpp) * this.chunk, this.chunk);
    this.resident[this.where[id] - 1] -= this.chunk;
    this.where[id] = 0;
  }

  /** every range of proc is back in RAM (its buffer was unmapped) */
  forget(proc: number): void {
    const where = this.where;
    for (let id = proc * this.cpp; id < (proc + 1) * this.cpp; id++) {
      if (where[id] !== 0) this.resident[where[id] - 1] -= this.chunk;
      where[id] = 0;
    }
  }

  migrate(id: number, proc: number, vpn: number): void {
    if (this.where[id] !== 0 || !this.bos.allow(this.s.done)) return;
    const d = this.nDrv === 1 ? 0 : this.rng.below(this.nDrv);
    if (this.resident[d] + this.chunk > this.drvPages[d] && this.rng.chance(this.p.evictFirst)) {
      const victim = this.oldest(d);
      if (victim >= 0) this.evictRange(victim);
    }
    this.enc.migrateToDevice(this.mm[proc], vpn, this.chunk, this.drvId[d], 0);
    this.bos.take();
    this.where[id] = d + 1;
    this.resident[d] += this.chunk;
    this.stamp[id] = ++this.clock;
    this.queue[d].push(id, this.clock);
  }

  evict(id: number, proc: number, vpn: number): void {
    if (this.where[id] !== 0) this.evictRange(id);
    else this.enc.migrateToRam(this.mm[proc], vpn, this.chunk); // a range the driver thinks is home: finds little to move
  }

  read(proc: number, vpn: number): void {
    const { enc, rng, chunk } = this;
    const mm = this.mm[proc];
    for (let k = 0; k < this.touch; k++) enc.read(mm, vpn + rng.below(chunk));
  }

  write(proc: number, vpn: number): void {
    const { enc, rng, chunk } = this;
    const mm = this.mm[proc];
    for (let k = 0; k < this.touch; k++) enc.write(mm, vpn + rng.below(chunk), rng.u32() | 0);
  }

  zap(id: number, proc: number, vpn: number): void {
    this.enc.madviseDontneed(this.mm[proc], vpn, this.chunk);
    if (this.where[id] !== 0) this.resident[this.where[id] - 1] -= this.chunk;
    this.where[id] = 0;
  }

  remap(proc: number): void {
    this.enc.munmap(this.mm[proc], MAP_BASE, this.pages);
    this.enc.mmap(this.mm[proc], MAP_BASE, this.pages, this.flags, -1, 0);
    this.forget(proc);
  }

  respawn(proc: number): void {
    if (!this.respawns.allow(this.s.done)) return;
    const enc = this.enc;
    enc.exit(this.mm[proc]);
    this.mm[proc] = enc.result(enc.mmNew());
    this.respawns.take();
    enc.mmap(this.mm[proc], MAP_BASE, this.pages, this.flags, -1, 0);
    this.forget(proc);
  }

  run(options: RunOptions | undefined): WorkloadSummary {
    const { s, rng, draws, nChunks, cpp, chunk } = this;
    this.setupIds();
    const core = coreEngine(s.target, options, this.mm);
    if (core) {
      // the setup's mmaps and writes and the loop below inside the core (assembly/workload_gpu_churn.ts),
      // the same PRNG draws from the same seed; it hands back each process's mm id for the drain
      const run = runInCore(s, core, {
        kind: "gpu-churn", processes: this.P, pages: this.pages, at: MAP_BASE, flags: this.flags, mm0: this.mm[0], chunk, touch: this.touch,
        drivers: Array.from(this.drvId), devicePages: this.p.devicePages, populate: this.populate, evictFirst: this.p.evictFirst,
        weights: this.weights, boSlots: this.bos.slots, respawnSlots: this.respawns.slots, budget: s.budget, before: s.done, seed: s.seed,
      }, Math.max(0, s.budget - this.reserve - s.done), options);
      this.mm.set(run.mms);
    } else {
      this.setupMaps();
    }
    while (!core && s.fits(this.stepMax, this.reserve)) {
      const turn = rng.draw(draws);
      const id = rng.below(nChunks);
      const proc = (id / cpp) | 0;
      const vpn = MAP_BASE + (id - proc * cpp) * chunk;
      // indices into TURNS
      switch (turn) {
        case 0: this.migrate(id, proc, vpn); break;
        case 1: this.evict(id, proc, vpn); break;
        case 2: this.read(proc, vpn); break;
        case 3: this.write(proc, vpn); break;
        case 4: this.zap(id, proc, vpn); break;
        case 5: this.remap(proc); break;
        case 6: this.respawn(proc); break;
      }
    }
    for (let i = 0; i < this.P; i++) this.enc.exit(this.mm[i]);
    this.enc.check();
    return s.finish();
  }
}

export function runGpuChurn(target: OpTarget, params?: Partial<GpuChurnParams>, seed = DEFAULT_SEED, budget = DEFAULT_BUDGET, options?: RunOptions): WorkloadSummary {
  return new GpuChurnGenerator(target, params, seed, budget).run(options);
}

/** A FIFO of (range id, stamp) pairs; compacts in place when the dropped head outgrows the live part. */
class StampQueue {
  private ids: Int32Array;
  private stamps: Float64Array;
  private head = 0;
  private tail = 0;
  constructor(n: number) {
    this.ids = new Int32Array(Math.max(16, n * 2));
    this.stamps = new Float64Array(this.ids.length);
  }
  get size(): number { return this.tail - this.head; }
  id(): number { return this.ids[this.head]; }
  stamp(): number { return this.stamps[this.head]; }
  drop(): void { this.head++; }
  push(id: number, stamp: number): void {
    if (this.tail === this.ids.length) {
      const live = this.tail - this.head;
      if (live * 2 > this.ids.length) {
        const ids = new Int32Array(this.ids.length * 2);
        const stamps = new Float64Array(ids.length);
        ids.set(this.ids.subarray(this.head, this.tail));
        stamps.set(this.stamps.subarray(this.head, this.tail));
        this.ids = ids;
        this.stamps = stamps;
      } else {
        this.ids.copyWithin(0, this.head, this.tail);
        this.stamps.copyWithin(0, this.head, this.tail);
      }
      this.head = 0;
      this.tail = live;
    }
    this.ids[this.tail] = id;
    this.stamps[this.tail++] = stamp;
  }
}

export const gpuChurn: WorkloadDef<GpuChurnParams> = {
  name: NAME,
  describe: "many processes migrate ranges of their buffers to a GPU's device-private and/or device-coherent memory and back (driver eviction, CPU faults), with bounded device memory so the driver evicts and migrations fail",
  needs: "processes*pages+chunk+3 system frames (8259), devicePages device pages (2048) and 1-2 drivers, processes*(pages/512+1)+4 pte tables (28), processes+1 VMAs; mm ids and BOs are used for good (respawns and migrations paced over the budget)",
  spec: GPU_CHURN_SPEC,
  defaults: defaultsOf(GPU_CHURN_SPEC),
  run: runGpuChurn,
};
