/**
 * rdma-pins: long-term DMA pins next to migration and fork. The first `pinners`
 * processes are RDMA applications: they register memory regions (ibv_reg_mr ->
 * pin_user_pages(FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE), GUP_PIN_COUNTING_BIAS per
 * page), hold them for a while and deregister them (unpin_user_page). Meanwhile
 * every process (pinners too) has ranges migrated to a device by a driver (pinned
 * pages have extra references, so migrate_vma leaves them in place: failed
 * migrations), forks (copy_present_page gives the child a copy of each
 * maybe-pinned page, 5.9+; the child writes some pages and exits), and the CPU
 * reads and writes. A long-term pin of a device-coherent page first migrates it to
 * RAM (check_and_migrate_movable_pages); a device-private page faults back before
 * it can be pinned. Now and then an application MADV_DONTNEEDs a registered range:
 * the pinned pages lose their mapping but stay allocated until the unpin.
 *
 * GUP handles are read back without stopping the stream: each pin is marked with
 * want() and its handle collected after the next flush (0: the pin failed and is
 * skipped at deregistration).
 *
 * The run: setup (driver, mm_new + mmap + populate per process), the loop, the
 * drain (unpin every live pin, exit every process) and a quiesce check. On an
 * Engine the mmaps, the writes, the loop and the unpins run inside the core
 * (assembly/workload_rdma_pins.ts: the same PRNG draws, the same op stream); this
 * class is the reference, and the loop for every other target.
 *
 * Capacity with the defaults (6 processes x 1024 pages, at most 512 pins):
 * 6144 + 2*512 + 64 + 32 + 8 = 7272 system frames, 1024 device pages, 1 driver,
 * 512 GUP handles, about 24 pte tables, 8 VMAs; mm ids (forks) and BOs are paced.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runRdmaPins } from "./rdma-pins.ts";
 * const e = await Engine.create({ scheme: "E4" });
 * const s = runRdmaPins(e, {}, 5, 40_000);
 * console.log(s.stats.ops.gup > 0, s.stats.gupLive, s.violations.total); // true 0 0
 * ```
 */
import {
  VM_READ, VM_WRITE, VM_ANON, FOLL_PIN, FOLL_LONGTERM, FOLL_WRITE,
} from "../../assembly/abi.ts";
import {
  Session, Pacer, resolveParams, defaultsOf, need, pteTablesFor, kindCode, coreEngine, runInCore, MAP_BASE, DEFAULT_SEED, DEFAULT_BUDGET,
  type Spec, type WorkloadDef, type WorkloadSummary, type RunOptions,
} from "./common.ts";
import { Weights } from "./prng.ts";
import type { OpTarget } from "./target.ts";

export type RdmaPinsTurn = "register" | "deregister" | "migrate" | "evict" | "fork" | "read" | "write" | "dontneed";
export type RdmaPinsWeights = Record<RdmaPinsTurn, number>;

export interface RdmaPinsParams {
  processes: number;
  pinners: number;
  pages: number;
  mrPages: number;
  maxPins: number;
  chunk: number;
  kind: "device-private" | "device-coherent";
  devicePages: number;
  childWrites: number;
  touch: number;
  weights: RdmaPinsWeights;
}

const TURNS: readonly RdmaPinsTurn[] = ["register", "deregister", "migrate", "evict", "fork", "read", "write", "dontneed"];

