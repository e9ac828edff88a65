/**
 * The differential harness: one seeded random trace (test/differential-trace.ts)
 * run on the WASM Engine and on the plain-TypeScript Model, comparing every op's
 * result, every rejection (message, op, field, index, code), the statistics, the
 * violation records, and at the end every frame and every mapped page.
 *
 * Three targets run the trace: model A executes op by op and drives the
 * generator (so the generator always sees the current state); the Engine and
 * model B run the same ops in random batches, exactly alike. When a batch is
 * rejected both must throw the same RefsimError; the rest of the batch is then
 * submitted again from the op after the rejected one.
 *
 * @example
 * ```ts
 * import { runDifferential } from "./differential-harness.ts";
 * const r = await runDifferential({ scheme: "E2", seed: 1, ops: 2000 });
 * console.log(r.ops, r.rejected > 0, r.resultsCompared > 1000); // 2000 true true
 * ```
 */
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import type { CounterName, CostModel } from "../src/cost/options.ts";
import { Engine, type Capacity } from "../src/core/engine.ts";
import { RefsimError } from "../src/core/errors.ts";
import { OP_NAME_BY_CODE, PAGE_SIZE } from "../src/core/ops.ts";
import { Prng } from "../src/workload/prng.ts";
import { Model } from "../src/model/model.ts";
import type { SchemeInput } from "../src/scheme/resolve.ts";
import { TraceGen } from "./differential-trace.ts";

/** Pools so small that each of them runs out, and a batch smaller than many op batches. */
export const TINY_CAPACITY: Partial<Capacity> = {
  systemPages: 90,
  devicePages: 160,
  processes: 60,
  vmas: 40,
  pteTables: 14,
  pmdTables: 3,
  files: 3,
  filePages: 50,
  drivers: 2,
  bufferObjects: 25,
  gupHandles: 6,
  violationRecords: 30,
  batch: 5,
};

/** Small enough that every pool runs out now and then, large enough for long traces. */
export const DIFF_CAPACITY: Partial<Capacity> = {
  systemPages: 3000,
  devicePages: 4000,
  processes: 2048,
  vmas: 400,
  pteTables: 160,
  pmdTables: 24,
  files: 24,
  filePages: 1200,
  drivers: 40,
  bufferObjects: 6000,
  gupHandles: 600,
  violationRecords: 3000,
  batch: 256,
};

export interface DiffOptions {
  scheme: SchemeInput;
  seed: number;
  ops: number;
  capacity?: Partial<Capacity>;
  /** Simulated CPUs (both targets) and the engine's counter layer (the model has none). */
  cpus?: number;
  counter?: CounterName;
  cost?: Partial<CostModel>;
  /** Compare stats after every batch (slow; finds the first diverging batch). */
  strict?: boolean;
}

export interface DiffResult {
  ops: number;
  /** Ops every target rejected (compared error by error). */
  rejected: number;
  /** Per-op results compared between the Engine, model B and model A. */
  resultsCompared: number;
  /** Op kinds run, by name, accepted ones only. */
  kinds: Record<string, number>;
  /** Rejections by "op:CODE". */
  rejections: Record<string, number>;
  violations: number;
  /** Ops run without error, for the speed replay: OP_WORDS words each. */
  accepted: Int32Array;
}

type Outcome = number | RefsimError;

function attempt(f: () => Int32Array): Int32Array | RefsimError {
  try {
    return Array.from(f()) as unknown as Int32Array;
  } catch (e) {
    if (e instanceof RefsimError) return e;
    throw e;
  }
}

/** assert.equal, with a context message built only when it fails. */
function same(actual: unknown, expected: unknown, ctx: () => string): void {
  try {
    assert.equal(actual, expected);
  } catch (e) {
    (e as Error).message = `${ctx()}: ${(e as Error).message}`;
    throw e;
  }
}

function ok(cond: boolean, ctx: () => string): void {
  if (!cond) assert.ok(false, ctx());
}

function errorFields(e: RefsimError) {
  return { name: e.name, message: e.message, op: e.op, field: e.field, index: e.index, code: e.code };
}

/** An op record as text, for failure messages. */
export function describeOp(words: Int32Array, at: number): string {
  return `${OP_NAME_BY_CODE[words[at]] ?? `op#${words[at]}`}(${Array.from(words.subarray(at + 1, at + abi.OP_WORDS)).join(", ")})`;
}

