// The generators inside the core (assembly/workload_*.ts: page-fault1, page-fault3, mmap1, fork-heavy,
// shared-pages, gpu-churn and rdma-pins' main loops, mix's whole run) issue exactly the op stream of their TypeScript twins: the same records in the same order,
// the same stream hash, the same results, stats and violations. Each case runs the workload twice on
// fresh engines, once with the TypeScript generator (generator "js") and once picked transparently
// (the core's), recording every record the engine ran either way (the encoder's runEncoded calls and
// the core's batches), and compares; the model, which always runs the TypeScript generator, must
// agree with both. Small batches and odd budgets put batch ends mid-round and leave partial rounds.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine, type EngineOptions } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { OP_WORDS, OP_EXIT, OP_UNPIN } from "../assembly/abi.ts";
import { fnvWords, FNV_OFFSET } from "../src/trace/format.ts";
import { runWorkload, type RunOptions } from "../src/workload/index.ts";
import { ProgressTarget } from "../src/cli/progress.ts";
import { MIX_KINDS } from "../src/workload/mix.ts";
import * as mixKinds from "../assembly/workload_mix_kinds.ts";

interface Case { name: string; params: Record<string, unknown>; seed: number; budget: number; engine?: EngineOptions }

const CASES: Case[] = [
  { name: "page-fault1", params: {}, seed: 1, budget: 50_000 },
  { name: "page-fault1", params: { tasks: 3, pages: 5 }, seed: 7, budget: 1_003 },
  { name: "page-fault1", params: { tasks: 1, pages: 1 }, seed: 12345, budget: 999 },
  { name: "page-fault1", params: { tasks: 2, pages: 700 }, seed: 0xffffffff, budget: 20_011, engine: { scheme: "E0", capacity: { batch: 97 } } },
  { name: "page-fault1", params: { tasks: 4, pages: 33 }, seed: 3, budget: 13 }, // the smallest budget: setup, one step (the mmaps), drain
  { name: "page-fault1", params: { tasks: 2, pages: 40 }, seed: 5, budget: 5_000, engine: { scheme: "E4", counter: "refcache", cpus: 4 } },
  { name: "page-fault3", params: {}, seed: 7, budget: 50_000 },
  { name: "page-fault3", params: { tasks: 3, pages: 9 }, seed: 2, budget: 2_221, engine: { scheme: "E2", capacity: { batch: 64 } } },
  { name: "page-fault3", params: { tasks: 1, pages: 1 }, seed: 9, budget: 77 },
  { name: "mmap1", params: {}, seed: 1, budget: 50_000 },
  { name: "mmap1", params: { tasks: 3, pages: 1 }, seed: 4, budget: 1_000, engine: { scheme: "E1", capacity: { batch: 5 } } },
  { name: "mmap1", params: { tasks: 1 }, seed: 4, budget: 5 }, // the smallest budget: setup, one round, drain
  { name: "fork-heavy", params: {}, seed: 1, budget: 50_000 },
  { name: "fork-heavy", params: { pages: 300, children: 3, burst: 5 }, seed: 7, budget: 3_001, engine: { scheme: "E2", capacity: { batch: 64 } } },
  { name: "fork-heavy", params: { pages: 64, children: 1, childWrites: 0, childReads: 0 }, seed: 11, budget: 700, engine: { scheme: "E1", capacity: { batch: 5 } } }, // a child's turn is its exit
  { name: "fork-heavy", params: { pages: 100, burst: 200, parentShare: 0.5 }, seed: 0xffffffff, budget: 20_011, engine: { scheme: "E0", capacity: { batch: 97 } } }, // a turn spans batches
  { name: "fork-heavy", params: { pages: 1024, huge: true }, seed: 3, budget: 20_000, engine: { scheme: "E4", capacity: { hugePages: 2 } } }, // THPs: fork shares PMDs, a child write splits one
  { name: "fork-heavy", params: { pages: 200, children: 2 }, seed: 5, budget: 10_000, engine: { scheme: "E4", capacity: { processes: 4 } } }, // 2 forks, then the parent alone
  { name: "fork-heavy", params: { pages: 500, parentShare: 1 }, seed: 6, budget: 5_000 },
  { name: "fork-heavy", params: { pages: 500, parentShare: 0, childWrites: 0.1 }, seed: 8, budget: 5_000, engine: { scheme: "E3", capacity: { batch: 64 } } },
  { name: "fork-heavy", params: { pages: 400, children: 3 }, seed: 2, budget: 8_000, engine: { scheme: "E4", counter: "refcache", cpus: 4 } },
  { name: "fork-heavy", params: { pages: 10 }, seed: 9, budget: 81 }, // the smallest budget: setup, one step, drain
  { name: "shared-pages", params: {}, seed: 1, budget: 50_000, engine: { scheme: "E4", counter: "refcache", cpus: 4 } },
  { name: "shared-pages", params: {}, seed: 1, budget: 20_000 },
  { name: "shared-pages", params: { cpus: 3, pages: 7 }, seed: 2, budget: 1_001, engine: { scheme: "E2", counter: "percpu", cpus: 4, capacity: { batch: 5 } } },
  { name: "shared-pages", params: { cpus: 2, pages: 1 }, seed: 3, budget: 24, engine: { scheme: "E0", cpus: 2 } }, // the smallest budget
  { name: "gpu-churn", params: {}, seed: 1, budget: 50_000 },
  { name: "gpu-churn", params: { kind: "device-coherent" }, seed: 1, budget: 30_000, engine: { scheme: "E0-devmap" } }, // devmap PTEs leak every device page
  { name: "gpu-churn", params: { kind: "device-private", processes: 2, pages: 64, chunk: 8, touch: 11 }, seed: 3, budget: 5_001, engine: { scheme: "E1", capacity: { batch: 5 } } }, // a touch turn spans batches
  { name: "gpu-churn", params: { processes: 3, pages: 96, chunk: 32, devicePages: 40, evictFirst: 0.5 }, seed: 7, budget: 7_777, engine: { scheme: "E2", capacity: { batch: 64 } } }, // full drivers evict or over-commit
  { name: "gpu-churn", params: { processes: 4, pages: 32, chunk: 16, weights: { respawn: 5 } }, seed: 0xffffffff, budget: 3_000, engine: { scheme: "E3", capacity: { processes: 12, batch: 3 } } }, // respawns paced to 8 mm ids, mm_new mid-batch
  { name: "gpu-churn", params: { processes: 2, pages: 128, weights: { respawn: 3, remap: 2 } }, seed: 5, budget: 4_000, engine: { scheme: "E4", capacity: { batch: 1 } } }, // a batch per op
  { name: "gpu-churn", params: { processes: 3, pages: 256 }, seed: 2, budget: 8_000, engine: { scheme: "E4", counter: "refcache", cpus: 4 } },
  { name: "gpu-churn", params: { processes: 2, pages: 128, chunk: 16 }, seed: 9, budget: 10_000, engine: { scheme: "E4", capacity: { bufferObjects: 10 } } }, // BOs paced: 9 migrations
  { name: "gpu-churn", params: { devicePages: 16, evictFirst: 0, weights: { read: 0, write: 0, zap: 0, remap: 0, respawn: 0 } }, seed: 4, budget: 6_000, engine: { scheme: "E2" } }, // migrations fail for want of device pages
  { name: "gpu-churn", params: { populate: 0, processes: 2, pages: 64, weights: { zap: 4, remap: 3 } }, seed: 6, budget: 9_999, engine: { scheme: "E1", capacity: { batch: 97 } } },
  { name: "gpu-churn", params: { processes: 1, pages: 4, chunk: 2, kind: "device-coherent" }, seed: 8, budget: 15 }, // the smallest budget: setup, one turn, drain
  { name: "rdma-pins", params: {}, seed: 1, budget: 50_000 },
  { name: "rdma-pins", params: { kind: "device-private" }, seed: 5, budget: 40_000, engine: { scheme: "E0" } },
  { name: "rdma-pins", params: { processes: 2, pinners: 1, pages: 64, chunk: 8, touch: 11, mrPages: 7, maxPins: 21 }, seed: 3, budget: 5_001, engine: { scheme: "E2", capacity: { batch: 5 } } }, // pins and turns span batches
  { name: "rdma-pins", params: { processes: 2, pages: 32, chunk: 16, mrPages: 4, maxPins: 8, childWrites: 3 }, seed: 0xffffffff, budget: 3_000, engine: { scheme: "E1", capacity: { batch: 1 } } }, // a batch per op
  { name: "rdma-pins", params: { processes: 3, pages: 256 }, seed: 2, budget: 8_000, engine: { scheme: "E4", counter: "refcache", cpus: 4 } },
  { name: "rdma-pins", params: { processes: 3, pages: 128, weights: { fork: 3, migrate: 6 } }, seed: 6, budget: 9_000, engine: { scheme: "E3", capacity: { bufferObjects: 5, processes: 10, batch: 97 } } }, // BOs and forks paced
  { name: "rdma-pins", params: { mrPages: 16, weights: { register: 5, deregister: 5 } }, seed: 7, budget: 12_000, engine: { scheme: "E5", capacity: { batch: 64 } } }, // deregistrations of pins still in the batch
  { name: "rdma-pins", params: { kind: "device-private", devicePages: 64, weights: { migrate: 8, register: 4, dontneed: 2 } }, seed: 9, budget: 20_000, engine: { scheme: "E1-5.18" } }, // pins of device-private pages fault them back, some fail
  { name: "rdma-pins", params: { pages: 512, maxPins: 48, mrPages: 16, childWrites: 0, touch: 3 }, seed: 4, budget: 7_777, engine: { scheme: "E0-devmap", capacity: { batch: 3 } } },
  { name: "rdma-pins", params: { processes: 1, pinners: 1, pages: 4, chunk: 2, mrPages: 2, maxPins: 2, childWrites: 0, touch: 1 }, seed: 8, budget: 14 }, // the smallest budget
  { name: "rdma-pins", params: { processes: 2, pages: 64, mrPages: 1, maxPins: 4, weights: { register: 6, deregister: 6 } }, seed: 10, budget: 6_000, engine: { scheme: "E4", capacity: { batch: 64 } } }, // a region's one pin in the batch at its deregistration
  { name: "rdma-pins", params: { processes: 1, pinners: 1, pages: 64, mrPages: 1, maxPins: 3, touch: 1, childWrites: 0, weights: { register: 9, deregister: 1, read: 1, migrate: 0, evict: 0, fork: 0, write: 0, dontneed: 0 } }, seed: 24, budget: 301, engine: { scheme: "E2", capacity: { batch: 5 } } }, // the loop ends with a pin in the batch
  // mix: setup, loop, drain and check all in the core; results read back (mm ids, mmap(-1), files, drivers, BOs, GUP handles)
  { name: "mix", params: {}, seed: 1, budget: 40_000 },
  { name: "mix", params: { ratios: { fork: 4, gup: 12, unpin: 3, dma_write: 5 } }, seed: 7, budget: 20_000, engine: { scheme: "E2" } }, // fork copies, handles collected
  { name: "mix", params: { maxMigratePages: 8 }, seed: 3, budget: 20_000, engine: { scheme: "E0", capacity: { systemPages: 2048 } } }, // memory pressure: counters read, freeing kinds only
  { name: "mix", params: { maxMigratePages: 4, ratios: { unpin: 0, munmap: 0.1, exit: 0, madvise_dontneed: 0.1, drop_cache: 0, migrate_to_device: 0, truncate: 0 } }, seed: 3, budget: 40_000, engine: { scheme: "E1", capacity: { systemPages: 1024 } } }, // stops early: nothing left to free
  { name: "mix", params: { ratios: { truncate: 5, migrate_to_device: 8, evict_bo: 4, migrate_to_ram: 6, driver_teardown: 0.2, teardown: 0.05 }, boReuse: 0.7 }, seed: 5, budget: 20_000, engine: { scheme: "E1-5.18" } }, // BOs reused and evicted at once
  { name: "mix", params: { hintRatio: 0.9, fileRatio: 0.6 }, seed: 2, budget: 3_000, engine: { scheme: "E3", capacity: { batch: 1 } } }, // a batch per op
  { name: "mix", params: { ratios: { gup: 10, dma_write: 6 } }, seed: 2, budget: 5_003, engine: { scheme: "E4", capacity: { batch: 3 } } }, // handles ready before their batch ran
  { name: "mix", params: { ratios: { fork: 3, mm_new: 2, exit: 2 }, maxProcesses: 5, maxVmas: 3 }, seed: 11, budget: 997, engine: { scheme: "E5", capacity: { batch: 64 } } },
  { name: "mix", params: { maxPins: 5, arenaPages: 64, maxMapPages: 17 }, seed: 9, budget: 12_345, engine: { scheme: "E0-devmap", capacity: { batch: 97 } } },
  { name: "mix", params: {}, seed: 4, budget: 11 }, // the smallest budget: setup, check and drain
  { name: "mix", params: { hintRatio: 0, ratios: { gup: 12, unpin: 4, dma_write: 6, fork: 0, mm_new: 0, migrate_to_device: 0, evict_bo: 0, file_new: 0, driver_new: 0 } }, seed: 12, budget: 30_000, engine: { scheme: "E2", capacity: { batch: 3000 } } }, // no result ops: the encoder's full 1024-op chunk flushes inside the core's batch, handles ready before their batch ran
  { name: "mix", params: { ratios: { fork: 2, gup: 8 } }, seed: 6, budget: 15_000, engine: { scheme: "E4", counter: "refcache", cpus: 4 } },
];

