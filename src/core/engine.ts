/**
 * The Engine: one simulated machine (page frames, address spaces, files, device
 * drivers) under one refcount scheme, backed by its own WASM core instance.
 *
 * @example
 * ```ts
 * import { Engine } from "./engine.ts";
 * const e = await Engine.create({ scheme: "E2" });
 * const mm = e.mmNew();
 * const addr = e.mmap(mm, { length: 4096 });
 * e.write(mm, addr, 42);
 * const gpu = e.driverNew("device-coherent", 16);
 * const bo = e.migrateToDevice(mm, addr, 4096, gpu);
 * e.munmap(mm, addr, 4096);
 * console.log(e.bo(bo).state); // "freed"
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { instantiateCore, type CoreExports } from "./wasm.ts";
import { RefsimError, shown } from "./errors.ts";
import {
  encodeOp, OP_FIELDS, OP_NAME_BY_CODE, coreError, PAGE_SIZE, checkEncoded, checkOpList, opsThatFit, opsExhausted, MAX_OPS, idArg, type Op, type OpName,
} from "./ops.ts";
import { checkEngineOptions } from "./options.ts";
import { statusOutcome, type OpOutcome } from "./errno.ts";
import { vmaInfo, type VmaInfo } from "./maps.ts";
import { resolveScheme, encodeScheme, type SchemeInput } from "../scheme/resolve.ts";
import type { Scheme } from "../scheme/presets.ts";
import { readStats, type Stats } from "./stats.ts";
import { readViolations, type Violation } from "./violations.ts";
import { OpCalls } from "./calls.ts";
import { resolveCounterOptions, encodeCounterConfig, type CounterOptions, type ResolvedCounter } from "../cost/options.ts";
import { buildCostReport, type CostReport } from "../cost/report.ts";
import { resolveCapacity, checkCapacitySize, writeCapacity, type Capacity } from "./capacity.ts";

export { DEFAULT_CAPACITY, CAP_SLOTS, resolveCapacity, type Capacity } from "./capacity.ts";

/** The counter layer's own tables may use at most this much of the core's memory. */
const COUNTER_MEMORY_LIMIT = 1 << 30;

export interface EngineOptions extends CounterOptions {
  scheme?: SchemeInput;
  capacity?: Partial<Capacity>;
}

export type PageKind = "system" | "device-private" | "device-coherent" | "fsdax" | "device-dax" | "p2pdma" | "zero";
const KIND_NAMES: PageKind[] = ["system", "device-private", "device-coherent", "fsdax", "device-dax", "p2pdma"];

/** One test_hmm file (struct dmirror) and what its last successful ioctl copied back. */
export interface MirrorInfo {
  open: boolean;
  device: number;
  mm: number;
  /** cmd.cpages and cmd.faults of the last ioctl that returned 0. */
  cpages: number;
  faults: number;
  /** Entries in its device page table (the xarray pt). */
  entries: number;
}

/** A page frame's state (struct page), as plain data. */
export interface FrameInfo {
  pfn: number;
  kind: PageKind;
  refcount: number;
  mapcount: number;
  allocated: boolean;
  anon: boolean;
  anonExclusive: boolean;
  pageCache: boolean;
  /** The driver's buffer object (zone_device_data) for a device page, else 0. */
  bo: number;
  content: number;
  /** Part of a large (PMD-order, 512-page) folio. `refcount` is this page's own _refcount (0 on a tail). */
  large: boolean;
  /** The folio's head pfn (this pfn for a small page). */
  head: number;
  /** folio_ref_count: the head's _refcount. */
  folioRefcount: number;
  /** folio->_entire_mapcount: PMD mappings of the folio (0 for a small page). */
  entireMapcount: number;
  /** folio->_pincount: FOLL_PIN pins of a large folio (small pages count pins in refcount). */
  pincount: number;
  /** PG_locked: held across steps only by a stepped fault (do_swap_page's trylock, 6.15+). */
  locked: boolean;
}

/** What a virtual address maps to: the PTE (or PMD) and the frame behind it. */
export interface PageInfo extends FrameInfo {
  pte: { present: boolean; write: boolean; special: boolean; devmap: boolean; devicePrivate: boolean };
  /** Mapped by a PMD (a THP or the huge zero page) rather than a PTE. */
  pmd: boolean;
}

export interface BoInfo {
  id: number;
  state: "live" | "freed";
  /** Live device pages holding a reference on the BO. */
  pages: number;
  driver: number;
}

/** Engine.fastPaths(): OP_READ/OP_WRITE done fast or sent to the full path; zapRange and copyRange calls by
 * loop, and the PTEs of fast ranges done by the full per-PTE code; gathered entries put fast or by folioPut;
 * accesses of an ordinary file's VMA that access() did fast (fileFast) or sent on to its full path (fileFull). */
export interface FastPathCounts {
  accessFast: number; accessFull: number;
  fileFast: number; fileFull: number;
  zapFast: number; zapFull: number; zapPteFull: number;
  copyFast: number; copyFull: number; copyPteFull: number;
  flushFast: number; flushFull: number;
}

