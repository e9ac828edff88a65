// Trace record and replay: round trips from a workload, a scenario and an explore
// find are bit-identical (results, statistics, violations; the same bytes when
// recorded again); truncated and corrupted traces are rejected with the byte
// offset before anything runs, and the recording is never touched.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { Engine } from "../src/core/engine.ts";
import { RefsimError } from "../src/core/errors.ts";
import { loadScenario } from "../src/scenario/load.ts";
import { runScenario } from "../src/scenario/run.ts";
import { runWorkload } from "../src/workload/index.ts";
import {
  TraceRecorder, TraceWriter, replayTrace, decodeTrace, recordScenario, crc32, HEADER_BYTES, BLOCK_OPS,
} from "../src/trace/index.ts";
import { explore, recordSymbolic, EXPLORE_CAPACITY } from "../src/explore/index.ts";

async function recordMix(ops: number, seed = 3): Promise<{ bytes: Uint8Array; engine: Engine }> {
  const engine = await Engine.create({ scheme: "E2" });
  const rec = new TraceRecorder(engine, { source: "workload mix", seed, engineVersion: "test" });
  runWorkload("mix", rec, { ratios: { check: 0.2 } }, seed, ops);
  return { bytes: rec.finish(), engine };
}

function rejects(bytes: Uint8Array, pattern: RegExp): RefsimError {
  try {
    decodeTrace(bytes);
  } catch (e) {
    assert.instance(e, RefsimError);
    assert.match((e as Error).message, pattern);
    assert.is((e as RefsimError).code, "BAD_TRACE");
    return e as RefsimError;
  }
  throw new Error(`decodeTrace accepted a bad trace (expected ${pattern})`);
}

