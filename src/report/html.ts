/**
 * One self-contained HTML report of a results document: the charting library's
 * source and the chart data are inlined, so the file opens anywhere, offline.
 * Charts (Chart.js, animation off): live frames and `_refcount` atomics over time
 * per experiment and scheme, violations by kind per scheme (stacked), and mean
 * throughput per scheme (ops/s, from the results' meta); then the per-scheme and
 * scenario tables. The library takes Chart.js's UMD source as a string, so this
 * module reads no files; the CLI passes node_modules/chart.js/dist/chart.umd.min.js.
 *
 * When every chart is built the page sets `document.body.dataset.charts` to the
 * chart count and `window.refsimReport.charts` to each chart's id and point count.
 *
 * @example
 * ```ts
 * import { runSweep } from "../experiment/sweep.ts";
 * import { htmlReport } from "./html.ts";
 * const doc = await runSweep({ name: "s", schemes: ["E0-devmap", "E2"], workloads: [{ workload: "seed-churn" }] });
 * const html = htmlReport(doc, { chartJs: "" }); // the CLI passes Chart.js's UMD source
 * console.log(html.startsWith("<!doctype html>")); // true
 * ```
 */
import type { ResultsDoc, RunResult } from "../experiment/results.ts";
import { groups, schemeTotals, schemesOf, paramsText, spread, measureText, runTimings } from "./summary.ts";
import { seriesColor, seriesStyle, coincidences, titleLines } from "./colors.ts";

/** Colours for violation kinds (bars), apart from the scheme colours. */
export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** At most this many experiments get time-series charts (the tables list all). */
export const MAX_SERIES_GROUPS = 40;
/** Time series longer than this are thinned for the chart (markers stay readable). */
const MAX_POINTS = 400;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Make text safe inside a <script> element. */
export function scriptSafe(s: string): string {
  return s.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

interface ChartSpec {
  id: string;
  title: string;
  /** Series that are equal everywhere, e.g. "E2 and E4 coincide" (also shown under the title). */
  coincide: string[];
  config: unknown;
}

function thin(xs: number[], ys: number[]): { x: number; y: number }[] {
  const step = Math.max(1, Math.ceil(xs.length / MAX_POINTS));
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < xs.length; i += step) out.push({ x: xs[i], y: ys[i] });
  if (xs.length && (xs.length - 1) % step !== 0) out.push({ x: xs[xs.length - 1], y: ys[ys.length - 1] });
  return out;
}

/** The subtitle naming coinciding series, so a reader knows a hidden line is there. */
export const coincideText = (c: string[]) => (c.length ? `${c.join("; ")}: their lines lie on one another (dashes and markers differ)` : "");

const lineOptions = (title: string, y: string, coincide: string[]) => ({
  animation: false,
  responsive: true,
  maintainAspectRatio: false,
  parsing: true,
  plugins: {
    title: { display: true, text: titleLines(title) },
    subtitle: { display: coincide.length > 0, text: coincideText(coincide), color: "#a33" },
    legend: { position: "bottom", labels: { usePointStyle: true } },
  },
  scales: { x: { type: "linear", title: { display: true, text: "ops executed" } }, y: { beginAtZero: true, title: { display: true, text: y } } },
  elements: { line: { borderWidth: 2 } },
});

/** One line per scheme: fixed colour, and the i-th dash and marker. */
function lineSeries(runs: RunResult[], pick: (r: RunResult) => number[], stepped: boolean) {
  return runs.map((r, i) => ({
    label: r.scheme, data: thin(r.series.op, pick(r)), borderColor: seriesColor(r.scheme), backgroundColor: seriesColor(r.scheme),
    ...seriesStyle(i), stepped,
  }));
}