/**
 * A workload generator the core runs itself (assembly/workload_run.ts; src/workload/ picks it on an
 * Engine): page_fault1 / page_fault3's loop (file0 -1: anonymous, else task t maps file file0 + t)
 * or mmap1's, for tasks with mm ids mm0, mm0 + 1, ..., placed at vpn `at` with VM_* `flags`;
 * shared-pages' (process mm0 + c on CPU c, each mapping file `file`); fork-heavy's (parent `mm0`,
 * whose `pages` pages at `at` are mapped: its first writes, then forks and bursts; `slots` forks
 * paced over `budget` ops from `before` ops into the run, as src/workload/common.ts's Pacer); gpu-churn's
 * (processes mm0, mm0 + 1, ... whose buffers of `pages` pages at `at` are not mapped yet, one or two
 * drivers sharing `devicePages`: the mmaps and `populate` writes each, then turns drawn by `weights` in the
 * order migrate, evict, read, write, zap, remap, respawn; `boSlots` migrations and `respawnSlots`
 * respawns paced over `budget` ops from `before` ops into the run); rdma-pins' (processes mm0, mm0 + 1,
 * ... whose buffers are not mapped yet, the first `pinners` registering regions of `mrPages` pins, at most
 * `maxMrs` at once, driver `driver` with `devicePages`: the mmaps and writes, turns drawn by `weights` in
 * the order register, deregister, migrate, evict, fork, read, write, dontneed, then the live regions'
 * unpins; `boSlots` migrations and `forkSlots` forks paced over `budget` ops from `before` ops into the run);
 * mix's whole run (src/workload/mix.ts's parameters, the target's capacity and frames in use, its pacers'
 * slots, its encoder's `chunk`, `weights` and `freeingWeights` in MIX_KINDS order; ops must be its `budget`).
 */
export type CoreWorkload =
  | { kind: "page-fault"; tasks: number; pages: number; at: number; flags: number; mm0: number; file0: number; seed: number }
  | { kind: "mmap1"; tasks: number; pages: number; at: number; flags: number; mm0: number }
  | { kind: "shared-pages"; cpus: number; pages: number; at: number; flags: number; mm0: number; file: number }
  | {
    kind: "fork-heavy"; children: number; pages: number; at: number; mm0: number; burst: number; slots: number;
    quotaW: number; quotaR: number; parentShare: number; budget: number; before: number; seed: number;
  }
  | {
    kind: "gpu-churn"; processes: number; pages: number; at: number; flags: number; mm0: number; chunk: number; touch: number;
    drivers: readonly number[]; devicePages: number; populate: number; evictFirst: number; weights: readonly number[];
    boSlots: number; respawnSlots: number; budget: number; before: number; seed: number;
  }
  | {
    kind: "rdma-pins"; processes: number; pinners: number; pages: number; at: number; flags: number; mm0: number; mrPages: number;
    maxMrs: number; chunk: number; touch: number; childWrites: number; driver: number; devicePages: number; weights: readonly number[];
    boSlots: number; forkSlots: number; budget: number; before: number; seed: number;
  }
  | {
    kind: "mix"; maxProcesses: number; maxVmas: number; arenaPages: number; maxMapPages: number; hintRatio: number; fileRatio: number;
    sharedRatio: number; readOnlyRatio: number; maxFiles: number; maxFilePages: number; maxDrivers: number; driverPages: number;
    maxMigratePages: number; boReuse: number; maxPins: number; systemPages: number; filePages: number; devicePages: number;
    systemLive: number; mmSlots: number; fileSlots: number; driverSlots: number; boSlots: number; budget: number; chunk: number;
    weights: readonly number[]; freeingWeights: readonly number[]; seed: number;
  };

/**
 * What a generator inside the core did: its ops, the stream hash after them, fork-heavy's live children
 * by slot (-1: none), gpu-churn's processes' mm ids at the end (respawns give new ones), mix's early stop
 * (0 none, 1 system frames exhausted, 2 no op could be issued) and its mmap(-1) addresses it did not predict.
 */
export interface CoreWorkloadRun { ops: number; hash: number; children: number[]; mms: number[]; stop: number; mismatches: number }

const CORE_WORKLOADS = ["page-fault", "mmap1", "shared-pages", "fork-heavy", "gpu-churn", "rdma-pins", "mix"] as const;

/** mix's bad-argument positions (assembly/workload_run.ts workloadMix), 1-based. */
const MIX_FIELDS = ["maxProcesses", "maxVmas", "arenaPages", "maxMapPages", "hintRatio", "fileRatio", "sharedRatio", "readOnlyRatio",
  "maxFiles", "maxFilePages", "maxDrivers", "driverPages", "maxMigratePages", "boReuse", "maxPins", "systemPages", "filePages",
  "devicePages", "systemLive", "mmSlots", "fileSlots", "driverSlots", "boSlots", "budget", "chunk", "weights"] as const;