export const RDMA_PINS_SPEC: Spec<RdmaPinsParams> = {
  processes: { default: 6, min: 1, integer: true, doc: "processes, pinners included" },
  pinners: { default: 2, min: 1, integer: true, doc: "processes (the first ones) that register memory regions" },
  pages: { default: 1024, min: 1, integer: true, doc: "pages of each process's anonymous buffer, all written at setup (a multiple of chunk)" },
  mrPages: { default: 16, min: 1, integer: true, doc: "pages per memory region; each is one FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE pin" },
  maxPins: { default: 512, min: 1, integer: true, doc: "pins alive at most (memory regions * mrPages)" },
  chunk: { default: 64, min: 1, integer: true, doc: "pages per range the driver migrates" },
  kind: { default: "device-coherent", choices: ["device-private", "device-coherent"], doc: "the device memory the driver migrates to" },
  devicePages: { default: 1024, min: 1, integer: true, doc: "device memory in pages (the driver evicts its oldest range when full)" },
  childWrites: { default: 32, min: 0, integer: true, doc: "pages a forked child writes (and a quarter as many it reads) before it exits" },
  touch: { default: 8, min: 1, integer: true, doc: "pages a CPU read or write turn touches" },
  weights: {
    default: { register: 2, deregister: 1.5, migrate: 3, evict: 1.5, fork: 0.5, read: 2, write: 3, dontneed: 0.2 }, min: 0,
    doc: "relative frequency of each turn: register / deregister a memory region, migrate / evict a range, fork (child writes and exits), read, write, dontneed (MADV_DONTNEED a registered range)",
  },
};

const NAME = "rdma-pins";

/**
 * The generator: one method per turn, as MixGenerator (./mix.ts) has them. A class rather
 * than closures inside runRdmaPins: its methods are compiled once per process, where
 * closures made anew on every run were deoptimised and re-optimised on every run.
 */
class RdmaPinsGenerator {
  readonly p: RdmaPinsParams;
  readonly s: Session;
  readonly enc: Session["enc"];
  readonly rng: Session["rng"];
  readonly P: number;
  readonly pinners: number;
  readonly pages: number;
  readonly mrPages: number;
  readonly chunk: number;
  readonly touch: number;
  readonly childWrites: number;
  readonly childReads: number;
  readonly maxMrs: number;
  readonly stepMax: number;
  readonly flags = VM_READ | VM_WRITE | VM_ANON;
  readonly pinFlags = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE;
  readonly mm: Int32Array;
  driver = 0;

  // memory regions: state, owner, first vpn, GUP results still to collect, handles
  readonly mrLive: Uint8Array;
  readonly mrProc: Int32Array;
  readonly mrVpn: Int32Array;
  readonly mrPending: Int32Array;
  readonly handles: Int32Array;
  liveMrs = 0;
  // where each wanted GUP result goes (a ring: at most maxMrs * mrPages are pending)
  readonly ringCap: number;
  readonly ring: Int32Array;
  ringHead = 0;
  ringSize = 0;

  // device residency as the driver believes it (oldest range evicted first)
  readonly cpp: number;
  readonly nChunks: number;
  readonly onDevice: Uint8Array;
  readonly stamp: Float64Array;
  clock = 0;
  resident = 0;

  readonly bos: Pacer;
  readonly forks: Pacer;
  readonly weights: number[];
  readonly draws: Weights;

