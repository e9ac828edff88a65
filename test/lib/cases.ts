// The library test subset that runs unchanged under Node (test/library.test.ts,
// uvu) and Deno (test/deno/library_test.ts, `deno test`): only the library entry
// and web-standard APIs, no node: imports, a tiny assert of its own.
import {
  Engine, parseScenario, runScenario, sideBySide, runSweep, mergeResults, deterministicPart, toCsv, SamplingTarget,
  scenarioTimeline, markdownSummary, htmlReport, chartSpecs, runtimeInfo, parseShard, type Scenario, type SweepSpec,
} from "../../src/index.ts";
import seed from "../../scenarios/seed.json" with { type: "json" };

export interface Case {
  name: string;
  fn: () => Promise<void> | void;
}

function ok(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

function same(a: unknown, b: unknown, msg: string): void {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  if (x !== y) throw new Error(`assertion failed: ${msg}\n  got:  ${x.slice(0, 400)}\n  want: ${y.slice(0, 400)}`);
}

export const SWEEP: SweepSpec = {
  name: "lib-subset",
  schemes: ["E0-devmap", "E0", "E2"],
  scenarios: [seed as Scenario],
  workloads: [{ workload: "seed-churn", params: { rounds: [3, 6] } }, { workload: "migrate-churn", params: { pages: 16, rounds: 2, longterm: [false, true] } }],
  seeds: [1, 2],
  every: 4,
};

export const cases: Case[] = [
  {
    name: "Engine: the seed question through the API (E0-devmap leaks page and BO, E2 frees both)",
    async fn() {
      for (const [scheme, leaks] of [["E0-devmap", true], ["E2", false]] as const) {
        const e = await Engine.create({ scheme });
        const mm = e.mmNew();
        const addr = e.mmap(mm, { length: 4096 });
        e.write(mm, addr, 7);
        const bo = e.migrateToDevice(mm, addr, 4096, e.driverNew("device-coherent", 4));
        e.munmap(mm, addr, 4096);
        e.teardown();
        same(e.bo(bo).state, leaks ? "live" : "freed", `${scheme}: BO state`);
        same(e.violations().map((v) => v.kind), leaks ? ["leak_page", "leak_bo"] : [], `${scheme}: violations`);
      }
    },
  },
  {
    name: "scenarios: the built-in seed scenario holds its expectations under its schemes; the table shows the leak",
    async fn() {
      const loaded = parseScenario(JSON.stringify(seed), "seed.json");
      const names = (seed.schemes as string[]);
      const runs = [];
      for (const s of names) runs.push(await runScenario(loaded, s, names));
      ok(runs.every((r) => r.passed), `every scheme passes: ${runs.map((r) => `${r.scheme}:${r.passed}`).join(" ")}`);
      const table = sideBySide(runs);
      ok(table.includes("E0-devmap") && table.includes("leak_page"), "side-by-side names the leak");
    },
  },
  {
    name: "SamplingTarget: samples land on exact multiples of the period, however ops are batched",
    async fn() {
      const t = new SamplingTarget(await Engine.create({ scheme: "E4" }), 3);
      const [mm] = t.run([{ op: "mm_new" }]);
      const [vpn] = t.run([{ op: "mmap", mm, length: 8 * 4096 }]);
      t.run(Array.from({ length: 8 }, (_, i) => ({ op: "write" as const, mm, addr: (vpn + i) * 4096, value: i })));
      const s = t.finish();
      same(s.op, [0, 3, 6, 9, 10], "sample points");
      same(s.liveFrames, [0, 1, 4, 7, 8], "live frames at the samples");
      ok(s.refcountAtomics.every((x, i) => i === 0 || x >= s.refcountAtomics[i - 1]), "refcount atomics are cumulative");
    },
  },
  {
    name: "scenarioTimeline: one sample per op, tied to its step; live frames fall at munmap except under E0-devmap",
    async fn() {
      const loaded = parseScenario(JSON.stringify(seed), "seed.json");
      const devmap = await scenarioTimeline(loaded, "E0-devmap");
      const e2 = await scenarioTimeline(loaded, "E2");
      same(devmap.op.length, e2.op.length, "same op count");
      ok(devmap.steps.length === devmap.op.length && devmap.steps[0] === -1, "steps align with samples");
      ok(devmap.liveFrames[devmap.liveFrames.length - 1] > 0, "E0-devmap ends with a live (leaked) frame");
      same(e2.liveFrames[e2.liveFrames.length - 1], 0, "E2 ends with no live frame");
    },
  },
  {
    name: "runSweep: shards 0/2 and 1/2 merge into exactly the unsharded results (deterministic part)",
    async fn() {
      const whole = await runSweep(SWEEP);
      same(whole.runs.length, 3 * (1 + 2 * 2 + 2 * 2), "runs: schemes x (scenario + workloads x params x seeds)");
      const a = await runSweep(SWEEP, { shard: parseShard("0/2") });
      const b = await runSweep(SWEEP, { shard: parseShard("1/2") });
      ok(a.runs.length + b.runs.length === whole.runs.length && a.runs.length > 0 && b.runs.length > 0, "shards split the runs");
      const merged = mergeResults([b, a]);
      ok(merged.complete, "merged is complete");
      same(JSON.parse(JSON.stringify(deterministicPart(merged))), JSON.parse(JSON.stringify(deterministicPart(whole))), "merged == unsharded");
      let threw = false;
      try {
        mergeResults([a]);
      } catch {
        threw = true;
      }
      ok(threw, "merging one shard alone is refused as incomplete");
    },
  },
  {
    name: "runSweep: results depend only on scheme, params and seed (a rerun is identical; seeds differ)",
    async fn() {
      const spec = { ...SWEEP, scenarios: [], workloads: [SWEEP.workloads![0]] };
      const x = deterministicPart(await runSweep(spec));
      const y = deterministicPart(await runSweep(spec));
      same(x, y, "rerun");
      const s1 = x.runs.find((r) => r.seed === 1 && r.scheme === "E0-devmap" && r.params.rounds === 6)!;
      const s2 = x.runs.find((r) => r.seed === 2 && r.scheme === "E0-devmap" && r.params.rounds === 6)!;
      ok(s1.violations.leak_page > 0, "E0-devmap leaks in seed-churn");
      ok(JSON.stringify(s1.series) !== JSON.stringify(s2.series), "different seeds, different runs");
    },
  },
  {
    name: "results: CSV has a header and one row per run; Markdown and chart specs carry data",
    async fn() {
      const doc = await runSweep({ ...SWEEP, seeds: [1] });
      const lines = toCsv(doc).trimEnd().split("\n");
      same(lines.length, doc.runs.length + 1, "CSV rows");
      ok(lines[0].startsWith("index,id,kind,subject,scheme,seed,") && lines[0].includes("violations.leak_page"), "CSV header");
      const md = markdownSummary(doc);
      ok(md.startsWith("# refsim sweep: lib-subset") && md.includes("| E0-devmap |"), "Markdown summary");
      const specs = chartSpecs(doc);
      ok(specs.length >= 4 && specs.some((s) => s.id === "violations-by-kind") && specs.some((s) => s.id === "throughput"), "chart kinds");
      const points = (c: unknown) => (c as { data: { datasets: { data: unknown[] }[] } }).data.datasets.reduce((n, d) => n + d.data.length, 0);
      ok(specs.every((s) => points(s.config) > 0), "every chart has data");
      const html = htmlReport(doc, { chartJs: "/* chart */" });
      ok(html.startsWith("<!doctype html>") && html.includes('id="live-frames-0"'), "HTML report");
      same(doc.meta.runtime.name, runtimeInfo().name, "meta names this runtime");
      ok(runtimeInfo().name !== "unknown", "runtime detected");
    },
  },
];