/** mix's op kinds, the order of its weights (src/workload/mix.ts MIX_KINDS). */
const MIX_KIND_COUNT = 22;

/** gpu-churn's bad-argument positions (assembly/workload_run.ts workloadGpuChurn), 1-based. */
const GPU_CHURN_FIELDS = ["processes", "pages", "mm0", "ops", "chunk", "touch", "drivers", "devicePages", "populate", "evictFirst",
  "weights", "boSlots", "respawnSlots", "budget", "before"] as const;
/** gpu-churn's turns, the order of its weights. */
const GPU_CHURN_TURNS = 7;
/** rdma-pins' bad-argument positions (assembly/workload_run.ts workloadRdmaPins), 1-based. */
const RDMA_PINS_FIELDS = ["processes", "pages", "mm0", "ops", "pinners", "mrPages", "maxMrs", "chunk", "touch", "childWrites", "driver",
  "devicePages", "weights", "boSlots", "forkSlots", "budget", "before"] as const;
const RDMA_PINS_TURNS = 8;

/** Set only while Engine.create runs the constructor. */
let creating = false;

export class Engine extends OpCalls {
  readonly scheme: Scheme;
  readonly capacity: Readonly<Capacity>;
  /** Counter implementation, simulated CPUs and cost model (counter null: layer off). */
  readonly counter: Readonly<ResolvedCounter>;
  #core: CoreExports;
  // The two exports every batch calls, held by the engine itself: reached through
  // #core (the bindings' object, whose prototype is each instance's own exports
  // object) they sent V8 into a deoptimization loop once a process had made a few
  // engines (OpEncoder.flush deoptimized ~600 times a run: bench rounds, sweeps).
  #runBatch: (n: number) => number;
  #opsExecuted: () => number;
  #mem!: WebAssembly.Memory;
  #ops!: Int32Array;
  #results!: Int32Array;
  #error!: Int32Array;
  #buffer!: ArrayBuffer;

  private constructor(core: CoreExports, scheme: Scheme, capacity: Capacity, counter: ResolvedCounter) {
    // `private` holds for TypeScript only: plain JavaScript can still say `new Engine()`
    if (!creating) throw new RefsimError("Engine: make one with `await Engine.create(options)`; `new Engine()` is not the API", { code: "BAD_ARG" });
    super();
    this.#core = core;
    this.#runBatch = core.runBatch;
    this.#opsExecuted = core.opsExecuted;
    this.counter = Object.freeze(counter);
    this.scheme = scheme;
    this.capacity = Object.freeze(capacity);
    this.#mem = (core as unknown as { memory: WebAssembly.Memory }).memory;
    this.#views();
  }

  /** A new engine; the whole simulated machine is allocated here, once. */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    checkEngineOptions(options, "Engine.create");
    const scheme = resolveScheme(options.scheme ?? "E4");
    const counter = resolveCounterOptions(options);
    const capacity = resolveCapacity(options.capacity);
    const core = await instantiateCore();
    const caps = new Int32Array((core as unknown as { memory: WebAssembly.Memory }).memory.buffer, core.capsPtr(), abi.CAP_WORDS);
    checkCapacitySize(core, caps, capacity); // before init() allocates anything
    writeCapacity(caps, capacity);
    let bad: number;
    try {
      bad = core.init();
    } catch (e) {
      // The sizes were checked; the host may still refuse to grow the memory that far.
      throw new RefsimError(`capacity: the runtime could not grow the core's memory to ${(Number(core.capacityBytes()) / 2 ** 30).toFixed(2)} GiB (${(e as Error).message})`, { field: "capacity", code: "NOMEM" });
    }
    if (bad !== 0) throw new RefsimError(`capacity rejected by the core's init (code ${bad}) after the host's checks passed`, { field: "capacity", code: "CAPACITY" });
    creating = true;
    let engine: Engine;
    try {
      engine = new Engine(core, scheme, capacity, counter);
    } finally {
      creating = false;
    }
    engine.#startCounters();
    new Int32Array(engine.#mem.buffer, core.schemePtr(), abi.SCHEME_WORDS).set(encodeScheme(scheme));
    return engine;
  }

