/**
 * `refsim workload`: run a workload generator under one or more schemes on fresh
 * engines and print, per scheme, ops/s, atomics per op, peak frames and
 * violations. With no name, list the generators and their parameters.
 * Exit status 1 when a run found violations (as explore), 0 when none did.
 */
import { Engine, type Capacity } from "../core/engine.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import { WORKLOADS, WORKLOAD_NAMES, getWorkload } from "../workload/index.ts";
import type { WorkloadSummary } from "../workload/common.ts";
import { formatTable } from "../report/table.ts";
import { count, rate } from "./format.ts";
import { colourOn, paintOutcomes } from "./style.ts";
import { ProgressTarget } from "./progress.ts";
import type { CounterName, CostModel } from "../cost/options.ts";
import { SpreadTarget } from "../cost/spread.ts";
import { CYCLES_ARE_A_MODEL } from "../cost/report.ts";

export interface WorkloadArgs {
  name?: string;
  schemes: SchemeInput[];
  seed: number;
  ops: number;
  params: Record<string, unknown>;
  capacity: Partial<Capacity>;
  json: boolean;
  progress: boolean;
  /** Counter layer and simulated CPUs (cost model); processes are spread over the CPUs. */
  counter?: CounterName;
  cpus?: number;
  cost?: Partial<CostModel>;
}

function listWorkloads(): void {
  for (const name of WORKLOAD_NAMES) {
    const w = getWorkload(name);
    console.log(`${name}\n  ${w.describe}\n  needs: ${w.needs}`);
    for (const [k, spec] of Object.entries(w.spec as Record<string, { default: unknown; doc: string }>)) {
      console.log(`    ${k} = ${JSON.stringify(spec.default)}: ${spec.doc}`);
    }
    console.log("");
  }
}

export async function workloadCommand(a: WorkloadArgs): Promise<number> {
  if (!a.name) {
    listWorkloads();
    return 0;
  }
  getWorkload(a.name); // names the known workloads if unknown
  const rows: string[][] = [];
  const results: (WorkloadSummary & { scheme: string })[] = [];
  const costRows: string[][] = [];
  for (const s of a.schemes) {
    const scheme = resolveScheme(s);
    const engine = await Engine.create({ scheme, capacity: a.capacity, counter: a.counter, cpus: a.cpus, cost: a.cost });
    // shared-pages places its processes on the CPUs itself; others are spread (process mm on CPU mm mod cpus).
    const inner = (a.cpus ?? 1) > 1 && a.name !== "shared-pages" ? new SpreadTarget(engine) : engine;
    const target = new ProgressTarget(inner, a.ops, `${a.name} ${scheme.name}`, a.progress);
    (target as unknown as { counter: unknown }).counter = engine.counter;
    const r = WORKLOADS[a.name as keyof typeof WORKLOADS].run(target, a.params as never, a.seed, a.ops);
    target.end();
    const c = engine.cost();
    if (c) {
      (r as WorkloadSummary & { cost?: unknown }).cost = c;
      costRows.push([scheme.name, c.counter, String(c.cpus), rate(c.throughput), c.nsPerOp.toFixed(1), c.perOp.rmws.toFixed(2), c.perOp.transfers.toFixed(2), String(c.violations)]);
    }
    results.push({ scheme: scheme.name, ...r });
    const v = Object.entries(r.violations).filter(([k, n]) => k !== "total" && n > 0).map(([k, n]) => `${k}:${n}`).join(" ") || "none";
    rows.push([scheme.name, count(r.ops), rate(r.opsPerSec), r.atomicsPerOp.toFixed(2), count(r.peakFrames), count(r.wpCopy), `${count(r.migrated)}/${count(r.migrateFailed)}`, v]);
  }
  // Every entry names its scheme, so the runs of several schemes can be told apart.
  if (a.json) console.log(JSON.stringify(results.map(({ stats: _s, ...rest }) => rest), null, 2));
  else {
    console.log(`workload ${a.name}, seed ${a.seed}, budget ${count(a.ops)} ops`);
    console.log(paintOutcomes(formatTable(["scheme", "ops", "ops/s", "atomics/op", "peak frames", "COW copies", "migrated/failed", "violations"], rows), colourOn(process.stdout)));
    if (costRows.length) {
      console.log(`\ncost model (${CYCLES_ARE_A_MODEL}):`);
      console.log(formatTable(["scheme", "counter", "cpus", "ops/sim-s", "ns/op", "counter atomics/op", "transfers/op", "counter_zero"], costRows));
    }
  }
  return results.some((r) => r.violations.total > 0) ? 1 : 0;
}