/** Ops a case runs outside the core's generator, before it (setup) and after it (drain); fork-heavy's drain: 2 + its live children. */
function outside(c: Case, drainChildren: number): number {
  if (c.name === "mix") return 0; // all of it in the core
  const tasks = (c.params.tasks as number | undefined) ?? 4;
  if (c.name === "page-fault3") return 4 * tasks + 1;
  if (c.name === "fork-heavy") return 2 + drainChildren + 2; // mm_new, mmap; the children's exits, the parent's, check
  if (c.name === "gpu-churn") {
    const procs = (c.params.processes as number | undefined) ?? 8;
    return (c.params.kind === "both" || c.params.kind === undefined ? 2 : 1) + 2 * procs + 1; // driver_new and mm_new; exit each, check
  }
  if (c.name === "rdma-pins") return 2 + 2 * ((c.params.processes as number | undefined) ?? 6); // driver_new and mm_new; exit each, check
  if (c.name === "shared-pages") {
    const cpus = (c.params.cpus as number | undefined) || (c.engine?.cpus ?? 1);
    return 2 + 2 * cpus + 2 * cpus + 3; // cpu, file_new, cpu + mm_new each; cpu + exit each, cpu, drop_cache, check
  }
  return 2 * tasks + 1;
}

/** Every op record `e` runs during f, in order: the encoder's runEncoded calls and the core generator's batches. */
function recorded(e: Engine, f: (options: RunOptions) => unknown, options: RunOptions): { words: Int32Array; out: unknown; after: Int32Array } {
  const parts: Int32Array[] = [];
  let lastCore = -1; // the part of the core's last batch
  const runEncoded = e.runEncoded.bind(e);
  // an own property over the prototype's method: the target is still an Engine, so "auto" picks the core
  e.runEncoded = (w, n) => { parts.push(w.slice(0, n * OP_WORDS)); return runEncoded(w, n); };
  const out = f({ ...options, onCoreBatch: (w, n) => { lastCore = parts.length; parts.push(w.slice(0, n * OP_WORDS)); } });
  const join = (ps: Int32Array[]) => {
    const words = new Int32Array(ps.reduce((k, p) => k + p.length, 0));
    let at = 0;
    for (const p of ps) { words.set(p, at); at += p.length; }
    return words;
  };
  // the records after the core's generator (the drain), when it ran
  return { words: join(parts), out, after: join(lastCore < 0 ? [] : parts.slice(lastCore + 1)) };
}

