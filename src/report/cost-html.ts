/**
 * `refsim compare --out f.html`: the counter comparison as one self-contained HTML
 * page: throughput (ops per simulated second) and speed-up against the simulated
 * CPU count, one line per scheme x counter (Chart.js, passed in as its UMD source,
 * as htmlReport does), and the table. Cycles are a model; the page says so.
 *
 * @example
 * ```ts
 * import { compareHtml } from "./cost-html.ts";
 * const html = compareHtml([], { chartJs: "" });
 * console.log(html.includes("cost model")); // true
 * ```
 */
import type { CompareRow } from "../cost/compare.ts";
import { CYCLES_ARE_A_MODEL } from "../cost/report.ts";
import { escapeHtml, scriptSafe, coincideText } from "./html.ts";
import { seriesColor, seriesStyle, coincidences } from "./colors.ts";

/** One line per scheme x counter: the counter's fixed colour, its own dash and marker. */
function lines(rows: CompareRow[], y: (r: CompareRow) => number) {
  const groups = new Map<string, CompareRow[]>();
  for (const r of rows) {
    const k = `${r.scheme} ${r.counter}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  return [...groups].map(([label, rs], i) => ({
    label, data: rs.map((r) => ({ x: r.cpus, y: y(r) })), fill: false,
    borderColor: seriesColor(rs[0].counter), backgroundColor: seriesColor(rs[0].counter), ...seriesStyle(i),
  }));
}

/**
 * will-it-scale's CSV shape (runtest.py: one row per task count, a column per
 * series, and the linear-scaling line of the first series), throughput in ops
 * per simulated second: `tasks,E4/atomic,E4/refcache,...,linear`.
 */
export function compareCsv(rows: CompareRow[]): string {
  const series = [...new Set(rows.map((r) => `${r.scheme}/${r.counter}`))];
  const cpus = [...new Set(rows.map((r) => r.cpus))].sort((a, b) => a - b);
  const at = (s: string, n: number) => rows.find((r) => `${r.scheme}/${r.counter}` === s && r.cpus === n)?.throughput;
  const first = at(series[0], cpus[0]);
  const out = [["tasks", ...series, "linear"].join(",")];
  for (const n of cpus) out.push([n, ...series.map((s) => at(s, n)?.toFixed(0) ?? ""), first === undefined ? "" : ((first / cpus[0]) * n).toFixed(0)].join(","));
  return out.join("\n") + "\n";
}

export function compareHtml(rows: CompareRow[], opts: { chartJs: string; title?: string }): string {
  const title = opts.title ?? "refsim compare: counter implementations x simulated CPUs";
  // 1 to 128 CPUs: log axes, ticks at the CPU counts measured.
  const cpuTicks = [...new Set(rows.map((r) => r.cpus))].sort((a, b) => a - b);
  const axis = (t: string) => ({ type: "logarithmic", title: { display: true, text: t } });
  const cpuAxis = { ...axis("simulated CPUs (log)"), min: cpuTicks[0], max: cpuTicks[cpuTicks.length - 1] };
  const chart = (id: string, title: string, y: string, pick: (r: CompareRow) => number) => {
    const datasets = lines(rows, pick);
    const coincide = coincidences(datasets);
    return {
      id, coincide, ticks: cpuTicks,
      config: { type: "line", data: { datasets }, options: { animation: false, parsing: true, plugins: { title: { display: true, text: title }, subtitle: { display: coincide.length > 0, text: coincideText(coincide), color: "#a33" }, legend: { labels: { usePointStyle: true } } }, scales: { x: cpuAxis, y: axis(y) } } },
    };
  };
  const specs = [
    chart("tput", "throughput", "ops per simulated second (log)", (r) => r.throughput),
    chart("speedup", "speed-up", "speed-up over the fewest CPUs (log)", (r) => r.speedup),
  ];
  const head = ["scheme", "counter", "cpus", "ops/sim-s", "speedup", "ns/op", "atomics/op", "transfers/op", "B/page", "B/cpu", "zero delay ns", "violations"];
  const body = rows.map((r) => [r.scheme, r.counter, r.cpus, r.throughput.toExponential(3), r.speedup.toFixed(2), r.nsPerOp.toFixed(1), r.atomicsPerOp.toFixed(2),
    r.transfersPerOp.toFixed(2), r.bytesPerPage, r.bytesPerCpu, r.zeroDelayNs.toFixed(0), r.violations + r.counterViolations]
    .map((c) => `<td>${escapeHtml(String(c))}</td>`).join(""));
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}.grid{display:grid;grid-template-columns:1fr 1fr;gap:1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}.meta{color:#555}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${escapeHtml(CYCLES_ARE_A_MODEL)}. Throughput is ops per simulated second; the run's time is the largest CPU clock.</p>
<div class="grid"><div><canvas id="tput"></canvas></div><div><canvas id="speedup"></canvas></div></div>
<table><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>${body.map((b) => `<tr>${b}</tr>`).join("\n")}</table>
<script>${scriptSafe(opts.chartJs)}</script>
<script type="application/json" id="refsim-compare">${scriptSafe(JSON.stringify(specs))}</script>
<script>
(function () {
  if (typeof Chart === "undefined") return;
  var built = [];
  JSON.parse(document.getElementById("refsim-compare").textContent).forEach(function (s) {
    // Ticks only at the CPU counts measured (1, 2, 4, ..., 128), on the log axis.
    s.config.options.scales.x.afterBuildTicks = function (axis) { axis.ticks = s.ticks.map(function (v) { return { value: v }; }); };
    s.config.options.scales.x.ticks = { autoSkip: false, callback: function (v) { return String(v); } };
    var c = new Chart(document.getElementById(s.id), s.config);
    built.push({ id: s.id, coincide: s.coincide, xType: c.options.scales.x.type, yType: c.options.scales.y.type,
      styles: c.data.datasets.map(function (d) { return { label: d.label, color: d.borderColor, dash: d.borderDash, point: d.pointStyle }; }) });
  });
  window.refsimCompare = { charts: built };
  document.body.dataset.charts = String(built.length);
})();
</script>
</body></html>
`;
}
