import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { RefsimError } from "../src/core/errors.ts";
import { PRESET_NAMES } from "../src/scheme/presets.ts";
import * as abi from "../assembly/abi.ts";
import type { OpTarget } from "../src/workload/target.ts";
import { OpEncoder } from "../src/workload/encoder.ts";
import { Pacer } from "../src/workload/common.ts";
import { WORKLOADS, WORKLOAD_NAMES, getWorkload, runWorkload, summaryLine } from "../src/workload/index.ts";

const BUDGET = 25_000;

/** Ops of each kind a workload must have issued, so a run that did nothing fails. */
const MUST: Record<string, string[]> = {
  "page-fault1": ["mmap", "write", "munmap"],
  "page-fault3": ["file_new", "mmap", "write", "munmap", "drop_cache"],
  mmap1: ["mmap", "munmap"],
  "fork-heavy": ["fork", "write", "read", "exit"],
  "gpu-churn": ["driver_new", "migrate_to_device", "migrate_to_ram", "read", "write", "madvise_dontneed"],
  "rdma-pins": ["gup", "unpin", "fork", "migrate_to_device", "madvise_dontneed"],
  mix: ["mm_new", "mmap", "munmap", "read", "write", "fork", "exit", "madvise_dontneed", "migrate_to_device", "migrate_to_ram", "gup", "unpin", "drop_cache",
    "madvise_pageout", "truncate", "dma_write", "evict_bo"],
  "shared-pages": ["cpu", "file_new", "mmap", "read", "munmap", "drop_cache"],
};

/** Smaller regions for the will-it-scale loops so that 25k ops cover several whole iterations. */
const PARAMS: Record<string, Record<string, unknown>> = {
  "page-fault1": { pages: 2048 },
  "page-fault3": { pages: 2048 },
};

test("the registry lists every workload with a description, capacity needs and documented defaults", () => {
  assert.equal(WORKLOAD_NAMES, ["page-fault1", "page-fault3", "mmap1", "fork-heavy", "gpu-churn", "rdma-pins", "mix", "shared-pages"]);
  for (const name of WORKLOAD_NAMES) {
    const w = getWorkload(name);
    assert.is(w.name, name);
    assert.ok(w.describe.length > 20 && w.needs.length > 10, name);
    for (const [k, spec] of Object.entries(w.spec)) {
      assert.ok(spec.doc.length > 5, `${name}.${k} documented`);
      assert.equal((w.defaults as Record<string, unknown>)[k], spec.default, `${name}.${k} default`);
    }
  }
  assert.throws(() => getWorkload("nope"), (e: unknown) => e instanceof RefsimError && /page-fault1/.test(e.message));
});

for (const scheme of ["E0", "E2", "E4"]) {
  for (const name of WORKLOAD_NAMES) {
    test(`${name} runs ${BUDGET} ops on a fresh Engine under ${scheme}`, async () => {
      const e = await Engine.create({ scheme });
      const s = runWorkload(name, e, PARAMS[name] ?? {}, 1, BUDGET);
      assert.ok(s.ops <= BUDGET && s.ops > BUDGET * 0.95, `${name}: ${s.ops} ops for a budget of ${BUDGET}`);
      assert.is(e.opsExecuted, s.ops);
      assert.is(s.note, undefined, s.note);
      for (const op of MUST[name]) assert.ok(s.stats.ops[op as keyof typeof s.stats.ops] > 0, `${name} issued ${op}`);
      assert.is(s.stats.gupLive, 0, "every pin released");
      assert.ok(s.opsPerSec > 0 && s.elapsedMs > 0);
      assert.ok(summaryLine(s).startsWith(`${name}: ${s.ops} ops`));
      if (scheme === "E4" && name !== "mix") assert.is(s.violations.total, 0, `${name} under E4: ${summaryLine(s)}`);
      if (scheme === "E4") assert.is(s.liveFrames.after, 0, "every frame freed");
    });
  }
}

test("mix under E4: the only violations are DMA writes lost to pages the pinner no longer maps", async () => {
  // dma_write through a pin whose page was since zapped (MADV_DONTNEED, munmap) or COW-replaced is
  // the classic GUP data loss: the pinner reads its new page, not the DMA's data (corruption).
  const s = runWorkload("mix", await Engine.create({ scheme: "E4" }), {}, 3, 40_000);
  assert.is(s.violations.total - s.violations.corruption, 0, summaryLine(s));
  assert.is(s.liveFrames.after, 0);
  const clean = runWorkload("mix", await Engine.create({ scheme: "E4" }), { ratios: { dma_write: 0 } }, 3, 40_000);
  assert.is(clean.violations.total, 0, summaryLine(clean));
  assert.is(clean.liveFrames.after, 0);
  const teardowns = runWorkload("mix", await Engine.create({ scheme: "E4" }), { ratios: { driver_teardown: 0.05, teardown: 0.01 } }, 3, 40_000);
  assert.ok(teardowns.stats.ops.driver_teardown > 0 && teardowns.stats.ops.teardown > 0, summaryLine(teardowns));
});

