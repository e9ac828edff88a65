/**
 * The results document of a sweep, and what is done with it: merging shards,
 * comparing, and writing CSV.
 *
 * A document has a deterministic part — `format`, `sweep` (name, run count,
 * sampling period, a fingerprint of the run list and the schemes' rules) and
 * `runs` (each with scheme, subject, params, seed, statistics, violations by kind,
 * measures and the sampled time series) — and `meta`: refsim version, runtime,
 * start time, wall-clock milliseconds and ops per second of every run, the shard
 * and the number of workers. Only `meta` depends on where and when a sweep ran,
 * so `deterministicPart` of a merged sharded sweep equals that of one unsharded
 * run, byte for byte once serialized.
 *
 * @example
 * ```ts
 * import { runSweep } from "./sweep.ts";
 * import { mergeResults, deterministicPart, toCsv } from "./results.ts";
 * const spec = { name: "s", schemes: ["E0-devmap", "E2"], workloads: [{ workload: "seed-churn", params: { rounds: 4 } }], seeds: [1, 2] };
 * const whole = await runSweep(spec);
 * const merged = mergeResults([await runSweep(spec, { shard: { index: 0, count: 2 } }), await runSweep(spec, { shard: { index: 1, count: 2 } })]);
 * console.log(JSON.stringify(deterministicPart(merged)) === JSON.stringify(deterministicPart(whole))); // true
 * console.log(toCsv(whole).split("\n")[0].slice(0, 40));
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import type { Stats } from "../core/stats.ts";
import type { SchemeRules } from "../scheme/rules.ts";
import { REFSIM_VERSION, RESULTS_FORMAT, runtimeInfo, type RuntimeInfo } from "./meta.ts";
import type { Series } from "./sampler.ts";
import type { Params } from "./workloads.ts";

export interface SweepInfo {
  name: string;
  /** Runs in the whole (unsharded) sweep. */
  runs: number;
  /** Sampling period of workload runs, in ops. */
  every: number;
  /** FNV-1a over the format, name, period, run ids and scheme rules: shards of one sweep share it. */
  fingerprint: string;
  /** Every scheme's rule values. */
  schemes: Record<string, SchemeRules>;
}

export interface RunResult {
  /** Position in the unsharded run list. */
  index: number;
  /** kind:subject|scheme|params|seed=N, unique in the sweep. */
  id: string;
  kind: "scenario" | "workload";
  subject: string;
  scheme: string;
  params: Params;
  /** Workload seed; null for scenarios (deterministic, run once). */
  seed: number | null;
  /** Ops executed. */
  ops: number;
  /** Scenarios: every expectation held and no step was rejected. Workloads: null. */
  passed: boolean | null;
  /** A rejected op or step ended the run early. */
  error?: string;
  /** Violations by kind (every kind, zero included). */
  violations: Record<string, number>;
  stats: Stats;
  /** Named results a workload recorded. */
  measures?: Record<string, number>;
  /** Scenario expectations, as in the side-by-side table. */
  checks?: { step: number; label: string; field: string; expected?: unknown; observed: unknown; pass: boolean | null }[];
  /** Scenario violations with the step that caused them. */
  violationRecords?: { kind: string; step: number | null; op: number; pfn: number; refcount: number; mapcount: number }[];
  series: Series;
}

export interface RunTiming {
  ms: number;
  opsPerSec: number;
}

/**
 * A run that could not finish: its worker crashed or died (out of memory, a bug),
 * as opposed to a run whose op was rejected (a result with `error`). Kept in
 * `meta.failed`, not in `runs`; `refsim sweep --resume` runs it again.
 */
export interface FailedRun {
  index: number;
  id: string;
  error: string;
  worker: number;
}

export interface ShardMeta {
  shard: string | null;
  host?: string;
  runtime: RuntimeInfo;
  refsim: string;
  startedAt: string;
  wallMs: number;
  workers: number;
  runs: number;
}