  constructor(target: OpTarget, params: Partial<RdmaPinsParams> | undefined, seed: number, budget: number) {
    const p = (this.p = resolveParams(NAME, RDMA_PINS_SPEC, params));
    const s = (this.s = new Session(NAME, target, seed, budget));
    const { processes: P, pinners, pages, mrPages, maxPins, chunk, touch, childWrites } = p;
    this.P = P;
    this.pinners = pinners;
    this.pages = pages;
    this.mrPages = mrPages;
    this.chunk = chunk;
    this.touch = touch;
    this.childWrites = childWrites;
    const childReads = (this.childReads = childWrites >> 2);
    const cap = s.capacity;
    need(pinners <= P, NAME, "pinners", `pinners (${pinners}) must not exceed processes (${P})`);
    need(pages % chunk === 0, NAME, "chunk", `pages (${pages}) must be a multiple of chunk (${chunk})`);
    need(mrPages <= pages, NAME, "mrPages", `a memory region (${mrPages} pages) must fit a buffer (${pages})`);
    need(mrPages <= maxPins, NAME, "maxPins", `maxPins (${maxPins}) must hold at least one memory region (${mrPages})`);
    need(maxPins <= cap.gupHandles - s.usage.gupLive, NAME, "maxPins", `exceeds the ${cap.gupHandles - s.usage.gupLive} free GUP handles (capacity.gupHandles)`);
    need(s.usage.mms + P <= cap.processes, NAME, "processes", `${P} processes need ${P} mm ids, ${cap.processes - s.usage.mms} are left (capacity.processes)`);
    need(s.usage.drivers + 1 <= cap.drivers, NAME, "kind", `no driver slot is left (capacity.drivers)`);
    need(p.devicePages <= cap.devicePages, NAME, "devicePages", `exceeds capacity.devicePages (${cap.devicePages})`);
    const frames = P * pages + 2 * maxPins + childWrites + chunk + 8;
    need(frames <= cap.systemPages - s.usage.systemLive, NAME, "pages",
      `needs ${frames} system frames at worst (processes*pages + 2*maxPins + childWrites + chunk + 8), ${cap.systemPages - s.usage.systemLive} are free`);
    const T = pteTablesFor(pages) + 1;
    need((P + 2) * T + 4 <= cap.pteTables, NAME, "pages", `needs ${(P + 2) * T + 4} pte tables, capacity.pteTables is ${cap.pteTables}`);
    need((P + 1) * 2 + T + 4 <= cap.pmdTables, NAME, "processes", `needs ${(P + 1) * 2 + T + 4} pmd tables, capacity.pmdTables is ${cap.pmdTables}`);
    need(P + 3 <= cap.vmas, NAME, "processes", `needs ${P + 3} VMAs, capacity.vmas is ${cap.vmas}`);
    need(s.usage.bos + 1 < cap.bufferObjects, NAME, "budget", `no buffer object ids are left (capacity.bufferObjects)`);

    const maxMrs = (this.maxMrs = Math.floor(maxPins / mrPages));
    this.stepMax = Math.max(mrPages, 2 + childWrites + childReads, touch, 2);
    s.needBudget(2 + 2 * P + P * pages + maxPins + P + 1 + this.stepMax);
    const weights = (this.weights = TURNS.map((k) => p.weights[k]));
    // Checked before any op is issued (it used to be checked after setup had run on the target).
    need(weights.some((w) => w > 0), NAME, "weights", "at least one weight must be above 0");
    this.draws = new Weights(weights);

    this.enc = s.enc;
    this.rng = s.rng;
    this.mm = new Int32Array(P);
    this.mrLive = new Uint8Array(maxMrs);
    this.mrProc = new Int32Array(maxMrs);
    this.mrVpn = new Int32Array(maxMrs);
    this.mrPending = new Int32Array(maxMrs);
    this.handles = new Int32Array(maxMrs * mrPages);
    this.ringCap = maxMrs * mrPages;
    this.ring = new Int32Array(this.ringCap);
    this.cpp = pages / chunk;
    this.nChunks = P * this.cpp;
    this.onDevice = new Uint8Array(this.nChunks);
    this.stamp = new Float64Array(this.nChunks);
    // The Pacers draw nothing: made here rather than after setup, the stream is the same.
    this.bos = new Pacer(cap.bufferObjects - 1 - s.usage.bos, budget);
    this.forks = new Pacer(cap.processes - s.usage.mms - P, budget);
  }

  /** the driver and one mm per process */
  setupIds(): void {
    const { enc, P, mm } = this;
    enc.driverNew(kindCode(this.p.kind), this.p.devicePages);
    enc.want();
    for (let i = 0; i < P; i++) {
      enc.mmNew();
      enc.want();
    }
    enc.flush();
    this.driver = enc.take();
    for (let i = 0; i < P; i++) mm[i] = enc.take();
  }

  /** each process's buffer mapped and every page written */
  setupMaps(): void {
    const { enc, rng, P, mm } = this;
    for (let i = 0; i < P; i++) {
      enc.mmap(mm[i], MAP_BASE, this.pages, this.flags, -1, 0);
      for (let k = 0; k < this.pages; k++) enc.write(mm[i], MAP_BASE + k, rng.u32() | 0);
    }
  }