for (const name of WORKLOAD_NAMES) {
  test(`determinism: same seed and params give the same op stream and the same stats, for every workload [${name}]`, async () => {
    const a = runWorkload(name, await Engine.create({ scheme: "E2" }), {}, 42, 20_000);
    const b = runWorkload(name, await Engine.create({ scheme: "E2" }), {}, 42, 20_000);
    assert.is(a.streamHash, b.streamHash, `${name} stream`);
    assert.equal(a.stats, b.stats, `${name} stats`);
  });
}

test("determinism: mix with another seed gives other stats; ratios change the mix", async () => {
  const run = async (seed: number, params = {}) => runWorkload("mix", await Engine.create({ scheme: "E4" }), params, seed, 30_000);
  const a = await run(1);
  const b = await run(2);
  assert.is.not(a.streamHash, b.streamHash);
  assert.not.equal(a.stats, b.stats);
  const heavy = await run(1, { ratios: { gup: 40, unpin: 40 } });
  assert.ok(heavy.stats.ops.gup > 2 * a.stats.ops.gup, `gup ${heavy.stats.ops.gup} vs ${a.stats.ops.gup}`);
  const none = await run(1, { ratios: { fork: 0, migrate_to_device: 0, evict_bo: 0 } });
  assert.is(none.stats.ops.fork, 0);
  assert.is(none.stats.ops.migrate_to_device, 0);
});

for (const scheme of PRESET_NAMES) {
  test(`page-fault1 frees everything it allocates under every scheme [${scheme}]`, async () => {
    const e = await Engine.create({ scheme });
    const before = e.stats();
    const s = runWorkload("page-fault1", e, { tasks: 3, pages: 3000 }, 9, 30_000);
    const after = e.stats();
    assert.is(after.frames.live, before.frames.live, scheme);
    assert.is(after.frames.allocated - before.frames.allocated, after.frames.freed - before.frames.freed, scheme);
    assert.ok(after.frames.allocated > 9000, `${scheme} allocated ${after.frames.allocated}`);
    assert.is(s.violations.total, 0, `${scheme}: ${summaryLine(s)}`);
    assert.is(s.peakFrames, 9000, scheme); // 3 tasks x 3000 pages at once
  });
}

test("gpu-churn with device-coherent memory leaks under E0-devmap and not under E4", async () => {
  const devmap = await Engine.create({ scheme: "E0-devmap" });
  const leaky = runWorkload("gpu-churn", devmap, { kind: "device-coherent" }, 1, 30_000);
  assert.ok(leaky.violations.leak_page > 0, summaryLine(leaky));
  assert.ok(leaky.violations.leak_bo > 0, summaryLine(leaky));
  assert.ok(leaky.liveFrames.after > 0);
  const e4 = await Engine.create({ scheme: "E4" });
  const clean = runWorkload("gpu-churn", e4, { kind: "device-coherent" }, 1, 30_000);
  assert.is(clean.violations.total, 0, summaryLine(clean));
  assert.is(clean.liveFrames.after, 0);
  assert.ok(clean.migrated > 0 && clean.migrateFailed > 0, "bounded device memory makes some migrations fail");
  assert.is(clean.streamHash, leaky.streamHash, "the op stream does not depend on the scheme");
});

test("generators respect a small capacity: paced mm ids, BOs, files and drivers, no rejected op", async () => {
  const capacity = { processes: 24, bufferObjects: 40, files: 4, drivers: 2, devicePages: 2048 };
  for (const [name, params] of [
    ["fork-heavy", { pages: 2048 }], ["gpu-churn", { processes: 4 }], ["rdma-pins", {}], ["mix", { maxDrivers: 2, maxFiles: 4 }],
  ] as const) {
    const e = await Engine.create({ scheme: "E4", capacity });
    const s = runWorkload(name, e, params, 5, 60_000);
    assert.ok(s.ops > 55_000, `${name}: ${summaryLine(s)}`);
    assert.ok(s.stats.ops.mm_new + s.stats.ops.fork <= 24);
    assert.ok(s.stats.bufferObjects.created <= 39);
  }
});