export interface ResultsMeta {
  refsim: string;
  runtime: RuntimeInfo;
  startedAt: string;
  wallMs: number;
  workers: number;
  /** "i/N" for one shard; null for an unsharded or merged sweep. */
  shard: string | null;
  /** Host name, where the host gives one (the CLI does). */
  host?: string;
  /** After a merge: each input's metadata. */
  shards?: ShardMeta[];
  /** Wall-clock timing of each run, by run id. */
  runs: Record<string, RunTiming & { worker?: number }>;
  /** Runs that could not finish (their results are not in `runs`). */
  failed?: FailedRun[];
}

export interface ResultsDoc {
  format: string;
  sweep: SweepInfo;
  runs: RunResult[];
  meta: ResultsMeta;
}

/** Everything but `meta`: what must be equal however the sweep was split. */
export function deterministicPart(doc: ResultsDoc): Omit<ResultsDoc, "meta"> {
  return { format: doc.format, sweep: doc.sweep, runs: doc.runs };
}

/** Check that a parsed JSON value is a results document; `source` names it in errors. */
export function checkResults(value: unknown, source: string): ResultsDoc {
  const d = value as ResultsDoc;
  if (!d || typeof d !== "object" || d.format !== RESULTS_FORMAT || !d.sweep || !Array.isArray(d.runs)) {
    throw new RefsimError(`${source}: not a refsim results file (expected "format": "${RESULTS_FORMAT}" with sweep and runs)`, { field: "format" });
  }
  return d;
}

/**
 * Join shards (or partial runs) of one sweep into one document with its runs in
 * plan order. Throws if the inputs come from different sweeps or disagree on a run.
 * `complete` says whether every run of the sweep is present.
 */
export function mergeResults(docs: ResultsDoc[], opts: { allowPartial?: boolean } = {}): ResultsDoc & { complete: boolean } {
  if (!docs.length) throw new RefsimError("merge: no results to merge", { field: "inputs" });
  const first = docs[0];
  const byIndex = new Map<number, RunResult>();
  const inputOf = new Map<number, number>(); // run index -> the input it came from
  const meta: ResultsMeta = {
    refsim: REFSIM_VERSION,
    runtime: runtimeInfo(),
    startedAt: docs.map((d) => d.meta?.startedAt ?? "").filter(Boolean).sort()[0] ?? new Date().toISOString(),
    wallMs: Math.max(0, ...docs.map((d) => d.meta?.wallMs ?? 0)),
    workers: docs.reduce((n, d) => n + (d.meta?.workers ?? 0), 0),
    shard: null,
    shards: [],
    runs: {},
  };
  docs.forEach((d, i) => {
    if (d.sweep.fingerprint !== first.sweep.fingerprint || d.sweep.name !== first.sweep.name) {
      throw new RefsimError(`merge: input ${i + 1} is from another sweep ('${d.sweep.name}' ${d.sweep.fingerprint}, not '${first.sweep.name}' ${first.sweep.fingerprint})`, { field: "sweep" });
    }
    for (const r of d.runs) {
      const had = byIndex.get(r.index);
      if (had) {
        // One run in two inputs: the same shard given twice (its meta would count twice), or shards that overlap.
        const same = JSON.stringify(had) === JSON.stringify(r);
        throw new RefsimError(`merge: run ${r.index} (${r.id}) is in input ${inputOf.get(r.index)! + 1} and input ${i + 1}${same ? " (the same shard given twice?)" : ", with different results"}; give each shard once`, { field: "runs" });
      }
      byIndex.set(r.index, r);
      inputOf.set(r.index, i);
    }
    const m = d.meta;
    if (m) {
      for (const s of m.shards ?? [m]) {
        meta.shards!.push({ shard: s.shard, host: s.host, runtime: s.runtime, refsim: s.refsim, startedAt: s.startedAt, wallMs: s.wallMs, workers: s.workers, runs: "runs" in s && typeof s.runs === "number" ? s.runs : d.runs.length });
      }
      Object.assign(meta.runs, m.runs);
    }
  });
  const runs = [...byIndex.values()].sort((a, b) => a.index - b.index);
  const failed = docs.flatMap((d) => d.meta?.failed ?? []).filter((f) => !byIndex.has(f.index));
  if (failed.length) meta.failed = failed;
  const complete = runs.length === first.sweep.runs;
  if (!complete && !opts.allowPartial) {
    const have = new Set(runs.map((r) => r.index));
    const missing = Array.from({ length: first.sweep.runs }, (_, i) => i).filter((i) => !have.has(i));
    throw new RefsimError(`merge: ${missing.length} of ${first.sweep.runs} runs missing (indexes ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""}); a shard not merged?`, { field: "runs" });
  }
  return { format: first.format, sweep: first.sweep, runs, meta, complete };
}