  /** ops still owed at the end: unpins, exits, check */
  reserve(): number {
    return this.liveMrs * this.mrPages + this.P + 1;
  }

  /** stores every GUP result the encoder has back into its memory region's handles */
  collect(): void {
    const enc = this.enc;
    while (enc.ready > 0) {
      const dst = this.ring[this.ringHead];
      this.ringHead = this.ringHead + 1 === this.ringCap ? 0 : this.ringHead + 1;
      this.ringSize--;
      this.handles[dst] = Math.max(enc.take(), 0); // 0 pages or -errno: no handle
      this.mrPending[(dst / this.mrPages) | 0]--;
    }
  }

  /** ibv_dereg_mr: unpin every page of memory region m that was pinned */
  deregisterMr(m: number): void {
    if (this.mrPending[m] > 0) {
      this.enc.flush();
      this.collect();
    }
    const handles = this.handles;
    for (let i = m * this.mrPages; i < (m + 1) * this.mrPages; i++) if (handles[i] !== 0) this.enc.unpin(handles[i]);
    this.mrLive[m] = 0;
    this.liveMrs--;
  }

  /** a live memory region picked at random, or -1 */
  randomMr(): number {
    if (this.liveMrs === 0) return -1;
    const maxMrs = this.maxMrs;
    let m = this.rng.below(maxMrs);
    while (this.mrLive[m] === 0) m = m + 1 === maxMrs ? 0 : m + 1;
    return m;
  }

  /** the driver moves range id back to RAM */
  evictRange(id: number): void {
    const proc = (id / this.cpp) | 0;
    this.enc.migrateToRam(this.mm[proc], MAP_BASE + (id - proc * this.cpp) * this.chunk, this.chunk);
    this.onDevice[id] = 0;
    this.resident -= this.chunk;
  }

  register(): void {
    if (this.liveMrs === this.maxMrs) return;
    const { enc, rng, mrPages, ring, ringCap } = this;
    let m = 0;
    while (this.mrLive[m] !== 0) m++;
    const owner = rng.below(this.pinners);
    const vpn = MAP_BASE + rng.below(this.pages - mrPages + 1);
    this.mrLive[m] = 1;
    this.mrProc[m] = owner;
    this.mrVpn[m] = vpn;
    this.mrPending[m] = mrPages;
    this.liveMrs++;
    const mm = this.mm[owner];
    for (let i = 0; i < mrPages; i++) {
      enc.gup(mm, vpn + i, this.pinFlags);
      enc.want();
      let at = this.ringHead + this.ringSize;
      if (at >= ringCap) at -= ringCap;
      ring[at] = m * mrPages + i;
      this.ringSize++;
    }
  }

  deregister(): void {
    const m = this.randomMr();
    if (m >= 0) this.deregisterMr(m);
  }

  migrate(proc: number): void {
    const { cpp, chunk, onDevice, stamp } = this;
    const id = proc * cpp + this.rng.below(cpp);
    if (onDevice[id] !== 0 || !this.bos.allow(this.s.done)) return;
    if (this.resident + chunk > this.p.devicePages) {
      let victim = -1;
      for (let c = 0; c < this.nChunks; c++) if (onDevice[c] !== 0 && (victim < 0 || stamp[c] < stamp[victim])) victim = c;
      if (victim >= 0) this.evictRange(victim);
    }
    this.enc.migrateToDevice(this.mm[proc], MAP_BASE + (id - proc * cpp) * chunk, chunk, this.driver, 0);
    this.bos.take();
    onDevice[id] = 1;
    stamp[id] = ++this.clock;
    this.resident += chunk;
  }

  evict(proc: number): void {
    const id = proc * this.cpp + this.rng.below(this.cpp);
    if (this.onDevice[id] !== 0) this.evictRange(id);
  }

