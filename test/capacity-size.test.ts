// Capacity sizing (issue 15 items 1, 11, 12): the core's table sizes are computed in
// 64 bits before init() allocates anything (assembly/sizing.ts) and equal what init()
// allocates; capacities one wasm32 memory cannot hold are refused naming the field and
// the most it may be; 0 means 0 in core and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import * as abi from "../assembly/abi.ts";
import { Engine, DEFAULT_CAPACITY, type Capacity } from "../src/core/engine.ts";
import { writeCapacity } from "../src/core/capacity.ts";
import { instantiateCore } from "../src/core/wasm.ts";
import { Model } from "../src/model/model.ts";
import { RefsimError } from "../src/core/errors.ts";
import { runWorkload } from "../src/workload/index.ts";
import { Prng } from "../src/workload/prng.ts";
import { parseScenario } from "../src/scenario/parse.ts";
import { runScenario } from "../src/scenario/run.ts";
import { TraceWriter } from "../src/trace/format.ts";
import { replayTrace } from "../src/trace/replay.ts";
import { PLAIN_ENV } from "./helpers/cli.ts";

type Core = Awaited<ReturnType<typeof instantiateCore>>;
async function sizingCore(): Promise<{ core: Core; caps: Int32Array }> {
  const core = await instantiateCore();
  const caps = new Int32Array((core as unknown as { memory: WebAssembly.Memory }).memory.buffer, core.capsPtr(), abi.CAP_WORDS);
  return { core, caps };
}

async function refused(capacity: Partial<Capacity>): Promise<RefsimError> {
  try {
    await Engine.create({ scheme: "E2", capacity });
  } catch (e) {
    assert.ok(e instanceof RefsimError, `${JSON.stringify(capacity)}: ${String(e)}`);
    return e as RefsimError;
  }
  throw new Error(`${JSON.stringify(capacity)} was accepted`);
}

test("sizing: capacityBytes() equals what init() allocates, for the defaults and 40 seeded random capacities", async () => {
  const rng = new Prng(15);
  const small = (max: number) => rng.below(max + 1);
  const cases: Capacity[] = [{ ...DEFAULT_CAPACITY }];
  for (let i = 0; i < 40; i++) {
    cases.push({
      systemPages: small(1 << 16), devicePages: small(1 << 12), processes: 1 + small(300), vmas: 1 + small(5000), pteTables: 1 + small(600),
      pmdTables: 1 + small(200), files: small(70), filePages: small(1 << 14), drivers: small(20), bufferObjects: small(5000), gupHandles: small(5000),
      violationRecords: small(1 << 12), batch: 1 + small(5000), hugePages: rng.chance(0.3) ? small(6) : 0,
    });
  }
  for (const c of cases) {
    const { core, caps } = await sizingCore();
    writeCapacity(caps, c);
    const want = core.capacityBytes();
    assert.is(core.init(), 0, JSON.stringify(c));
    assert.is(core.tablesAllocated(), want, `tables allocated for ${JSON.stringify(c)}`);
  }
});

test("item 1: capacities whose tables wrap in 32 bits are refused before anything is allocated, naming the field and its limit", async () => {
  const { core, caps } = await sizingCore();
  const limit = Number(core.capacityLimit());
  for (const [field, value] of [["filePages", 2 ** 30], ["processes", 2 ** 30], ["batch", 2 ** 27], ["pteTables", 2_000_000], ["gupHandles", 2 ** 31 - 1], ["violationRecords", 2 ** 28]] as const) {
    const e = await refused({ [field]: value });
    assert.is(e.field, field, e.message);
    assert.is(e.code, "NOMEM");
    const m = new RegExp(`^capacity\\.${field} is too large \\(${value}\\): the core's tables would take [\\d.]+ GiB .* one wasm32 memory holds 4\\.00 GiB .* at most 1 GiB a table; with the other fields as given capacity\\.${field} can be at most (\\d+)$`).exec(e.message);
    assert.ok(m, e.message);
    // the limit named is exact: it fits and one more does not
    const most = Number(m![1]);
    const fits = (v: number) => {
      writeCapacity(caps, { ...DEFAULT_CAPACITY, [field]: v });
      return Number(core.capacityBytes()) <= limit && Number(core.capacityLargestTable()) <= 2 ** 30 - 4;
    };
    assert.ok(fits(most), `${field} = ${most} fits`);
    assert.not.ok(fits(most + 1), `${field} = ${most + 1} does not`);
  }
});

test("item 1: an engine past 2 GiB of tables (pointers above 2^31) runs a workload exactly as a small one", async () => {
  const big = await Engine.create({ scheme: "E4", capacity: { filePages: 268_435_455 } }); // two 1 GiB page-cache tables, then the rest
  assert.ok(big.memoryBytes > 2 ** 31, `${big.memoryBytes} bytes`);
  const small = await Engine.create({ scheme: "E4" });
  const a = runWorkload("mix", big, {}, 3, 20_000);
  const b = runWorkload("mix", small, {}, 3, 20_000);
  assert.equal(big.stats(), small.stats());
  assert.equal(big.violations(), small.violations());
  assert.is(a.ops, b.ops);
});

