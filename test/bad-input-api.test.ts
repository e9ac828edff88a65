// Bad API calls (issue 15 items 4, 10, 12): Engine and Model throw the same RefsimError
// naming the argument, before anything runs, for every shape of bad input.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { RefsimError } from "../src/core/errors.ts";
import type { Op } from "../src/core/ops.ts";
import { TraceRecorder } from "../src/trace/record.ts";
import { OpEncoder } from "../src/workload/encoder.ts";
import { SamplingTarget } from "../src/experiment/sampler.ts";

async function rejects(fn: () => unknown, field: string | undefined, message: RegExp): Promise<RefsimError> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof RefsimError, `expected a RefsimError, got ${err === undefined ? "no error" : String(err)}`);
  if (field !== undefined) assert.is((err as RefsimError).field, field, (err as Error).message);
  assert.match((err as Error).message, message);
  return err as RefsimError;
}

const W = abi.OP_WORDS;
const record = (...codes: number[]) => {
  const w = new Int32Array(codes.length * W);
  codes.forEach((c, i) => { w[i * W] = c; });
  return w;
};

test("item 4: runEncoded refuses a count beyond the records given (no stale records from the last batch run), NaN, negatives, fractions", async () => {
  for (const make of [() => Engine.create({ scheme: "E2", capacity: { batch: 16 } }), async () => Model.create({ scheme: "E2", capacity: { batch: 16 } })]) {
    const e = await make();
    e.runEncoded(record(abi.OP_MM_NEW, abi.OP_MM_NEW, abi.OP_MM_NEW), 3); // the op buffer now holds three mm_new
    const before = e.opsExecuted;
    await rejects(() => e.runEncoded(record(abi.OP_MM_NEW), 3), "count", /runEncoded: count 3 needs 24 words, but words holds 8 \(1 op records\)/);
    await rejects(() => e.runEncoded(record(abi.OP_MM_NEW), NaN), "count", /count must be a whole number >= 0, got NaN/);
    await rejects(() => e.runEncoded(record(abi.OP_MM_NEW), -1), "count", /got -1/);
    await rejects(() => e.runEncoded(record(abi.OP_MM_NEW), 0.5), "count", /got 0\.5/);
    await rejects(() => e.runEncoded(record(abi.OP_MM_NEW), "1" as never), "count", /got "1"/);
    await rejects(() => e.runEncoded([1, 0, 0, 0, 0, 0, 0, 0] as never, 1), "words", /words must be an Int32Array/);
    assert.is(e.opsExecuted, before, "nothing ran");
    assert.equal(Array.from(e.runEncoded(record(abi.OP_MM_NEW), 0)), [], "count 0 runs nothing");
    assert.is(e.stats().ops.mm_new, 3);
  }
});

test("item 10: op names from Object.prototype, null options and non-array batches are RefsimErrors, not TypeErrors", async () => {
  const e = await Engine.create({ scheme: "E2" });
  const m = Model.create({ scheme: "E2" });
  for (const t of [e, m]) {
    for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty", "valueOf"]) {
      const err = await rejects(() => t.run([{ op: name } as unknown as Op]), "op", new RegExp(`op 0: unknown op "${name}" \\(ops: mm_new`));
      assert.is(err.code, "BAD_OP");
    }
    await rejects(() => t.run(undefined as never), "ops", /run: ops must be an array of op objects/);
    await rejects(() => t.run(5 as never), "ops", /got 5/);
    await rejects(() => t.run({ length: 1, 0: { op: "mm_new" } } as never), "ops", /must be an array/);
    await rejects(() => t.run([{ op: "mmap", mm: 0, length: 4096n }] as never), "length", /must be a whole number, got 4096n \(a BigInt\)/);
    await rejects(() => t.run([{ op: "write", mm: 0, addr: 0, value: Symbol("v") }] as never), "value", /got Symbol\(v\) \(a Symbol\)/);
    assert.is(t.opsExecuted, 0, "nothing ran");
  }
  await rejects(() => Engine.create(null as never), "options", /Engine\.create: options must be an object .* got null/);
  await rejects(() => Model.create(null as never), "options", /Model\.create: options must be an object .* got null/);
});

