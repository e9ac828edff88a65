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
import { escapeHtml, scriptSafe } from "./html.ts";

function lines(rows: CompareRow[], y: (r: CompareRow) => number) {
  const groups = new Map<string, CompareRow[]>();
  for (const r of rows) {
    const k = `${r.scheme} ${r.counter}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  return [...groups].map(([label, rs]) => ({ label, data: rs.map((r) => ({ x: r.cpus, y: y(r) })), fill: false }));
}

export function compareHtml(rows: CompareRow[], opts: { chartJs: string; title?: string }): string {
  const title = opts.title ?? "refsim compare: counter implementations x simulated CPUs";
  const axis = (t: string, log: boolean) => ({ type: log ? "logarithmic" : "linear", title: { display: true, text: t } });
  const specs = [
    { id: "tput", config: { type: "line", data: { datasets: lines(rows, (r) => r.throughput) }, options: { animation: false, parsing: true, scales: { x: axis("simulated CPUs", false), y: axis("ops per simulated second", true) } } } },
    { id: "speedup", config: { type: "line", data: { datasets: lines(rows, (r) => r.speedup) }, options: { animation: false, scales: { x: axis("simulated CPUs", false), y: axis("speed-up over the fewest CPUs", false) } } } },
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
  JSON.parse(document.getElementById("refsim-compare").textContent).forEach(function (s) { new Chart(document.getElementById(s.id), s.config); });
})();
</script>
</body></html>
`;
}