test("CRC-32 is the standard one (check value of '123456789')", () => {
  assert.is(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

test("records encode every argument value exactly (zigzag varints), in blocks", () => {
  const w = new TraceWriter();
  const words = new Int32Array(abi.OP_WORDS * 3);
  words.set([abi.OP_MMAP, 0, -1, 2 ** 31 - 1, -(2 ** 31), 127, 128, -64], 0);
  words.set([abi.OP_CHECK], abi.OP_WORDS);
  words.set([abi.OP_WRITE, 5, 0x10000, -2], 2 * abi.OP_WORDS);
  for (let i = 0; i < BLOCK_OPS; i++) w.append(words, 3);
  const bytes = w.finish({ source: "t", seed: null, scheme: "E2", capacity: {} });
  const t = decodeTrace(bytes);
  assert.is(t.ops, 3 * BLOCK_OPS);
  assert.is(t.blocks, 3);
  let n = 0;
  for (const b of t.words()) {
    for (let i = 0; i < b.ops; i++) {
      const k = (b.firstOp + i) % 3;
      assert.equal(Array.from(b.words.subarray(i * 8, i * 8 + 8)), Array.from(words.subarray(k * 8, k * 8 + 8)));
      n++;
    }
  }
  assert.is(n, 3 * BLOCK_OPS);
  assert.ok(bytes.length < 3 * BLOCK_OPS * 12, `${bytes.length} bytes`); // vs 32 bytes a record in the core
});

test("round trip of a workload: replay identical, same statistics and violations, and the same bytes when recorded again", async () => {
  const { bytes, engine } = await recordMix(60_000);
  const copy = bytes.slice();
  const t = decodeTrace(bytes);
  assert.is(t.meta.source, "workload mix");
  assert.is(t.meta.seed, 3);
  assert.is(t.meta.engineVersion, "test");
  assert.is((t.meta.scheme as { name: string }).name, "E2");
  assert.ok(t.ops >= 59_000);
  const r = await replayTrace(bytes, { rerecord: true, engineVersion: "test" });
  assert.ok(r.identical, r.differences.join("; "));
  assert.equal(r.warnings, []);
  assert.equal(r.engine.stats(), engine.stats());
  assert.equal(r.engine.violations(), engine.violations());
  assert.equal(r.bytes, bytes);
  assert.equal(bytes, copy); // replay only reads
  const other = await replayTrace(bytes, { engineVersion: "9.9.9" });
  assert.match(other.warnings.join(), /recorded by engine test, replayed by 9\.9\.9/);
});

test("round trip of a scenario: the seed scenario's leak replays, matching the scenario runner", async () => {
  const loaded = await loadScenario("seed");
  const rec = await recordScenario(loaded, "E0-devmap", { engineVersion: "test" });
  assert.is(rec.error, undefined);
  assert.is(rec.ops, 8); // 7 op steps and the read its "CPU reads device memory" expectation makes
  const r = await replayTrace(rec.bytes);
  assert.ok(r.identical, r.differences.join("; "));
  const run = await runScenario(loaded, "E0-devmap", ["E0-devmap"]);
  assert.equal(r.engine.stats(), run.stats); // the same op stream as the runner's
  assert.is(r.engine.stats().violations.leak_bo, 1);
  assert.equal((await replayTrace(rec.bytes, { rerecord: true })).bytes, rec.bytes);
});

test("round trip of an explore find: the machine's op stream replays and shows the leak", async () => {
  const found = (await explore({ scheme: "E0-devmap", seed: 1, budgetOps: 100_000 })).found!;
  const bytes = await recordSymbolic(found.original, "E0-devmap", EXPLORE_CAPACITY, { source: "explore test", seed: found.episodeSeed, engineVersion: "test" });
  const r = await replayTrace(bytes, { rerecord: true });
  assert.ok(r.identical, r.differences.join("; "));
  assert.ok(r.engine.stats().violations.leak_page > 0);
  assert.equal(r.bytes, bytes);
});

test("a custom scheme travels in the header: the replay needs no scheme file", async () => {
  const custom = { name: "E2-no-fault-ref", base: "E2", rules: { swapFaultRef: "none" } };
  const e = await Engine.create({ scheme: custom as never });
  const rec = new TraceRecorder(e, { source: "by hand" });
  rec.run([{ op: "mm_new" }, { op: "mmap", mm: 0, length: 8192 }, { op: "write", mm: 0, addr: 0x10000000, value: 4 }]);
  const r = await replayTrace(rec.finish());
  assert.ok(r.identical);
  assert.is(r.engine.scheme.name, "E2-no-fault-ref");
  assert.is(r.engine.scheme.rules.swapFaultRef, "none");
});

test("a truncated trace is rejected with the byte offset, wherever it is cut, before any op runs", async () => {
  const { bytes } = await recordMix(12_000);
  const metaLen = new DataView(bytes.buffer).getUint32(12, true);
  rejects(bytes.subarray(0, 20), /truncated at byte offset 20: the header needs 32 bytes/);
  rejects(bytes.subarray(0, HEADER_BYTES + 10), new RegExp(`truncated at byte offset ${HEADER_BYTES + 10}: the header's meta`));
  const cut = HEADER_BYTES + metaLen + 5000;
  const e = rejects(bytes.subarray(0, cut), new RegExp(`truncated at byte offset ${cut}: \\d+ bytes of \\d+ missing \\(block 0 of \\d+ starts at byte offset ${HEADER_BYTES + metaLen}\\)`));
  assert.is(e.index, cut);
  for (const n of [bytes.length - 1, bytes.length - 4000, HEADER_BYTES + metaLen]) rejects(bytes.subarray(0, n), new RegExp(`truncated at byte offset ${n}`));
  try {
    await replayTrace(bytes.subarray(0, cut));
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /truncated at byte offset/);
  }
});

test("a corrupted trace is rejected naming the block and the bytes whose checksum fails; header damage too; the file is untouched", async () => {
  const { bytes } = await recordMix(12_000);
  const metaLen = new DataView(bytes.buffer).getUint32(12, true);
  const body = HEADER_BYTES + metaLen;
  // flip one byte in the second block
  const t = decodeTrace(bytes);
  const second = [...t.words()][1];
  const at = second.offset + 100;
  const bad = bytes.slice();
  bad[at] ^= 0x40;
  const e = rejects(bad, /corrupted block 1 \(ops 4096\.\.8191\): checksum mismatch over bytes (\d+)\.\.(\d+)/);
  const [, from, to] = /bytes (\d+)\.\.(\d+)/.exec(e.message)!.map(Number);
  assert.ok(from <= at && at <= to, `${at} in ${from}..${to}`);
  assert.is(e.index, second.offset);
  const before = bad.slice();
  try {
    await replayTrace(bad);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /corrupted block 1/);
  }
  assert.equal(bad, before);
  // header fields and meta
  const h = bytes.slice();
  h[17] ^= 1; // op count
  rejects(h, /corrupted header: the checksum at byte offset 28 does not match bytes 0\.\./);
  const m = bytes.slice();
  m[HEADER_BYTES + 3] ^= 1;
  rejects(m, /corrupted header/);
  const magic = bytes.slice();
  magic[2] = 0x58;
  rejects(magic, /not a refsim trace: bad magic at byte offset 2/);
  const version = bytes.slice();
  version[8] = 9;
  rejects(version, /format version 9 at byte offset 8 is not supported/);
  // a block's length field
  const len = bytes.slice();
  new DataView(len.buffer).setUint32(body, 999_999_999, true);
  rejects(len, new RegExp(`block 0 at byte offset ${body} claims 999999999 bytes`));
  // extra bytes
  const longer = new Uint8Array(bytes.length + 3);
  longer.set(bytes);
  rejects(longer, new RegExp(`3 unexpected bytes after the last block, from byte offset ${bytes.length}`));
});

test("a replay that diverges names the op and its record's byte offset", async () => {
  const w = new TraceWriter();
  w.append(new Int32Array([abi.OP_MM_NEW, 0, 0, 0, 0, 0, 0, 0, abi.OP_EXIT, 0, 0, 0, 0, 0, 0, 0, abi.OP_EXIT, 0, 0, 0, 0, 0, 0, 0]), 3);
  const bytes = w.finish({ source: "hand", seed: null, scheme: "E4", capacity: {} });
  const t = decodeTrace(bytes);
  try {
    await replayTrace(bytes);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, new RegExp(`replay diverged at op 2 \\(exit, record at byte offset ${t.offsetOf(2)}\\)`));
    assert.is((e as RefsimError).code, "REPLAY_DIVERGED");
  }
});