  /** Configure the counter layer (before any op), or only the CPU count. */
  #startCounters(): void {
    const r = this.counter;
    if (r.counter === null) {
      if (this.#core.setCpuLimit(r.cpus) !== 0) throw new RefsimError(`cpus ${r.cpus} is out of range`, { field: "cpus" });
      return;
    }
    const ptr = this.#core.counterConfigPtr();
    const buf = this.#mem.buffer;
    encodeCounterConfig(r, new Int32Array(buf, ptr, abi.CTR_WORDS), new Float64Array(buf, ptr + abi.CTR_WORDS * 4, abi.COST_WORDS));
    const frames = this.#core.framesTotal();
    const bytes = Number(this.#core.counterBytes(frames));
    if (bytes > COUNTER_MEMORY_LIMIT) {
      throw new RefsimError(
        `counter ${r.counter} with ${r.cpus} cpus needs ${(bytes / 2 ** 20).toFixed(0)} MiB of state for ${frames} frames ` +
        `(limit ${COUNTER_MEMORY_LIMIT / 2 ** 20} MiB): lower cpus or capacity.systemPages / devicePages`, { field: "counter", code: "NOMEM" });
    }
    let bad: number;
    try {
      bad = this.#core.counterInit(frames);
    } catch (e) {
      throw new RefsimError(`counter ${r.counter}: state too large for the core's memory (${(e as Error).message})`, { field: "counter", code: "NOMEM" });
    }
    if (bad !== 0) throw new RefsimError(`counter options rejected by the core (word ${bad})`, { field: bad > 100 ? "cost" : "counter" });
    this.#views();
  }

  /**
   * The counter layer's counts, simulated time and zero detection so far; null when
   * the layer is off. Cycles are a model (see CostReport.note); counts are exact.
   */
  cost(): CostReport | null {
    const r = this.counter;
    if (r.counter === null) return null;
    if (this.#mem.buffer !== this.#buffer) this.#views();
    const buf = this.#buffer;
    const c = this.#core;
    return buildCostReport({
      stats: new BigInt64Array(buf, c.statsPtr(), abi.ST_WORDS),
      clocks: new Float64Array(buf, c.counterClocksPtr(), r.cpus),
      cpuStats: new BigInt64Array(buf, c.counterCpuStatsPtr(), r.cpus * abi.CPU_STAT_WORDS),
      hist: new BigInt64Array(buf, c.counterDelayHistPtr(), abi.DELAY_BUCKETS),
      now: c.counterNow(),
      pending: c.counterPendingZeros(),
      simulatorBytes: c.counterStateBytes(),
    }, r.counter, r.cpus, r.cost);
  }

  /**
   * Let simulated time pass with every CPU idle, so timers (Refcache epochs and
   * reviews, percpu_ref grace periods) detect the zeros still pending; at most
   * `epochs` epochs / grace periods. Changes no ownership state. Returns the run's time (ns).
   */
  drainCounters(epochs = 16): number {
    if (typeof epochs !== "number" || !Number.isInteger(epochs) || epochs < 0 || epochs > 1 << 20) {
      throw new RefsimError(`drainCounters: epochs must be a whole number 0..${1 << 20}, got ${shown(epochs)}`, { field: "epochs", code: "BAD_ARG" });
    }
    const r = this.counter;
    if (r.counter === null) return 0;
    return this.#core.counterDrain(epochs * Math.max(r.cost.epochNs, r.cost.graceNs));
  }

  #views(): void {
    this.#buffer = this.#mem.buffer as ArrayBuffer; // never shared: the core is single-threaded
    this.#ops = new Int32Array(this.#buffer, this.#core.opBufferPtr(), this.capacity.batch * abi.OP_WORDS);
    this.#results = new Int32Array(this.#buffer, this.#core.resultsPtr(), this.capacity.batch);
    this.#error = new Int32Array(this.#buffer, this.#core.errorPtr(), 4);
  }

  /** Typed views over core memory, re-made if the memory ever moved. */
  #i32(ptr: number, length: number): Int32Array {
    if (this.#mem.buffer !== this.#buffer) this.#views();
    return new Int32Array(this.#buffer, ptr, length);
  }

  /**
   * How often the core's guarded fast paths (assembly/fastpath.ts) ran and how often
   * their guards sent the work the full way, since creation. Results never depend on
   * it: a diagnostic for tests and benchmarks.
   */
  fastPaths(): FastPathCounts {
    const c = (i: number) => this.#core.fastPathCounter(i);
    return {
      accessFast: c(0), accessFull: c(1), fileFast: this.#core.fileFastPathCounter(0), fileFull: this.#core.fileFastPathCounter(1), zapFast: c(2), zapFull: c(3), zapPteFull: c(4),
      copyFast: c(5), copyFull: c(6), copyPteFull: c(7), flushFast: c(8), flushFull: c(9),
    };
  }

  /** Number of ops executed so far: the next op's sequence number. */
  get opsExecuted(): number {
    return this.#opsExecuted();
  }

  /**
   * Run ops in order, batching them into as few WASM calls as possible. Returns
   * each op's result. A rejected op throws RefsimError (with `index` into `ops`);
   * the ops before it stay applied and nothing of the rejected one is.
   */
  run(ops: readonly Op[]): number[] {
    return this.#run(ops, null);
  }

  /**
   * Run ops like run(), and say for each op whether the kernel failed it: `errno`
   * (a syscall's, e.g. "EEXIST") or `signal` (a CPU access's, e.g. "SIGSEGV").
   * Such an op is not rejected: it ran, and the ops after it run too.
   */
  runDetailed(ops: readonly Op[]): OpOutcome[] {
    const statuses: number[] = [];
    const results = this.#run(ops, statuses);
    return results.map((result, i) => ({ result, ...statusOutcome(statuses[i]) }));
  }

  #run(ops: readonly Op[], statuses: number[] | null): number[] {
    checkOpList(ops);
    const out: number[] = [];
    const cap = this.capacity.batch;
    for (let start = 0; start < ops.length; start += cap) {
      const n = Math.min(cap, ops.length - start);
      if (this.#mem.buffer !== this.#buffer) this.#views();
      for (let i = 0; i < n; i++) {
        try {
          encodeOp(ops[start + i], this.#ops, i * abi.OP_WORDS);
        } catch (e) {
          // Run what was encoded before the bad op, so the error loses nothing.
          if (i > 0) out.push(...this.#runEncoded(i, start, statuses));
          if (e instanceof RefsimError) throw new RefsimError(`op ${start + i}: ${e.message}`, { op: e.op, field: e.field, index: start + i, code: e.code });
          throw e;
        }
      }
      out.push(...this.#runEncoded(n, start, statuses));
    }
    return out;
  }

  #runEncoded(n: number, start: number, statuses: number[] | null): number[] {
    const fit = opsThatFit(this.opsExecuted, n);
    const done = this.#runBatch(fit);
    const results = Array.from(this.#results.subarray(0, done));
    if (statuses) statuses.push(...this.lastStatuses().subarray(0, done));
    if (done < fit) throw this.#rejected(start);
    if (fit < n) throw opsExhausted(start + fit);
    return results;
  }

  /**
   * The kernel status of each op of the last batch the core ran (the last
   * capacity.batch-sized chunk, like runEncoded's results): 0, an errno, or
   * STATUS_SIGNAL | signo (statusOutcome names them).
   */
  lastStatuses(): Int32Array {
    const out = new Int32Array(this.#core.batchRan());
    const list = this.#i32(this.#core.statusListPtr(), this.#core.statusCount() * 2);
    for (let k = 0; k < list.length; k += 2) out[list[k]] = list[k + 1];
    return out;
  }

  /** The core rejected an op: its error block says which, why and which field. */
  #rejected(start: number): RefsimError {
    const [code, index, field, detail] = this.#error;
    const opcode = this.#ops[index * abi.OP_WORDS];
    const op = OP_NAME_BY_CODE[opcode] ?? `op code ${opcode}`;
    const fieldName = field >= 0 ? OP_FIELDS[op as OpName]?.[field] : undefined;
    const [codeName, text] = coreError(op, code);
    const where = fieldName ? ` (field '${fieldName}')` : "";
    const more = detail ? `; needs ${detail}` : "";
    return new RefsimError(`op ${start + index} (${op}): ${text}${where}${more}`, { op, field: fieldName, index: start + index, code: codeName });
  }

  /**
   * The fast path for generators: run `count` ops already encoded as OP_WORDS
   * i32 words each in `words`. Returns the results view (valid until the next call).
   */
  runEncoded(words: Int32Array, count: number): Int32Array {
    checkEncoded(words, count);
    const cap = this.capacity.batch;
    let last = this.#results.subarray(0, 0);
    for (let start = 0; start < count; start += cap) {
      const n = Math.min(cap, count - start);
      const fit = opsThatFit(this.opsExecuted, n);
      if (this.#mem.buffer !== this.#buffer) this.#views();
      this.#ops.set(words.subarray(start * abi.OP_WORDS, (start + fit) * abi.OP_WORDS));
      if (this.#runBatch(fit) < fit) throw this.#rejected(start);
      if (fit < n) throw opsExhausted(start + fit);
      last = this.#results.subarray(0, n);
    }
    return last;
  }


  /**
   * Run a generator inside the core for `ops` ops (fork-heavy: at most `ops`, its last step ending by
   * then): the core writes each batch's records into its op buffer and runs them with no JavaScript
   * per op. `hash` is the FNV-1a stream hash so far (the encoder's); the result has it continued over
   * the generator's ops, and how many ran. `onBatch` sees each batch's records as they ran (a view
   * valid during the call). A rejected op throws RefsimError as runEncoded does, `index` counting
   * from the generator's first op; the ops before it stay applied.
   */
  runCoreWorkload(w: CoreWorkload, ops: number, hash: number, onBatch?: (words: Int32Array, count: number) => void): CoreWorkloadRun {
    if (!Number.isInteger(ops) || ops < 0) throw new RefsimError(`runCoreWorkload: ops must be a whole number >= 0, got ${shown(ops)}`, { field: "ops", code: "BAD_ARG" });
    if (opsThatFit(this.opsExecuted, ops) < ops) throw opsExhausted(MAX_OPS - this.opsExecuted);
    const kind = (w as { kind?: unknown } | undefined)?.kind;
    if (!CORE_WORKLOADS.includes(kind as never)) throw new RefsimError(`runCoreWorkload: kind must be ${CORE_WORKLOADS.map((k) => `"${k}"`).join(", ")}, got ${shown(kind)}`, { field: "kind", code: "BAD_ARG" });
    const c = this.#core;
    // the fields in the order of each export's return code (workload_run.ts: the 1-based position of the first bad one)
    let fields: readonly string[] = ["tasks", "pages", "mm0", "ops"];
    let bad: number;
    if (w.kind === "page-fault") bad = c.workloadPageFault(w.tasks, w.pages, w.at, w.flags, w.mm0, w.file0, w.seed >>> 0, ops, hash | 0);
    else if (w.kind === "mmap1") bad = c.workloadMmap1(w.tasks, w.pages, w.at, w.flags, w.mm0, ops, hash | 0);
    else if (w.kind === "shared-pages") {
      fields = ["cpus", "pages", "mm0", "ops", "file"];
      bad = c.workloadSharedPages(w.cpus, w.pages, w.at, w.flags, w.mm0, w.file, ops, hash | 0);
    } else if (w.kind === "gpu-churn") {
      fields = GPU_CHURN_FIELDS;
      const d = w.drivers, ws = w.weights;
      if (!Array.isArray(ws) || ws.length !== GPU_CHURN_TURNS) throw new RefsimError(`runCoreWorkload: gpu-churn weights must be ${GPU_CHURN_TURNS} numbers (migrate, evict, read, write, zap, remap, respawn), got ${shown(ws)}`, { field: "weights", code: "BAD_ARG" });
      const nd = Array.isArray(d) ? d.length : 0;
      bad = c.workloadGpuChurn(w.processes, w.pages, w.at, w.flags, w.mm0, w.chunk, w.touch, nd, nd > 0 ? d[0] : -1, nd > 1 ? d[1] : -1,
        w.devicePages, w.populate, w.evictFirst, ws[0], ws[1], ws[2], ws[3], ws[4], ws[5], ws[6], w.boSlots, w.respawnSlots, w.budget, w.before,
        w.seed >>> 0, ops, hash | 0);
    } else if (w.kind === "rdma-pins") {
      fields = RDMA_PINS_FIELDS;
      const ws = w.weights;
      if (!Array.isArray(ws) || ws.length !== RDMA_PINS_TURNS) throw new RefsimError(`runCoreWorkload: rdma-pins weights must be ${RDMA_PINS_TURNS} numbers (register, deregister, migrate, evict, fork, read, write, dontneed), got ${shown(ws)}`, { field: "weights", code: "BAD_ARG" });
      bad = c.workloadRdmaPins(w.processes, w.pinners, w.pages, w.at, w.flags, w.mm0, w.mrPages, w.maxMrs, w.chunk, w.touch, w.childWrites,
        w.driver, w.devicePages, ws[0], ws[1], ws[2], ws[3], ws[4], ws[5], ws[6], ws[7], w.boSlots, w.forkSlots, w.budget, w.before,
        w.seed >>> 0, ops, hash | 0);
    } else if (w.kind === "mix") {
      fields = MIX_FIELDS;
      const ws = w.weights, fs = w.freeingWeights;
      for (const [name, a] of [["weights", ws], ["freeingWeights", fs]] as const) {
        if (!Array.isArray(a) || a.length !== MIX_KIND_COUNT) throw new RefsimError(`runCoreWorkload: mix ${name} must be ${MIX_KIND_COUNT} numbers (src/workload/mix.ts MIX_KINDS), got ${shown(a)}`, { field: name, code: "BAD_ARG" });
      }
      for (let k = 0; k < MIX_KIND_COUNT; k++) {
        if (typeof ws[k] !== "number" || typeof fs[k] !== "number" || c.workloadMixWeight(k, ws[k], fs[k]) !== 0) {
          throw new RefsimError(`runCoreWorkload: mix weight ${k} must be a finite number >= 0, got ${shown(ws[k])} and ${shown(fs[k])}`, { field: "weights", code: "BAD_ARG" });
        }
      }
      if (ops !== w.budget) throw new RefsimError(`runCoreWorkload: mix runs its whole budget (${shown(w.budget)}): ops must equal it, got ${shown(ops)}`, { field: "ops", code: "BAD_ARG" });
      bad = c.workloadMix(w.maxProcesses, w.maxVmas, w.arenaPages, w.maxMapPages, w.hintRatio, w.fileRatio, w.sharedRatio, w.readOnlyRatio,
        w.maxFiles, w.maxFilePages, w.maxDrivers, w.driverPages, w.maxMigratePages, w.boReuse, w.maxPins, w.systemPages, w.filePages,
        w.devicePages, w.systemLive, w.mmSlots, w.fileSlots, w.driverSlots, w.boSlots, w.budget, w.chunk, w.seed >>> 0, hash | 0);
    } else {
      fields = ["children", "pages", "mm0", "ops", "burst", "slots"];
      bad = c.workloadForkHeavy(w.children, w.pages, w.at, w.mm0, ops, w.burst, w.slots, w.quotaW, w.quotaR, w.parentShare, w.budget, w.before, w.seed >>> 0, hash | 0);
    }
    if (bad !== 0) {
      const field = fields[bad - 1];
      throw new RefsimError(`runCoreWorkload: ${w.kind} ${field} is out of range, got ${shown(field === "ops" ? ops : (w as unknown as Record<string, unknown>)[field])}`, { field, code: "BAD_ARG" });
    }
    let start = 0;
    for (let n = c.workloadStep(); n > 0; n = c.workloadStep()) {
      const ran = c.batchRan();
      if (this.#mem.buffer !== this.#buffer) this.#views();
      if (onBatch && ran > 0) onBatch(this.#ops.subarray(0, ran * abi.OP_WORDS), ran);
      if (ran < n) throw this.#rejected(start);
      start += n;
    }
    const children: number[] = [];
    if (w.kind === "fork-heavy") for (let s = 0; s < w.children; s++) children.push(c.workloadForkHeavyChild(s));
    const mms: number[] = [];
    if (w.kind === "gpu-churn") for (let i = 0; i < w.processes; i++) mms.push(c.workloadGpuChurnMm(i));
    const stop = w.kind === "mix" ? c.workloadMixStop() : 0;
    const mismatches = w.kind === "mix" ? c.workloadMixMismatches() : 0;
    return { ops: start, hash: c.workloadHash() >>> 0, children, mms, stop, mismatches };
  }

  /** A test_hmm file opened by dmirror_open. */
  mirror(fd: number): MirrorInfo {
    idArg("mirror", "mirror", fd);
    const state = this.#core.mirrorState(fd);
    if (state < 0) throw new RefsimError(`mirror: no test_hmm file ${fd} was opened`, { field: "mirror" });
    const c = this.#core;
    return { open: state === 1, device: c.mirrorDeviceOf(fd), mm: c.mirrorMmOf(fd), cpages: c.mirrorCpagesOf(fd), faults: c.mirrorFaultsOf(fd), entries: c.mirrorEntriesOf(fd) };
  }

  /** The bytes (HMM_DMIRROR_PROT_*) of the last HMM_DMIRROR_SNAPSHOT, one per page. */
  lastSnapshot(): Uint8Array {
    if (this.#mem.buffer !== this.#buffer) this.#views();
    return new Uint8Array(this.#buffer, this.#core.snapshotPtr(), this.#core.snapshotLen()).slice();
  }

  /** Counters since creation, as a plain object. */
  stats(): Stats {
    if (this.#mem.buffer !== this.#buffer) this.#views();
    return readStats(new BigInt64Array(this.#buffer, this.#core.statsPtr(), abi.ST_WORDS), this.#core.violationsRecorded());
  }

  /** Every recorded violation, in the order found. */
  violations(): Violation[] {
    const n = this.#core.violationsRecorded();
    return readViolations(this.#i32(this.#core.violationsPtr(), n * abi.VIOLATION_WORDS), n);
  }

  /** struct page of frame pfn. */
  frame(pfn: number): FrameInfo {
    const total = this.#core.framesTotal();
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= total) throw new RefsimError(`frame: pfn must be 0..${total - 1}, got ${shown(pfn)}`, { field: "pfn" });
    const at = (ptr: number, p = pfn) => this.#i32(ptr + p * 4, 1)[0];
    const flags = at(this.#core.flagsPtr());
    const head = this.#core.folioHead(pfn);
    return {
      pfn,
      kind: pfn === 0 ? "zero" : KIND_NAMES[(flags >> abi.PG_KIND_SHIFT) & 7],
      refcount: at(this.#core.refcountPtr()),
      mapcount: at(this.#core.mapcountPtr()),
      allocated: (flags & abi.PG_ALLOCATED) !== 0,
      anon: (flags & abi.PG_ANON) !== 0,
      anonExclusive: (flags & abi.PG_ANON_EXCLUSIVE) !== 0,
      pageCache: (flags & abi.PG_PAGECACHE) !== 0,
      bo: this.#core.deviceBo(pfn),
      content: at(this.#core.contentPtr()) >>> 0,
      large: this.#core.folioIsLarge(pfn),
      head,
      folioRefcount: at(this.#core.refcountPtr(), head),
      entireMapcount: this.#core.folioEntireMapcount(pfn),
      pincount: this.#core.folioPins(pfn),
      locked: (flags & abi.PG_LOCKED) !== 0,
    };
  }

  /** What addr maps to in mm, or null for pte_none. Reads only; never faults. */
  page(mm: number, addr: number): PageInfo | null {
    idArg("page", "mm", mm);
    if (!Number.isInteger(addr) || addr < 0 || addr % PAGE_SIZE !== 0) throw new RefsimError(`page: addr must be a page-aligned address, got ${shown(addr)}`, { field: "addr" });
    const vpn = addr / PAGE_SIZE;
    let pte = this.#core.pteAt(mm, vpn);
    if (pte === -1) throw new RefsimError(`page: mm ${mm} is not a live address space`, { field: "mm", code: "BAD_MM" });
    let pfn = pte >>> abi.PTE_PFN_SHIFT;
    const pmd = pte === 0 && this.#core.pmdAt(mm, vpn) !== 0;
    if (pmd) {
      pte = this.#core.pmdAt(mm, vpn);
      const head = pte >>> abi.PTE_PFN_SHIFT;
      pfn = head === 0 ? 0 : head + (vpn % abi.FOLIO_NR); // the huge zero page reads as the zero page
    }
    if (pte === 0) return null;
    return {
      ...this.frame(pfn),
      pmd,
      pte: {
        present: (pte & abi.PTE_PRESENT) !== 0,
        write: (pte & abi.PTE_WRITE) !== 0,
        special: (pte & abi.PTE_SPECIAL) !== 0,
        devmap: (pte & abi.PTE_DEVMAP) !== 0,
        devicePrivate: (pte & abi.PTE_DEVICE_PRIVATE) !== 0,
      },
    };
  }

  /** mm's VMAs in address order, as /proc/PID/maps shows them. */
  maps(mm: number): VmaInfo[] {
    if (!Number.isInteger(mm) || !this.#core.mmLive(mm)) throw new RefsimError(`maps: mm ${shown(mm)} is not a live address space`, { field: "mm", code: "BAD_MM" });
    const out: VmaInfo[] = [];
    const w = (i: number, k: number) => this.#core.mmVmaWord(mm, i, k);
    for (let i = 0; w(i, 0) !== -1; i++) out.push(vmaInfo(w(i, 0), w(i, 1), w(i, 2), w(i, 3), w(i, 4), w(i, 5) === 1));
    return out;
  }

  /** A buffer object's state. */
  bo(id: number): BoInfo {
    idArg("bo", "bo", id);
    const state = this.#core.boState(id);
    if (state !== 1 && state !== 2) throw new RefsimError(`bo: no buffer object ${id}`, { field: "bo", code: "BAD_BO" });
    return { id, state: state === 1 ? "live" : "freed", pages: this.#core.boPages(id), driver: this.#core.boDriver(id) };
  }

  /** Buffer objects created so far (ids 1..n). */
  get bufferObjects(): number { return this.#core.bosCreated(); }

  /** A driver's pgmap: state and reference count. */
  driver(d: number): { state: "live" | "dying" | "gone"; pgmapRef: number; freePages: number; pages: number } {
    idArg("driver", "driver", d);
    const st = this.#core.driverStateOf(d);
    if (st < 0) throw new RefsimError(`driver: no driver ${d}`, { field: "driver", code: "BAD_DRIVER" });
    return { state: (["live", "dying", "gone"] as const)[st], pgmapRef: this.#core.driverPgmapRef(d), freePages: this.#core.driverFreePages(d), pages: this.#core.driverPages(d) };
  }

  /** Free pages on driver d's free list. */
  driverFreePages(d: number): number {
    idArg("driver", "driver", d);
    const n = this.#core.driverFreePages(d);
    if (n < 0) throw new RefsimError(`driver: no driver ${d}`, { field: "driver", code: "BAD_DRIVER" });
    return n;
  }

  /** Bytes of linear memory the core uses. */
  get memoryBytes(): number { return this.#core.memoryBytes(); }

  /**
   * The core's whole state: a copy of its linear memory and of every mutable WASM
   * global (the build exports them, scripts/export-globals.mjs). loadState puts
   * it back, so a search can backtrack without replaying ops (src/races/). With
   * `into` (an earlier saved state of this engine) the copy goes there.
   */
  saveState(into?: EngineState): EngineState {
    const globals = this.#globals();
    const mem = new Uint8Array(this.#mem.buffer);
    // Reuse a state no longer needed (a search's snapshot stack): a 2 MB copy without the allocation.
    if (into && into.memory.length === mem.length && into.globals.length === globals.length) {
      into.memory.set(mem);
      for (let i = 0; i < globals.length; i++) into.globals[i] = globals[i].value as number | bigint;
      return into;
    }
    return { memory: mem.slice(), globals: globals.map((g) => g.value as number | bigint) };
  }

  /** Restore a state saved from this engine by saveState. */
  loadState(s: EngineState): void {
    const globals = this.#globals();
    if (s.memory.length !== this.#mem.buffer.byteLength || s.globals.length !== globals.length) {
      throw new RefsimError("loadState: the state was saved from another engine", { field: "state" });
    }
    new Uint8Array(this.#mem.buffer).set(s.memory);
    for (let i = 0; i < globals.length; i++) globals[i].value = s.globals[i];
    this.#core.coverLoadedFrames(); // a state is outside input: the quiesce check reads every frame it changed
  }

  #globalList?: WebAssembly.Global[];
  #globals(): WebAssembly.Global[] {
    if (!this.#globalList) {
      const exports = this.#core as unknown as Record<string, unknown>;
      const names: string[] = [];
      for (let p: object | null = exports; p; p = Object.getPrototypeOf(p)) {
        for (const k of Object.keys(p)) if (/^g\d+$/.test(k)) names.push(k);
      }
      this.#globalList = names.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))).map((k) => exports[k] as WebAssembly.Global);
    }
    return this.#globalList;
  }
}

/** A saved engine state (Engine.saveState). */
export interface EngineState {
  memory: Uint8Array;
  globals: (number | bigint)[];
}
