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
import { fnvRecords, OpEncoder } from "../src/workload/encoder.ts";
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

test("every OpEncoder method and op() zero pattern hashes the words it hands the target", () => {
  let h = FNV_OFFSET;
  let seen = 0;
  const sink: OpTarget = {
    runEncoded: (words, count) => { h = fnvWords(words, count * OP_WORDS, h); seen += count; return new Int32Array(count); },
    stats: () => { throw new Error("not used"); },
    violations: () => [],
  };
  const enc = new OpEncoder(sink, { chunk: 7 }); // flushes mid-way, so the hash continues across calls
  const v = (k: number) => (k * 0x9e3779b1) | 1; // non-zero, some beyond a Smi
  for (let pattern = 0; pattern < 1 << (OP_WORDS - 1); pattern++) {
    const a = Array.from({ length: OP_WORDS - 1 }, (_, k) => ((pattern >> k) & 1 ? v(pattern * 8 + k) : 0));
    enc.op(1 + (pattern % 40), a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
  }
  enc.mmNew(); enc.mmap(1, 0x10000, 4, 7, -1, 0); enc.mmap(1, -1, 4, 7, 2, 3); enc.munmap(1, 0x10000, 4);
  enc.read(1, 0x10000); enc.read(0, 0); enc.write(1, 0x10000, v(1)); enc.write(1, 0x10000, 0); enc.fork(1); enc.exit(2);
  enc.madviseDontneed(1, 5, 0); enc.fileNew(3); enc.fileNew(3, 0); enc.driverNew(1, 9); enc.migrateToDevice(1, 2, 3, 4, 0);
  enc.migrateToRam(1, 2, 3); enc.gup(1, 2, 0); enc.gup(1, 0, 3); enc.unpin(v(2)); enc.dropCache(0); enc.driverTeardown(1, true);
  enc.driverTeardown(1, false); enc.evictBo(3); enc.faultBegin(1, 2); enc.faultEnd(1); enc.truncate(1, 0, 2); enc.dmaWrite(1, v(3));
  enc.dmaWrite(1, 0); enc.madvisePageout(1, 2, 3); enc.check(); enc.cpu(3); enc.cpu(0); enc.teardown();
  assert.ok(seen < enc.seq, "some ops are still buffered");
  const buffered = enc.streamHash;
  enc.flush();
  assert.is(seen, enc.seq);
  assert.is(enc.streamHash, buffered, "the hash covers buffered ops already");
  assert.is(enc.streamHash, h >>> 0);
});

test.run();
