// The quiesce check reads only the frames the allocators ever handed out (assembly/check.ts: the
// buddy's and the THP pool's high-water marks, assembly/frames.ts, and the device frames of the
// pgmaps registered so far): every other frame is as init left it. Each case makes the highest frame
// of one range wrong after a check ran at a lower mark (a count corrupted through the saved state, or
// a device leak under E0-devmap), and the check must report it as the model's full scan does; a fresh
// engine loading that saved state must report it too (the marks are part of the state).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { editSavedWord } from "./helpers/saved-state.ts";
import * as abi from "../assembly/abi.ts";
import { instantiateCore } from "../src/core/wasm.ts";
import { resolveCapacity, writeCapacity } from "../src/core/capacity.ts";

const PAGE = 4096;
const M2 = 512 * PAGE;
const A = 0x10000;
const HUGE = 0x40000000; // 2 MiB aligned
const MARK = 0x5eed1234; // the content word that finds the top frame
const capacity = { systemPages: 64, devicePages: 64, hugePages: 2, violationRecords: 64 };

type Target = Engine | Model;
type Corrupt = "refcount" | "none";

/** Frames lower in the range first and a check, then the top frame (content MARK) by `top`. */
const cases: { name: string; scheme: string; corrupt: Corrupt; top: (t: Target, mm: number) => void }[] = [
  {
    name: "an anon write fault (allocSystemPageAs) above the mark",
    scheme: "E4",
    corrupt: "refcount",
    top: (t, mm) => { for (let i = 4; i < 8; i++) t.write(mm, A + i * PAGE, i === 7 ? MARK : i); },
  },
  {
    name: "a page-cache read (allocSystemPage) above the mark",
    scheme: "E4",
    corrupt: "refcount",
    top: (t, mm) => {
      const f = t.fileNew(4 * PAGE);
      const a = t.mmap(mm, { addr: A + 64 * PAGE, length: 4 * PAGE, file: f, shared: true });
      for (let i = 0; i < 3; i++) t.read(mm, a + i * PAGE);
      t.write(mm, a + 3 * PAGE, MARK);
    },
  },
  {
    name: "a THP (allocHugeFolio) above the mark",
    scheme: "E4",
    corrupt: "refcount",
    top: (t, mm) => {
      const a = t.mmap(mm, { addr: HUGE, length: 2 * M2, huge: true });
      t.write(mm, a, 1);
      t.check(); // the first block is below the THP mark now
      t.write(mm, a + M2, MARK);
    },
  },
  {
    name: "the last device page of the last pgmap, leaked (E0-devmap)",
    scheme: "E0-devmap",
    corrupt: "none",
    top: (t, mm) => {
      t.driverNew("device-coherent", 8);
      const d = t.driverNew("device-coherent", 8);
      const a = t.mmap(mm, { addr: A + 128 * PAGE, length: 8 * PAGE });
      for (let i = 0; i < 8; i++) t.write(mm, a + i * PAGE, i);
      t.migrateToDevice(mm, a, 8 * PAGE, d);
      t.munmap(mm, a, 8 * PAGE); // the devmap pages and their BO leak
    },
  },
];

function setup(t: Target, c: (typeof cases)[number]): void {
  const mm = t.mmNew();
  t.mmap(mm, { addr: A, length: 16 * PAGE });
  for (let i = 0; i < 4; i++) t.write(mm, A + i * PAGE, i);
  t.check(); // the marks are low here
  c.top(t, mm);
}

/** The frame holding MARK (the top frame of its range). */
function topFrame(t: Target, frames: number): number {
  for (let pfn = 1; pfn < frames; pfn++) if (t.frame(pfn).content === MARK) return pfn;
  return -1;
}