for (const c of CASES) {
  const label = `${c.name} ${JSON.stringify(c.params)} seed ${c.seed} budget ${c.budget}${c.engine ? ` ${JSON.stringify(c.engine)}` : ""}`;
  test(`in-core generator = TypeScript generator: ${label}`, async () => {
    const ts = await Engine.create(c.engine ?? { scheme: "E4" });
    const core = await Engine.create(c.engine ?? { scheme: "E4" });
    let coreOps = 0;
    const a = recorded(ts, (o) => runWorkload(c.name, ts, c.params, c.seed, c.budget, o), { generator: "js" });
    const b = recorded(core, (o) => runWorkload(c.name, core, c.params, c.seed, c.budget, {
      ...o, onCoreBatch: (w, n) => { coreOps += n; o.onCoreBatch!(w, n); },
    }), {});
    const sa = a.out as ReturnType<typeof runWorkload>;
    const sb = b.out as ReturnType<typeof runWorkload>;
    // the core ran the whole main loop: every op but the setup and the drain (mm_new / file_new, exit / drop_cache, check)
    const drain = b.after.length / OP_WORDS;
    if (c.name === "fork-heavy") {
      // its drain: an exit of each live child, the parent's exit, check
      const children = (c.params.children as number | undefined) ?? 2;
      assert.ok(drain >= 2 && drain <= children + 2, `fork-heavy drain of ${drain} ops`);
      for (let i = 0; i < drain - 1; i++) assert.is(b.after[i * OP_WORDS], OP_EXIT, "the drain's exits");
    }
    assert.is(coreOps, sb.ops - outside(c, drain - 2), "ops the core's generator ran");
    assert.is(b.words.length, a.words.length, "records");
    const firstDiff = a.words.findIndex((w, i) => w !== b.words[i]);
    assert.is(firstDiff, -1, firstDiff < 0 ? "" : `first different record: ${Math.floor(firstDiff / OP_WORDS)} ` +
      `(ts ${a.words.subarray(firstDiff - (firstDiff % OP_WORDS), firstDiff - (firstDiff % OP_WORDS) + OP_WORDS).join(",")}, ` +
      `core ${b.words.subarray(firstDiff - (firstDiff % OP_WORDS), firstDiff - (firstDiff % OP_WORDS) + OP_WORDS).join(",")})`);
    assert.is(sb.streamHash, sa.streamHash, "streamHash");
    assert.is(sb.streamHash, fnvWords(b.words, b.words.length, FNV_OFFSET), "streamHash is FNV-1a of the records run");
    assert.is(sb.ops, sa.ops, "ops");
    assert.is(sb.ops * OP_WORDS, b.words.length, "ops = records run");
    assert.equal(sb.stats, sa.stats, "stats");
    assert.equal(core.stats(), ts.stats(), "engine stats");
    assert.equal(core.violations(), ts.violations(), "violations");
    assert.equal(core.cost(), ts.cost(), "counter layer");
    assert.equal({ ...sb, elapsedMs: 0, opsPerSec: 0 }, { ...sa, elapsedMs: 0, opsPerSec: 0 }, "summary");
    // the model runs the TypeScript generator's ops and agrees
    const m = Model.create(c.engine ?? { scheme: "E4" });
    const sm = runWorkload(c.name, m, c.params, c.seed, c.budget);
    assert.is(sm.streamHash, sb.streamHash, "model streamHash");
    assert.equal(m.stats(), core.stats(), "model stats");
    assert.equal(m.violations(), core.violations(), "model violations");
  });
}