test("item 11: too many frames names the field that makes them too many (devicePages, not systemPages), with its limit; Model agrees", async () => {
  const e = await refused({ devicePages: 67_108_864 });
  assert.is(e.field, "devicePages");
  assert.match(e.message, /^capacity\.devicePages is invalid \(67108864\): the page frames \(pfn 0, 65536 system, 0 THPs of 512, 67108864 device\) come to 67174401, more than the 33554432 pfns a PTE word holds \(25 bits\); with the other fields as given capacity\.devicePages can be at most 33488895$/);
  let m: unknown;
  try { Model.create({ capacity: { devicePages: 67_108_864 } }); } catch (x) { m = x; }
  assert.is((m as Error).message, e.message);
  assert.is((await refused({ hugePages: 70_000 })).field, "hugePages");
  assert.is((await refused({ systemPages: 2 ** 25 })).field, "systemPages");
  // the limit named is exact
  await Engine.create({ capacity: { devicePages: 33_488_895, systemPages: 65_536 } }).then((x) => assert.is(x.capacity.devicePages, 33_488_895));
});

test("item 12: capacity 0 of drivers, BOs, files, GUP handles and violation records means none, in core and model alike", async () => {
  const capacity = { drivers: 0, bufferObjects: 0, files: 0, gupHandles: 0, violationRecords: 0, systemPages: 64, devicePages: 16 };
  const e = await Engine.create({ scheme: "E2", capacity });
  const m = Model.create({ scheme: "E2", capacity });
  for (const t of [e, m]) {
    assert.is(t.capacity.drivers, 0);
    const err = (f: () => unknown) => { try { f(); } catch (x) { return x as RefsimError; } throw new Error("accepted"); };
    assert.is(err(() => t.driverNew("device-private", 4)).code, "NOMEM_OBJECTS", "no driver");
    assert.is(err(() => t.fileNew(4096)).code, "NOMEM_OBJECTS", "no file");
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 4096 });
    t.write(mm, a, 1);
    assert.is(err(() => t.gup(mm, a)).code, "NOMEM_OBJECTS", "no GUP handle");
  }
  // violations are counted, none kept: the seed leak (E0-devmap: a coherent page and its BO after munmap)
  const v = await Engine.create({ scheme: "E0-devmap", capacity: { violationRecords: 0, systemPages: 64, devicePages: 16 } });
  const vm = Model.create({ scheme: "E0-devmap", capacity: { violationRecords: 0, systemPages: 64, devicePages: 16 } });
  for (const t of [v, vm]) {
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 4096 });
    t.write(mm, a, 1);
    t.migrateToDevice(mm, a, 4096, t.driverNew("device-coherent", 4));
    t.munmap(mm, a, 4096);
    t.check();
    assert.ok(t.stats().violations.leak_page > 0, "counted");
    assert.equal(t.violations(), [], "none kept");
  }
  assert.equal(v.stats(), vm.stats());
});

test("item 1 from a scenario's capacity and from a trace header's meta: RefsimError naming the source and the field", async () => {
  const l = parseScenario(JSON.stringify({ name: "t", capacity: { processes: 2 ** 30 }, steps: [{ op: "mm_new" }] }), "t.json");
  let err: unknown;
  try { await runScenario(l, "E2"); } catch (x) { err = x; }
  assert.ok(err instanceof RefsimError, String(err));
  assert.match((err as Error).message, /^t\.json: "capacity": capacity\.processes is too large \(1073741824\)/);
  const w = new TraceWriter();
  w.append(new Int32Array([abi.OP_MM_NEW, 0, 0, 0, 0, 0, 0, 0]), 1);
  const bytes = w.finish({ source: "test", seed: null, scheme: "E2", capacity: { ...DEFAULT_CAPACITY, batch: 2 ** 27 } });
  err = undefined;
  try { await replayTrace(bytes); } catch (x) { err = x; }
  assert.ok(err instanceof RefsimError, String(err));
  assert.match((err as Error).message, /^trace: the header's capacity \(meta at byte offset 32\) is not usable: capacity\.batch is too large \(134217728\)/);
  assert.is((err as RefsimError).field, "batch");
});

test("items 1, 11 from the CLI: exit 2 naming the field", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "workload", "mix", "--ops", "20000", "--capacity", "filePages=1073741824"], { encoding: "utf8", env: PLAIN_ENV });
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /^refsim: capacity\.filePages is too large \(1073741824\).*can be at most 268435455\n$/);
  const d = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "workload", "mix", "--ops", "10", "--capacity", "devicePages=67108864"], { encoding: "utf8", env: PLAIN_ENV });
  assert.is(d.status, 2, d.stderr);
  assert.match(d.stderr, /capacity\.devicePages is invalid \(67108864\)/);
});

test.run();
