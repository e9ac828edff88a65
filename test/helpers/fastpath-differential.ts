// The fast-path tests' differential (test/fastpath*.test.ts): ops run one at a time on
// the engine, which has the guarded fast paths, and on the model, which has none; every
// result, rejection, kernel status, statistic, violation, frame and mapped page must be
// the same. Returns the engine's fast-path counters, so a test can show which way the
// guards sent the work.
import * as assert from "uvu/assert";
import * as abi from "../../assembly/abi.ts";
import { Engine, type FastPathCounts, type Capacity } from "../../src/core/engine.ts";
import { RefsimError } from "../../src/core/errors.ts";
import { PAGE_SIZE } from "../../src/core/ops.ts";
import { Model } from "../../src/model/model.ts";
import type { SchemeInput } from "../../src/scheme/resolve.ts";
import type { CounterName } from "../../src/cost/options.ts";

export interface FastPathCase {
  scheme?: SchemeInput;
  capacity?: Partial<Capacity>;
  counter?: CounterName;
  ops: number[][]; // [opcode, a0, a1, ...]
}

export type FastPathRun = FastPathCounts & { violations: number };

/** Run c's ops on the engine and the model, compare everything, return the engine's fast-path counts. */
export async function differential(c: FastPathCase): Promise<FastPathRun> {
  const options = { scheme: c.scheme ?? "E4", capacity: { systemPages: 64, devicePages: 64, hugePages: 2, ...c.capacity } };
  const engine = await Engine.create({ ...options, counter: c.counter });
  const model = Model.create(options);
  const words = new Int32Array(abi.OP_WORDS);
  c.ops.forEach((op, k) => {
    words.fill(0);
    words.set(op);
    const at = `op ${k} [${op.join(", ")}]`;
    const re = attempt(() => Array.from(engine.runEncoded(words, 1)));
    const rm = attempt(() => Array.from(model.runEncoded(words, 1)));
    if (re instanceof RefsimError || rm instanceof RefsimError) {
      assert.ok(re instanceof RefsimError && rm instanceof RefsimError, `${at}: engine ${re}, model ${rm}`);
      assert.is((re as RefsimError).message, (rm as RefsimError).message, at);
      return;
    }
    assert.equal(re, rm, `${at}: result`);
    assert.equal(Array.from(engine.lastStatuses()), Array.from(model.lastStatuses()), `${at}: kernel status`);
  });
  assert.equal(engine.stats(), model.stats(), "stats");
  assert.equal(engine.violations(), model.violations(), "violations");
  for (let pfn = 0; pfn < model.machine.frames.all.length; pfn++) assert.equal(engine.frame(pfn), model.frame(pfn), `frame ${pfn}`);
  for (const mm of model.machine.mms.alive) {
    for (const [vpn] of mm.tables.entriesIn(0, 2 ** abi.VPN_BITS)) {
      assert.equal(engine.page(mm.id, vpn * PAGE_SIZE), model.page(mm.id, vpn * PAGE_SIZE), `mm ${mm.id} vpn ${vpn}`);
    }
  }
  return { ...engine.fastPaths(), violations: engine.stats().violations.total };
}

function attempt<T>(f: () => T): T | RefsimError {
  try {
    return f();
  } catch (e) {
    if (e instanceof RefsimError) return e;
    throw e;
  }
}