test("the core's generator is chosen only on a plain Engine; a wrapper gets the TypeScript one", async () => {
  const e = await Engine.create({ scheme: "E4" });
  let calls = 0;
  const spy = { runEncoded: (w: Int32Array, n: number) => { calls += n; return e.runEncoded(w, n); }, stats: () => e.stats(), violations: () => e.violations(), capacity: e.capacity };
  const s = runWorkload("page-fault1", spy, { tasks: 2, pages: 10 }, 1, 500);
  assert.is(calls, s.ops, "every op through runEncoded");
  const f = await Engine.create({ scheme: "E4" });
  let seen = 0;
  const orig = f.runEncoded.bind(f);
  f.runEncoded = (w, n) => { seen += n; return orig(w, n); };
  const t = runWorkload("page-fault1", f, { tasks: 2, pages: 10 }, 1, 500);
  assert.is(t.streamHash, s.streamHash);
  assert.is(seen, 2 + 3, "only setup (2 mm_new) and drain (2 exits, check) through runEncoded");
});

test("refsim workload's progress line names its Engine: the core's generator runs under it and every op is counted", async () => {
  const e = await Engine.create({ scheme: "E4" });
  const line = new ProgressTarget(e, 20_000, "page-fault1", false);
  let viaEncoder = 0;
  const orig = e.runEncoded.bind(e);
  e.runEncoded = (w, n) => { viaEncoder += n; return orig(w, n); };
  let core = 0;
  const s = runWorkload("page-fault1", line, { tasks: 2, pages: 300 }, 4, 20_000, { onCoreBatch: (_w, n) => { core += n; } });
  line.end();
  assert.is(viaEncoder, 5, "only setup and drain through runEncoded");
  assert.is(core, s.ops - 5);
  const ref = runWorkload("page-fault1", await Engine.create({ scheme: "E4" }), { tasks: 2, pages: 300 }, 4, 20_000, { generator: "js" });
  assert.is(s.streamHash, ref.streamHash);
  assert.equal(s.stats, ref.stats);
  // a wrapper of a wrapper: the model has no Engine to name, so the TypeScript generator runs
  assert.is(new ProgressTarget(Model.create(), 1, "m", false).coreEngine(), null);
});

