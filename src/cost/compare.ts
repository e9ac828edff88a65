/**
 * Counter implementations compared: one workload under each scheme x counter x
 * CPU count, each on a fresh engine (workloads other than shared-pages are spread
 * over the CPUs by SpreadTarget: process mm on CPU mm mod cpus); throughput and counts are read when the
 * workload ends, zero detection after the timers have drained (simulated idle
 * time, no ops). Library code: no node: imports (the CLI formats it).
 *
 * @example
 * ```ts
 * import { compareCounters } from "./compare.ts";
 * const rows = await compareCounters({ workload: "shared-pages", cpus: [1, 8], counters: ["atomic", "refcache"], ops: 20_000 });
 * console.log(rows.length, rows[0].speedup); // 4 1
 * ```
 */
import { Engine, type Capacity } from "../core/engine.ts";
import type { SchemeInput } from "../scheme/resolve.ts";
import { runWorkload } from "../workload/index.ts";
import { COUNTER_NAMES, type CounterName, type CostModel } from "./options.ts";
import type { CostReport } from "./report.ts";
import { SpreadTarget } from "./spread.ts";

export interface CompareOptions {
  workload?: string;
  cpus?: number[];
  counters?: CounterName[];
  schemes?: SchemeInput[];
  ops?: number;
  seed?: number;
  params?: Record<string, unknown>;
  capacity?: Partial<Capacity>;
  cost?: Partial<CostModel>;
  /** Called after each run (one scheme x counter x CPU count), e.g. for a progress bar. */
  onRow?: (row: CompareRow, done: number, total: number) => void;
}

export interface CompareRow {
  scheme: string;
  counter: CounterName;
  cpus: number;
  ops: number;
  /** Ops per simulated second. */
  throughput: number;
  /** Throughput over the same scheme and counter's run at the fewest CPUs. */
  speedup: number;
  /** Simulated CPU time per op (ns), summed over CPUs. */
  nsPerOp: number;
  atomicsPerOp: number;
  transfersPerOp: number;
  bytesPerPage: number;
  bytesPerCpu: number;
  /** Mean and largest zero-detection delay (ns), and the mean in epochs / grace periods. */
  zeroDelayNs: number;
  zeroDelayMaxNs: number;
  zeroDelayEpochs: number;
  zerosPending: number;
  /** Ownership violations (the same under every counter) and counter_zero violations. */
  violations: number;
  counterViolations: number;
  cost: CostReport;
}

export const COMPARE_CPUS = [1, 2, 4, 8, 16, 32, 64, 80, 128];
/** shared-pages' capacity: small enough that per-CPU state (SNZI's O(CPUs) lines per page) stays a few tens of MiB at 128 CPUs. Other workloads get the engine's default capacity. */
export const COMPARE_CAPACITY: Partial<Capacity> = { systemPages: 4096, devicePages: 16, filePages: 4096 };

export async function compareCounters(o: CompareOptions = {}): Promise<CompareRow[]> {
  const workload = o.workload ?? "shared-pages";
  const cpusList = o.cpus ?? COMPARE_CPUS;
  const counters = o.counters ?? [...COUNTER_NAMES];
  const rows: CompareRow[] = [];
  const schemes = o.schemes ?? ["E4"];
  const total = schemes.length * counters.length * cpusList.length;
  for (const scheme of schemes) {
    for (const counter of counters) {
      let base = 0;
      for (const cpus of cpusList) {
        const e = await Engine.create({ scheme, counter, cpus, cost: o.cost, capacity: { ...(workload === "shared-pages" ? COMPARE_CAPACITY : {}), ...o.capacity } });
        // shared-pages places its processes itself; every other workload is spread, process mm on CPU mm mod cpus.
        const target = workload === "shared-pages" ? e : new SpreadTarget(e);
        const s = runWorkload(workload, target, o.params, o.seed ?? 1, o.ops ?? 60_000);
        const at = e.cost()!;
        e.drainCounters();
        const after = e.cost()!;
        if (base === 0) base = at.throughput;
        rows.push({
          scheme: e.scheme.name, counter, cpus, ops: at.ops,
          throughput: at.throughput,
          speedup: base > 0 ? at.throughput / base : 0,
          nsPerOp: at.nsPerOp,
          atomicsPerOp: at.perOp.rmws,
          transfersPerOp: at.perOp.transfers,
          bytesPerPage: at.memory.perPage,
          bytesPerCpu: at.memory.perCpu,
          zeroDelayNs: after.zero.meanDelayNs,
          zeroDelayMaxNs: after.zero.maxDelayNs,
          zeroDelayEpochs: after.zero.meanDelayEpochs,
          zerosPending: after.zero.pending,
          violations: s.violations.total - s.violations.counter_zero,
          counterViolations: after.violations,
          cost: { ...at, zero: after.zero, violations: after.violations }, // counts and time when the workload ended; zero detection after the drain
        });
        o.onRow?.(rows[rows.length - 1], rows.length, total);
      }
    }
  }
  return rows;
}
