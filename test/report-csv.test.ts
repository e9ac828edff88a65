// Issue 16 item 6: reports never average identifiers, show the spread over
// seeds, have no duplicated columns, and write CSVs that a CSV reader (pandas)
// takes as they are: the long time series and compare's will-it-scale shape.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runSweep } from "../src/experiment/sweep.ts";
import { toCsv, toSeriesCsv } from "../src/experiment/results.ts";
import { markdownSummary, measureText } from "../src/report/summary.ts";
import { compareCsv } from "../src/report/cost-html.ts";
import type { CompareRow } from "../src/cost/compare.ts";

/** RFC 4180 rows (quoted cells may hold commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n") { row.push(cell); rows.push(row); row = []; cell = ""; }
    else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

// Two seeds of the mix workload under two schemes: the op streams (and so the
// streamHash) differ between seeds, the counts differ too.
const doc = await runSweep({
  name: "spread", schemes: ["E0", "E4"], seeds: [1, 2],
  workloads: [{ workload: "mix", params: { budget: [3000] } }],
});

test("measureText: an identifier is never averaged, a measure shows mean (min–max, sd)", () => {
  assert.is(measureText("streamHash", [0x10, 0x20, 0x10]), "2 distinct");
  assert.is(measureText("streamHash", [255, 255]), "0x000000ff");
  assert.is(measureText("faults", [4, 4]), "4");
  assert.match(measureText("faults", [2, 4]), /^3 \(2–4, sd 1\.41/);
});

test("the Markdown report shows streamHash over seeds as distinct values, never as a mean", () => {
  const hashes = new Set(doc.runs.filter((r) => r.scheme === "E4").map((r) => r.measures?.streamHash));
  assert.is(hashes.size, 2, "the two seeds' streams differ");
  const md = markdownSummary(doc);
  assert.match(md, /2 distinct/);
  const mean = [...hashes].reduce((a, b) => a! + b!, 0)! / 2;
  assert.not.ok(md.includes(String(mean)) || md.includes(`0x${(mean >>> 0).toString(16)}`), "a hash's mean is printed");
});

test("the results CSV has one column per name and one row per run", () => {
  const rows = parseCsv(toCsv(doc));
  const head = rows[0];
  assert.is(new Set(head).size, head.length, `duplicated columns in ${head.join(",")}`);
  assert.is(rows.length - 1, doc.runs.length);
  for (const r of rows.slice(1)) assert.is(r.length, head.length);
  assert.ok(head.includes("measure.streamHash"));
});

test("the long time-series CSV: one row per run and sample, every row as wide as the header", () => {
  const rows = parseCsv(toSeriesCsv(doc));
  const head = rows[0];
  assert.equal(head.slice(0, 8), ["index", "id", "kind", "subject", "scheme", "seed", "params", "op"]);
  assert.ok(head.includes("liveFrames") && head.includes("violations"));
  const samples = doc.runs.reduce((n, r) => n + r.series.op.length, 0);
  assert.ok(samples > doc.runs.length, "each run has several samples");
  assert.is(rows.length - 1, samples);
  for (const r of rows.slice(1)) assert.is(r.length, head.length);
  // params is JSON in one cell (it holds commas), and reads back.
  assert.equal(JSON.parse(rows[1][head.indexOf("params")]), doc.runs[0].params);
  // Within a run, ops only grow.
  const op = head.indexOf("op"), id = head.indexOf("id");
  for (let i = 2; i < rows.length; i++) if (rows[i][id] === rows[i - 1][id]) assert.ok(+rows[i][op] >= +rows[i - 1][op]);
});

test("compare --csv is will-it-scale's shape: tasks, one column per scheme/counter, linear from the first", () => {
  const row = (scheme: string, counter: string, cpus: number, throughput: number) =>
    ({ scheme, counter, cpus, ops: 1000, throughput, speedup: 1, nsPerOp: 1, atomicsPerOp: 1, transfersPerOp: 0 }) as unknown as CompareRow;
  const csv = compareCsv([row("E4", "atomic", 1, 100), row("E4", "atomic", 4, 250), row("E4", "percpu", 1, 90), row("E4", "percpu", 4, 360)]);
  assert.equal(parseCsv(csv), [["tasks", "E4/atomic", "E4/percpu", "linear"], ["1", "100", "90", "100"], ["4", "250", "360", "400"]]);
});

test.run();