test("a rejected op of the core's generator throws RefsimError naming the op and leaves the ops before it applied", async () => {
  const e = await Engine.create({ scheme: "E4" });
  const mm = e.run([{ op: "mm_new" }])[0];
  // mm + 5 was never made: the generator's first op, an mmap, is rejected (ERR_BAD_MM)
  assert.throws(() => e.runCoreWorkload({ kind: "page-fault", tasks: 1, pages: 4, at: 0x10000, flags: 11, mm0: mm + 5, file0: -1, seed: 1 }, 12, 0),
    (err: Error) => err.name === "RefsimError" && /mmap/.test(err.message));
  assert.is(e.opsExecuted, 1, "nothing of the rejected op ran");
  assert.throws(() => e.runCoreWorkload({ kind: "mmap1", tasks: 0, pages: 4, at: 0x10000, flags: 11, mm0: mm }, 12, 0),
    (err: Error) => err.name === "RefsimError" && (err as Error & { field?: string }).field === "tasks" && /mmap1 tasks is out of range, got 0/.test(err.message));
  assert.throws(() => e.runCoreWorkload({ kind: "page-fault", tasks: 1, pages: 0, at: 0x10000, flags: 11, mm0: mm, file0: -1, seed: 1 }, 12, 0),
    (err: Error) => err.name === "RefsimError" && (err as Error & { field?: string }).field === "pages" && /page-fault pages is out of range, got 0/.test(err.message));
  assert.throws(() => e.runCoreWorkload({ kind: "mmap1", tasks: 1, pages: 4, at: 0x10000, flags: 11, mm0: mm }, -1, 0),
    (err: Error) => err.name === "RefsimError" && /ops/.test(err.message));
  assert.throws(() => e.runCoreWorkload({ kind: "nope" } as never, 12, 0), (err: Error) => err.name === "RefsimError" && /kind/.test(err.message));
  assert.is(e.opsExecuted, 1);
});

test("the core's fork-heavy and shared-pages refuse arguments they cannot work with, naming the field, before any op", async () => {
  const e = await Engine.create({ scheme: "E4" });
  const mm = e.run([{ op: "mm_new" }])[0];
  const field = (f: string, re: RegExp) => (err: Error) => err.name === "RefsimError" && (err as Error & { field?: string }).field === f && re.test(err.message);
  const fork = { kind: "fork-heavy", children: 2, pages: 4, at: 0x10000, mm0: mm, burst: 4, slots: 2, quotaW: 1, quotaR: 1, parentShare: 0.5, budget: 100, before: 0, seed: 1 } as const;
  assert.throws(() => e.runCoreWorkload({ ...fork, burst: 0 }, 12, 0), field("burst", /fork-heavy burst is out of range, got 0/));
  assert.throws(() => e.runCoreWorkload({ ...fork, slots: -1 }, 12, 0), field("slots", /fork-heavy slots is out of range, got -1/));
  assert.throws(() => e.runCoreWorkload({ ...fork, children: 0 }, 12, 0), field("children", /fork-heavy children is out of range, got 0/));
  const shared = { kind: "shared-pages", cpus: 1, pages: 4, at: 0x10000, flags: 11, mm0: mm } as const;
  assert.throws(() => e.runCoreWorkload({ ...shared, file: -1 }, 12, 0), field("file", /shared-pages file is out of range, got -1/));
  assert.throws(() => e.runCoreWorkload({ ...shared, cpus: 0, file: 0 }, 12, 0), field("cpus", /shared-pages cpus is out of range, got 0/));
  assert.is(e.opsExecuted, 1, "no op ran");
});