export async function runDifferential(o: DiffOptions): Promise<DiffResult> {
  // Three RefsimErrors per rejected op: without stack traces they are cheap.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await differential(o);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

async function differential(o: DiffOptions): Promise<DiffResult> {
  const options = { scheme: o.scheme, capacity: o.capacity ?? DIFF_CAPACITY, cpus: o.cpus };
  const engine = await Engine.create({ ...options, counter: o.counter, cost: o.cost });
  const a = Model.create(options);
  const b = Model.create(options);
  const gen = new TraceGen(o.seed, a.machine);
  const r = new Prng(o.seed ^ 0x2545f491);
  const W = abi.OP_WORDS;
  const batch = engine.capacity.batch;
  const accepted = new Int32Array(o.ops * W);
  let nAccepted = 0;
  const kinds: Record<string, number> = {};
  const rejections: Record<string, number> = {};
  let done = 0;
  let rejected = 0;
  let compared = 0;
  let nextStats = 5000;
  const where = () => `scheme ${engine.scheme.name} seed ${o.seed} after ${done} ops`;

  while (done < o.ops) {
    const len = Math.min(o.ops - done, 1 + r.below(r.chance(0.1) ? 200 : 12));
    const words = new Int32Array(len * W);
    const expect: Outcome[] = [];
    const expectStatus: number[] = [];
    for (let i = 0; i < len; i++) {
      gen.next(words, i * W);
      const one = words.subarray(i * W, (i + 1) * W);
      const res = attempt(() => a.runEncoded(one, 1));
      expect.push(res instanceof RefsimError ? res : res[0]);
      expectStatus.push(res instanceof RefsimError ? 0 : a.lastStatuses()[0]);
      if (res instanceof RefsimError) {
        const key = `${res.op}:${res.code}`;
        rejections[key] = (rejections[key] ?? 0) + 1;
      } else {
        accepted.set(one, nAccepted * W);
        nAccepted++;
        const name = OP_NAME_BY_CODE[one[0]];
        kinds[name] = (kinds[name] ?? 0) + 1;
      }
    }
    // Engine and model B: the same ops in sub-batches, usually split just before a rejected op.
    let i = 0;
    while (i < len) {
      let end = len;
      const firstRejected = expect.findIndex((x, k) => k >= i && x instanceof RefsimError);
      if (firstRejected > i && r.chance(0.75)) end = firstRejected;
      const sub = words.subarray(i * W, end * W);
      const re = attempt(() => engine.runEncoded(sub, end - i));
      const rb = attempt(() => b.runEncoded(sub, end - i));
      const ctx = () => `${where()}, batch ops ${i}..${end - 1}: ${Array.from({ length: end - i }, (_, k) => describeOp(words, (i + k) * W)).join("; ")}`;
      // kernel statuses (errno / signal) of the ops each target ran in its last core call
      same(Array.from(b.lastStatuses()), Array.from(engine.lastStatuses()), () => `${ctx()}: kernel statuses`);
      if (re instanceof RefsimError || rb instanceof RefsimError) {
        ok(re instanceof RefsimError, () => `${ctx()}: model rejected (${(rb as RefsimError).message}), engine did not`);
        ok(rb instanceof RefsimError, () => `${ctx()}: engine rejected (${(re as RefsimError).message}), model did not`);
        same(errorFields(rb as RefsimError), errorFields(re as RefsimError), ctx);
        const k = i + (re as RefsimError).index!;
        const ea = expect[k];
        ok(ea instanceof RefsimError, () => `${ctx()}: op ${k} rejected in a batch but not alone (model A: ${ea})`);
        const strip = (e: RefsimError) => ({ ...errorFields(e), index: 0, message: e.message.replace(/^op \d+ /, "") });
        same(strip(ea as RefsimError), strip(re as RefsimError), ctx);
        for (let j = i; j < k; j++) ok(!(expect[j] instanceof RefsimError), () => `${ctx()}: op ${j} rejected alone but not in a batch`);
        rejected++;
        i = k + 1;
      } else {
        same(rb, re, ctx);
        // runEncoded returns the results of its last capacity.batch-sized chunk only.
        const tail = ((end - i - 1) % batch) + 1;
        same(expect.slice(end - tail, end), re, () => `${ctx()}: model A results`);
        same(expectStatus.slice(end - tail, end), Array.from(engine.lastStatuses()), () => `${ctx()}: model A kernel statuses`);
        compared += tail;
        i = end;
      }
    }
    done += len;
    if (o.strict || done >= nextStats) {
      nextStats += 5000;
      const es = engine.stats();
      same(b.stats(), es, () => `stats, ${where()}`);
      same(a.stats(), es, () => `stats of model A, ${where()}`);
    }
  }

  // The final state, in full.
  assert.equal(b.stats(), engine.stats(), `final stats, ${where()}`);
  assert.equal(a.stats(), engine.stats(), `final stats of model A, ${where()}`);
  assert.equal(b.violations(), engine.violations(), `violations, ${where()}`);
  assert.equal(a.violations(), engine.violations(), `violations of model A, ${where()}`);
  assert.is(b.opsExecuted, engine.opsExecuted);
  for (let pfn = 0; pfn < b.machine.frames.all.length; pfn++) {
    same(b.frame(pfn), engine.frame(pfn), () => `frame ${pfn}, ${where()}`);
  }
  for (const mm of b.machine.mms.alive) {
    for (const [vpn] of mm.tables.entriesIn(0, 2 ** abi.VPN_BITS)) {
      same(b.page(mm.id, vpn * PAGE_SIZE), engine.page(mm.id, vpn * PAGE_SIZE), () => `mm ${mm.id} vpn ${vpn}, ${where()}`);
    }
    for (let k = 0; k < 64; k++) {
      const vpn = 0x10000 + r.below(8192);
      same(b.page(mm.id, vpn * PAGE_SIZE), engine.page(mm.id, vpn * PAGE_SIZE), () => `mm ${mm.id} vpn ${vpn}, ${where()}`);
    }
  }
  for (let id = 1; id <= b.bufferObjects; id++) assert.equal(b.bo(id), engine.bo(id));
  assert.is(b.bufferObjects, engine.bufferObjects);
  for (let d = 0; d < b.machine.devices.drivers.length; d++) {
    assert.is(b.driverFreePages(d), engine.driverFreePages(d));
    same(b.driver(d), engine.driver(d), () => `driver ${d}, ${where()}`);
  }
  return {
    ops: done,
    rejected,
    resultsCompared: compared,
    kinds,
    rejections,
    violations: engine.stats().violations.total,
    accepted: accepted.subarray(0, nAccepted * W),
  };
}
