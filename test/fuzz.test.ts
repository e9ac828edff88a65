// The bad-input fuzz suite (issue 15), seeded and bounded by input counts: mutated
// scenario files, mutated traces, garbage op words, garbage API calls and random
// capacities. Every outcome must be a result or a RefsimError whose message names the
// step, line, byte offset or field; never a WASM trap, TypeError or RangeError. A
// rejected step or op must keep everything before it (a scenario cut just before the
// bad step ends in the same state; a rejected op leaves the engine exactly as it was),
// and Engine and Model must agree. REFSIM_FUZZ_SEED and REFSIM_FUZZ_SCALE change the run.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as abi from "../assembly/abi.ts";
import { Engine, CAP_SLOTS } from "../src/core/engine.ts";
import { OP_NAME_BY_CODE } from "../src/core/ops.ts";
import { Model } from "../src/model/model.ts";
import { KernelError, RefsimError } from "../src/core/errors.ts";
import { parseScenario, checkScenario, type LoadedScenario } from "../src/scenario/parse.ts";
import { runScenario } from "../src/scenario/run.ts";
import { decodeUtf8 } from "../src/scenario/utf8.ts";
import { syntaxErrorAt } from "../src/scenario/locate.ts";
import { recordScenario, replayTrace, TraceRecorder } from "../src/trace/index.ts";
import { runWorkload } from "../src/workload/index.ts";
import { Prng } from "../src/workload/prng.ts";
import { PRESET_NAMES } from "../src/scheme/presets.ts";
import { Values } from "./helpers/fuzz-values.ts";
import { Mutator } from "./helpers/fuzz-mutate.ts";

const SEED = Number(process.env.REFSIM_FUZZ_SEED ?? 15);
const SCALE = Number(process.env.REFSIM_FUZZ_SCALE ?? 1);
const tried: Record<string, number> = {};
const seconds: Record<string, number> = {};
// timed from the first fuzz test (the test command runs every file in one process: imports and other files come first)
let lap = 0;
let t0 = 0;
test.before(() => { lap = t0 = performance.now(); });
test.after.each(() => {
  const now = performance.now();
  seconds[Object.keys(seconds).length] = (now - lap) / 1000;
  lap = now;
});

/** The error an input produced must be a RefsimError; anything else fails with the input shown. */
function refsimError(e: unknown, input: () => string): RefsimError {
  if (e instanceof RefsimError) return e;
  const x = e as Error;
  if (process.env.REFSIM_FUZZ_STACK) console.error(x?.stack);
  assert.unreachable(`not a RefsimError but ${x?.constructor?.name ?? typeof e}: ${x?.message ?? String(e)}\n${x?.stack?.split("\n").slice(1, 6).join("\n")}\ninput: ${input().slice(0, 600)}`);
  throw e;
}

/** The message names where: a step, a line, a byte offset, or the field the error carries. */
function namesWhere(e: RefsimError, input: () => string): void {
  const m = e.message;
  const ok = /\bstep \d+|\bline \d+|byte offset \d+/.test(m) || (e.field !== undefined && m.includes(e.field));
  assert.ok(ok, `the message names no step, line, byte offset or field (field ${e.field}): ${m}\ninput: ${input().slice(0, 300)}`);
}

const CAP_FIELDS = Object.keys(CAP_SLOTS);

