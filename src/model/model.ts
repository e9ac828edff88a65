/**
 * The Model: refsim's semantics in plain TypeScript (objects and Maps, written
 * for clarity), a differential oracle for the WASM core and the JS baseline for
 * speed comparisons. It takes the same options as Engine and reproduces its
 * observable behaviour exactly: results, rejections (the same RefsimError),
 * statistics, violations, frame numbering and ids.
 *
 * @example
 * ```ts
 * import { Model } from "./model.ts";
 * const m = Model.create({ scheme: "E2" });
 * const mm = m.mmNew();
 * const addr = m.mmap(mm, { length: 4096 });
 * m.write(mm, addr, 42);
 * const gpu = m.driverNew("device-coherent", 16);
 * const bo = m.migrateToDevice(mm, addr, 4096, gpu);
 * m.munmap(mm, addr, 4096);
 * console.log(m.bo(bo).state); // freed
 * ```
 */
import * as abi from "../../assembly/abi.ts";
// Types only from engine.ts: a value import would load the generated WASM, and the model must load without a build.
import type { EngineOptions, FrameInfo, MirrorInfo, PageInfo, BoInfo, PageKind } from "../core/engine.ts";
import { resolveCapacity, type Capacity } from "../core/capacity.ts";
import { RefsimError, shown } from "../core/errors.ts";
import { vmaInfo, type VmaInfo } from "../core/maps.ts";
import { resolveCounterOptions } from "../cost/options.ts";
import {
  encodeOp, OP_FIELDS, OP_NAME_BY_CODE, coreError, PAGE_SIZE, checkEncoded, checkOpList, opsThatFit, opsExhausted, idArg, type Op, type OpName,
} from "../core/ops.ts";
import { checkEngineOptions } from "../core/options.ts";
import { resolveScheme } from "../scheme/resolve.ts";
import type { Scheme } from "../scheme/presets.ts";
import type { Stats } from "../core/stats.ts";
import type { Violation } from "../core/violations.ts";
import type { OpTarget } from "../workload/target.ts";
import { Machine } from "./machine.ts";
import { execute } from "./ops.ts";
import { Rejection } from "./reject.ts";
import { OpCalls } from "../core/calls.ts";
import { statusOutcome, type OpOutcome } from "../core/errno.ts";

const KIND_NAMES: PageKind[] = ["system", "device-private", "device-coherent", "fsdax", "device-dax", "p2pdma"];

/** Set only while Model.create runs the constructor. */
let creating = false;

export class Model extends OpCalls implements OpTarget {
  readonly scheme: Scheme;
  readonly capacity: Readonly<Capacity>;
  /** The simulated machine, for inspection; change it only through ops. */
  readonly machine: Machine;
  /** Results of the last batch (what Engine's results view holds). */
  #results: Int32Array;
  /** Kernel status of each op of the last batch, and how many ran. */
  #statuses: Int32Array;
  #ran = 0;

  private constructor(scheme: Scheme, capacity: Capacity) {
    // `private` holds for TypeScript only: plain JavaScript can still say `new Model()`
    if (!creating) throw new RefsimError("Model: make one with `Model.create(options)`; `new Model()` is not the API", { code: "BAD_ARG" });
    super();
    this.scheme = scheme;
    this.capacity = Object.freeze(capacity);
    this.machine = new Machine(capacity, scheme);
    this.#results = new Int32Array(capacity.batch);
    this.#statuses = new Int32Array(capacity.batch);
  }

  /** A new model with Engine's options (synchronous: nothing to compile). */
  static create(options: EngineOptions = {}): Model {
    checkEngineOptions(options, "Model.create");
    const scheme = resolveScheme(options.scheme ?? "E4");
    const { cpus } = resolveCounterOptions(options); // same checks as Engine; the model has no cost layer
    const capacity = resolveCapacity(options.capacity);
    creating = true;
    let model: Model;
    try {
      model = new Model(scheme, capacity);
    } finally {
      creating = false;
    }
    model.machine.cpus = cpus;
    return model;
  }

  /** Number of ops executed so far: the next op's sequence number. */
  get opsExecuted(): number {
    return this.machine.opSeq;
  }

