// The counter layer and cost model (assembly/cpus.ts, assembly/counters/, src/cost/):
// published shapes (perf-anchors G12a), the zero invariant, ownership outcomes
// identical under every counter (against the TypeScript model, across eras),
// batched updates, determinism and bad options.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { RefsimError } from "../src/core/errors.ts";
import { Model } from "../src/model/model.ts";
import { PRESET_NAMES } from "../src/scheme/presets.ts";
import { COUNTER_NAMES } from "../src/cost/options.ts";
import { compareCounters } from "../src/cost/compare.ts";
import { runWorkload } from "../src/workload/index.ts";
import { runDifferential, DIFF_CAPACITY } from "./differential-harness.ts";

test("G12a RadixVM page sharing, 1 -> 80 CPUs: shared counter flat, SNZI sub-linear, Refcache near-linear", async () => {
  const rows = await compareCounters({ workload: "shared-pages", cpus: [1, 10, 80, 128], counters: ["atomic", "snzi", "refcache"], ops: 30_000 });
  const at = (c: string, n: number) => rows.find((r) => r.counter === c && r.cpus === n)!;
  assert.ok(at("atomic", 80).speedup <= 1.5, `shared counter ${at("atomic", 80).speedup}x at 80`);
  assert.ok(at("snzi", 80).speedup <= 10, `SNZI ${at("snzi", 80).speedup}x at 80`);
  assert.ok(at("snzi", 80).speedup > at("atomic", 80).speedup * 2, "SNZI should beat the shared counter");
  assert.ok(at("refcache", 80).speedup >= 60, `Refcache ${at("refcache", 80).speedup}x at 80`);
  // Beyond 80: the shared counter keeps falling, SNZI keeps growing but ever slower, Refcache stays near-linear.
  assert.ok(at("atomic", 128).throughput < at("atomic", 80).throughput);
  assert.ok(at("snzi", 128).speedup > at("snzi", 80).speedup && at("snzi", 128).speedup / 128 < at("snzi", 10).speedup / 10);
  assert.ok(at("refcache", 128).speedup >= 100);
  // The counts behind the shapes: the shared counter transfers its line on every update, Refcache never.
  assert.ok(at("atomic", 80).transfersPerOp > 1 && at("atomic", 1).transfersPerOp < 0.01);
  assert.is(at("refcache", 80).atomicsPerOp, 0);
  for (const r of rows) {
    assert.is(r.violations, 0, `${r.counter} ${r.cpus}`);
    assert.is(r.counterViolations, 0, `${r.counter} ${r.cpus}`);
  }
  // Zero detection after the drain: immediate for atomic and SNZI, epochs late for Refcache.
  assert.is(at("atomic", 10).zeroDelayNs, 0);
  assert.is(at("snzi", 10).zeroDelayNs, 0);
  assert.ok(at("refcache", 10).zeroDelayEpochs >= 1 && at("refcache", 10).zerosPending === 0);
});

for (const [i, scheme] of PRESET_NAMES.entries()) {
  test(`ownership outcomes are identical under every counter: engine with the layer vs the model, every era, 8 CPUs [${scheme}]`, async () => {
    for (const counter of COUNTER_NAMES) {
      const r = await runDifferential({ scheme, seed: 0xc0 + i, ops: 4000, cpus: 8, counter, cost: { epochNs: 500, graceNs: 700 } });
      assert.ok((r.kinds.cpu ?? 0) > 0, `${scheme}/${counter}: no cpu op ran`);
      assert.ok(r.resultsCompared > 1000, `${scheme}/${counter}: ${r.resultsCompared} results`);
    }
  });
}

for (const counter of COUNTER_NAMES) {
  test(`with THPs too: every counter keeps ownership outcomes identical and never declares a false zero (E4, 8 CPUs) [${counter}]`, async () => {
    const r = await runDifferential({
      scheme: "E4", seed: 0x7f, ops: 20000, cpus: 8, counter, cost: { epochNs: 500, graceNs: 700 },
      capacity: { ...DIFF_CAPACITY, hugePages: 12, pteTables: 400 },
    });
    assert.ok(r.resultsCompared > 5000, `${counter}: ${r.resultsCompared} results`);
  });
}