/** The chart specs of a results document (exported for tests and other front ends). */
export function chartSpecs(doc: ResultsDoc): ChartSpec[] {
  const schemes = schemesOf(doc);
  const specs: ChartSpec[] = [];
  const totals = schemeTotals(doc);
  const kinds = [...new Set(totals.flatMap((t) => Object.keys(t.violations).filter((k) => t.violations[k] > 0)))];
  specs.push({
    id: "violations-by-kind",
    title: "Violations by kind per scheme",
    coincide: [],
    config: {
      type: "bar",
      data: {
        labels: schemes,
        datasets: (kinds.length ? kinds : ["total"]).map((k, i) => ({
          label: kinds.length ? k : "violations (none found)",
          data: totals.map((t) => (kinds.length ? t.violations[k] ?? 0 : t.violationsTotal)),
          backgroundColor: PALETTE[(i + 3) % PALETTE.length],
        })),
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { title: { display: true, text: "Violations by kind per scheme (all runs)" } }, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "violations" } } } },
    },
  });
  // Throughput only between like runs: one experiment (subject and params) at a time, median over seeds.
  const gs = groups(doc);
  const timings = runTimings(doc);
  const timedGroups = gs.filter((g) => Object.values(g.runs).flat().some((r) => timings.has(r.id)));
  if (timedGroups.length) {
    specs.push({
      id: "throughput",
      title: "Throughput per experiment and scheme",
      coincide: [],
      config: {
        type: "bar",
        data: {
          labels: timedGroups.map((g) => titleLines(g.key, 28)),
          datasets: schemes.map((s) => ({
            label: s, backgroundColor: seriesColor(s),
            data: timedGroups.map((g) => {
              const xs = (g.runs[s] ?? []).map((r) => timings.get(r.id)).filter((x): x is number => x !== undefined);
              return xs.length ? Math.round(spread(xs).median) : null;
            }),
          })),
        },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          plugins: { title: { display: true, text: titleLines("Throughput per experiment and scheme: ops/s of the host's wall clock, median over seeds (from meta, not part of the deterministic results)") }, legend: { position: "bottom" } },
          scales: { y: { type: "logarithmic", title: { display: true, text: "ops/s (log)" } } },
        },
      },
    });
  }
  gs.slice(0, MAX_SERIES_GROUPS).forEach((g, gi) => {
    const firsts = schemes.filter((s) => g.runs[s]).map((s) => g.runs[s][0]);
    const seedNote = g.kind === "workload" ? ` (seed ${firsts[0]?.seed})` : "";
    const stepped = g.kind === "scenario";
    for (const [id, what, y, pick] of [
      [`live-frames-${gi}`, "live frames over time", "allocated page frames", (r: RunResult) => r.series.liveFrames],
      [`refcount-${gi}`, "_refcount atomics over time", "cumulative _refcount RMWs", (r: RunResult) => r.series.refcountAtomics],
    ] as const) {
      const datasets = lineSeries(firsts, pick, stepped);
      const coincide = coincidences(datasets);
      specs.push({ id, title: `${g.key}: ${what}`, coincide, config: { type: "line", data: { datasets }, options: lineOptions(`${g.key}: ${what}${seedNote}`, y, coincide) } });
    }
  });
  return specs;
}

