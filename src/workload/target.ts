/**
 * What a workload drives: anything that runs encoded op records the way the core
 * does. The WASM Engine and the plain-TypeScript model (src/model/) both are one,
 * so a workload can run on either and their results can be compared.
 */
import type { Stats } from "../core/stats.ts";
import type { Violation } from "../core/violations.ts";
import type { Engine } from "../core/engine.ts";

export interface OpTarget {
  /**
   * Run `count` op records (abi.OP_WORDS i32 words each) from `words`; returns each
   * op's result (a view valid until the next call). Throws RefsimError if an op is
   * rejected; the ops before it stay applied.
   */
  runEncoded(words: Int32Array, count: number): Int32Array;
  /** The kernel status of each op of the last core call (0, an errno, or STATUS_SIGNAL | signo). */
  lastStatuses?(): Int32Array;
  stats(): Stats;
  violations(): Violation[];
  /**
   * A wrapper that hands every op to an Engine unchanged (a progress line, say) may name the Engine
   * here, so a generator inside the core (page-fault1, page-fault3, mmap1, fork-heavy, shared-pages, gpu-churn, rdma-pins, mix) runs on it; the wrapper
   * then hears of each batch the core ran through coreRan instead of runEncoded.
   */
  coreEngine?(): Engine | null;
  coreRan?(words: Int32Array, count: number): void;
}