test("item 12: Engine.create(5), unknown option keys and capacity keys from Object.prototype are refused", async () => {
  await rejects(() => Engine.create(5 as never), "options", /got 5/);
  await rejects(() => Engine.create([] as never), "options", /got \[\]/);
  await rejects(() => Engine.create({ schem: "E2" } as never), "schem", /unknown option 'schem' \(options: scheme, capacity, counter, cpus, cost\)/);
  await rejects(() => Model.create({ capacty: {} } as never), "capacty", /Model\.create: unknown option 'capacty'/);
  await rejects(() => Engine.create({ capacity: 5 } as never), "capacity", /capacity must be an object/);
  await rejects(() => Engine.create({ capacity: { toString: 5 } } as never), "toString", /capacity: unknown field 'toString'/);
  await rejects(() => Model.create({ capacity: { constructor: 5 } } as never), "constructor", /capacity: unknown field 'constructor'/);
  await rejects(() => Engine.create({ counter: "atomic", cost: { toString: 1 } } as never), "cost.toString", /cost\.toString is unknown/);
  await rejects(() => Engine.create({ scheme: "constructor" }), "scheme", /unknown scheme 'constructor'/);
  await rejects(() => Engine.create({ scheme: { base: "toString" } as never }), "base", /custom scheme needs "base"/);
});

test("a BigInt or Symbol kind of dmirror_new, or chunk of the op encoder, is a RefsimError naming it (JSON.stringify threw a TypeError: found by the fuzz suite)", async () => {
  const e = await Engine.create({ scheme: "E2" });
  const m = Model.create({ scheme: "E2" });
  for (const t of [e, m]) {
    await rejects(() => t.run([{ op: "dmirror_new", kind: 5n }] as never), "kind", /dmirror_new: field 'kind' must be "device-private" or "device-coherent", got 5n \(a BigInt\)/);
    await rejects(() => t.dmirrorNew(Symbol("k") as never), "kind", /got Symbol\(k\) \(a Symbol\)/);
    await rejects(() => t.dmirrorNew("gpu" as never), "kind", /got "gpu"/);
    assert.is(t.opsExecuted, 0);
  }
  await rejects(() => new OpEncoder(e, { chunk: 4n as never }), "chunk", /encoder: chunk must be a whole number >= 1, got 4n \(a BigInt\)/);
});

test("Engine.mirror / Model.mirror with a Symbol inside an array, a BigInt or a string fd is a RefsimError naming 'mirror' (a Symbol was a TypeError)", async () => {
  const e = await Engine.create({ scheme: "E2" });
  const m = Model.create({ scheme: "E2" });
  for (const t of [e, m]) {
    await rejects(() => t.mirror([1, Symbol("x")] as never), "mirror", /mirror: mirror must be a whole number/);
    await rejects(() => t.mirror(Symbol("x") as never), "mirror", /got Symbol\(x\) \(a Symbol\)/);
    await rejects(() => t.mirror(3n as never), "mirror", /got 3n \(a BigInt\)/);
    await rejects(() => t.mirror(0), "mirror", /no test_hmm file 0 was opened/);
  }
});

test("new Engine() / new Model() from plain JavaScript is a RefsimError pointing at create(), not a TypeError inside the constructor", () => {
  assert.throws(() => new (Engine as unknown as new (o: object) => Engine)({}), (x: unknown) => x instanceof RefsimError && /await Engine\.create\(options\)/.test(x.message));
  assert.throws(() => new (Model as unknown as new (o: object) => Model)({}), (x: unknown) => x instanceof RefsimError && /Model\.create\(options\)/.test(x.message));
});

test("the trace recorder checks runEncoded's and run's arguments the same way, and records nothing of a refused call", async () => {
  const rec = new TraceRecorder(await Engine.create({ scheme: "E2" }), { source: "test" });
  await rejects(() => rec.runEncoded(record(abi.OP_MM_NEW), 2), "count", /count 2 needs 16 words/);
  await rejects(() => rec.run(7 as never), "ops", /must be an array/);
  assert.is(rec.ops, 0);
});

test("an unknown op code in a record names the code (the same in Engine and Model)", async () => {
  const e = await Engine.create({ scheme: "E2" });
  const m = Model.create({ scheme: "E2" });
  const words = record(abi.OP_MM_NEW, 31);
  const errs = [];
  for (const t of [e, m]) errs.push(await rejects(() => t.runEncoded(words, 2), undefined, /op 1 \(op code 31\): unknown op code/));
  assert.is(errs[0].message, errs[1].message);
  assert.is(e.opsExecuted, 1, "the op before it ran");
});

test("SamplingTarget's sampling period: 0, a fraction, NaN or a string is a RefsimError naming 'every' (was a RangeError)", async () => {
  const e = await Engine.create({ scheme: "E2" });
  for (const every of [0, -1, 1.5, NaN, "8"]) await rejects(() => new SamplingTarget(e, every as number), "every", /SamplingTarget: the sampling period must be a whole number >= 1/);
  assert.is(new SamplingTarget(e, 8).series.every, 8, "a whole period is taken");
});

test.run();
