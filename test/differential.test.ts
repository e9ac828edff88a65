// Differential test: the WASM core (Engine) against the plain-TypeScript model
// (src/model/) on seeded random traces, per scheme preset. Every op's result and
// rejection, the statistics, the violation records, every frame and every mapped
// page must be identical (see test/differential-harness.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PRESET_NAMES } from "../src/scheme/presets.ts";
import { OP_CODES } from "../src/core/ops.ts";
import { Engine } from "../src/core/engine.ts";
import { RefsimError } from "../src/core/errors.ts";
import { Model } from "../src/model/model.ts";
import { runDifferential, TINY_CAPACITY, DIFF_CAPACITY } from "./differential-harness.ts";

const OPS = Number(process.env.REFSIM_DIFF_OPS ?? 100_000);

PRESET_NAMES.forEach((scheme, i) => {
  test(`differential ${scheme}: ${OPS} random ops give identical results, rejections, stats and violations`, async () => {
    const r = await runDifferential({ scheme, seed: 0x5eed + i, ops: OPS });
    assert.is(r.ops, OPS);
    assert.ok(r.resultsCompared > OPS / 2, `only ${r.resultsCompared} results compared`);
    assert.ok(r.rejected > OPS / 100, `only ${r.rejected} rejections compared`);
    for (const name of Object.keys(OP_CODES)) assert.ok((r.kinds[name] ?? 0) > 0, `op ${name} never ran`);
  });
});

test("differential under custom schemes: the historic-bug rules and odd rule mixes", async () => {
  const schemes = [
    { name: "E0-historic", base: "E0", rules: { clearMappingOnFree: false, releasePagesDevmap: false, migrateCheckDeviceRefs: false, tlbBatch: 3, writeProtectSeq: false } },
    {
      name: "E2-odd", base: "E2",
      rules: { tlbBatch: 0, pinBias: 2, swapFaultRef: "none", cowPinnedAtFork: false, coherentPte: "devmap", fsdaxPte: "devmap", idleFsdax: 1, daxScanUnmapped: false },
    },
    { name: "E1-per-page", base: "E1", rules: { pgmapRef: "per-page", anonExclusive: false, lruSkipDevice: false, tlbBatch: 4096 } },
  ];
  for (const [i, scheme] of schemes.entries()) {
    const r = await runDifferential({ scheme, seed: 900 + i, ops: Math.ceil(OPS / 4) });
    assert.ok(r.resultsCompared > OPS / 8, `${scheme.name}: only ${r.resultsCompared} results compared`);
  }
});

for (const [i, scheme] of ["E0", "E2", "E4", "E5"].entries()) {
  test(`differential with THPs: PMD mappings, splits, PTE batching, pinned folios at fork, folio splits for migration, E5 device folios [${scheme}]`, async () => {
    const r = await runDifferential({ scheme, seed: 4242 + i, ops: Math.ceil(OPS / 2), capacity: { ...DIFF_CAPACITY, hugePages: 12, pteTables: 400 } });
    assert.ok(r.resultsCompared > OPS / 8, `${scheme}: only ${r.resultsCompared} results compared`);
  });
}

for (const [i, scheme] of ["E4", "E5"].entries()) {
  test(`differential on 1 Mi frames, where the core prefetches each group of ops (assembly/prefetch.ts) [${scheme}]`, async () => {
    const thp = scheme === "E5" ? { hugePages: 12, pteTables: 400 } : {}; // E5: THPs and large device folios too
    const r = await runDifferential({ scheme, seed: 0xfe7c + i, ops: 20_000, capacity: { ...DIFF_CAPACITY, systemPages: 1 << 20, ...thp } });
    assert.ok(r.resultsCompared > 10_000, `${scheme}: only ${r.resultsCompared} results compared`);
  });
}

for (const [i, scheme] of ["E0", "E0-devmap", "E2"].entries()) {
  test(`differential with tiny capacities: every pool runs out, batches span several core calls [${scheme}]`, async () => {
    const r = await runDifferential({ scheme, seed: 77 + i, ops: 15_000, capacity: TINY_CAPACITY });
    for (const code of ["NOMEM_FRAMES", "NOMEM_TABLES", "NOMEM_MM", "NOMEM_VMA", "NOMEM_OBJECTS"]) {
      assert.ok(Object.keys(r.rejections).some((k) => k.endsWith(`:${code}`)), `${scheme}: no ${code} rejection`);
    }
  });
}

test("every registered workload generator gives the same ops, stats and violations on Engine and Model", async () => {
  // src/workload/ is another module's; skip quietly while it does not exist yet.
  let workloads: typeof import("../src/workload/index.ts");
  try {
    workloads = await import("../src/workload/index.ts");
  } catch {
    return;
  }
  const outcome = (f: () => { stats: unknown; streamHash: unknown }) => {
    try {
      const s = f();
      return { stats: s.stats, streamHash: s.streamHash };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  for (const [i, scheme] of PRESET_NAMES.entries()) {
    for (const name of workloads.WORKLOAD_NAMES) {
      const e = await Engine.create({ scheme });
      const m = Model.create({ scheme });
      const fromEngine = outcome(() => workloads.runWorkload(name, e, {}, 40 + i, 8000));
      const fromModel = outcome(() => workloads.runWorkload(name, m, {}, 40 + i, 8000));
      assert.equal(fromModel, fromEngine, `${name} under ${scheme}`);
      assert.equal(m.stats(), e.stats(), `${name} under ${scheme}`);
      assert.equal(m.violations(), e.violations(), `${name} under ${scheme}`);
    }
  }
});

test("Model.create and Model.run reject bad input exactly like Engine", async () => {
  const bad = [{ capacity: { vmas: 0 } }, { capacity: { nope: 1 } }, { capacity: { systemPages: -1 } }, { scheme: "E9" }];
  for (const options of bad) {
    const fromEngine = await Engine.create(options as never).then(() => undefined, (e: RefsimError) => e);
    let fromModel: RefsimError | undefined;
    try { Model.create(options as never); } catch (e) { fromModel = e as RefsimError; }
    assert.ok(fromEngine instanceof RefsimError);
    assert.equal({ ...fromModel, message: fromModel?.message }, { ...fromEngine, message: fromEngine.message });
  }
  const ops = [{ op: "mm_new" }, { op: "mmap", mm: 0, length: 8192 }, { op: "write", mm: 0, addr: 0x10000000, value: 1 }, { op: "mmap", mm: 0, length: 1, prot: "x" }] as never[];
  const outcome = (f: () => number[]) => { try { return f(); } catch (e) { return { ...(e as RefsimError), message: (e as Error).message }; } };
  const e = await Engine.create();
  const m = Model.create();
  assert.equal(outcome(() => m.run(ops)), outcome(() => e.run(ops)));
  assert.equal(m.stats(), e.stats());
  assert.equal(m.run([{ op: "read", mm: 0, addr: 0x10000000 }]), e.run([{ op: "read", mm: 0, addr: 0x10000000 }]));
});

test.run();
