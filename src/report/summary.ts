/**
 * Aggregates of a results document for reports: per-scheme totals (runs, ops,
 * violations by kind, failures, throughput from meta) and per-experiment groups
 * (one subject with one param setting, its runs by scheme and seed), plus the
 * Markdown summary `refsim report` writes beside the HTML.
 *
 * @example
 * ```ts
 * import { runSweep } from "../experiment/sweep.ts";
 * import { markdownSummary } from "./summary.ts";
 * const doc = await runSweep({ name: "s", schemes: ["E0-devmap", "E2"], workloads: [{ workload: "seed-churn", params: { rounds: 4 } }] });
 * console.log(markdownSummary(doc).split("\n")[0]); // "# refsim sweep: s"
 * ```
 */
import type { ResultsDoc, RunResult } from "../experiment/results.ts";
import { formatTable } from "./table.ts";

export interface SchemeTotals {
  scheme: string;
  runs: number;
  ops: number;
  violations: Record<string, number>;
  violationsTotal: number;
  /** Runs that ended on a rejected op or step. */
  errors: number;
  /** Scenario runs whose expectations failed. */
  failed: number;
}

/**
 * Measures that identify a run rather than measure it (a hash of its op
 * stream): never averaged; reports show the one value or how many distinct.
 */
export const IDENTITY_MEASURES = new Set(["streamHash"]);

/** Mean, min, max, median and (sample) standard deviation of some numbers. */
export function spread(xs: number[]): { n: number; mean: number; min: number; max: number; median: number; sd: number } {
  const n = xs.length;
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = n ? xs.reduce((a, b) => a + b, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  const median = n ? (n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2) : NaN;
  return { n, mean, min: sorted[0] ?? NaN, max: sorted[n - 1] ?? NaN, median, sd };
}

/** A measure over seeds: "12" when all agree, else "12.5 (10–15, sd 2.1)"; identifiers: the value or "3 distinct". */
export function measureText(name: string, xs: number[]): string {
  if (!xs.length) return "-";
  if (IDENTITY_MEASURES.has(name)) {
    const distinct = new Set(xs);
    return distinct.size === 1 ? `0x${(xs[0] >>> 0).toString(16).padStart(8, "0")}` : `${distinct.size} distinct`;
  }
  const s = spread(xs);
  if (s.min === s.max) return num(s.min);
  return `${num(s.mean)} (${num(s.min)}–${num(s.max)}, sd ${num(s.sd)})`;
}

/** Host wall-clock ops/s of each run with a timing in meta, by run id. */
export function runTimings(doc: ResultsDoc): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, t] of Object.entries(doc.meta?.runs ?? {})) if (t && t.opsPerSec > 0) out.set(id, t.opsPerSec);
  return out;
}

export interface Group {
  key: string;
  kind: "scenario" | "workload";
  subject: string;
  params: RunResult["params"];
  /** Runs by scheme, in seed order. */
  runs: Record<string, RunResult[]>;
}

/** Schemes in the order they first appear. */
export function schemesOf(doc: ResultsDoc): string[] {
  return [...new Set(doc.runs.map((r) => r.scheme))];
}

export function schemeTotals(doc: ResultsDoc): SchemeTotals[] {
  return schemesOf(doc).map((scheme) => {
    const runs = doc.runs.filter((r) => r.scheme === scheme);
    const violations: Record<string, number> = {};
    for (const r of runs) for (const [k, v] of Object.entries(r.violations)) violations[k] = (violations[k] ?? 0) + v;
    return {
      scheme,
      runs: runs.length,
      ops: runs.reduce((n, r) => n + r.ops, 0),
      violations,
      violationsTotal: Object.values(violations).reduce((a, b) => a + b, 0),
      errors: runs.filter((r) => r.error).length,
      failed: runs.filter((r) => r.passed === false).length,
    };
  });
}

export function paramsText(p: RunResult["params"]): string {
  return Object.keys(p).sort().map((k) => `${k}=${typeof p[k] === "object" ? JSON.stringify(p[k]) : p[k]}`).join(" ");
}

/** Runs grouped by subject and params (seeds and schemes inside a group). */
export function groups(doc: ResultsDoc): Group[] {
  const out = new Map<string, Group>();
  for (const r of doc.runs) {
    const key = `${r.kind}:${r.subject}${Object.keys(r.params).length ? ` (${paramsText(r.params)})` : ""}`;
    let g = out.get(key);
    if (!g) out.set(key, (g = { key, kind: r.kind, subject: r.subject, params: r.params, runs: {} }));
    (g.runs[r.scheme] ??= []).push(r);
  }
  return [...out.values()];
}

