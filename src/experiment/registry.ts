/**
 * The workload registry (src/workload/index.ts, the benchmark generators) seen as
 * experiment workloads, so a sweep can name them too. A registry generator runs
 * on an OpTarget with (params, seed, budget) and returns a summary; here the
 * SamplingTarget is that target (it reports the engine's capacity), `budget`
 * becomes one more param, and the summary's deterministic numbers become
 * measures (its timings do not: they go to the results' meta like every run's).
 *
 * @example
 * ```ts
 * import { registryWorkloads } from "./registry.ts";
 * console.log(Object.keys(await registryWorkloads())); // ["page-fault1", "page-fault3", "mmap1", "fork-heavy", ...]
 * ```
 */
import { WORKLOADS } from "../workload/index.ts";
import type { ParamValue, Params, WorkloadDef } from "./workloads.ts";

/** Ops per registry run unless a sweep sets `budget` (the generators' own default is 1M). */
export const REGISTRY_BUDGET = 50_000;

/** Deterministic fields of a registry run's summary, kept as measures. */
const SUMMARY_MEASURES = ["atomicsPerOp", "peakFrames", "faults", "wpCopy", "migrated", "migrateFailed", "streamHash"];

interface Generator {
  name: string;
  describe: string;
  spec: Record<string, { default: unknown; doc: string }>;
  run(target: never, params?: never, seed?: number, budget?: number): object;
}

function adapt(g: Generator): WorkloadDef {
  const params: WorkloadDef["params"] = {};
  for (const [k, s] of Object.entries(g.spec)) params[k] = { default: s.default as ParamValue, doc: s.doc };
  params.budget = { default: REGISTRY_BUDGET, doc: "ops in the main phase (the generator's op budget)" };
  return {
    name: g.name,
    doc: g.describe,
    params,
    run({ target, params: p, seed, measure }) {
      const { budget, ...rest } = p as Params & { budget: number };
      const summary = g.run(target as never, rest as never, seed, budget) as Record<string, unknown>;
      for (const k of SUMMARY_MEASURES) if (typeof summary[k] === "number") measure(k, summary[k] as number);
    },
  };
}

let adapted: Record<string, WorkloadDef> | undefined;

/** Registry generators by name, as experiment workloads. */
export async function registryWorkloads(): Promise<Record<string, WorkloadDef>> {
  adapted ??= Object.fromEntries(Object.values(WORKLOADS).map((g) => [g.name, adapt(g as unknown as Generator)]));
  return adapted;
}