test("scenario files: mutated built-ins are parsed, refused naming the place, or run; a rejected step keeps everything before it", async () => {
  const v = new Values(new Prng(SEED));
  const mut = new Mutator(v);
  // the built-ins and hmm-tests.c's (scenarios/hmm: dmirror devices and mirrors, shmem, mprotect)
  const sources = ["scenarios", "scenarios/hmm"].flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => readFileSync(join(dir, f), "utf8")));
  let runs = 0;
  for (let n = 0; n < 500 * SCALE; n++) {
    const input = mut.scenario(v.pick(sources));
    const show = () => input.text ?? `${input.bytes!.length} bytes`;
    tried.scenarios = (tried.scenarios ?? 0) + 1;
    let text: string;
    if (input.bytes) {
      try {
        text = decodeUtf8(input.bytes, "f.json");
      } catch (e) {
        const err = refsimError(e, show);
        assert.match(err.message, /byte offset \d+ \(line \d+\)/);
        continue;
      }
    } else text = input.text;
    // the syntax locator agrees with the JSON parser on what is valid
    let valid = true;
    try { JSON.parse(text); } catch { valid = false; }
    assert.is(syntaxErrorAt(text) === -1, valid, `syntaxErrorAt disagrees with JSON.parse on: ${text.slice(0, 300)}`);
    let loaded: LoadedScenario;
    try {
      loaded = parseScenario(text, "f.json");
    } catch (e) {
      namesWhere(refsimError(e, show), show);
      continue;
    }
    const schemes = (loaded.scenario.schemes ?? ["E4"]).slice(0, 1);
    for (const scheme of schemes) {
      let run;
      try {
        run = await runScenario(loaded, scheme as never, []);
      } catch (e) {
        const err = refsimError(e, show);
        assert.match(err.message, /^f\.json: /, "a refused capacity names the file");
        namesWhere(err, show);
        continue;
      }
      runs++;
      if (!run.error) continue;
      assert.match(run.error.message, /f\.json step \d+/, `a rejected step is named: ${run.error.message}`);
      // nothing recorded before the rejection is lost: the scenario cut before that step ends the same
      const k = run.error.step;
      if (k === 0) {
        assert.ok(Object.values(run.stats.ops).every((x) => x === 0), "nothing ran before step 1");
        continue;
      }
      const cut = checkScenario({ ...loaded.scenario, steps: loaded.scenario.steps.slice(0, k) }, "f.json", loaded.lines);
      const before = await runScenario(cut, scheme as never, []);
      assert.is(before.error, undefined);
      assert.equal(run.stats, before.stats, `stats before the rejected step ${k + 1}`);
      assert.equal(run.violations, before.violations);
      assert.equal(run.checks, before.checks);
    }
  }
  tried.scenarioRuns = runs;
  tried.newerSteps = mut.newerSteps;
});

/** Traces to mutate: scenario runs and workloads under several schemes. */
async function sourceTraces(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const [name, scheme] of [["seed", "E0-devmap"], ["s05-driver-unbind-while-mapped", "E2"], ["thp-pin-fork", "E4"]] as const) {
    const text = readFileSync(join("scenarios", `${name}.json`), "utf8");
    out.push((await recordScenario(parseScenario(text, name), scheme)).bytes);
  }
  for (const [w, scheme, ops] of [["mix", "E4", 3000], ["gpu-churn", "E2", 6000], ["fork-heavy", "E0", 9000], ["rdma-pins", "E5", 8000]] as const) {
    const rec = new TraceRecorder(await Engine.create({ scheme }), { source: `workload ${w}`, seed: 7 });
    runWorkload(w, rec, {}, 7, ops);
    out.push(rec.finish());
  }
  return out;
}

test("traces: mutated traces are refused naming the byte offset before anything runs, or replay (identical or not)", async () => {
  const v = new Values(new Prng(SEED + 1));
  const mut = new Mutator(v);
  const sources = await sourceTraces();
  let replayed = 0;
  for (let n = 0; n < 400 * SCALE; n++) {
    const bytes = mut.trace(v.pick(sources));
    const show = () => `trace of ${bytes.length} bytes`;
    tried.traces = (tried.traces ?? 0) + 1;
    try {
      await replayTrace(bytes);
      replayed++;
    } catch (e) {
      const err = refsimError(e, show);
      assert.match(err.message, /byte offset \d+/, `names the byte offset: ${err.message}`);
    }
  }
  tried.tracesReplayed = replayed;
});

/** Everything an engine shows: counters, violation records, ops, every frame (small capacity). */
function snapshot(e: Engine | Model) {
  const frames = [];
  for (let pfn = 0; ; pfn++) {
    try { frames.push(e.frame(pfn)); } catch { break; }
  }
  return { stats: e.stats(), violations: e.violations(), ops: e.opsExecuted, frames };
}

const SMALL = { systemPages: 96, devicePages: 64, processes: 24, vmas: 32, pteTables: 24, pmdTables: 8, files: 4, filePages: 64, drivers: 4, bufferObjects: 32, gupHandles: 16, violationRecords: 64, batch: 8, hugePages: 1 };