test("the invariant can fail: Refcache freeing at the first zero flush (reviewEpochs 0) declares zero too early", async () => {
  const run = async (reviewEpochs: number) => {
    const e = await Engine.create({ counter: "refcache", cpus: 2, cost: { epochNs: 1000, reviewEpochs } });
    for (let round = 0; round < 20; round++) {
      e.cpu(1);
      const mm = e.mmNew();
      const a = e.mmap(mm, { length: 4096 });
      e.write(mm, a, 1);
      const child = e.fork(mm); // +1 cached on CPU 1
      e.cpu(0);
      e.exit(mm); // -1 cached on CPU 0, which ticks first
      for (let i = 0; i < 30; i++) { e.cpu(i & 1); e.read(child, a); }
      e.cpu(1);
      e.exit(child);
    }
    e.drainCounters();
    return e;
  };
  const unsafe = await run(0);
  assert.ok(unsafe.stats().violations.counter_zero > 0);
  const v = unsafe.violations().find((x) => x.kind === "counter_zero")!;
  assert.ok(v.refcount > 0, "recorded with the true count");
  const safe = await run(1); // the default
  assert.is(safe.stats().violations.counter_zero, 0);
  assert.ok(safe.cost()!.zero.detected > 0);
});

for (const counter of ["atomic", "refcache", "percpu"] as const) {
  test(`folio_ref_add(n) is one RMW: a FOLL_PIN of 1024 references costs one atomic (shared counter) or one local delta (Refcache) [${counter}]`, async () => {
    const e = await Engine.create({ counter, cpus: 2 });
    const mm = e.mmNew();
    const a = e.mmap(mm, { length: 4096 });
    e.write(mm, a, 1);
    const before = e.cost()!;
    e.gup(mm, a, { pin: true, write: true });
    const after = e.cost()!;
    assert.is(after.updates - before.updates, 1, counter);
    assert.is(after.rmws - before.rmws, counter === "atomic" ? 1 : 0, counter);
    assert.is(e.frame(e.page(mm, a)!.pfn).refcount, 1025);
  });
}

test("G12b fork of 2 MiB folios costs fewer simulated atomics per PTE than fork of 4 KiB pages (shared counter, 1 CPU)", async () => {
  const PAGE = 4096;
  const NR = 512;
  const fork = async (scheme: string, folio: "small" | "pmd" | "pte") => {
    const e = await Engine.create({ scheme, counter: "atomic", cpus: 1, capacity: { systemPages: 8192, hugePages: 4 } });
    const mm = e.mmNew();
    const a = e.mmap(mm, { addr: 0x40000000, length: 2 * NR * PAGE, huge: folio !== "small" });
    for (let i = 0; i < 2 * NR; i++) e.write(mm, a + i * PAGE, i);
    if (folio === "pte") for (const b of [0, 1]) e.madviseDontneed(mm, a + (b * NR + NR - 1) * PAGE, PAGE); // split: PTE-mapped THPs
    const pages = folio === "pte" ? 2 * (NR - 1) : 2 * NR;
    const before = e.cost()!;
    e.fork(mm);
    const after = e.cost()!;
    e.check();
    assert.equal(e.violations(), [], `${scheme} ${folio}`);
    return { rmwPerPte: (after.rmws - before.rmws) / pages, nsPerPte: (after.timeNs - before.timeNs) / pages };
  };
  const small = await fork("E4", "small");
  const pmd = await fork("E4", "pmd");
  const pteBatched = await fork("E4", "pte");
  const pteUnbatched = await fork("E2", "pte");
  assert.is(small.rmwPerPte, 1, "copy_present_ptes of 4 KiB pages: one folio_get per PTE");
  assert.is(pmd.rmwPerPte, 2 / (2 * NR), "copy_huge_pmd: one per 2 MiB folio");
  assert.is(pteBatched.rmwPerPte, 2 / (2 * (NR - 1)), "6.9 PTE batching: one folio_ref_add per folio");
  assert.is(pteUnbatched.rmwPerPte, 1, "before 6.9 a PTE-mapped THP pays per PTE");
  assert.ok(pmd.nsPerPte < small.nsPerPte && pteBatched.nsPerPte < pteUnbatched.nsPerPte, JSON.stringify({ small, pmd, pteBatched, pteUnbatched }));
});

test("cost results are deterministic: same inputs, bit-identical report", async () => {
  const once = async () => {
    const e = await Engine.create({ counter: "snzi", cpus: 16, capacity: { systemPages: 2048, devicePages: 16 } });
    runWorkload("shared-pages", e, { pages: 3 }, 1, 8000);
    e.drainCounters();
    return JSON.stringify(e.cost());
  };
  assert.is(await once(), await once());
});