test("parameters are checked: unknown names, bad values and too little capacity are RefsimErrors", async () => {
  const e = await Engine.create();
  const fails = (fn: () => unknown, field: string) =>
    assert.throws(fn, (err: unknown) => err instanceof RefsimError && err.field === field, field);
  fails(() => runWorkload("page-fault1", e, { tsks: 2 }), "tsks");
  fails(() => runWorkload("page-fault1", e, { tasks: 0 }), "tasks");
  fails(() => runWorkload("page-fault1", e, { tasks: 2.5 }), "tasks");
  fails(() => runWorkload("page-fault1", e, { pages: 40_000 }, 1, 1000), "pages"); // 4 x 40000 frames do not fit
  fails(() => runWorkload("gpu-churn", e, { kind: "gpu" }), "kind");
  fails(() => runWorkload("gpu-churn", e, { chunk: 100 }), "chunk");
  fails(() => runWorkload("mix", e, { ratios: { forks: 1 } }), "ratios.forks");
  fails(() => runWorkload("mix", e, {}, -1), "seed");
  fails(() => runWorkload("fork-heavy", e, {}, 1, 100), "budget");
  // all weights 0: refused before setup issues an op (gpu-churn and rdma-pins used to run their setup first)
  fails(() => runWorkload("gpu-churn", e, { weights: { migrate: 0, evict: 0, read: 0, write: 0, zap: 0, remap: 0, respawn: 0 } }), "weights");
  fails(() => runWorkload("rdma-pins", e, { weights: { register: 0, deregister: 0, migrate: 0, evict: 0, fork: 0, read: 0, write: 0, dontneed: 0 } }), "weights");
  assert.is(e.opsExecuted, 0, "nothing ran");
});

test("workloads drive only the OpTarget interface (a plain wrapper works and sees every op)", async () => {
  const e = await Engine.create({ scheme: "E2" });
  let calls = 0;
  let ops = 0;
  const wrapper: OpTarget = {
    runEncoded(words, count) { calls++; ops += count; return e.runEncoded(words, count); },
    stats: () => e.stats(),
    violations: () => e.violations(),
  };
  const s = runWorkload("rdma-pins", wrapper, {}, 3, 20_000);
  assert.is(ops, s.ops);
  assert.ok(calls < s.ops / 5, `ops are batched (${calls} calls for ${s.ops} ops)`);
  const direct = runWorkload("rdma-pins", await Engine.create({ scheme: "E2" }), {}, 3, 20_000);
  assert.is(direct.streamHash, s.streamHash);
});

test("encoder: chunked flushes, result(), want()/take() in op order, rejected ops name their sequence number", async () => {
  const e = await Engine.create({ scheme: "E4" });
  const enc = new OpEncoder(e, { chunk: 7 });
  const mm = enc.result(enc.mmNew());
  const base = 0x10000;
  assert.is(enc.result(enc.mmap(mm, -1, 64, abi.VM_READ | abi.VM_WRITE | abi.VM_ANON, -1, 0)), base);
  for (let i = 0; i < 64; i++) enc.write(mm, base + i, 1000 + i);
  const reads: number[] = [];
  for (let i = 0; i < 64; i += 3) {
    enc.read(mm, base + i);
    enc.want();
    reads.push(1000 + i);
  }
  for (let i = 0; i < 5; i++) {
    enc.gup(mm, base + i, abi.FOLL_PIN | abi.FOLL_LONGTERM);
    enc.want();
  }
  // 93 ops so far; a full buffer of 7 is flushed when the 8th op comes: the last 7 (2 reads, 5 gups) wait
  assert.is(enc.pending, 7);
  assert.is(enc.ready, reads.length - 2);
  enc.flush();
  assert.is(enc.pending, 0);
  const got: number[] = [];
  for (let i = 0; i < reads.length; i++) got.push(enc.take());
  assert.equal(got, reads);
  const handles = [enc.take(), enc.take(), enc.take(), enc.take(), enc.take()];
  assert.ok(handles.every((h) => h > 0));
  assert.is(e.stats().gupLive, 5);
  for (const h of handles) enc.unpin(h);
  enc.exit(mm);
  enc.check();
  assert.is(enc.stats().frames.live, 0);
  assert.is(enc.seq, e.opsExecuted);
  assert.throws(() => enc.result(0), /gone/);
  enc.write(mm, base, 1); // mm has exited
  const seq = enc.seq - 1;
  assert.throws(() => enc.flush(), (err: unknown) => err instanceof RefsimError && err.index === seq && /write\(mm=/.test(err.message));
});

test("encoder: the stream hash follows the op words", async () => {
  const hashOf = async (value: number) => {
    const e = await Engine.create();
    const enc = new OpEncoder(e);
    const mm = enc.result(enc.mmNew());
    enc.mmap(mm, 0x10000, 1, abi.VM_READ | abi.VM_WRITE | abi.VM_ANON, -1, 0);
    enc.write(mm, 0x10000, value);
    enc.flush();
    return enc.streamHash;
  };
  assert.is(await hashOf(5), await hashOf(5));
  assert.is.not(await hashOf(5), await hashOf(6));
});

test("Pacer spreads a fixed number of uses over the budget", () => {
  const p = new Pacer(10, 1000);
  let used = 0;
  for (let op = 0; op < 1000; op++) if (p.allow(op)) { p.take(); used++; }
  assert.is(used, 10);
  const q = new Pacer(10, 1000);
  assert.ok(q.allow(0));
  q.take();
  assert.not.ok(q.allow(50));
  assert.ok(q.allow(100));
});

test("every registry entry's run is the exported generator", () => {
  for (const name of WORKLOAD_NAMES) assert.type(WORKLOADS[name].run, "function");
});

test.run();