  /**
   * Run n op records from words (starting at op `from`) as one batch into the results
   * buffer; a rejected op throws the RefsimError Engine would, numbered start + its index.
   */
  #runBatch(words: Int32Array, from: number, n: number, start: number): void {
    const m = this.machine;
    const fit = opsThatFit(m.opSeq, n);
    this.#ran = 0;
    for (let i = 0; i < fit; i++) {
      const at = (from + i) * abi.OP_WORDS;
      m.log.currentOp = m.opSeq;
      m.opStatus = 0;
      let r: number;
      try {
        r = execute(m, words, at);
      } catch (e) {
        if (e instanceof Rejection) throw this.#rejected(words[at], e, start + i);
        throw e;
      }
      this.#statuses[i] = m.opStatus;
      if (m.opStatus !== 0) m.counters.kernelErrors++;
      m.counters.ops[words[at]]++;
      this.#results[i] = r;
      m.opSeq++;
      this.#ran = i + 1;
    }
    if (fit < n) throw opsExhausted(start + fit);
  }

  /** The message, op, field and code Engine builds from the core's error block. */
  #rejected(opcode: number, e: Rejection, index: number): RefsimError {
    const op = OP_NAME_BY_CODE[opcode] ?? `op code ${opcode}`;
    const fieldName = e.field >= 0 ? OP_FIELDS[op as OpName]?.[e.field] : undefined;
    const [codeName, text] = coreError(op, e.code);
    const where = fieldName ? ` (field '${fieldName}')` : "";
    const more = e.detail ? `; needs ${e.detail}` : "";
    return new RefsimError(`op ${index} (${op}): ${text}${where}${more}`, { op, field: fieldName, index, code: codeName });
  }

  /**
   * Run `count` ops already encoded as OP_WORDS i32 words each. Like Engine, ops run
   * in batches of capacity.batch and the returned view holds the last batch's results
   * (valid until the next call).
   */
  runEncoded(words: Int32Array, count: number): Int32Array {
    checkEncoded(words, count);
    const cap = this.capacity.batch;
    let last = this.#results.subarray(0, 0);
    for (let start = 0; start < count; start += cap) {
      const n = Math.min(cap, count - start);
      this.#runBatch(words, start, n, start);
      last = this.#results.subarray(0, n);
    }
    return last;
  }

  /**
   * Run ops in order, returning each op's result. A rejected op throws RefsimError
   * (with `index` into `ops`); the ops before it stay applied.
   */
  run(ops: readonly Op[]): number[] {
    return this.#run(ops, null);
  }

  /** Run ops like run(), with each op's errno or signal when the kernel failed it (as Engine). */
  runDetailed(ops: readonly Op[]): OpOutcome[] {
    const statuses: number[] = [];
    return this.#run(ops, statuses).map((result, i) => ({ result, ...statusOutcome(statuses[i]) }));
  }

  /** The kernel status of each op of the last batch (as Engine.lastStatuses). */
  lastStatuses(): Int32Array {
    return this.#statuses.slice(0, this.#ran);
  }

  #run(ops: readonly Op[], statuses: number[] | null): number[] {
    checkOpList(ops);
    const out: number[] = [];
    const cap = this.capacity.batch;
    const words = new Int32Array(Math.min(cap, Math.max(ops.length, 1)) * abi.OP_WORDS);
    for (let start = 0; start < ops.length; start += cap) {
      const n = Math.min(cap, ops.length - start);
      for (let i = 0; i < n; i++) {
        try {
          encodeOp(ops[start + i], words, i * abi.OP_WORDS);
        } catch (e) {
          if (i > 0) {
            this.#batch(words, i, start, out, statuses);
          }
          if (e instanceof RefsimError) throw new RefsimError(`op ${start + i}: ${e.message}`, { op: e.op, field: e.field, index: start + i, code: e.code });
          throw e;
        }
      }
      this.#batch(words, n, start, out, statuses);
    }
    return out;
  }

  /** One batch for run(): results (and statuses) of the ops that ran, kept even when one is rejected. */
  #batch(words: Int32Array, n: number, start: number, out: number[], statuses: number[] | null): void {
    try {
      this.#runBatch(words, 0, n, start);
    } finally {
      out.push(...this.#results.subarray(0, this.#ran));
      if (statuses) statuses.push(...this.#statuses.subarray(0, this.#ran));
    }
  }


  /** A test_hmm file opened by dmirror_open (Engine.mirror() shape). */
  mirror(fd: number): MirrorInfo {
    idArg("mirror", "mirror", fd);
    const f = this.machine.mirrors.all[fd];
    if (!f) throw new RefsimError(`mirror: no test_hmm file ${fd} was opened`, { field: "mirror" });
    return { open: f.open, device: f.device, mm: f.mm, cpages: f.cpages, faults: f.faults, entries: f.pt.size };
  }

  /** The bytes of the last HMM_DMIRROR_SNAPSHOT (as Engine.lastSnapshot). */
  lastSnapshot(): Uint8Array {
    return this.machine.snapshot.slice();
  }

  /** Counters since creation, as a plain object (Engine.stats() shape). */
  stats(): Stats {
    return this.machine.counters.toStats(this.machine.log.records.length);
  }

  /** Every recorded violation, in the order found. */
  violations(): Violation[] {
    return this.machine.log.records.map((v) => ({ ...v }));
  }

  /** struct page of frame pfn (Engine.frame() shape). */
  frame(pfn: number): FrameInfo {
    const total = this.machine.frames.all.length;
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= total) throw new RefsimError(`frame: pfn must be 0..${total - 1}, got ${shown(pfn)}`, { field: "pfn" });
    const f = this.machine.frames.all[pfn];
    return {
      pfn,
      kind: pfn === 0 ? "zero" : KIND_NAMES[f.kind],
      refcount: f.refcount,
      mapcount: f.mapcount,
      allocated: f.allocated,
      anon: f.anon,
      anonExclusive: f.anonExclusive,
      pageCache: f.pageCache,
      bo: this.machine.frames.isDevice(pfn) ? f.owner : 0,
      content: f.content >>> 0,
      large: f.large,
      head: this.machine.frames.folioOf(f).pfn,
      folioRefcount: this.machine.frames.folioOf(f).refcount,
      entireMapcount: f.large ? this.machine.frames.folioOf(f).entireMapcount : 0,
      pincount: f.large ? this.machine.frames.folioOf(f).pincount : 0,
      locked: f.locked,
    };
  }

  /** What addr maps to in mm, or null for pte_none. Reads only; never faults. */
  page(mm: number, addr: number): PageInfo | null {
    idArg("page", "mm", mm);
    if (!Number.isInteger(addr) || addr < 0 || addr % PAGE_SIZE !== 0) throw new RefsimError(`page: addr must be a page-aligned address, got ${shown(addr)}`, { field: "addr" });
    const space = this.machine.mms.live(mm);
    const vpn = addr / PAGE_SIZE;
    if (!space || vpn >= 2 ** abi.VPN_BITS) throw new RefsimError(`page: mm ${mm} is not a live address space`, { field: "mm", code: "BAD_MM" });
    let pte = space.tables.get(vpn);
    let pfn = pte?.pfn ?? 0;
    const leaf = pte ? undefined : space.tables.hugeLeaf(vpn);
    if (leaf) {
      pte = leaf;
      pfn = leaf.pfn === 0 ? 0 : leaf.pfn + (vpn % abi.FOLIO_NR); // the huge zero page reads as the zero page
    }
    if (!pte) return null;
    return {
      ...this.frame(pfn),
      pmd: leaf !== undefined,
      pte: { present: pte.present, write: pte.writable, special: pte.special, devmap: pte.devmap, devicePrivate: pte.devicePrivate },
    };
  }

  /** mm's VMAs in address order, as /proc/PID/maps shows them. */
  maps(mm: number): VmaInfo[] {
    const space = Number.isInteger(mm) ? this.machine.mms.live(mm) : undefined;
    if (!space) throw new RefsimError(`maps: mm ${shown(mm)} is not a live address space`, { field: "mm", code: "BAD_MM" });
    return space.vmas.map((v) => vmaInfo(v.start, v.end, v.flags, v.file, v.pgoff, v.file >= 0 && this.machine.files.all[v.file].shmem));
  }

  /** A buffer object's state. */
  bo(id: number): BoInfo {
    idArg("bo", "bo", id);
    const b = Number.isInteger(id) ? this.machine.devices.bo(id) : undefined;
    if (!b) throw new RefsimError(`bo: no buffer object ${id}`, { field: "bo", code: "BAD_BO" });
    return { id, state: b.state, pages: b.pages, driver: b.driver };
  }

  /** Buffer objects created so far (ids 1..n). */
  get bufferObjects(): number { return this.machine.devices.bos.length; }

  /** A driver's pgmap: state and reference count. */
  driver(d: number): { state: "live" | "dying" | "gone"; pgmapRef: number; freePages: number; pages: number } {
    idArg("driver", "driver", d);
    const drv = this.machine.devices.driver(d);
    if (!drv) throw new RefsimError(`driver: no driver ${d}`, { field: "driver", code: "BAD_DRIVER" });
    return { state: drv.state, pgmapRef: drv.pgmapRef, freePages: drv.free.length, pages: drv.size };
  }

  /** Free pages on driver d's free list. */
  driverFreePages(d: number): number {
    idArg("driver", "driver", d);
    const drv = this.machine.devices.driver(d);
    if (!drv) throw new RefsimError(`driver: no driver ${d}`, { field: "driver", code: "BAD_DRIVER" });
    return drv.free.length;
  }
}