/** Every op code the host knows (OP_CPU, mprotect, mremap, the dmirror ops and whatever is added later). */
const KNOWN_CODES = OP_NAME_BY_CODE.flatMap((name, code) => (name ? [code] : []));
/** The newer ops, each with plausible arguments: [a0..a6] makers (mm 0-1, vpns near MMAP_BASE, mirrors 0-2, devices 0-1). */
const NEWER: Record<number, (v: Values) => number[]> = {
  [abi.OP_MPROTECT]: (v) => [v.rng.below(2), 0x10000 + v.rng.below(48), 1 + v.rng.below(16), v.pick([0, abi.VM_READ, abi.VM_READ | abi.VM_WRITE, abi.VM_WRITE, 7])],
  [abi.OP_MADV_COLLAPSE]: (v) => [v.rng.below(2), v.pick([0x10000, 0x10000 + v.rng.below(48)]), v.pick([512, 1024, 1 + v.rng.below(16)])],
  [abi.OP_MREMAP]: (v) => [v.rng.below(2), 0x10000 + v.rng.below(48), 1 + v.rng.below(8), 1 + v.rng.below(16), v.rng.below(8), v.pick([0, 0x10000 + v.rng.below(96)])],
  [abi.OP_MMAP]: (v) => [v.rng.below(2), v.pick([0, 0x10000 + v.rng.below(48)]), 1 + v.rng.below(16), abi.VM_READ | abi.VM_WRITE | v.pick([abi.VM_ANON, abi.VM_ANON | abi.VM_SHARED, abi.VM_ANON | abi.VM_HUGEPAGE]), 0, 0], // shmem: shared anon
  [abi.OP_DMIRROR_NEW]: (v) => [v.pick([abi.KIND_DEVICE_PRIVATE, abi.KIND_DEVICE_COHERENT, 0, 3]), v.pick([0, 4, 8, 16, -1])],
  [abi.OP_DMIRROR_OPEN]: (v) => [v.rng.below(3), v.rng.below(3)],
  [abi.OP_DMIRROR_CLOSE]: (v) => [v.rng.below(4)],
  [abi.OP_DMIRROR_READ]: (v) => [v.rng.below(3), 0x10000 + v.rng.below(48), 1 + v.rng.below(16)],
  [abi.OP_DMIRROR_WRITE]: (v) => [v.rng.below(3), 0x10000 + v.rng.below(48), 1 + v.rng.below(16), v.rng.below(1000), v.pick([0, 1, -1, 1024])],
  [abi.OP_DMIRROR_SNAPSHOT]: (v) => [v.rng.below(3), 0x10000 + v.rng.below(48), 1 + v.rng.below(16)],
  [abi.OP_DMIRROR_MIGRATE_TO_DEV]: (v) => [v.rng.below(3), 0x10000 + v.rng.below(48), v.rng.below(17)],
  [abi.OP_DMIRROR_MIGRATE_TO_SYS]: (v) => [v.rng.below(3), 0x10000 + v.rng.below(48), v.rng.below(17)],
  [abi.OP_DMIRROR_EXCLUSIVE]: (v) => [v.rng.below(3), 0x10000 + v.rng.below(48), v.rng.below(17)],
  [abi.OP_DMIRROR_CHECK_EXCLUSIVE]: (v) => [v.rng.below(3), 0x10000 + v.rng.below(48), v.rng.below(17)],
  [abi.OP_DMIRROR_MMAP]: (v) => [v.rng.below(3), v.pick([-1, 0x10000 + v.rng.below(48)]), v.rng.below(9), v.pick([0, 1, 2, 3, 4])],
  [abi.OP_DMIRROR_RELEASE]: (v) => [v.rng.below(3), 0x10000 + v.rng.below(48), v.rng.below(3)],
  [abi.OP_DMIRROR_FLAGS]: (v) => [v.rng.below(3), 0x10000, v.pick([0, abi.HMM_DMIRROR_FLAG_FAIL_ALLOC, 2, 3])],
  [abi.OP_WRITE_RANGE]: (v) => [v.rng.below(2), 0x10000 + v.rng.below(48), 1 + v.rng.below(16), v.rng.below(1000), v.pick([0, 1, -1])],
  [abi.OP_READ_RANGE]: (v) => [v.rng.below(2), 0x10000 + v.rng.below(48), 1 + v.rng.below(16), v.rng.below(1000), v.pick([0, 1, -1]), v.rng.below(2)],
};
const NEWER_CODES = Object.keys(NEWER).map(Number);

