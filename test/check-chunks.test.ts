// The quiesce check counts holders one chunk of frames at a time (assembly/check.ts
// CHECK_CHUNK = 1 Mi frames), so its scratch is 8 MiB whatever the engine's size. On an
// engine of more than one chunk it must find exactly what the model's one-pass check
// finds, in the same order: mapped, forked and pinned pages on both sides of the chunk
// boundary, device pages (the last chunk) leaked with their BO under E0-devmap.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { OpEncoder } from "../src/workload/encoder.ts";
import type { OpTarget } from "../src/workload/target.ts";

const CHUNK = 1 << 20;
const PAGES = CHUNK + 2048; // written in order: pfns 1 .. PAGES, across the first chunk's end
const capacity = { systemPages: CHUNK + 4096, devicePages: 512, pteTables: 4300, pmdTables: 2200, processes: 8, gupHandles: 16, violationRecords: 64 };

function drive(t: OpTarget): { results: number[]; stats: unknown; violations: unknown } {
  const enc = new OpEncoder(t);
  const results: number[] = [];
  const keep = (seq: number) => results.push(enc.result(seq));
  const base = 0x10000;
  const mm = enc.result(enc.mmNew());
  enc.mmap(mm, base, PAGES, abi.VM_READ | abi.VM_WRITE | abi.VM_ANON, -1, 0);
  for (let i = 0; i < PAGES; i++) enc.write(mm, base + i, i);
  const drv = enc.result(enc.driverNew(abi.KIND_DEVICE_COHERENT, 256));
  keep(enc.migrateToDevice(mm, base + PAGES - 64, 32, drv, 0)); // device pages: the last chunk
  keep(enc.gup(mm, base + CHUNK - 2, abi.FOLL_PIN)); // pins on both sides of the boundary
  keep(enc.gup(mm, base + CHUNK + 5, abi.FOLL_PIN | abi.FOLL_WRITE));
  const child = enc.result(enc.fork(mm));
  enc.write(child, base + CHUNK + 7, 7); // a COW copy in the second chunk
  keep(enc.check());
  enc.munmap(child, base + PAGES - 64, 64);
  enc.munmap(mm, base + PAGES - 64, 64); // E0-devmap: the device pages and their BO leak
  keep(enc.check());
  enc.flush();
  return { results, stats: t.stats(), violations: t.violations() };
}

test("quiesce check in chunks: an engine of more than 1 Mi frames finds what the model finds, in order", async () => {
  const e = drive(await Engine.create({ scheme: "E0-devmap", capacity }));
  const m = drive(await Model.create({ scheme: "E0-devmap", capacity }));
  assert.equal(e.results, m.results);
  assert.equal(e.violations, m.violations);
  assert.equal(e.stats, m.stats);
  const v = e.violations as { kind: string; pfn: number }[];
  assert.ok(v.some((x) => x.kind === "leak_page" && x.pfn > CHUNK), "a leaked device page past the first chunk");
  assert.ok(v.some((x) => x.kind === "leak_bo"), "its BO leaks");
  assert.ok(!v.some((x) => x.kind === "refcount_mismatch" || x.kind === "mapcount_mismatch"), "no count mismatch on either side of the boundary");
});

test("engine memory: grown once to what the tables need (24 B per frame), not doubled", async () => {
  const a = await Engine.create({ scheme: "E4", capacity: { systemPages: 2 << 20 } });
  const b = await Engine.create({ scheme: "E4", capacity: { systemPages: 3 << 20 } });
  // 1 Mi more frames at 24 B each; doubling growth would have reserved up to twice the heap
  const delta = b.memoryBytes - a.memoryBytes;
  assert.ok(Math.abs(delta - 24 * 2 ** 20) <= 2 * 65536, `1 Mi frames more cost ${delta} bytes of linear memory`);
});

test.run();