for (const c of cases) {
  test(`quiesce check past the high-water marks: ${c.name}`, async () => {
    const e = await Engine.create({ scheme: c.scheme, capacity });
    const m = Model.create({ scheme: c.scheme, capacity });
    setup(e, c);
    setup(m, c);
    const frames = m.machine.frames.all.length;
    if (c.corrupt === "refcount") {
      const pfn = topFrame(e, frames);
      assert.ok(pfn > 0, "the top frame");
      assert.is(topFrame(m, frames), pfn, "the same frame in the model");
      const r = e.frame(pfn).refcount;
      assert.ok(editSavedWord(e, r, r + 3, () => e.frame(pfn).refcount === r + 3), "the refcount edited");
      m.machine.frames.all[pfn].refcount = r + 3;
    }
    const saved = e.saveState();
    e.check();
    m.check();
    const v = e.violations();
    assert.equal(v, m.violations(), "the model's violations");
    const high = Math.max(...v.map((x) => x.pfn));
    if (c.corrupt === "refcount") {
      assert.ok(v.some((x) => x.kind === "refcount_mismatch" && x.pfn === topFrame(e, frames)), `the top frame's count: ${JSON.stringify(v)}`);
    } else {
      assert.ok(v.some((x) => x.kind === "leak_page" && x.pfn === frames - capacity.devicePages + 15), `the last device page: ${JSON.stringify(v)}`);
    }
    const f = await Engine.create({ scheme: c.scheme, capacity });
    f.loadState(saved);
    f.check();
    assert.equal(f.violations(), v, "a fresh engine that loaded the state");
    assert.ok(high > 4, "a frame above the first check's marks");
  });
}

/** Byte offsets of the frame arrays in an engine of `capacity` (the heap is laid out the same for the same capacity). */
async function frameArrays(): Promise<{ flags: number; refs: number }> {
  const core = await instantiateCore();
  const caps = new Int32Array((core as unknown as { memory: WebAssembly.Memory }).memory.buffer, core.capsPtr(), abi.CAP_WORDS);
  writeCapacity(caps, resolveCapacity(capacity));
  assert.is(core.init(), 0);
  return { flags: core.flagsPtr(), refs: core.refcountPtr() };
}

test("quiesce check past the high-water marks: a loaded state with frames above the marks edited is checked whole", async () => {
  const e = await Engine.create({ scheme: "E4", capacity });
  const m = Model.create({ scheme: "E4", capacity });
  for (const t of [e, m]) {
    const mm = t.mmNew();
    t.mmap(mm, { addr: A, length: 16 * PAGE });
    for (let i = 0; i < 4; i++) t.write(mm, A + i * PAGE, i);
    t.driverNew("device-coherent", 8);
    t.check(); // the marks: 5 system frames, one pgmap of 8 device pages
  }
  const frames = m.machine.frames.all.length;
  const sys = 40; // a small page no allocator handed out
  const dev = frames - 1; // a device frame of no pgmap
  const at = await frameArrays();
  const s = e.saveState();
  const w = new DataView(s.memory.buffer, s.memory.byteOffset, s.memory.byteLength);
  w.setUint32(at.flags + 4 * sys, abi.PG_ALLOCATED | (abi.KIND_SYSTEM << abi.PG_KIND_SHIFT), true);
  w.setInt32(at.refs + 4 * sys, 1, true);
  w.setUint32(at.flags + 4 * dev, abi.PG_ALLOCATED | (abi.KIND_DEVICE_COHERENT << abi.PG_KIND_SHIFT), true);
  w.setInt32(at.refs + 4 * dev, 5, true);
  const f = await Engine.create({ scheme: "E4", capacity });
  f.loadState(s);
  assert.equal([f.frame(sys).allocated, f.frame(dev).allocated, f.frame(dev).refcount], [true, true, 5], "the edited frames");
  Object.assign(m.machine.frames.all[sys], { allocated: true, refcount: 1, index: sys + 1 }); // the engine's free page keeps its buddy link there
  Object.assign(m.machine.frames.all[dev], { kind: abi.KIND_DEVICE_COHERENT, allocated: true, refcount: 5 });
  f.check();
  m.check();
  const v = f.violations();
  assert.equal(v, m.violations(), "the model's full scan");
  for (const pfn of [sys, dev]) assert.ok(v.some((x) => x.pfn === pfn), `frame ${pfn} reported: ${JSON.stringify(v)}`);
});

test.run();