/** A random op record: often a plausible op on small ids (the newer ops with their own arguments), sometimes garbage words. */
function opRecord(v: Values, w: Int32Array, at: number): void {
  const r = v.rng;
  w.fill(0, at, at + abi.OP_WORDS);
  const garbage = r.chance(0.25);
  if (!garbage && r.chance(0.35)) {
    const code = v.pick(NEWER_CODES);
    w[at] = code;
    NEWER[code](v).forEach((x, k) => { w[at + 1 + k] = r.chance(0.05) ? v.boundaryInt() | 0 : x; });
    tried.newerOps = (tried.newerOps ?? 0) + 1;
    return;
  }
  w[at] = garbage ? v.pick([0, -1, abi.OP_COUNT, 31, 2 ** 31 - 1, r.u32() | 0, 1 + r.below(abi.OP_COUNT - 1)]) : v.pick(KNOWN_CODES);
  for (let k = 1; k < abi.OP_WORDS; k++) {
    w[at + k] = garbage || r.chance(0.15) ? v.boundaryInt() | 0 : v.pick([0, 0, 1, 2, 3, r.below(8), 0x10000 + r.below(48), 1 + r.below(16), 512, abi.VM_READ | abi.VM_WRITE | abi.VM_ANON, -1]);
  }
}

/** Two processes with mappings (one shared anonymous: shmem), a device-private and a device-coherent test_hmm device and a mirror of each process, so the mutated dmirror, mprotect and mremap ops reach past their id checks. */
function setUp(t: Engine | Model): void {
  const W = abi.OP_WORDS;
  const rw = abi.VM_READ | abi.VM_WRITE | abi.VM_ANON;
  const ops = [
    [abi.OP_MM_NEW], [abi.OP_MM_NEW],
    [abi.OP_MMAP, 0, 0x10000, 16, rw], [abi.OP_MMAP, 1, 0x10000, 16, rw | abi.VM_SHARED], [abi.OP_MMAP, 0, 0x10020, 8, rw | abi.VM_SHARED],
    [abi.OP_WRITE_RANGE, 0, 0x10000, 8, 1, 1],
    [abi.OP_DMIRROR_NEW, abi.KIND_DEVICE_PRIVATE, 8], [abi.OP_DMIRROR_NEW, abi.KIND_DEVICE_COHERENT, 8], // chunks of 8 pages fit SMALL
    [abi.OP_DMIRROR_OPEN, 0, 0], [abi.OP_DMIRROR_OPEN, 1, 1],
  ];
  const words = new Int32Array(ops.length * W);
  ops.forEach((o, i) => words.set(o, i * W));
  t.runEncoded(words, ops.length);
}

test("garbage op words: Engine and Model give the same result or the same RefsimError; a rejected op changes nothing", async () => {
  const v = new Values(new Prng(SEED + 2));
  const r = v.rng;
  for (let m = 0; m < 6 * SCALE; m++) {
    const scheme = v.pick(PRESET_NAMES);
    const e = await Engine.create({ scheme, capacity: SMALL });
    const model = Model.create({ scheme, capacity: SMALL });
    setUp(e);
    setUp(model);
    const words = new Int32Array(12 * abi.OP_WORDS);
    for (let n = 0; n < 500; n++) {
      const count = r.chance(0.8) ? 1 : 1 + r.below(12);
      for (let i = 0; i < count; i++) opRecord(v, words, i * abi.OP_WORDS);
      const show = () => `${scheme}: ${Array.from(words.subarray(0, count * abi.OP_WORDS)).join(",")}`;
      tried.opRecords = (tried.opRecords ?? 0) + count;
      const before = count === 1 && n % 5 === 0 ? snapshot(e) : undefined;
      const opsBefore = e.opsExecuted;
      const outcome = (t: Engine | Model) => {
        try { return { results: Array.from(t.runEncoded(words, count)) }; } catch (x) { return { error: refsimError(x, show) }; }
      };
      const a = outcome(e);
      const b = outcome(model);
      assert.equal(a.results, b.results, `results differ: ${show()}`);
      assert.is(a.error?.message, b.error?.message, `rejections differ: ${show()}`);
      if (a.error) {
        assert.is(a.error.code !== undefined, true);
        assert.ok(a.error.index !== undefined && e.opsExecuted === opsBefore + a.error.index, `the ops before the rejected one ran, none after: ${a.error.message}`);
        if (before) assert.equal(snapshot(e), before, `a rejected op changed the engine: ${a.error.message}`);
      }
    }
    assert.equal(e.stats(), model.stats(), `${scheme}: statistics`);
    assert.equal(e.violations(), model.violations(), `${scheme}: violations`);
  }
});