function num(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

const md = (header: string[], rows: string[][]) =>
  [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`)].join("\n");

function violationText(v: Record<string, number>): string {
  const parts = Object.entries(v).filter(([, n]) => n).map(([k, n]) => `${k}:${n}`);
  return parts.length ? parts.join(" ") : "none";
}

/** A Markdown summary: per-scheme totals, scenario outcomes, workload measures. */
export function markdownSummary(doc: ResultsDoc): string {
  const out: string[] = [];
  const m = doc.meta;
  out.push(`# refsim sweep: ${doc.sweep.name}`, "");
  out.push(`${doc.runs.length} of ${doc.sweep.runs} runs, fingerprint \`${doc.sweep.fingerprint}\`, counters sampled every ${doc.sweep.every} ops.`);
  if (m) out.push(`refsim ${m.refsim} on ${m.runtime?.name} ${m.runtime?.version}${m.host ? ` (${m.host})` : ""}, started ${m.startedAt}, ${num(m.wallMs / 1000)} s wall, ${m.workers} worker(s)${m.shard ? `, shard ${m.shard}` : ""}${m.shards?.length ? `, merged from ${m.shards.length} input(s)` : ""}.`);
  out.push("", "## Per scheme", "");
  out.push(md(["scheme", "runs", "ops", "violations", "errors", "failed expectations"],
    schemeTotals(doc).map((t) => [t.scheme, String(t.runs), String(t.ops), violationText(t.violations), String(t.errors), String(t.failed)])));
  const gs = groups(doc);
  const schemes = schemesOf(doc);
  const scen = gs.filter((g) => g.kind === "scenario");
  if (scen.length) {
    out.push("", "## Scenarios", "", "Each cell: expectations, then violations at teardown.", "");
    out.push(md(["scenario", ...schemes], scen.map((g) => [g.subject, ...schemes.map((s) => {
      const r = g.runs[s]?.[0];
      if (!r) return "";
      return `${r.error ? "ERROR" : r.passed ? "pass" : "FAIL"}; ${violationText(r.violations)}`;
    })])));
  }
  const work = gs.filter((g) => g.kind === "workload");
  const timings = runTimings(doc);
  if (work.length) {
    out.push("", "## Workloads", "", "Over seeds: mean (min–max, sd), or the one value when all seeds agree; identifiers (streamHash) are never averaged. Violations are totals over seeds. Host ops/s: median over seeds of the wall clock (meta).", "");
    for (const g of work) {
      const measureNames = [...new Set(Object.values(g.runs).flat().flatMap((r) => Object.keys(r.measures ?? {})))];
      const rows = schemes.filter((s) => g.runs[s]).map((s) => {
        const rs = g.runs[s];
        const v: Record<string, number> = {};
        for (const r of rs) for (const [k, n] of Object.entries(r.violations)) v[k] = (v[k] ?? 0) + n;
        const errors = rs.filter((r) => r.error);
        const tput = rs.map((r) => timings.get(r.id)).filter((x): x is number => x !== undefined);
        return [s, String(rs.length), measureText("ops", rs.map((r) => r.ops)), measureText("refcount", rs.map((r) => r.stats.atomics.refcount)), measureText("peak", rs.map((r) => r.stats.frames.peak)),
          ...measureNames.map((k) => measureText(k, rs.filter((r) => r.measures && k in r.measures).map((r) => r.measures![k]))),
          tput.length ? String(Math.round(spread(tput).median)) : "-",
          violationText(v) + (errors.length ? `; ${errors.length} error(s): ${errors[0].error}` : "")];
      });
      out.push(`### ${g.key}`, "");
      out.push(md(["scheme", "seeds", "ops", "refcount atomics", "peak frames", ...measureNames, "host ops/s", "violations"], rows), "");
    }
  }
  if (m?.failed?.length) {
    out.push("", "## Failed runs", "", "Their workers crashed or died; `refsim sweep --resume` runs them again.", "");
    out.push(md(["index", "run", "error"], m.failed.map((f) => [String(f.index), f.id, f.error.split("\n")[0]])));
  }
  return out.join("\n").trimEnd() + "\n";
}

/** The same per-scheme totals as a plain text table, for terminals. */
export function textSummary(doc: ResultsDoc): string {
  return formatTable(["scheme", "runs", "ops", "violations", "errors"],
    schemeTotals(doc).map((t) => [t.scheme, String(t.runs), String(t.ops), violationText(t.violations), String(t.errors)]));
}
