/**
 * The workload registry: every generator by name, with its description, its
 * capacity needs, its parameter spec (defaults and docs) and its run function,
 * so a CLI can list them and run one on any OpTarget (the WASM Engine or the
 * plain-TypeScript model) under any scheme.
 *
 * Every run is seeded and deterministic: the same seed, parameters, budget and
 * target state give the same op stream (summary.streamHash) and the same stats.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { WORKLOADS, WORKLOAD_NAMES, runWorkload, summaryLine } from "./index.ts";
 * console.log(WORKLOAD_NAMES.join(" ")); // page-fault1 page-fault3 mmap1 fork-heavy gpu-churn rdma-pins mix shared-pages
 * console.log(WORKLOADS["gpu-churn"].defaults.devicePages); // 2048
 * const s = runWorkload("mmap1", await Engine.create({ scheme: "E4" }), { tasks: 2 }, 1, 20_000);
 * console.log(summaryLine(s)); // mmap1: 19997 ops in ... ms (... ops/s), 0.00 atomics/op, peak 0 frames, no violations
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import type { OpTarget } from "./target.ts";
import type { ParamValue, RunOptions, WorkloadDef, WorkloadSummary } from "./common.ts";
import { pageFault1 } from "./page-fault1.ts";
import { pageFault3 } from "./page-fault3.ts";
import { mmap1 } from "./mmap1.ts";
import { forkHeavy } from "./fork-heavy.ts";
import { gpuChurn } from "./gpu-churn.ts";
import { rdmaPins } from "./rdma-pins.ts";
import { mix } from "./mix.ts";
import { sharedPages } from "./shared-pages.ts";

export const WORKLOADS = {
  "page-fault1": pageFault1,
  "page-fault3": pageFault3,
  mmap1,
  "fork-heavy": forkHeavy,
  "gpu-churn": gpuChurn,
  "rdma-pins": rdmaPins,
  mix,
  "shared-pages": sharedPages,
} as const;

export type WorkloadName = keyof typeof WORKLOADS;
export const WORKLOAD_NAMES = Object.keys(WORKLOADS) as WorkloadName[];

/** The registry entry for `name`; throws RefsimError listing the names if unknown. */
export function getWorkload(name: string): WorkloadDef<Record<string, ParamValue>> {
  if (!Object.hasOwn(WORKLOADS, name)) {
    throw new RefsimError(`unknown workload ${JSON.stringify(name)} (workloads: ${WORKLOAD_NAMES.join(", ")})`, { field: "workload", code: "BAD_WORKLOAD" });
  }
  return WORKLOADS[name as WorkloadName] as unknown as WorkloadDef<Record<string, ParamValue>>;
}

/** Run workload `name` on `target`: params over the defaults, a seed, an op budget. */
export function runWorkload(name: string, target: OpTarget, params?: Record<string, unknown>, seed?: number, budget?: number, options?: RunOptions): WorkloadSummary {
  return getWorkload(name).run(target, params as Partial<Record<string, ParamValue>>, seed, budget, options);
}

/** One line for a terminal: ops, time, rate, atomics per op, peak frames, violations by kind. */
export function summaryLine(s: WorkloadSummary): string {
  const v = Object.entries(s.violations)
    .filter(([k, n]) => k !== "total" && n > 0)
    .map(([k, n]) => `${k} ${n}`);
  return `${s.workload}: ${s.ops} ops in ${s.elapsedMs.toFixed(0)} ms (${s.opsPerSec} ops/s), ${s.atomicsPerOp.toFixed(2)} atomics/op, ` +
    `peak ${s.peakFrames} frames, ${v.length ? `violations: ${v.join(", ")}` : "no violations"}${s.note ? ` (${s.note})` : ""}`;
}

export { OpEncoder, DEFAULT_CHUNK } from "./encoder.ts";
export {
  Pacer, Session, resolveParams, defaultsOf, capacityOf, usageOf, DEFAULT_SEED, DEFAULT_BUDGET, MAP_BASE,
} from "./common.ts";
export type { WorkloadDef, WorkloadSummary, ParamSpec, ParamValue, Spec, Usage, RunOptions } from "./common.ts";
export { runPageFault1, type PageFault1Params } from "./page-fault1.ts";
export { runPageFault3, type PageFault3Params } from "./page-fault3.ts";
export { runMmap1, type Mmap1Params } from "./mmap1.ts";
export { runForkHeavy, type ForkHeavyParams } from "./fork-heavy.ts";
export { runGpuChurn, type GpuChurnParams, type GpuChurnWeights, type GpuKind } from "./gpu-churn.ts";
export { runRdmaPins, type RdmaPinsParams, type RdmaPinsWeights } from "./rdma-pins.ts";
export { runMix, MIX_KINDS, type MixParams, type MixKind } from "./mix.ts";
export { runSharedPages, cpusOf, type SharedPagesParams } from "./shared-pages.ts";
