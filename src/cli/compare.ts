/**
 * `refsim compare`: counter implementations side by side on one workload over a
 * list of simulated CPU counts, per scheme: throughput (ops per simulated second)
 * and speed-up over the fewest CPUs, simulated ns, atomics and line transfers per
 * op, memory per page, zero-detection delay and violations. Cycles are a model.
 */
import { RefsimError } from "../core/errors.ts";
import type { SchemeInput } from "../scheme/resolve.ts";
import { formatTable } from "../report/table.ts";
import { compareCounters, COMPARE_CPUS, type CompareRow } from "../cost/compare.ts";
import { COUNTER_NAMES, COUNTER_TEXT, type CounterName, type CostModel } from "../cost/options.ts";
import { CYCLES_ARE_A_MODEL } from "../cost/report.ts";
import type { Capacity } from "../core/engine.ts";
import { OutputFile } from "./output.ts";
import { compareHtml, compareCsv } from "../report/cost-html.ts";
import { chartJsSource } from "./report.ts";
import { Progress } from "./progress.ts";

export interface CompareArgs {
  workload: string;
  cpus?: string;
  counters?: string;
  schemes: SchemeInput[];
  ops: number;
  seed: number;
  params: Record<string, unknown>;
  capacity: Partial<Capacity>;
  cost: Partial<CostModel>;
  json: boolean;
  /** Also write the HTML page with the charts here. */
  out?: string;
  /** Also write will-it-scale-shaped CSV here. */
  csv?: string;
  progress?: boolean;
}

function cpuList(s: string | undefined): number[] {
  if (!s) return COMPARE_CPUS;
  return s.split(",").filter(Boolean).map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 1) throw new RefsimError(`--cpus: '${x}' is not a CPU count`, { field: "cpus" });
    return n;
  });
}

function counterList(s: string | undefined): CounterName[] {
  if (!s) return [...COUNTER_NAMES];
  return s.split(",").filter(Boolean).map((x) => {
    if (!(COUNTER_NAMES as readonly string[]).includes(x)) throw new RefsimError(`--counters: unknown counter '${x}' (counters: ${COUNTER_NAMES.join(", ")})`, { field: "counters" });
    return x as CounterName;
  });
}

const num = (x: number, d = 2) => (x >= 100 ? x.toFixed(0) : x.toFixed(d));
const si = (x: number) => (x >= 1e9 ? `${(x / 1e9).toFixed(2)}G` : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));
const time = (ns: number) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(1)} ms` : ns >= 1e4 ? `${(ns / 1e3).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);
/** Mean / max zero-detection delay, the mean in epochs (Refcache) or grace periods (percpu_ref). */
function delay(r: CompareRow): string {
  if (r.cost.zero.zeros === 0) return "-";
  const t = r.zeroDelayMaxNs > 0 ? `${time(r.zeroDelayNs)} / ${time(r.zeroDelayMaxNs)}` : "0";
  return `${t}${r.zeroDelayEpochs > 0 ? ` (${r.zeroDelayEpochs.toFixed(1)} ep)` : ""}${r.zerosPending ? `, ${r.zerosPending} pending` : ""}`;
}

export function compareTable(rows: CompareRow[]): string {
  const head = ["scheme", "counter", "cpus", "ops/sim-s", "speedup", "ns/op", "atomics/op", "transfers/op", "B/page", "zero delay mean / max", "violations"];
  const body = rows.map((r) => [
    r.scheme, r.counter, String(r.cpus), si(r.throughput), `${num(r.speedup, 1)}x`, num(r.nsPerOp, 1), num(r.atomicsPerOp), num(r.transfersPerOp),
    r.bytesPerCpu ? `${r.bytesPerPage} + ${r.bytesPerCpu / 1024} KiB/cpu` : String(r.bytesPerPage), delay(r),
    `${r.violations}${r.counterViolations ? ` + ${r.counterViolations} counter_zero` : ""}`,
  ]);
  return formatTable(head, body);
}

export async function compareCommand(a: CompareArgs): Promise<number> {
  const out = a.out === undefined ? undefined : OutputFile.check(a.out, "--out");
  const csv = a.csv === undefined ? undefined : OutputFile.check(a.csv, "--csv");
  const cpus = cpuList(a.cpus);
  const counters = counterList(a.counters);
  const progress = new Progress(`compare ${a.workload}`, a.schemes.length * counters.length * cpus.length, "runs", a.progress);
  const rows = await compareCounters({
    workload: a.workload, cpus, counters, schemes: a.schemes,
    ops: a.ops, seed: a.seed, params: a.params, capacity: a.capacity, cost: a.cost,
    onRow: (_r, done) => progress.update(done),
  });
  progress.end();
  if (out) {
    out.write(compareHtml(rows, { chartJs: chartJsSource() }));
    if (!a.json) console.log(`wrote ${a.out}`);
  }
  if (csv) {
    csv.write(compareCsv(rows));
    if (!a.json) console.log(`wrote ${a.csv} (will-it-scale's shape: tasks, a column per scheme/counter, linear)`);
  }
  if (a.json) {
    console.log(JSON.stringify({ note: CYCLES_ARE_A_MODEL, rows }, null, 2));
  } else {
    console.log(`== compare: ${a.workload}, ${a.ops} ops per run\n`);
    console.log(compareTable(rows));
    console.log(`\ncounters:\n${[...new Set(rows.map((r) => r.counter))].map((c) => `  ${c.padEnd(9)} ${COUNTER_TEXT[c]}`).join("\n")}`);
    console.log(`\nnote: ${CYCLES_ARE_A_MODEL}. Throughput is ops per simulated second (the run's time is the largest CPU clock);`);
    console.log("speedup is over the same counter at the fewest CPUs; zero delay is measured after draining the timers.");
  }
  return rows.some((r) => r.counterViolations > 0) ? 1 : 0;
}