test("the layer is off by default; cpus alone only bounds cpu ops", async () => {
  const e = await Engine.create();
  assert.is(e.cost(), null);
  assert.throws(() => e.cpu(1), (err: RefsimError) => err.field === "cpu");
  e.cpu(0);
  const two = await Engine.create({ cpus: 2 });
  two.cpu(1);
  assert.is(two.cost(), null);
  assert.is(two.stats().ops.cpu, 1);
});

test("bad options and unknown CPUs: RefsimError naming the field, engine still usable", async () => {
  const field = async (o: object) => Engine.create(o as never).then(() => "created", (err: RefsimError) => err.field);
  assert.is(await field({ counter: "bogus" }), "counter");
  assert.is(await field({ counter: "atomic", cpus: 0 }), "cpus");
  assert.is(await field({ counter: "atomic", cpus: 129 }), "cpus");
  assert.is(await field({ counter: "atomic", cpus: 2.5 }), "cpus");
  assert.is(await field({ counter: "atomic", cost: { bogus: 1 } }), "cost.bogus");
  assert.is(await field({ counter: "refcache", cost: { epochNs: 0 } }), "cost.epochNs");
  assert.is(await field({ counter: "snzi", cost: { snziArity: 1 } }), "cost.snziArity");
  assert.is(await field({ cost: { opNs: 1 } }), "cost");
  assert.is(await field({ counter: "snzi", cpus: 128, capacity: { systemPages: 1 << 20 } }), "counter");
  let modelField: string | undefined;
  try { Model.create({ counter: "bogus" } as never); } catch (err) { modelField = (err as RefsimError).field; }
  assert.is(modelField, "counter");
  const e = await Engine.create({ counter: "percpu", cpus: 4 });
  assert.throws(() => e.run([{ op: "cpu", cpu: 4 }]), (err: RefsimError) => err.field === "cpu" && err.op === "cpu");
  assert.throws(() => e.run([{ op: "cpu", cpu: 200 }]), (err: RefsimError) => err.field === "cpu");
  e.cpu(3);
  const mm = e.mmNew();
  e.write(mm, e.mmap(mm, { length: 4096 }), 7);
  assert.is(e.cost()!.perCpu[3].ops, 3);
});

test("compare's HTML page carries both charts' data and says cycles are a model", async () => {
  const { compareHtml } = await import("../src/report/cost-html.ts");
  const rows = await compareCounters({ cpus: [1, 4], counters: ["atomic", "refcache"], ops: 5000 });
  const html = compareHtml(rows, { chartJs: "" });
  const specs = JSON.parse(html.match(/id="refsim-compare">([^<]*)</)![1]);
  assert.is(specs.length, 2);
  assert.equal(specs[0].config.data.datasets.map((d: { label: string }) => d.label), ["E4 atomic", "E4 refcache"]);
  assert.equal(specs[1].config.data.datasets[1].data.map((p: { x: number }) => p.x), [1, 4]);
  assert.ok(html.includes("cost model"));
});

test("SpreadTarget spreads any workload's processes over the CPUs without changing its ops or outcomes", async () => {
  const { SpreadTarget } = await import("../src/cost/spread.ts");
  for (const name of ["fork-heavy", "mix", "page-fault3"]) {
    const plain = await Engine.create({ scheme: "E0-devmap" });
    const spread = await Engine.create({ scheme: "E0-devmap", counter: "refcache", cpus: 6, cost: { epochNs: 2000 } });
    const a = runWorkload(name, plain, {}, 9, 12_000);
    const b = runWorkload(name, new SpreadTarget(spread), {}, 9, 12_000);
    assert.is(b.streamHash, a.streamHash, name);
    const { cpu, ...opsB } = b.stats.ops;
    const { cpu: none, ...opsA } = a.stats.ops;
    assert.is(none, 0);
    assert.ok(cpu > 0, `${name}: no cpu op inserted`);
    assert.equal({ ...b.stats, ops: opsB }, { ...a.stats, ops: opsA }, name);
    // Violation records name the engine's op sequence number, which counts the inserted cpu ops.
    const strip = (vs: ReturnType<Engine["violations"]>) => vs.map(({ op: _op, ...v }) => v);
    assert.equal(strip(spread.violations()), strip(plain.violations()), name);
    if (name === "mix") assert.ok(plain.violations().length > 0, "mix under E0-devmap leaks");
    assert.ok(spread.cost()!.perCpu.filter((c) => c.ops > 0).length > 1, `${name}: one CPU only`);
  }
});

test.run();