test("the core's gpu-churn refuses arguments it cannot work with, naming the field, before any op", async () => {
  const e = await Engine.create({ scheme: "E4" });
  const mm = e.run([{ op: "mm_new" }])[0];
  const drv = e.run([{ op: "driver_new", kind: "device-private", pages: 64 }])[0];
  const field = (f: string, re: RegExp) => (err: Error) => err.name === "RefsimError" && (err as Error & { field?: string }).field === f && re.test(err.message);
  const gpu = {
    kind: "gpu-churn", processes: 1, pages: 8, at: 0x10000, flags: 11, mm0: mm, chunk: 4, touch: 2, drivers: [drv], devicePages: 64,
    populate: 2, evictFirst: 0.5, weights: [1, 1, 1, 1, 1, 1, 1], boSlots: 10, respawnSlots: 0, budget: 100, before: 0, seed: 1,
  } as const;
  assert.throws(() => e.runCoreWorkload({ ...gpu, processes: 0 }, 50, 0), field("processes", /gpu-churn processes is out of range, got 0/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, pages: 0 }, 50, 0), field("pages", /gpu-churn pages is out of range, got 0/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, mm0: -1 }, 50, 0), field("mm0", /gpu-churn mm0 is out of range, got -1/));
  assert.throws(() => e.runCoreWorkload(gpu, 2, 0), field("ops", /gpu-churn ops is out of range, got 2/)); // the setup's 3 ops do not fit
  assert.throws(() => e.runCoreWorkload({ ...gpu, chunk: 3 }, 50, 0), field("chunk", /gpu-churn chunk is out of range, got 3/)); // 8 pages are no whole number of chunks
  assert.throws(() => e.runCoreWorkload({ ...gpu, chunk: 0 }, 50, 0), field("chunk", /got 0/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, touch: 0 }, 50, 0), field("touch", /gpu-churn touch is out of range, got 0/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, drivers: [] }, 50, 0), field("drivers", /gpu-churn drivers is out of range, got \[\]/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, drivers: [drv, drv, drv] }, 50, 0), field("drivers", /drivers is out of range/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, drivers: [-1] }, 50, 0), field("drivers", /drivers is out of range/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, drivers: [drv, drv + 1], devicePages: 1 }, 50, 0), field("devicePages", /gpu-churn devicePages is out of range, got 1/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, populate: 9 }, 50, 0), field("populate", /gpu-churn populate is out of range, got 9/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, evictFirst: 1.5 }, 50, 0), field("evictFirst", /gpu-churn evictFirst is out of range, got 1.5/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, evictFirst: NaN }, 50, 0), field("evictFirst", /evictFirst/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, weights: [0, 0, 0, 0, 0, 0, 0] }, 50, 0), field("weights", /gpu-churn weights is out of range/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, weights: [1, 1, 1, -1, 1, 1, 1] }, 50, 0), field("weights", /weights is out of range/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, weights: [1, 1, 1, 1, 1, Infinity, 1] }, 50, 0), field("weights", /weights is out of range/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, weights: [1, 1] }, 50, 0), field("weights", /gpu-churn weights must be 7 numbers/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, boSlots: -1 }, 50, 0), field("boSlots", /gpu-churn boSlots is out of range, got -1/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, respawnSlots: NaN }, 50, 0), field("respawnSlots", /respawnSlots is out of range/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, budget: 0 }, 50, 0), field("budget", /gpu-churn budget is out of range, got 0/));
  assert.throws(() => e.runCoreWorkload({ ...gpu, before: -3 }, 50, 0), field("before", /gpu-churn before is out of range, got -3/));
  assert.is(e.opsExecuted, 2, "no op ran");
  // and the same arguments, fixed, run: the setup (mmap, 2 writes), turns, the mm id handed back
  const run = e.runCoreWorkload(gpu, 50, 0);
  assert.ok(run.ops >= 3 && run.ops <= 50, `${run.ops} ops`);
  assert.equal(run.mms, [mm]);
});

