/**
 * Time series for experiments: a SamplingTarget wraps an Engine (it is an
 * OpTarget itself) and records a sample of the engine's counters every `every`
 * ops, cutting batches at the sample points so a sample always lands on an exact
 * multiple of `every`, however a workload batches its ops. The engine has no
 * timeline of its own; this is it, on the host side, for free between samples.
 *
 * A sample holds live frames (allocated struct pages), the cumulative atomic
 * read-modify-writes on `_refcount` and `_mapcount` (what the refcount traffic
 * costs), live buffer objects, live GUP handles and violations so far.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { SamplingTarget } from "./sampler.ts";
 * const t = new SamplingTarget(await Engine.create({ scheme: "E2" }), 2);
 * const [mm] = t.run([{ op: "mm_new" }]);
 * t.run([{ op: "mmap", mm, length: 8192 }, { op: "write", mm, addr: 0x10000000, value: 1 }]);
 * t.finish();
 * console.log(t.series.op); // [0, 2, 3]
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import type { Engine } from "../core/engine.ts";
import { RefsimError, shown } from "../core/errors.ts";
import { encodeOp, type Op } from "../core/ops.ts";
import type { Stats } from "../core/stats.ts";
import type { Violation } from "../core/violations.ts";
import type { OpTarget } from "../workload/target.ts";

/** Counters sampled over a run; every array has one entry per sample. */
export interface Series {
  /** Sampling period in ops. */
  every: number;
  /** Ops executed at the sample. */
  op: number[];
  /** Allocated page frames (struct pages in use). */
  liveFrames: number[];
  /** Cumulative atomic RMWs on _refcount (folio_get/folio_put/folio_ref_add...). */
  refcountAtomics: number[];
  /** Cumulative atomic RMWs on _mapcount (rmap add/remove). */
  mapcountAtomics: number[];
  /** Live buffer objects. */
  liveBos: number[];
  /** Live GUP handles (get_user_pages / pin_user_pages not yet put). */
  gupLive: number[];
  /** Violations found so far, all kinds. */
  violations: number[];
}

export function emptySeries(every: number): Series {
  return { every, op: [], liveFrames: [], refcountAtomics: [], mapcountAtomics: [], liveBos: [], gupLive: [], violations: [] };
}

/** Append one sample of `stats` taken after `op` ops. */
export function pushSample(s: Series, op: number, stats: Stats): void {
  if (s.op.length && s.op[s.op.length - 1] === op) return;
  s.op.push(op);
  s.liveFrames.push(stats.frames.live);
  s.refcountAtomics.push(stats.atomics.refcount);
  s.mapcountAtomics.push(stats.atomics.mapcount);
  s.liveBos.push(stats.bufferObjects.live);
  s.gupLive.push(stats.gupLive);
  s.violations.push(stats.violations.total);
}

/** An Engine that samples its counters every `every` ops. */
export class SamplingTarget implements OpTarget {
  readonly engine: Engine;
  readonly series: Series;
  #words: Int32Array;
  #results: Int32Array;

  constructor(engine: Engine, every = 1024) {
    if (!Number.isInteger(every) || every < 1) throw new RefsimError(`SamplingTarget: the sampling period must be a whole number >= 1, got ${shown(every)}`, { field: "every" });
    this.engine = engine;
    this.series = emptySeries(every);
    this.#words = new Int32Array(256 * abi.OP_WORDS);
    this.#results = new Int32Array(256);
    pushSample(this.series, engine.opsExecuted, engine.stats());
  }

  /** The engine's capacity (generators size their work by it). */
  get capacity(): Engine["capacity"] {
    return this.engine.capacity;
  }

  /** Ops executed so far. */
  get opsExecuted(): number {
    return this.engine.opsExecuted;
  }

  /**
   * Run encoded op records, cut at sample points. Returns every op's result (a
   * view valid until the next call). A rejected op throws as Engine.runEncoded
   * does; the ops before it stay applied (and sampled).
   */
  runEncoded(words: Int32Array, count: number): Int32Array {
    if (this.#results.length < count) this.#results = new Int32Array(Math.max(count, this.#results.length * 2));
    const every = this.series.every;
    const batch = this.engine.capacity.batch;
    let done = 0;
    while (done < count) {
      const now = this.engine.opsExecuted;
      const toSample = every - (now % every);
      const n = Math.min(count - done, toSample, batch);
      const r = this.engine.runEncoded(words.subarray(done * abi.OP_WORDS, (done + n) * abi.OP_WORDS), n);
      this.#results.set(r.subarray(0, n), done);
      done += n;
      if (this.engine.opsExecuted % every === 0) pushSample(this.series, this.engine.opsExecuted, this.engine.stats());
    }
    return this.#results.subarray(0, count);
  }

  /** Run op objects (as Engine.run does) through the sampler; returns raw results (mmap: the vpn). */
  run(ops: readonly Op[]): number[] {
    if (this.#words.length < ops.length * abi.OP_WORDS) this.#words = new Int32Array(ops.length * abi.OP_WORDS);
    for (let i = 0; i < ops.length; i++) encodeOp(ops[i], this.#words, i * abi.OP_WORDS);
    return Array.from(this.runEncoded(this.#words, ops.length));
  }

  /** Take a last sample at the current op (if not just taken). */
  finish(): Series {
    pushSample(this.series, this.engine.opsExecuted, this.engine.stats());
    return this.series;
  }

  stats(): Stats {
    return this.engine.stats();
  }

  violations(): Violation[] {
    return this.engine.violations();
  }
}