  fork(proc: number): void {
    if (!this.forks.allow(this.s.done)) return;
    const { enc, rng, pages } = this;
    const child = enc.result(enc.fork(this.mm[proc]));
    this.forks.take();
    let w = this.childWrites;
    let r = this.childReads;
    while (w + r > 0) {
      const vpn = MAP_BASE + rng.below(pages);
      if (rng.below(w + r) < w) {
        enc.write(child, vpn, rng.u32() | 0);
        w--;
      } else {
        enc.read(child, vpn);
        r--;
      }
    }
    enc.exit(child);
  }

  read(proc: number): void {
    const { enc, rng, pages } = this;
    const mm = this.mm[proc];
    for (let k = 0; k < this.touch; k++) enc.read(mm, MAP_BASE + rng.below(pages));
  }

  write(proc: number): void {
    const { enc, rng, pages } = this;
    const mm = this.mm[proc];
    for (let k = 0; k < this.touch; k++) enc.write(mm, MAP_BASE + rng.below(pages), rng.u32() | 0);
  }

  dontneed(): void {
    const m = this.randomMr();
    if (m >= 0) this.enc.madviseDontneed(this.mm[this.mrProc[m]], this.mrVpn[m], this.mrPages);
  }

  run(options: RunOptions | undefined): WorkloadSummary {
    const { s, rng, draws, P } = this;
    this.setupIds();
    const core = coreEngine(s.target, options, this.mm);
    if (core) {
      // the setup's mmaps and writes, the loop below and the drain's unpins inside the core
      // (assembly/workload_rdma_pins.ts), the same PRNG draws from the same seed
      runInCore(s, core, {
        kind: "rdma-pins", processes: P, pinners: this.pinners, pages: this.pages, at: MAP_BASE, flags: this.flags, mm0: this.mm[0],
        mrPages: this.mrPages, maxMrs: this.maxMrs, chunk: this.chunk, touch: this.touch, childWrites: this.childWrites, driver: this.driver,
        devicePages: this.p.devicePages, weights: this.weights, boSlots: this.bos.slots, forkSlots: this.forks.slots, budget: s.budget,
        before: s.done, seed: s.seed,
      }, Math.max(0, s.budget - (P + 1) - s.done), options);
    } else {
      this.setupMaps();
    }
    const fitStep = this.stepMax + this.mrPages;
    while (!core && s.fits(fitStep, this.reserve())) {
      this.collect();
      const turn = rng.draw(draws);
      const proc = rng.below(P);
      // indices into TURNS
      switch (turn) {
        case 0: this.register(); break;
        case 1: this.deregister(); break;
        case 2: this.migrate(proc); break;
        case 3: this.evict(proc); break;
        case 4: this.fork(proc); break;
        case 5: this.read(proc); break;
        case 6: this.write(proc); break;
        case 7: this.dontneed(); break;
      }
    }
    this.enc.flush();
    this.collect();
    if (!core) for (let m = 0; m < this.maxMrs; m++) if (this.mrLive[m] !== 0) this.deregisterMr(m);
    for (let i = 0; i < P; i++) this.enc.exit(this.mm[i]);
    this.enc.check();
    return s.finish();
  }
}

export function runRdmaPins(target: OpTarget, params?: Partial<RdmaPinsParams>, seed = DEFAULT_SEED, budget = DEFAULT_BUDGET, options?: RunOptions): WorkloadSummary {
  return new RdmaPinsGenerator(target, params, seed, budget).run(options);
}

export const rdmaPins: WorkloadDef<RdmaPinsParams> = {
  name: NAME,
  describe: "RDMA-style long-term pins (FOLL_PIN|FOLL_LONGTERM) held while processes have ranges migrated to device memory, fork and write; memory regions are deregistered (unpinned) later",
  needs: "processes*pages + 2*maxPins + childWrites + chunk + 8 system frames (7272), devicePages device pages (1024) and 1 driver, maxPins GUP handles (512), (processes+2)*(pages/512+1)+4 pte tables (28), processes+3 VMAs; forks (mm ids) and BOs paced over the budget",
  spec: RDMA_PINS_SPEC,
  defaults: defaultsOf(RDMA_PINS_SPEC),
  run: runRdmaPins,
};