function flatten(prefix: string, v: unknown, out: Record<string, unknown>): void {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, x, out);
  } else out[prefix] = v;
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return "";
  const s = typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One CSV row per run: identity (index, id, kind, subject, scheme, seed), each
 * param as `param.NAME`, ops, passed, error, violations by kind, measures, every
 * statistic as a dotted path, then wall-clock ms and ops/s from meta.
 */
export function toCsv(doc: ResultsDoc): string {
  const rows = doc.runs.map((r) => {
    const row: Record<string, unknown> = { index: r.index, id: r.id, kind: r.kind, subject: r.subject, scheme: r.scheme, seed: r.seed };
    for (const [k, v] of Object.entries(r.params)) row[`param.${k}`] = v;
    row.ops = r.ops;
    row.passed = r.passed;
    row.error = r.error;
    for (const [k, v] of Object.entries(r.violations)) row[`violations.${k}`] = v;
    for (const [k, v] of Object.entries(r.measures ?? {})) row[`measure.${k}`] = v;
    // stats.violations would repeat the violations.* columns above
    const { violations: _v, ...stats } = r.stats as Stats & { violations?: unknown };
    flatten("stats", stats, row);
    const t = doc.meta?.runs?.[r.id];
    row.wall_ms = t ? Number(t.ms.toFixed(3)) : undefined;
    row.ops_per_sec = t ? Math.round(t.opsPerSec) : undefined;
    return row;
  });
  const cols: string[] = [];
  for (const row of rows) for (const k of Object.keys(row)) if (!cols.includes(k) && k !== "wall_ms" && k !== "ops_per_sec") cols.push(k);
  cols.push("wall_ms", "ops_per_sec");
  return [cols.join(","), ...rows.map((row) => cols.map((c) => csvCell(row[c])).join(","))].join("\n") + "\n";
}

/** The sampled counters of a Series, in the order of the long CSV's columns. */
const SERIES_COLUMNS = ["liveFrames", "refcountAtomics", "mapcountAtomics", "liveBos", "gupLive", "violations"] as const;

/**
 * The time series in long ("tidy") form, one row per run and sample, which
 * pandas reads as it is (`pd.read_csv(f)`, then e.g. `df.pivot_table(index="op",
 * columns="scheme", values="liveFrames")`): run identity (index, id, kind,
 * subject, scheme, seed, params as JSON), the sample's op count, then each counter.
 */
export function toSeriesCsv(doc: ResultsDoc): string {
  const head = ["index", "id", "kind", "subject", "scheme", "seed", "params", "op", ...SERIES_COLUMNS];
  const rows: string[] = [head.join(",")];
  for (const r of doc.runs) {
    const ident = [r.index, r.id, r.kind, r.subject, r.scheme, r.seed, JSON.stringify(r.params)].map(csvCell).join(",");
    for (let i = 0; i < r.series.op.length; i++) {
      rows.push(`${ident},${r.series.op[i]},${SERIES_COLUMNS.map((c) => r.series[c][i]).join(",")}`);
    }
  }
  return rows.join("\n") + "\n";
}