test("garbage API calls: every method with every kind of argument returns or throws RefsimError; op methods agree between Engine and Model", async () => {
  const v = new Values(new Prng(SEED + 3));
  const e = await Engine.create({ scheme: "E2", capacity: SMALL });
  const model = Model.create({ scheme: "E2", capacity: SMALL });
  for (const t of [e, model]) {
    const mm = t.mmNew();
    t.write(mm, t.mmap(mm, { length: 8192 }), 5);
    t.driverNew("device-private", 8);
    t.writeRange(mm, t.mmap(mm, { length: 16384, shared: true }), 16384, 3); // shmem
    t.dmirrorOpen(t.dmirrorNew("device-private", { chunk: 4 }), mm);
  }
  const opMethods = ["mmNew", "mmap", "munmap", "read", "write", "fork", "exit", "madviseDontneed", "madvisePageout", "fileNew", "driverNew", "migrateToDevice",
    "migrateToRam", "gup", "unpin", "check", "dropCache", "driverTeardown", "evictBo", "faultBegin", "faultEnd", "truncate", "truncateFile", "dmaWrite", "driverAlloc", "driverFree", "cpu", "run", "runEncoded",
    "mprotect", "mremap", "madviseCollapse", "dmirrorNew", "dmirrorOpen", "dmirrorClose", "dmirrorRead", "dmirrorWrite", "dmirrorSnapshot", "writeRange", "readRange",
    "dmirrorMigrateToDev", "dmirrorMigrateToSys", "dmirrorRelease", "dmirrorFlags", "dmirrorExclusive", "dmirrorCheckExclusive", "dmirrorMmap"];
  const inspect = ["frame", "page", "bo", "driver", "driverFreePages", "stats", "violations", "cost", "drainCounters", "lastSnapshot", "maps", "lastStatuses", "mirror"];
  const plausible = [0, 1, 0x10000000, 0x10002000, 4096, 8192, "device-private", "device-coherent", "r", "rw", "none", { length: 4096 }, { chunk: 4 }, { length: 4096, shared: true },
    { pin: true }, { maymove: true }, { fixed: true, newAddr: 0x10010000 }, { dontunmap: true, maymove: true }, [{ op: "mm_new" }],
    [{ op: "mprotect", mm: 0, addr: 0x10000000, length: 4096, prot: "r" }], [{ op: "dmirror_read", mirror: 0, addr: 0x10000000, npages: 2 }]];
  const arg = () => (v.rng.chance(0.4) ? v.pick(plausible) : v.anyValue());
  for (let n = 0; n < 2500 * SCALE; n++) {
    const op = v.rng.chance(0.7);
    const name = op ? v.pick(opMethods) : v.pick(inspect);
    const args = Array.from({ length: v.rng.below(4) }, arg);
    const show = () => `${name}(${args.map((a) => { try { return typeof a === "bigint" ? `${a}n` : typeof a === "symbol" ? "Symbol" : JSON.stringify(a) ?? String(a); } catch { return "<deep>"; } }).join(", ")})`;
    tried.apiCalls = (tried.apiCalls ?? 0) + 1;
    if (/^(mprotect|mremap|dmirror|writeRange|readRange|mirror|lastSnapshot)/.test(name)) tried.newerCalls = (tried.newerCalls ?? 0) + 1;
    const call = (t: Engine | Model) => {
      const f = (t as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
      if (typeof f !== "function") return { skip: true };
      const ops = t.opsExecuted;
      try {
        const value = f.apply(t, args);
        return { value: value instanceof Int32Array ? Array.from(value) : value };
      } catch (x) {
        // a syscall the kernel fails (errno) or an access it signals is a result, not bad input: the op ran and counts
        if (x instanceof KernelError) {
          assert.ok(op && t.opsExecuted === ops + (x.index ?? 0) + 1, `${show()}: a kernel failure is one op that ran`);
          assert.ok(x.errno !== undefined || x.signal !== undefined, `${show()}: a KernelError names its errno or signal`);
          return { kernel: x.message };
        }
        const err = refsimError(x, show);
        if (op) assert.ok(t.opsExecuted === ops + (err.index ?? 0), `${show()}: ops before the rejection only`);
        return { error: err.message };
      }
    };
    const a: { value?: unknown; error?: string; kernel?: string; skip?: boolean } = call(e);
    const b: typeof a = call(model);
    if (op && !a.skip && !b.skip) {
      assert.equal(a.value, b.value, `${show()}: results differ`);
      assert.is(a.error, b.error, `${show()}: rejections differ`);
      assert.is(a.kernel, b.kernel, `${show()}: kernel failures differ`);
    }
  }
  assert.equal(e.stats(), model.stats());
  assert.equal(e.violations(), model.violations());
});

test("random capacities: Engine.create and Model.create accept, or refuse naming the capacity field; accepted engines run and agree", async () => {
  const v = new Values(new Prng(SEED + 4));
  const r = v.rng;
  for (let n = 0; n < 250 * SCALE; n++) {
    // on top of small tables (the model builds every frame as an object): the random fields are the test
    const capacity = { ...SMALL, ...v.capacity(CAP_FIELDS) } as Record<string, unknown>;
    const show = () => JSON.stringify(capacity);
    tried.capacities = (tried.capacities ?? 0) + 1;
    let e: Engine | undefined;
    let eErr: RefsimError | undefined;
    try { e = await Engine.create({ scheme: "E4", capacity: capacity as never }); } catch (x) { eErr = refsimError(x, show); }
    let m: Model | undefined;
    let mErr: RefsimError | undefined;
    // the model has no wasm32 size limit (its tables are JS arrays): a capacity the core cannot hold is not built there
    if (eErr?.code !== "NOMEM") try { m = Model.create({ scheme: "E4", capacity: capacity as never }); } catch (x) { mErr = refsimError(x, show); }
    if (eErr) {
      assert.ok(eErr.field !== undefined && eErr.message.includes(`capacity`), `${show()}: ${eErr.message}`);
      assert.ok(eErr.field === "capacity" || Object.hasOwn(capacity, eErr.field!) || CAP_FIELDS.includes(eErr.field!), `${show()}: field ${eErr.field}`);
      if (eErr.code !== "NOMEM") assert.is(mErr?.message, eErr.message, `${show()}: Model refuses alike`);
      continue;
    }
    assert.is(mErr, undefined, `${show()}: Engine accepted, Model refused: ${mErr?.message}`);
    for (const k of Object.keys(capacity)) assert.is((e!.capacity as unknown as Record<string, unknown>)[k], capacity[k], `engine.capacity.${k} is what was asked`);
    const words = new Int32Array(abi.OP_WORDS);
    for (let i = 0; i < 40; i++) {
      opRecord(v, words, 0);
      let a: string | number[];
      let b: string | number[];
      try { a = Array.from(e!.runEncoded(words, 1)); } catch (x) { a = refsimError(x, show).message; }
      try { b = Array.from(m!.runEncoded(words, 1)); } catch (x) { b = refsimError(x, show).message; }
      assert.equal(a, b, `${show()}: op ${Array.from(words).join(",")}`);
    }
    if (r.chance(0.3)) assert.equal(e!.stats(), m!.stats());
  }
});

test("the fuzz suite says how many inputs it tried", () => {
  const total = ["scenarios", "traces", "opRecords", "apiCalls", "capacities"].reduce((n, k) => n + (tried[k] ?? 0), 0);
  console.log(`\n  fuzz (seed ${SEED}, scale ${SCALE}): ${total.toLocaleString("en-US")} inputs in ${((performance.now() - t0) / 1000).toFixed(1)} s: ` +
    `${tried.scenarios} scenario files (${tried.scenarioRuns} ran), ${tried.traces} traces (${tried.tracesReplayed} replayed), ` +
    `${tried.opRecords} op records (${tried.newerOps} of mprotect, mremap, mmap, dmirror and range ops), ${tried.apiCalls} API calls (${tried.newerCalls} of the newer methods), ` +
    `${tried.newerSteps} newer-op steps in scenarios, ${tried.capacities} capacities (s: ${Object.values(seconds).map((x) => x.toFixed(1)).join(", ")})`);
  assert.ok(total > 5000);
});

test.run();
