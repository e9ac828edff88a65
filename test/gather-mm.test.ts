// The mm an mmu_gather belongs to (assembly/mmu_gather.ts gatherMm): a put at tlb_flush_mmu
// that goes wrong is reported against the mm whose zap gathered the page, not the mm of an
// earlier zap. No op sequence makes a gathered put go wrong on a sound scheme, so the cases
// corrupt one page's refcount (engine: its saved state; model: its frame) and compare the
// engine's violations with the model's, which puts each page in the zap of its own mm.
import { test } from "uvu";
import { editSavedWord } from "./helpers/saved-state.ts";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import type { CounterName } from "../src/cost/options.ts";

const A = 0x10000;
const ANON = abi.VM_READ | abi.VM_WRITE | abi.VM_ANON;
const MARK = 0x5eed4321; // a content word to find the corrupted page's frame by

interface Target { runEncoded(words: Int32Array, count: number): ArrayLike<number> }
const run = (t: Target, ...op: number[]) => {
  const words = new Int32Array(abi.OP_WORDS);
  words.set(op);
  return t.runEncoded(words, 1)[0];
};

/** mm 0 zaps pages of its own first (the gather's last owner), then mm 1 maps and writes `pages` pages. */
function setup(t: Target, pages: number): void {
  run(t, abi.OP_MM_NEW);
  run(t, abi.OP_MM_NEW);
  run(t, abi.OP_MMAP, 0, A, 4, ANON, -1, 0);
  for (let i = 0; i < 4; i++) run(t, abi.OP_WRITE, 0, A + i, 1 + i);
  run(t, abi.OP_MUNMAP, 0, A, 4);
  run(t, abi.OP_MMAP, 1, A, pages, ANON, -1, 0);
  for (let i = 0; i < pages; i++) run(t, abi.OP_WRITE, 1, A + i, i === 1 ? MARK : 10 + i);
}

async function underflowAt(counter?: CounterName, pages = 4) {
  const capacity = { systemPages: 32 };
  const e = await Engine.create({ scheme: "E4", capacity, counter });
  const m = Model.create({ scheme: "E4", capacity, counter });
  setup(e, pages);
  setup(m, pages);
  const pfn = [...Array(33).keys()].find((p) => e.frame(p).content === MARK)!;
  assert.is(m.frame(pfn).content, MARK, "the same frame in both");
  assert.equal({ ref: e.frame(pfn).refcount, map: e.frame(pfn).mapcount }, { ref: 1, map: 1 });
  assert.ok(editSavedWord(e, 1, 0, () => e.frame(pfn).refcount === 0), "the refcount edited"); // a reference dropped behind the kernel's back
  m.machine.frames.all[pfn].refcount = 0;
  const before = e.fastPaths();
  run(e, abi.OP_MUNMAP, 1, A, pages);
  run(m, abi.OP_MUNMAP, 1, A, pages);
  const after = e.fastPaths();
  const v = e.violations();
  assert.equal(v, m.violations(), "the model's violations");
  assert.equal(v.map((x) => ({ kind: x.kind, pfn: x.pfn, mm: x.mm })), [{ kind: "underflow", pfn, mm: 1 }]);
  return { zapFast: after.zapFast - before.zapFast, flushFull: after.flushFull - before.flushFull };
}

test("a put that underflows at tlb_flush_mmu names the zapping mm: the fast zap loop's gather", async () => {
  const d = await underflowAt();
  assert.ok(d.zapFast > 0, `the pages went by the fast zap loop: ${JSON.stringify(d)}`);
});

test("the same through the per-PTE gather (tlbGather): with the counter layer no fast path runs", async () => {
  const d = await underflowAt("atomic");
  assert.is(d.zapFast, 0, JSON.stringify(d));
});

test.run();
