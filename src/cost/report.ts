/**
 * The counter layer's results as plain data: exact counts (local hits, line
 * transfers, atomic RMWs, per CPU and in total), the modelled time (each CPU's
 * clock; the run's time is the largest, as CPUs run in parallel), throughput in
 * ops per simulated second, memory per page, and zero detection (how many true
 * zeros, how many detected, the delay distribution). Cycles are a model.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * const e = await Engine.create({ counter: "atomic", cpus: 2 });
 * const mm = e.mmNew();
 * const a = e.mmap(mm, { length: 4096 });
 * e.write(mm, a, 1);
 * console.log(e.cost()!.rmws); // 0: the page's allocation is a plain store, nothing was put yet
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { counterMemory, type CounterName, type CostModel } from "./options.ts";

export const CYCLES_ARE_A_MODEL =
  "simulated ns come from a cost model (local 1 ns, atomic 3 ns, line transfer 40/100 ns, serialized per line; perf-anchors G11); the counts are exact";

export interface CpuCost {
  cpu: number;
  /** This CPU's simulated clock, ns. */
  clockNs: number;
  ops: number;
  local: number;
  transfers: number;
  rmws: number;
}

export interface CostReport {
  counter: CounterName;
  cpus: number;
  /** Ops charged to CPUs (cpu ops excluded). */
  ops: number;
  /** The run's simulated time: the largest CPU clock, ns. */
  timeNs: number;
  /** Ops per simulated second. */
  throughput: number;
  /** Simulated ns per op, summed over CPUs (work per op, not latency). */
  nsPerOp: number;
  /** _refcount updates fed to the layer. */
  updates: number;
  local: number;
  transfers: number;
  crossSocket: number;
  rmws: number;
  perOp: { rmws: number; transfers: number; local: number };
  memory: { perPage: number; perCpu: number; note: string; simulatorBytes: number };
  zero: {
    /** Times a true count reached zero. */
    zeros: number;
    detected: number;
    /** Zeros superseded by a new reference before they were detected. */
    reused: number;
    /** Zeros not detected (yet). */
    pending: number;
    meanDelayNs: number;
    maxDelayNs: number;
    /** meanDelayNs in Refcache epochs (or percpu_ref grace periods). */
    meanDelayEpochs: number;
    /** [upper bound ns, count] of the delay distribution (power-of-two buckets; bound 0 = no delay). */
    histogram: Array<[number, number]>;
  };
  /** counter_zero violations: zero declared while the true count was not. */
  violations: number;
  counters: { flushes: number; evictions: number; ticks: number; kills: number; propagations: number };
  perCpu: CpuCost[];
  note: string;
}

export interface CostRaw {
  stats: BigInt64Array;
  clocks: Float64Array;
  cpuStats: BigInt64Array;
  hist: BigInt64Array;
  now: number;
  pending: number;
  simulatorBytes: number;
}

export function buildCostReport(raw: CostRaw, counter: CounterName, cpus: number, cost: CostModel): CostReport {
  const n = (i: number) => Number(raw.stats[i]);
  const ops = n(abi.ST_CTR_OPS);
  const perCpu: CpuCost[] = [];
  let work = 0;
  for (let c = 0; c < cpus; c++) {
    const s = (k: number) => Number(raw.cpuStats[c * abi.CPU_STAT_WORDS + k]);
    perCpu.push({ cpu: c, clockNs: raw.clocks[c], local: s(0), transfers: s(1), rmws: s(2), ops: s(3) });
    work += raw.clocks[c];
  }
  const detected = n(abi.ST_CTR_DETECTED);
  const meanDelayNs = detected > 0 ? n(abi.ST_CTR_DELAY_SUM) / detected : 0;
  const period = counter === "refcache" ? cost.epochNs : counter === "percpu" ? cost.graceNs : 0;
  const histogram: Array<[number, number]> = [];
  raw.hist.forEach((v, i) => { if (v > 0n) histogram.push([i === 0 ? 0 : 2 ** i, Number(v)]); });
  const per = (x: number) => (ops > 0 ? x / ops : 0);
  const timeNs = raw.now;
  return {
    counter,
    cpus,
    ops,
    timeNs,
    throughput: timeNs > 0 ? (ops * 1e9) / timeNs : 0,
    nsPerOp: per(work),
    updates: n(abi.ST_CTR_UPDATES),
    local: n(abi.ST_CTR_LOCAL),
    transfers: n(abi.ST_CTR_TRANSFERS),
    crossSocket: n(abi.ST_CTR_CROSS),
    rmws: n(abi.ST_CTR_RMW),
    perOp: { rmws: per(n(abi.ST_CTR_RMW)), transfers: per(n(abi.ST_CTR_TRANSFERS)), local: per(n(abi.ST_CTR_LOCAL)) },
    memory: { ...counterMemory(counter, cpus, cost), simulatorBytes: raw.simulatorBytes },
    zero: {
      zeros: n(abi.ST_CTR_ZEROS),
      detected,
      reused: n(abi.ST_CTR_REUSED),
      pending: raw.pending,
      meanDelayNs,
      maxDelayNs: n(abi.ST_CTR_DELAY_MAX),
      meanDelayEpochs: period > 0 ? meanDelayNs / period : 0,
      histogram,
    },
    violations: n(abi.ST_VIOLATIONS + abi.V_COUNTER_ZERO),
    counters: {
      flushes: n(abi.ST_CTR_FLUSHES), evictions: n(abi.ST_CTR_EVICTIONS), ticks: n(abi.ST_CTR_TICKS),
      kills: n(abi.ST_CTR_KILLS), propagations: n(abi.ST_CTR_PROPAGATE),
    },
    perCpu,
    note: CYCLES_ARE_A_MODEL,
  };
}