test("the core's rdma-pins refuses arguments it cannot work with, naming the field, before any op", async () => {
  const e = await Engine.create({ scheme: "E4" });
  const [drv, mm] = e.run([{ op: "driver_new", kind: "device-coherent", pages: 64 }, { op: "mm_new" }]);
  const field = (f: string, re: RegExp) => (err: Error) => err.name === "RefsimError" && (err as Error & { field?: string }).field === f && re.test(err.message);
  const rdma = {
    kind: "rdma-pins", processes: 1, pinners: 1, pages: 8, at: 0x10000, flags: 11, mm0: mm, mrPages: 2, maxMrs: 2, chunk: 4, touch: 2,
    childWrites: 2, driver: drv, devicePages: 64, weights: [1, 1, 1, 1, 1, 1, 1, 1], boSlots: 5, forkSlots: 0, budget: 100, before: 2, seed: 1,
  } as const;
  const bad: [Partial<typeof rdma> | { weights: number[] }, string, RegExp][] = [
    [{ processes: 0 }, "processes", /rdma-pins processes is out of range, got 0/],
    [{ pages: 0 }, "pages", /rdma-pins pages is out of range, got 0/],
    [{ mm0: -2 }, "mm0", /rdma-pins mm0 is out of range, got -2/],
    [{ pinners: 2 }, "pinners", /rdma-pins pinners is out of range, got 2/], // more than the processes
    [{ pinners: 0 }, "pinners", /got 0/],
    [{ mrPages: 9 }, "mrPages", /rdma-pins mrPages is out of range, got 9/], // larger than a buffer
    [{ maxMrs: 0 }, "maxMrs", /rdma-pins maxMrs is out of range, got 0/],
    [{ chunk: 3 }, "chunk", /rdma-pins chunk is out of range, got 3/],
    [{ touch: 0 }, "touch", /rdma-pins touch is out of range, got 0/],
    [{ childWrites: -1 }, "childWrites", /rdma-pins childWrites is out of range, got -1/],
    [{ driver: -1 }, "driver", /rdma-pins driver is out of range, got -1/],
    [{ devicePages: 0 }, "devicePages", /rdma-pins devicePages is out of range, got 0/],
    [{ weights: [0, 0, 0, 0, 0, 0, 0, 0] }, "weights", /rdma-pins weights is out of range/],
    [{ weights: [1, 1, 1, 1, 1, 1, 1, NaN] }, "weights", /weights is out of range/],
    [{ weights: [1, 1, 1, 1, 1, 1, 1] }, "weights", /rdma-pins weights must be 8 numbers/],
    [{ boSlots: -1 }, "boSlots", /rdma-pins boSlots is out of range, got -1/],
    [{ forkSlots: Infinity }, "forkSlots", /rdma-pins forkSlots is out of range/],
    [{ budget: 0.5 }, "budget", /rdma-pins budget is out of range, got 0.5/],
    [{ before: -1 }, "before", /rdma-pins before is out of range, got -1/],
  ];
  for (const [change, f, re] of bad) assert.throws(() => e.runCoreWorkload({ ...rdma, ...change } as never, 50, 0), field(f, re), f);
  assert.throws(() => e.runCoreWorkload(rdma, 8, 0), field("ops", /rdma-pins ops is out of range, got 8/)); // the setup's 9 ops do not fit
  assert.is(e.opsExecuted, 2, "no op ran");
});

test("the core's mix refuses arguments it cannot work with, naming the field, before any op", async () => {
  const e = await Engine.create({ scheme: "E2" });
  const w = (k: number) => Array.from({ length: 22 }, (_, i) => (i === k ? 1 : 0));
  const mix = {
    kind: "mix", maxProcesses: 4, maxVmas: 8, arenaPages: 256, maxMapPages: 16, hintRatio: 0.2, fileRatio: 0.3, sharedRatio: 0.5,
    readOnlyRatio: 0.1, maxFiles: 4, maxFilePages: 16, maxDrivers: 2, driverPages: 64, maxMigratePages: 8, boReuse: 0.3, maxPins: 16,
    systemPages: 65536, filePages: 4096, devicePages: 4096, systemLive: 0, mmSlots: 50, fileSlots: 3, driverSlots: 1, boSlots: 100,
    budget: 500, chunk: 64, weights: w(3), freeingWeights: w(2), seed: 1,
  } as const;
  const field = (f: string, re: RegExp) => (err: Error) => err.name === "RefsimError" && (err as Error & { field?: string }).field === f && re.test(err.message);
  const bad: [Record<string, unknown>, string, RegExp][] = [
    [{ maxProcesses: 0 }, "maxProcesses", /mix maxProcesses is out of range, got 0/],
    [{ maxVmas: 1 }, "maxVmas", /mix maxVmas is out of range, got 1/],
    [{ arenaPages: 8 }, "arenaPages", /mix arenaPages is out of range, got 8/],
    [{ maxMapPages: 257 }, "maxMapPages", /mix maxMapPages is out of range, got 257/], // longer than the arena
    [{ hintRatio: 1.5 }, "hintRatio", /mix hintRatio is out of range, got 1.5/],
    [{ fileRatio: NaN }, "fileRatio", /mix fileRatio is out of range/],
    [{ sharedRatio: -0.1 }, "sharedRatio", /mix sharedRatio is out of range/],
    [{ readOnlyRatio: 2 }, "readOnlyRatio", /mix readOnlyRatio is out of range, got 2/],
    [{ maxFiles: 0 }, "maxFiles", /mix maxFiles is out of range, got 0/],
    [{ maxFilePages: 4097 }, "maxFilePages", /mix maxFilePages is out of range, got 4097/], // more than filePages
    [{ maxDrivers: 0 }, "maxDrivers", /mix maxDrivers is out of range, got 0/],
    [{ driverPages: 0 }, "driverPages", /mix driverPages is out of range, got 0/],
    [{ maxMigratePages: 0 }, "maxMigratePages", /mix maxMigratePages is out of range, got 0/],
    [{ boReuse: 3 }, "boReuse", /mix boReuse is out of range, got 3/],
    [{ maxPins: 0 }, "maxPins", /mix maxPins is out of range, got 0/],
    [{ systemPages: Infinity }, "systemPages", /mix systemPages is out of range/],
    [{ systemLive: 70000 }, "systemLive", /mix systemLive is out of range, got 70000/],
    [{ mmSlots: NaN }, "mmSlots", /mix mmSlots is out of range/],
    [{ boSlots: -Infinity }, "boSlots", /mix boSlots is out of range/],
    [{ budget: 10, }, "budget", /mix budget is out of range, got 10/],
    [{ chunk: 0 }, "chunk", /mix chunk is out of range, got 0/],
    [{ weights: w(-1) }, "weights", /mix weights is out of range/], // nothing to draw
    [{ freeingWeights: w(-1) }, "weights", /mix weights is out of range/],
    [{ weights: [1, 2, 3] }, "weights", /mix weights must be 22 numbers/],
    [{ freeingWeights: "x" }, "freeingWeights", /mix freeingWeights must be 22 numbers/],
    [{ weights: [...w(3).slice(1), -1] }, "weights", /mix weight 21 must be a finite number >= 0, got -1/],
  ];
  for (const [change, f, re] of bad) {
    const run = { ...mix, ...change };
    assert.throws(() => e.runCoreWorkload(run as never, run.budget as number, 0), field(f, re), f);
  }
  assert.throws(() => e.runCoreWorkload(mix as never, 499, 0), field("ops", /mix runs its whole budget \(500\): ops must equal it, got 499/));
  assert.is(e.opsExecuted, 0, "no op ran");
  const ok = e.runCoreWorkload(mix as never, 500, 0); // reads only, once set up
  assert.ok(ok.ops > 11 && ok.ops <= 500, `${ok.ops} ops`);
});

