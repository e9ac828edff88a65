/**
 * `refsim workload`: run a workload generator under one or more schemes on fresh
 * engines and print, per scheme, ops/s, atomics per op, peak frames and
 * violations. With no name, list the generators and their parameters.
 */
import { Engine, type Capacity } from "../core/engine.ts";
import { RefsimError } from "../core/errors.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import { WORKLOADS, WORKLOAD_NAMES, getWorkload } from "../workload/index.ts";
import type { WorkloadSummary } from "../workload/common.ts";
import { formatTable } from "../report/table.ts";
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

/** "k=v" settings: numbers, booleans, strings, or JSON objects. */
export function parseSettings(list: string[], what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new RefsimError(`${what}: expected key=value, got '${item}'`, { field: what });
    const k = item.slice(0, eq);
    const raw = item.slice(eq + 1);
    let v: unknown = raw;
    if (/^-?\d+(\.\d+)?$/.test(raw)) v = Number(raw);
    else if (raw === "true" || raw === "false") v = raw === "true";
    else if (raw.startsWith("{")) {
      try { v = JSON.parse(raw); } catch { throw new RefsimError(`${what}: '${k}' is not valid JSON`, { field: k }); }
    }
    out[k] = v;
  }
  return out;
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
  const results: WorkloadSummary[] = [];
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
      costRows.push([scheme.name, c.counter, String(c.cpus), `${(c.throughput / 1e6).toFixed(2)} M`, c.nsPerOp.toFixed(1), c.perOp.rmws.toFixed(2), c.perOp.transfers.toFixed(2), String(c.violations)]);
    }
    results.push(r);
    const v = Object.entries(r.violations).filter(([k, n]) => k !== "total" && n > 0).map(([k, n]) => `${k}:${n}`).join(" ") || "none";
    rows.push([scheme.name, String(r.ops), `${(r.opsPerSec / 1e6).toFixed(2)} M`, r.atomicsPerOp.toFixed(2), String(r.peakFrames), String(r.wpCopy), `${r.migrated}/${r.migrateFailed}`, v]);
  }
  if (a.json) console.log(JSON.stringify(results.map(({ stats: _s, ...rest }) => rest), null, 2));
  else {
    console.log(`workload ${a.name}, seed ${a.seed}, budget ${a.ops} ops`);
    console.log(formatTable(["scheme", "ops", "ops/s", "atomics/op", "peak frames", "COW copies", "migrated/failed", "violations"], rows));
    if (costRows.length) {
      console.log(`\ncost model (${CYCLES_ARE_A_MODEL}):`);
      console.log(formatTable(["scheme", "counter", "cpus", "ops/sim-s", "ns/op", "counter atomics/op", "transfers/op", "counter_zero"], costRows));
    }
  }
  return 0;
}
