// The encoder's stream hash is plain FNV-1a over every op word it submits (the word-by-word
// loop of src/trace/format.ts's fnvWords), whatever shortcut it takes to compute it (issue 14:
// fnvRecords folds a record's trailing zero words into one multiply). Checked two ways: on
// records with every pattern of zero and non-zero words, and on each registered workload's
// whole op stream as the target received it, so the pinned stream hashes
// (workload-streams.test.ts, workload.test.ts) keep meaning "the same op words".
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { OP_WORDS } from "../assembly/abi.ts";
import { fnvRecords } from "../src/workload/encoder.ts";
import { fnvWords, FNV_OFFSET } from "../src/trace/format.ts";
import { WORKLOAD_NAMES, runWorkload } from "../src/workload/index.ts";
import type { OpTarget } from "../src/workload/target.ts";

test("fnvRecords is FNV-1a word by word, for every zero pattern of a record", () => {
  const n = 1 << OP_WORDS; // record i has word k non-zero iff bit k of i is set
  const w = new Int32Array(n * OP_WORDS);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < OP_WORDS; k++) {
      x = (Math.imul(x, 1103515245) + 12345) | 0;
      w[i * OP_WORDS + k] = (i >> k) & 1 ? x | 1 : 0;
    }
  }
  for (const from of [FNV_OFFSET | 0, 0, -1, 0x1234567]) {
    assert.is(fnvRecords(w, w.length, from) >>> 0, fnvWords(w, w.length, from >>> 0));
    // and record by record (the hash continues across flushes)
    let h = from;
    for (let i = 0; i < n; i++) h = fnvRecords(w.subarray(i * OP_WORDS), OP_WORDS, h);
    assert.is(h >>> 0, fnvWords(w, w.length, from >>> 0));
  }
});

test("every workload's streamHash is FNV-1a of the op words its target received", async () => {
  for (const name of WORKLOAD_NAMES) {
    const e = await Engine.create({ scheme: "E4" });
    let h = FNV_OFFSET;
    let ops = 0;
    const spy: OpTarget = {
      runEncoded: (words, count) => { h = fnvWords(words, count * OP_WORDS, h); ops += count; return e.runEncoded(words, count); },
      stats: () => e.stats(),
      violations: () => e.violations(),
    };
    Object.assign(spy, { capacity: e.capacity, counter: e.counter });
    const s = runWorkload(name, spy, {}, 3, 20_000);
    assert.is(ops, s.ops, `${name}: ops`);
    assert.is(s.streamHash, h, `${name}: streamHash`);
  }
});

test.run();
