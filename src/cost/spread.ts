/**
 * Spreading any workload's processes across simulated CPUs: an OpTarget wrapper
 * that puts a `cpu` op before every op whose process (mm) runs on another CPU
 * than the previous op's. Process mm runs on CPU mm mod cpus; ops that name no
 * process (unpin, file and driver ops, checks) stay on the current CPU. The
 * workload's own op stream (and its hash) is unchanged; results and rejections
 * are mapped back to its ops. The inserted cpu ops are ops to the engine: they
 * get sequence numbers (violation records' `op`) and count in stats.ops.cpu.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { SpreadTarget } from "./spread.ts";
 * import { runWorkload } from "../workload/index.ts";
 * const e = await Engine.create({ counter: "percpu", cpus: 4 });
 * runWorkload("fork-heavy", new SpreadTarget(e), {}, 1, 20_000);
 * console.log(e.cost()!.perCpu.filter((c) => c.ops > 0).length); // 4
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { RefsimError } from "../core/errors.ts";
import type { Stats } from "../core/stats.ts";
import type { Violation } from "../core/violations.ts";
import type { OpTarget } from "../workload/target.ts";
import { capacityOf } from "../workload/common.ts";
import { cpusOf } from "../workload/shared-pages.ts";

const W = abi.OP_WORDS;
const NEEDS_MM = new Set([
  abi.OP_MMAP, abi.OP_MUNMAP, abi.OP_READ, abi.OP_WRITE, abi.OP_FORK, abi.OP_EXIT, abi.OP_MADV_DONTNEED, abi.OP_MIGRATE_TO_DEVICE,
  abi.OP_MIGRATE_TO_RAM, abi.OP_GUP, abi.OP_FAULT_BEGIN, abi.OP_MADV_PAGEOUT,
]);

export class SpreadTarget implements OpTarget {
  readonly cpus: number;
  #cur = 0;
  #words = new Int32Array(0);
  #orig = new Int32Array(0); // expanded record -> index of the workload's op (-1: an inserted cpu op)
  #out = new Int32Array(0);

  constructor(readonly inner: OpTarget, cpus?: number) {
    this.cpus = cpus ?? cpusOf(inner);
  }

  get capacity() { return capacityOf(this.inner); }
  get counter() { return { cpus: this.cpus }; }
  stats(): Stats { return this.inner.stats(); }
  violations(): Violation[] { return this.inner.violations(); }

  runEncoded(words: Int32Array, count: number): Int32Array {
    if (this.#words.length < 2 * count * W) {
      this.#words = new Int32Array(2 * count * W);
      this.#orig = new Int32Array(2 * count);
    }
    if (this.#out.length < count) this.#out = new Int32Array(count);
    const ex = this.#words;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const op = words[i * W];
      const mm = words[i * W + 1];
      if (NEEDS_MM.has(op) && mm >= 0) {
        const c = mm % this.cpus;
        if (c !== this.#cur) {
          ex.fill(0, n * W, (n + 1) * W);
          ex[n * W] = abi.OP_CPU;
          ex[n * W + 1] = c;
          this.#orig[n++] = -1;
          this.#cur = c;
        }
      }
      ex.set(words.subarray(i * W, (i + 1) * W), n * W);
      this.#orig[n++] = i;
    }
    const batch = Math.max(1, capacityOf(this.inner).batch);
    for (let s = 0; s < n; s += batch) {
      const m = Math.min(batch, n - s);
      let r: Int32Array;
      try {
        r = this.inner.runEncoded(ex.subarray(s * W, (s + m) * W), m);
      } catch (e) {
        const at = (e as RefsimError).index;
        if (!(e instanceof RefsimError) || typeof at !== "number") throw e;
        let k = s + at;
        while (k < n && this.#orig[k] < 0) k++;
        throw new RefsimError(e.message, { op: e.op, field: e.field, index: k < n ? this.#orig[k] : count - 1, code: e.code });
      }
      for (let k = 0; k < m; k++) {
        const o = this.#orig[s + k];
        if (o >= 0) this.#out[o] = r[k];
      }
    }
    return this.#out.subarray(0, count);
  }
}
