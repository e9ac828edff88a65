// Experiments end to end on the Node side: `refsim sweep --shard i/N` on worker
// threads merges (`refsim merge`) into the same deterministic JSON as one
// unsharded run; Deno computes byte-identical results; the example experiments
// write JSON (with run metadata) and CSV; bad sweep input exits 2 with a message.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runSweep, deterministicPart, REFSIM_VERSION, RESULTS_FORMAT } from "../src/index.ts";
import { SWEEP } from "./lib/cases.ts";
import { ROOT } from "./helpers/dist.ts";
import { PLAIN_ENV } from "./helpers/cli.ts";

const TMP = join(ROOT, "tmp", "test-experiment");

function refsim(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: ROOT, encoding: "utf8", env: PLAIN_ENV });
}

function deterministic(file: string): string {
  const d = JSON.parse(readFileSync(file, "utf8"));
  delete d.meta;
  return JSON.stringify(d);
}

test.before(() => {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
});

test("refsim sweep --shard 0/2 and 1/2 (worker threads) merge into the same JSON as the unsharded sweep", () => {
  const sweep = join(TMP, "sweep.json");
  writeFileSync(sweep, JSON.stringify({
    name: "shard-merge", schemes: ["E0-devmap", "E0", "E2", "E4"], scenarios: ["seed", "coherent-wp-after-fork"],
    workloads: [
      { workload: "seed-churn", params: { rounds: [4, 8] } }, { workload: "migrate-churn", params: { pages: 16, rounds: 3, longterm: [false, true] } },
      { workload: "gpu-churn", params: { pages: 128, budget: 10000 }, capacity: { systemPages: 8192 } }, // a generator of the workload registry
    ],
    seeds: [1, 2, 3], every: 8,
  }));
  const out = (f: string) => join(TMP, f);
  for (const [args, file] of [[["--workers", "2"], "all.json"], [["--workers", "2", "--shard", "0/2"], "s0.json"], [["--workers", "1", "--shard", "1/2"], "s1.json"]] as const) {
    const r = refsim("sweep", sweep, ...args, "--out", out(file));
    assert.ok(r.status === 0, `sweep ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
  }
  let r = refsim("merge", out("s1.json"), out("s0.json"), "--out", out("merged.json"));
  assert.is(r.status, 0, r.stderr);
  const all = JSON.parse(readFileSync(out("all.json"), "utf8"));
  assert.is(all.format, RESULTS_FORMAT);
  assert.is(all.runs.length, 4 * (2 + 2 * 3 + 2 * 3 + 3));
  const gpu = all.runs.filter((x: { subject: string }) => x.subject === "gpu-churn");
  assert.ok(gpu.every((x: { error?: string; measures: { streamHash?: number } }) => !x.error && typeof x.measures.streamHash === "number"), "registry workload ran");
  const hashes = (s: string) => gpu.filter((x: { scheme: string }) => x.scheme === s).map((x: { measures: { streamHash: number } }) => x.measures.streamHash);
  assert.equal(hashes("E0"), hashes("E4"), "same op stream under every scheme for a seed");
  assert.ok(deterministic(out("merged.json")) === deterministic(out("all.json")), "merged deterministic part == unsharded, byte for byte");
  const s0 = JSON.parse(readFileSync(out("s0.json"), "utf8"));
  assert.is(s0.meta.shard, "0/2");
  assert.ok(s0.runs.every((x: { index: number }) => x.index % 2 === 0), "shard 0/2 takes the even runs");
  const merged = JSON.parse(readFileSync(out("merged.json"), "utf8"));
  assert.equal(merged.meta.shards.map((s: { shard: string }) => s.shard), ["1/2", "0/2"], "meta keeps each shard's metadata");
  assert.is(Object.keys(merged.meta.runs).length, all.runs.length, "a timing for every run");
  const csv = readFileSync(out("merged.csv"), "utf8").trimEnd().split("\n");
  assert.is(csv.length, all.runs.length + 1, "CSV: header + a row per run");

  // A shard alone is incomplete; shards of another sweep do not merge.
  r = refsim("merge", out("s0.json"), "--out", out("partial.json"));
  assert.is(r.status, 2);
  assert.match(r.stderr, /runs missing/);
  const other = join(TMP, "other.json");
  writeFileSync(other, JSON.stringify({ name: "shard-merge", schemes: ["E2"], scenarios: ["seed"] }));
  assert.is(refsim("sweep", other, "--workers", "1", "--out", out("other-results.json")).status, 0);
  r = refsim("merge", out("s0.json"), out("other-results.json"));
  assert.is(r.status, 2);
  assert.match(r.stderr, /another sweep/);
});

test("bad sweep input exits 2 and names the field", () => {
  const bad = join(TMP, "bad.json");
  writeFileSync(bad, JSON.stringify({ name: "bad", schemes: ["E2"], workloads: [{ workload: "no-such-workload" }] }));
  let r = refsim("sweep", bad);
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown workload 'no-such-workload'/);
  writeFileSync(bad, JSON.stringify({ name: "bad", schemes: ["E2"], workloads: [{ workload: "fork-cost", params: { pagez: 4 } }] }));
  r = refsim("sweep", bad);
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown param 'pagez'/);
  r = refsim("sweep", bad, "--shard", "2/2");
  assert.is(r.status, 2);
  assert.match(r.stderr, /--shard must be i\/N/);
});

test("Deno computes byte-identical results to Node's for the same sweep", async () => {
  const r = spawnSync(join(ROOT, "node_modules/.bin/deno"), ["run", "test/deno/sweep_dump.ts"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  assert.is(r.status, 0, r.stderr);
  const node = JSON.stringify(deterministicPart(await runSweep(SWEEP)));
  assert.ok(r.stdout.trim() === node, `deno and node differ:\n deno ${r.stdout.slice(0, 300)}\n node ${node.slice(0, 300)}`);
});

test("the library (src/ but the CLI and scenario/load.ts) imports no node: module", () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (rel !== "src/cli") walk(rel);
      } else if (/\.(ts|js)$/.test(e.name) && rel !== "src/scenario/load.ts" && /from\s+["']node:|import\(\s*["']node:/.test(readFileSync(join(ROOT, rel), "utf8"))) {
        offenders.push(rel);
      }
    }
  };
  walk("src");
  assert.equal(offenders, []);
});

test("REFSIM_VERSION is package.json's version", () => {
  assert.is(REFSIM_VERSION, JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
});

for (const name of ["seed-across-eras", "fork-folio-size", "migrate-churn"]) {
  test(`examples/${name}.ts --quick writes results JSON (with run metadata) and CSV`, () => {
    const dir = join(TMP, "examples");
    const r = spawnSync(process.execPath, ["--import", "tsx", `examples/${name}.ts`, "--quick", "--out", dir], { cwd: ROOT, encoding: "utf8" });
    assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const doc = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
    assert.is(doc.sweep.name, name);
    const ran = doc.runs.filter((x: { error?: string }) => !x.error);
    assert.is(ran.length, doc.runs.length, "every run ran");
    assert.ok(ran.length > 0 && ran.every((x: { scheme: string; series: { op: number[] } }) => x.scheme && x.series.op.length > 1), "runs with scheme and time series");
    assert.ok(doc.runs.some((x: { seed: number | null }) => typeof x.seed === "number"), "seeds recorded");
    assert.is(doc.meta.refsim, REFSIM_VERSION);
    assert.is(doc.meta.runtime.name, "node");
    assert.ok(doc.meta.wallMs > 0 && Object.keys(doc.meta.runs).length === doc.runs.length, "runtime metadata and per-run timings");
    assert.is(readFileSync(join(dir, `${name}.csv`), "utf8").trimEnd().split("\n").length, doc.runs.length + 1);
    if (name === "seed-across-eras") {
      const leak = (s: string) => doc.runs.find((x: { scheme: string; subject: string }) => x.scheme === s && x.subject === "seed").violations.leak_page;
      assert.is(leak("E0-devmap"), 1);
      assert.is(leak("E4"), 0);
    }
    if (name === "fork-folio-size") {
      type R = { scheme: string; params: { folio: string }; measures: Record<string, number> };
      const per = (scheme: string, folio: string) => (doc.runs as R[]).find((x) => x.scheme === scheme && x.params.folio === folio)!.measures.atomicsPerFork;
      assert.equal([per("E4", "small"), per("E4", "large"), per("E4", "large-pte"), per("E2", "large-pte")], [1024, 2, 512, 1022], "copy_huge_pmd: 2; PTE batching (E4): one ref per folio");
    }
  });
}

test.run();