test("a recorder must start from a fresh engine and passes rejections through with the ops before them recorded", async () => {
  const e = await Engine.create({ scheme: "E4" });
  e.mmNew();
  assert.throws(() => new TraceRecorder(e, { source: "x" }), /fresh engine/);
  const rec = new TraceRecorder(await Engine.create({ scheme: "E4" }), { source: "x" });
  assert.throws(() => rec.run([{ op: "mm_new" }, { op: "exit", mm: 0 }, { op: "exit", mm: 0 }]), (err: Error) => (err as RefsimError).index === 2);
  assert.is(rec.ops, 2);
  const r = await replayTrace(rec.finish());
  assert.ok(r.identical);
  assert.is(r.ops, 2);
});

test("format 2: ops with codes of 32 and more (mprotect, mremap) are recorded and replayed; format 1 traces still read", async () => {
  const rec = new TraceRecorder(await Engine.create({ scheme: "E4" }), { source: "mm ops" });
  rec.run([
    { op: "mm_new" }, { op: "mmap", mm: 0, length: 8192 }, { op: "write", mm: 0, addr: 0x10000000, value: 5 },
    { op: "mprotect", mm: 0, addr: 0x10000000, length: 4096, prot: "r" },
    { op: "mremap", mm: 0, addr: 0x10000000, length: 8192, newLength: 16384, maymove: true },
  ]);
  const bytes = rec.finish();
  const t = decodeTrace(bytes);
  assert.is(t.formatVersion, 2);
  const words = t.words().next().value!.words;
  assert.equal([words[3 * abi.OP_WORDS], words[4 * abi.OP_WORDS]], [abi.OP_MPROTECT, abi.OP_MREMAP]);
  assert.ok((await replayTrace(bytes)).identical);
  // The same ops without escapes, labelled format 1 (header checksum redone), read as before.
  const old = new TraceRecorder(await Engine.create({ scheme: "E4" }), { source: "v1" });
  old.run([{ op: "mm_new" }, { op: "mmap", mm: 0, length: 4096 }]);
  const v1 = old.finish();
  const dv = new DataView(v1.buffer, v1.byteOffset, v1.byteLength);
  dv.setUint16(8, 1, true);
  dv.setUint32(28, crc32(v1, HEADER_BYTES, HEADER_BYTES + dv.getUint32(12, true), crc32(v1, 0, 28)), true);
  assert.is(decodeTrace(v1).formatVersion, 1);
  assert.ok((await replayTrace(v1)).identical);
});

test.run();