function table(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:1em}
.chart{position:relative;height:300px;border:1px solid #ddd;border-radius:4px;padding:6px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f4f4f4}.meta{color:#555}`;

/** The whole report as one HTML document. `chartJs` is Chart.js's UMD build (it defines window.Chart). */
export function htmlReport(doc: ResultsDoc, opts: { chartJs: string; title?: string }): string {
  const title = opts.title ?? `refsim sweep: ${doc.sweep.name}`;
  const specs = chartSpecs(doc);
  const m = doc.meta;
  const violationText = (v: Record<string, number>) => Object.entries(v).filter(([, n]) => n).map(([k, n]) => `${k}:${n}`).join(" ") || "none";
  const totals = table(["scheme", "runs", "ops", "violations", "errors", "failed expectations"],
    schemeTotals(doc).map((t) => [t.scheme, String(t.runs), String(t.ops), violationText(t.violations), String(t.errors), String(t.failed)]));
  const schemes = schemesOf(doc);
  const gs = groups(doc);
  const scen = gs.filter((g) => g.kind === "scenario");
  const scenTable = scen.length
    ? `<h2>Scenarios</h2>${table(["scenario", ...schemes], scen.map((g) => [g.subject, ...schemes.map((s) => {
        const r = g.runs[s]?.[0];
        return r ? `${r.error ? "ERROR" : r.passed ? "pass" : "FAIL"}; ${violationText(r.violations)}` : "";
      })]))}`
    : "";
  const work = gs.filter((g) => g.kind === "workload");
  const workTable = work.length
    ? `<h2>Workloads</h2><p class="meta">Over seeds: mean (min–max, standard deviation). Identifiers such as streamHash are never averaged: one value, or how many distinct.</p>${table(["workload", "params", "scheme", "seeds", "ops", "measures", "violations (total)"], work.flatMap((g) => schemes.filter((s) => g.runs[s]).map((s) => {
        const rs = g.runs[s];
        const names = [...new Set(rs.flatMap((r) => Object.keys(r.measures ?? {})))];
        const measures = names.map((k) => `${k}=${measureText(k, rs.map((r) => r.measures?.[k]).filter((x): x is number => typeof x === "number"))}`);
        const v: Record<string, number> = {};
        for (const r of rs) for (const [k, n] of Object.entries(r.violations)) v[k] = (v[k] ?? 0) + n;
        const err = rs.find((r) => r.error)?.error;
        return [g.subject, paramsText(g.params), s, String(rs.length), measureText("ops", rs.map((r) => r.ops)), measures.join(" "), violationText(v) + (err ? `; error: ${err}` : "")];
      })))}`
    : "";
  const failed = m?.failed?.length ? `<h2>Failed runs</h2>${table(["index", "run", "error"], m.failed.map((f) => [String(f.index), f.id, f.error.split("\n")[0]]))}` : "";
  const metaLine = m
    ? `refsim ${escapeHtml(m.refsim)} on ${escapeHtml(`${m.runtime?.name} ${m.runtime?.version}`)}${m.host ? ` (${escapeHtml(m.host)})` : ""}, started ${escapeHtml(m.startedAt)}, ${(m.wallMs / 1000).toFixed(2)} s wall, ${m.workers} worker(s)${m.shards?.length ? `, merged from ${m.shards.length} input(s)` : ""}`
    : "";
  const charts = specs.map((c) => `<div class="chart"><canvas id="${escapeHtml(c.id)}" aria-label="${escapeHtml(c.title)}" role="img"></canvas></div>`);
  const fixed = charts.slice(0, 2).join("");
  const series = charts.slice(2).join("");
  const data = scriptSafe(JSON.stringify(specs.map(({ id, config, coincide }) => ({ id, config, coincide }))));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${doc.runs.length} of ${doc.sweep.runs} runs · fingerprint <code>${escapeHtml(doc.sweep.fingerprint)}</code> · counters sampled every ${doc.sweep.every} ops in workload runs, after every op in scenarios<br>${metaLine}</p>
<h2>Per scheme</h2>
<div class="grid">${fixed}</div>
${totals}
${scenTable}
${workTable}
${failed}
<h2>Over time</h2>
<p class="meta">Live frames: allocated struct pages. Refcount atomics: cumulative read-modify-writes of <code>_refcount</code>. One line per scheme${gs.length > MAX_SERIES_GROUPS ? `; the first ${MAX_SERIES_GROUPS} of ${gs.length} experiments` : ""}.</p>
<div class="grid">${series}</div>
<script>${scriptSafe(opts.chartJs)}</script>
<script type="application/json" id="refsim-charts">${data}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById("refsim-charts").textContent);
  var built = [];
  specs.forEach(function (s) {
    var chart = new Chart(document.getElementById(s.id), s.config);
    var points = chart.data.datasets.reduce(function (n, d) { return n + d.data.length; }, 0);
    var styles = chart.data.datasets.map(function (d) { return { label: d.label, color: d.borderColor || d.backgroundColor, dash: d.borderDash || [], point: d.pointStyle || null }; });
    built.push({ id: s.id, type: s.config.type, datasets: chart.data.datasets.length, points: points, styles: styles, coincide: s.coincide });
  });
  window.refsimReport = { charts: built };
  document.body.dataset.charts = String(built.length);
})();
</script>
</body></html>
`;
}