test("the core's mix run after run on one engine, each larger than the last or smaller, = the TypeScript one's", async () => {
  const core = await Engine.create({ scheme: "E2" });
  const ts = await Engine.create({ scheme: "E2" });
  const runs: [Record<string, unknown>, number][] = [[{ maxProcesses: 2, maxVmas: 3, maxPins: 2 }, 2_000], [{ maxProcesses: 9, maxPins: 300 }, 9_000], [{ maxFiles: 3 }, 3_000]];
  for (const [params, budget] of runs) {
    const b = runWorkload("mix", core, params, 5, budget);
    const a = runWorkload("mix", ts, params, 5, budget, { generator: "js" });
    assert.is(b.streamHash, a.streamHash, JSON.stringify(params));
    assert.equal(b.stats, a.stats);
  }
});

test("the core's rdma-pins unpins only the pins that took: a region of failed pins (handle 0) is deregistered with no unpin", async () => {
  // VM_READ | VM_ANON: every FOLL_WRITE pin fails with -EFAULT (check_vma_flags), the setup's writes with SIGSEGV
  const run = async (flags: number) => {
    const e = await Engine.create({ scheme: "E4" });
    const [drv, mm] = e.run([{ op: "driver_new", kind: "device-coherent", pages: 64 }, { op: "mm_new" }]);
    let unpins = 0;
    const r = e.runCoreWorkload({
      kind: "rdma-pins", processes: 1, pinners: 1, pages: 32, at: 0x10000, flags, mm0: mm, mrPages: 4, maxMrs: 2, chunk: 8, touch: 2,
      childWrites: 2, driver: drv, devicePages: 64, weights: [3, 1, 1, 1, 0, 1, 0, 0], boSlots: 5, forkSlots: 0, budget: 500, before: 2, seed: 1,
    }, 400, 0, (w, n) => { for (let i = 0; i < n; i++) if (w[i * OP_WORDS] === OP_UNPIN) unpins++; });
    return { ops: r.ops, gups: e.stats().ops.gup, unpins, live: e.stats().gupLive };
  };
  const ro = await run(1 | 8);
  assert.ok(ro.gups > 20, `${ro.gups} pins`);
  assert.is(ro.unpins, 0, "no handle, no unpin");
  assert.is(ro.live, 0);
  const rw = await run(1 | 2 | 8);
  assert.is(rw.unpins, rw.gups, "every pin took and is unpinned, the drain's included");
  assert.is(rw.live, 0);
});

test("mix's kind indices (assembly/workload_mix_kinds.ts, both generators') name MIX_KINDS' entries in order", () => {
  assert.is(mixKinds.MIX_KIND_COUNT, MIX_KINDS.length);
  for (const [name, index] of Object.entries(mixKinds)) {
    if (name === "MIX_KIND_COUNT") continue;
    assert.is(MIX_KINDS[index], name.slice(2).toLowerCase(), name);
  }
});

test.run();
