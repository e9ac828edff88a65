/**
 * Recording: an OpTarget that passes every op to an Engine and keeps the ones the
 * engine accepted as a trace, with a hash of their results and, at finish(), the
 * engine's final statistics and violations for the replay to compare. Workloads,
 * the explorer and scenario runs all drive an OpTarget, so any of them records
 * by running on a recorder instead of the bare engine.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { runWorkload } from "../workload/index.ts";
 * import { TraceRecorder } from "./record.ts";
 * const rec = new TraceRecorder(await Engine.create({ scheme: "E2" }), { source: "workload mmap1", seed: 1 });
 * runWorkload("mmap1", rec, {}, 1, 5000);
 * const bytes = rec.finish();
 * console.log(rec.ops, bytes.length < rec.ops * 32); // 4993 true (the budget is a ceiling: whole mmap/munmap rounds)
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import type { Engine } from "../core/engine.ts";
import { RefsimError } from "../core/errors.ts";
import { encodeOp, checkEncoded, checkOpList, type Op } from "../core/ops.ts";
import type { Stats } from "../core/stats.ts";
import type { Violation } from "../core/violations.ts";
import type { OpTarget } from "../workload/target.ts";
import { TraceWriter, fnvWords, fnvString, FNV_OFFSET, type TraceFinal, type TraceMeta } from "./format.ts";

const W = abi.OP_WORDS;

export interface RecordOptions {
  /** What produced the ops, e.g. "scenario seed" or "workload mix". */
  source: string;
  seed?: number | null;
  /** Defaults to format.ENGINE_VERSION; the CLI passes package.json's version. */
  engineVersion?: string;
  /** More header fields (JSON values). */
  extra?: Record<string, unknown>;
  /** Write no results hash (as a recording that did not observe every result). */
  noResultsHash?: boolean;
}

/** The final state a trace header keeps: stats, and a hash of every violation record. */
export function finalState(e: OpTarget, resultsHash: number | null): TraceFinal {
  const v = e.violations();
  return { resultsHash, stats: e.stats(), violationsHash: fnvString(JSON.stringify(v)), violations: v.length };
}

export class TraceRecorder implements OpTarget {
  readonly engine: Engine;
  readonly options: RecordOptions;
  #writer = new TraceWriter();
  #results = FNV_OFFSET;
  #resultsKnown = true;
  #one = new Int32Array(W);

  constructor(engine: Engine, options: RecordOptions) {
    if (engine.opsExecuted !== 0) {
      throw new RefsimError(`trace: record from a fresh engine (this one already ran ${engine.opsExecuted} ops, which the trace would miss)`, { code: "BAD_USE" });
    }
    this.engine = engine;
    this.options = options;
  }

  /** The engine's capacity, so generators size themselves as on the bare engine. */
  get capacity() { return this.engine.capacity; }
  get scheme() { return this.engine.scheme; }
  get opsExecuted(): number { return this.engine.opsExecuted; }
  /** Ops recorded so far. */
  get ops(): number { return this.#writer.ops; }

  runEncoded(words: Int32Array, count: number): Int32Array {
    checkEncoded(words, count);
    const cap = this.engine.capacity.batch;
    let last: Int32Array = new Int32Array(0);
    for (let s = 0; s < count; s += cap) {
      const n = Math.min(cap, count - s);
      const before = this.engine.opsExecuted;
      let r: Int32Array;
      try {
        r = this.engine.runEncoded(s === 0 && n === count ? words : words.subarray(s * W, (s + n) * W), n);
      } catch (e) {
        const done = this.engine.opsExecuted - before;
        this.#writer.append(words, done, s);
        if (done > 0) this.#resultsKnown = false; // their results are not handed back with the error
        if (e instanceof RefsimError && typeof e.index === "number") {
          throw new RefsimError(e.message, { op: e.op, field: e.field, index: s + e.index, code: e.code });
        }
        throw e;
      }
      this.#writer.append(words, n, s);
      this.#results = fnvWords(r, n, this.#results);
      last = r;
    }
    return last;
  }

  /** Engine.run for op objects: encoded here, so they are recorded. Returns each op's result. */
  run(ops: readonly Op[]): number[] {
    checkOpList(ops);
    const out: number[] = [];
    for (let i = 0; i < ops.length; i++) {
      try {
        encodeOp(ops[i], this.#one, 0);
      } catch (e) {
        if (e instanceof RefsimError) throw new RefsimError(`op ${i}: ${e.message}`, { op: e.op, field: e.field, index: i, code: e.code });
        throw e;
      }
      try {
        out.push(this.runEncoded(this.#one, 1)[0]);
      } catch (e) {
        if (e instanceof RefsimError) throw new RefsimError(e.message.replace(/^op 0\b/, `op ${i}`), { op: e.op, field: e.field, index: i, code: e.code });
        throw e;
      }
    }
    return out;
  }

  stats(): Stats { return this.engine.stats(); }
  violations(): Violation[] { return this.engine.violations(); }

  /** The header fields this recording will carry. */
  meta(): TraceMeta {
    return {
      engineVersion: this.options.engineVersion ?? "",
      scheme: this.engine.scheme,
      capacity: this.engine.capacity,
      seed: this.options.seed ?? null,
      source: this.options.source,
      ...this.options.extra,
      final: finalState(this.engine, this.#resultsKnown && !this.options.noResultsHash ? this.#results : null),
    };
  }

  /** The trace file's bytes. */
  finish(): Uint8Array {
    const m = this.meta();
    if (!this.options.engineVersion) delete (m as Partial<TraceMeta>).engineVersion;
    return this.#writer.finish(m);
  }
}
