// Rejected input: every bad op throws a RefsimError naming the op, the field and
// (in a batch) the op's index, and leaves the engine exactly as it was.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine, type Capacity } from "../src/core/engine.ts";
import { RefsimError } from "../src/core/errors.ts";
import type { Op } from "../src/core/ops.ts";
import { spawnSync } from "node:child_process";
import { PLAIN_ENV } from "./helpers/cli.ts";

const PAGE = 4096;
const CAP = { systemPages: 64, devicePages: 16 };

/** Everything observable about an engine: counters, violations, every frame, the given mappings. */
function snapshot(e: Engine, probes: [number, number][] = []) {
  const frames = [];
  const total = 1 + e.capacity.systemPages + e.capacity.devicePages;
  for (let pfn = 0; pfn < total; pfn++) frames.push(e.frame(pfn));
  return {
    stats: e.stats(),
    violations: e.violations(),
    opsExecuted: e.opsExecuted,
    bufferObjects: e.bufferObjects,
    frames,
    pages: probes.map(([mm, addr]) => e.page(mm, addr)),
  };
}

interface Expect {
  op?: string;
  field?: string;
  index?: number;
  code?: string;
  message?: RegExp;
}

/** fn must throw a RefsimError matching `want`; returns it. */
function rejects(fn: () => unknown, want: Expect): RefsimError {
  let err: unknown;
  try {
    fn();
  } catch (x) {
    err = x;
  }
  assert.ok(err instanceof RefsimError, `expected a RefsimError, got ${err === undefined ? "no error" : String(err)}`);
  const e = err as RefsimError;
  assert.is(e.name, "RefsimError");
  for (const k of ["op", "field", "index", "code"] as const) {
    if (k in want) assert.is(e[k], want[k], `${k} of: ${e.message}`);
  }
  if (want.message) assert.match(e.message, want.message);
  return e;
}

/** A rejected single op leaves the engine unchanged. */
function rejectsUnchanged(e: Engine, probes: [number, number][], fn: () => unknown, want: Expect): RefsimError {
  const before = snapshot(e, probes);
  const err = rejects(fn, want);
  assert.equal(snapshot(e, probes), before, `engine changed by the rejected op: ${err.message}`);
  return err;
}

function pg0(e: Engine, mm: number, addr: number) {
  const p = e.page(mm, addr);
  assert.ok(p, `expected a mapping at 0x${addr.toString(16)}`);
  return p!;
}

/** A process with two written anon pages and a read-only mapping. */
async function world(capacity: Partial<Capacity> = {}) {
  const e = await Engine.create({ scheme: "E2", capacity: { ...CAP, ...capacity } });
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 2 * PAGE });
  e.write(mm, a, 1);
  e.write(mm, a + PAGE, 2);
  const ro = e.mmap(mm, { length: PAGE, prot: "r" });
  const probes: [number, number][] = [[mm, a], [mm, a + PAGE], [mm, ro]];
  return { e, mm, a, ro, probes };
}

/** The engine still works after a rejection: new faults, reads and the check behave. */
function stillWorks(e: Engine, mm: number, a: number): void {
  e.write(mm, a, 77);
  assert.is(e.read(mm, a), 77);
  const b = e.mmap(mm, { length: PAGE });
  e.write(mm, b, 78);
  assert.is(e.read(mm, b), 78);
  e.check();
  assert.equal(e.violations(), []);
}

test("unknown op: RefsimError with op and field 'op'; nothing changes", async () => {
  const { e, mm, a, probes } = await world();
  const err = rejectsUnchanged(e, probes, () => e.run([{ op: "frobnicate" } as unknown as Op]), { op: "frobnicate", field: "op", index: 0, code: "BAD_OP", message: /unknown op "frobnicate"/ });
  assert.match(err.message, /mmap/, "the message lists the valid ops");
  rejectsUnchanged(e, probes, () => e.run([null as unknown as Op]), { index: 0, code: "BAD_OP", message: /must be an object/ });
  stillWorks(e, mm, a);
});

test("unknown field: names the op and the field", async () => {
  const { e, mm, a, probes } = await world();
  rejectsUnchanged(e, probes, () => e.run([{ op: "read", mm, addr: a, size: 4 } as unknown as Op]), { op: "read", field: "size", index: 0, code: "BAD_FIELD", message: /'size' is not a field of read/ });
  rejectsUnchanged(e, probes, () => e.run([{ op: "mm_new", mm } as unknown as Op]), { op: "mm_new", field: "mm" });
  rejectsUnchanged(e, probes, () => e.mmap(mm, { length: PAGE, offset: 0 }), { op: "mmap", field: "offset", message: /only for file mappings/ });
  stillWorks(e, mm, a);
});

test("wrong types: strings, fractions and non-booleans where numbers/booleans are expected", async () => {
  const { e, mm, a, probes } = await world();
  const cases: [Op, string][] = [
    [{ op: "read", mm, addr: String(a) } as unknown as Op, "addr"],
    [{ op: "read", mm: "0", addr: a } as unknown as Op, "mm"],
    [{ op: "write", mm, addr: a, value: "5" } as unknown as Op, "value"],
    [{ op: "write", mm, addr: a, value: 1.5 }, "value"],
    [{ op: "mmap", mm, length: "4096" } as unknown as Op, "length"],
    [{ op: "munmap", mm, addr: a, length: NaN }, "length"],
    [{ op: "gup", mm, addr: a, pin: "yes" } as unknown as Op, "pin"],
    [{ op: "mmap", mm, length: PAGE, shared: 1 } as unknown as Op, "shared"],
    [{ op: "mmap", mm, length: PAGE, prot: "w" } as unknown as Op, "prot"],
    [{ op: "driver_new", kind: "device-public", pages: 1 } as unknown as Op, "kind"],
    [{ op: "driver_new", kind: "device-private", pages: 0 }, "pages"],
    [{ op: "unpin", handle: 0 }, "handle"],
    [{ op: "write", mm, addr: a, value: 2 ** 32 }, "value"],
    [{ op: "munmap", mm, addr: a, length: 0 }, "length"],
    [{ op: "read", mm: -1, addr: a }, "mm"],
  ];
  for (const [op, field] of cases) {
    rejectsUnchanged(e, probes, () => e.run([op]), { op: op.op, field, index: 0, code: "BAD_FIELD", message: new RegExp(`'${field}'`) });
  }
  rejectsUnchanged(e, probes, () => e.gup(mm, a, { longterm: true }), { op: "gup", field: "longterm", message: /needs pin/ });
  stillWorks(e, mm, a);
});

test("unaligned addresses and offsets are rejected before anything runs", async () => {
  const { e, mm, a, probes } = await world();
  const f = e.fileNew(2 * PAGE);
  rejectsUnchanged(e, probes, () => e.read(mm, a + 1), { op: "read", field: "addr", code: "BAD_FIELD", message: /page aligned/ });
  rejectsUnchanged(e, probes, () => e.write(mm, a + 8, 1), { op: "write", field: "addr", message: /page aligned/ });
  rejectsUnchanged(e, probes, () => e.munmap(mm, a + 100, PAGE), { op: "munmap", field: "addr" });
  rejectsUnchanged(e, probes, () => e.mmap(mm, { addr: 0x20000000 + 12, length: PAGE }), { op: "mmap", field: "addr" });
  rejectsUnchanged(e, probes, () => e.mmap(mm, { length: PAGE, file: f, offset: 100 }), { op: "mmap", field: "offset" });
  rejectsUnchanged(e, probes, () => e.migrateToDevice(mm, a + 4, PAGE, 0), { op: "migrate_to_device", field: "addr" });
  stillWorks(e, mm, a);
});

test("bad mm (never created, or exited), bad file, bad driver, bad BO, bad GUP handle", async () => {
  const { e, mm, a, probes } = await world();
  const dead = e.mmNew();
  e.exit(dead);
  for (const m of [dead, 99]) {
    rejectsUnchanged(e, probes, () => e.read(m, a), { op: "read", field: "mm", code: "BAD_MM", message: /no such live address space/ });
    rejectsUnchanged(e, probes, () => e.fork(m), { op: "fork", field: "mm", code: "BAD_MM" });
    rejectsUnchanged(e, probes, () => e.exit(m), { op: "exit", field: "mm", code: "BAD_MM" });
    rejectsUnchanged(e, probes, () => e.mmap(m, { length: PAGE }), { op: "mmap", field: "mm", code: "BAD_MM" });
  }
  assert.throws(() => e.page(dead, a), (x: unknown) => x instanceof RefsimError && x.field === "mm");

  rejectsUnchanged(e, probes, () => e.mmap(mm, { length: PAGE, file: 3 }), { op: "mmap", field: "file", code: "BAD_FILE" });
  rejectsUnchanged(e, probes, () => e.dropCache(3), { op: "drop_cache", field: "file", code: "BAD_FILE" });
  const f = e.fileNew(PAGE);
  rejectsUnchanged(e, probes, () => e.mmap(mm, { length: 2 * PAGE, file: f }), { op: "mmap", field: "offset", code: "RANGE" });

  rejectsUnchanged(e, probes, () => e.migrateToDevice(mm, a, PAGE, 0), { op: "migrate_to_device", field: "driver", code: "BAD_DRIVER" });
  const d0 = e.driverNew("device-private", 4);
  const d1 = e.driverNew("device-coherent", 4);
  assert.throws(() => e.driverFreePages(5), (x: unknown) => x instanceof RefsimError && x.field === "driver");
  rejectsUnchanged(e, probes, () => e.migrateToDevice(mm, a, PAGE, d0, 1), { op: "migrate_to_device", field: "bo", code: "BAD_BO" });
  const bo = e.migrateToDevice(mm, a, PAGE, d0);
  rejectsUnchanged(e, probes, () => e.migrateToDevice(mm, a + PAGE, PAGE, d1, bo), { op: "migrate_to_device", field: "bo", code: "BAD_BO", message: /of this driver/ });
  e.munmap(mm, a, PAGE);
  assert.is(e.bo(bo).state, "freed");
  rejectsUnchanged(e, probes, () => e.migrateToDevice(mm, a + PAGE, PAGE, d0, bo), { op: "migrate_to_device", field: "bo", code: "BAD_BO" });
  assert.throws(() => e.bo(42), (x: unknown) => x instanceof RefsimError && x.field === "bo");

  rejectsUnchanged(e, probes, () => e.unpin(1), { op: "unpin", field: "handle", code: "BAD_HANDLE" });
  const h = e.gup(mm, a + PAGE);
  e.unpin(h);
  rejectsUnchanged(e, probes, () => e.unpin(h), { op: "unpin", field: "handle", code: "BAD_HANDLE", message: /no such live GUP handle/ });
  stillWorks(e, mm, a + PAGE);
});

test("capacity exhausted: system pages (write fault, GUP) -> NOMEM_FRAMES naming capacity.systemPages", async () => {
  const e = await Engine.create({ scheme: "E2", capacity: { systemPages: 6, devicePages: 4 } });
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 8 * PAGE });
  let i = 0;
  for (; i < 8; i++) {
    try {
      e.write(mm, a + i * PAGE, i + 1);
    } catch (x) {
      assert.ok(x instanceof RefsimError);
      break;
    }
  }
  assert.ok(i >= 4 && i < 6, `faults stop with frames to spare for one more fault (${i})`);
  const probes: [number, number][] = [[mm, a], [mm, a + (i - 1) * PAGE]];
  rejectsUnchanged(e, probes, () => e.write(mm, a + i * PAGE, 9), { op: "write", code: "NOMEM_FRAMES", message: /capacity\.systemPages/ });
  rejectsUnchanged(e, probes, () => e.gup(mm, a, { pin: true }), { op: "gup", code: "NOMEM_FRAMES", message: /capacity\.systemPages/ });
  // Freeing memory makes the fault possible; everything written before is intact.
  e.munmap(mm, a, 2 * PAGE);
  e.write(mm, a + i * PAGE, 9);
  assert.is(e.read(mm, a + i * PAGE), 9);
  for (let k = 2; k < i; k++) assert.is(e.read(mm, a + k * PAGE), k + 1);
  e.check();
  assert.equal(e.violations(), []);
});

test("capacity exhausted: a fork that would need copies of pinned pages it has no frames for is refused whole", async () => {
  const e = await Engine.create({ scheme: "E2", capacity: { systemPages: 8, devicePages: 0 } });
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 5 * PAGE });
  for (let k = 0; k < 5; k++) e.write(mm, a + k * PAGE, k);
  const pins = [0, 1, 2, 3, 4].map((k) => e.gup(mm, a + k * PAGE, { pin: true }));
  const probes: [number, number][] = [[mm, a], [mm, a + 4 * PAGE]];
  rejectsUnchanged(e, probes, () => e.fork(mm), { op: "fork", field: "mm", code: "NOMEM_FRAMES", message: /needs 5/ });
  e.munmap(mm, a + 4 * PAGE, PAGE); // still pinned: the frame is not freed
  assert.throws(() => e.fork(mm), (x: unknown) => x instanceof RefsimError && x.code === "NOMEM_FRAMES");
  e.unpin(pins[0]);
  e.unpin(pins[1]);
  const child = e.fork(mm);
  assert.is(child, mm + 1, "the rejected forks did not use up an address-space id");
  const copy = pg0(e, child, a + 2 * PAGE);
  assert.equal([copy.pfn === pg0(e, mm, a + 2 * PAGE).pfn, copy.content], [false, 2], "pinned pages copied");
});

test("capacity exhausted: processes (mm_new, fork) and VMAs (mmap) -> NOMEM_MM / NOMEM_VMA", async () => {
  const e = await Engine.create({ scheme: "E2", capacity: { ...CAP, processes: 2, vmas: 3 } });
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 2 * PAGE });
  e.write(mm, a, 1);
  const child = e.fork(mm);
  const probes: [number, number][] = [[mm, a], [child, a]];
  rejectsUnchanged(e, probes, () => e.mmNew(), { op: "mm_new", index: 0, code: "NOMEM_MM", message: /capacity\.processes/ });
  rejectsUnchanged(e, probes, () => e.fork(mm), { op: "fork", field: "mm", code: "NOMEM_MM", message: /capacity\.processes/ });
  e.mmap(mm, { length: PAGE }); // VMA 3 of 3
  rejectsUnchanged(e, probes, () => e.mmap(mm, { length: PAGE }), { op: "mmap", code: "NOMEM_VMA", message: /capacity\.vmas/ });
  rejectsUnchanged(e, probes, () => e.run([{ op: "mmap", mm: child, length: PAGE }]), { op: "mmap", index: 0, code: "NOMEM_VMA" });
  // exit frees VMA slots (not process slots: ids are not reused)
  e.exit(child);
  const b = e.mmap(mm, { length: PAGE });
  e.write(mm, b, 5);
  assert.is(e.read(mm, b), 5);
  assert.throws(() => e.mmNew(), (x: unknown) => x instanceof RefsimError && x.code === "NOMEM_MM");
});

test("capacity exhausted: device pages (driver_new names 'pages'), drivers, BOs, GUP handles, files", async () => {
  const e = await Engine.create({ scheme: "E2", capacity: { systemPages: 64, devicePages: 4, drivers: 2, bufferObjects: 1, gupHandles: 1, files: 1 } });
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 4 * PAGE });
  for (let k = 0; k < 4; k++) e.write(mm, a + k * PAGE, k);
  const probes: [number, number][] = [[mm, a]];
  rejectsUnchanged(e, probes, () => e.driverNew("device-private", 5), { op: "driver_new", field: "pages", code: "NOMEM_DEVICE", message: /capacity\.devicePages/ });
  const d = e.driverNew("device-private", 3);
  rejectsUnchanged(e, probes, () => e.driverNew("device-private", 2), { op: "driver_new", field: "pages", code: "NOMEM_DEVICE" });
  e.driverNew("device-coherent", 1);
  rejectsUnchanged(e, probes, () => e.driverNew("device-coherent", 0 + 1), { op: "driver_new", code: "NOMEM_DEVICE" });
  const bo = e.migrateToDevice(mm, a, PAGE, d);
  rejectsUnchanged(e, probes, () => e.migrateToDevice(mm, a + PAGE, PAGE, d), { op: "migrate_to_device", field: "bo", code: "NOMEM_OBJECTS" });
  assert.is(e.migrateToDevice(mm, a + PAGE, PAGE, d, bo), bo, "an existing BO still takes pages");
  const h = e.gup(mm, a + 2 * PAGE);
  rejectsUnchanged(e, probes, () => e.gup(mm, a + 3 * PAGE), { op: "gup", code: "NOMEM_OBJECTS", message: /GUP handles/ });
  e.unpin(h);
  assert.ok(e.gup(mm, a + 3 * PAGE) > 0, "a released handle slot is reused");
  e.fileNew(PAGE);
  rejectsUnchanged(e, probes, () => e.fileNew(PAGE), { op: "file_new", code: "NOMEM_OBJECTS" });
});

test("batch: the ops before a host-rejected op are applied, the error index points at it, nothing after runs", async () => {
  const { e, mm, a } = await world();
  const seq = e.opsExecuted;
  const err = rejects(() => e.run([
    { op: "write", mm, addr: a, value: 10 },
    { op: "write", mm, addr: a + PAGE, value: 20 },
    { op: "write", mm, addr: a + 1, value: 30 },
    { op: "write", mm, addr: a, value: 40 },
  ]), { op: "write", field: "addr", index: 2, code: "BAD_FIELD" });
  assert.match(err.message, /^op 2: /);
  assert.is(e.opsExecuted, seq + 2);
  assert.equal([e.read(mm, a), e.read(mm, a + PAGE)], [10, 20], "ops 0 and 1 applied, op 3 not");
});

test("batch: the ops before a core-rejected op are applied, the error index points at it, nothing after runs", async () => {
  const { e, mm, a, ro } = await world();
  const seq = e.opsExecuted;
  const writes0 = e.stats().ops.write;
  rejects(() => e.run([
    { op: "write", mm, addr: a, value: 10 },
    { op: "read", mm, addr: a },
    { op: "write", mm: 99, addr: ro, value: 30 },
    { op: "write", mm, addr: a, value: 40 },
  ]), { op: "write", field: "mm", index: 2, code: "BAD_MM", message: /^op 2 \(write\)/ });
  assert.is(e.opsExecuted, seq + 2);
  assert.is(e.stats().ops.write, writes0 + 1, "the rejected op is not counted");
  assert.equal([e.read(mm, a), e.read(mm, ro)], [10, 0]);
});

test("batch larger than capacity.batch: the error index is global across WASM calls", async () => {
  for (const bad of [{ op: "read", mm: 0, addr: 3 } as Op, { op: "read", mm: 7, addr: 0 } as Op]) {
    const e = await Engine.create({ scheme: "E2", capacity: { ...CAP, batch: 2 } });
    const mm = e.mmNew();
    const a = e.mmap(mm, { length: 8 * PAGE });
    const ops: Op[] = [0, 1, 2, 3, 4].map((k) => ({ op: "write", mm, addr: a + k * PAGE, value: k + 1 }));
    ops.splice(3, 0, bad);
    const seq = e.opsExecuted;
    rejects(() => e.run(ops), { op: "read", field: bad.mm === 0 ? "addr" : "mm", index: 3 });
    assert.is(e.opsExecuted, seq + 3, JSON.stringify(bad));
    assert.equal([0, 1, 2].map((k) => e.read(mm, a + k * PAGE)), [1, 2, 3]);
    assert.is(e.page(mm, a + 3 * PAGE), null, "the op after the bad one did not run");
    assert.equal(e.run(ops.filter((o) => o !== bad)).length, 5, "the engine takes the next batch");
  }
});

test("bad scheme in Engine.create: unknown preset, unknown rule, bad rule types and values", async () => {
  const cases: [unknown, string, RegExp][] = [
    ["E9", "scheme", /unknown scheme 'E9'.*E0-devmap/],
    [42, "scheme", /preset name or an object/],
    [{ base: "E2", rules: { noSuchRule: 1 } }, "noSuchRule", /unknown rule 'noSuchRule'/],
    [{ base: "E2", rules: { anonExclusive: 1 } }, "anonExclusive", /true or false/],
    [{ base: "E2", rules: { pinBias: "1024" } }, "pinBias", /whole number/],
    [{ base: "E2", rules: { pinBias: -1 } }, "pinBias", /whole number/],
    [{ base: "E2", rules: { tlbBatch: 2.5 } }, "tlbBatch", /whole number/],
    [{ base: "E2", rules: { coherentPte: "weird" } }, "coherentPte", /"normal" or "devmap"/],
    [{ base: "E2", rules: { idlePrivate: 2 } }, "idlePrivate", /at most freeAtPrivate \+ 1/],
    [{ rules: {} }, "base", /needs "base"/],
    [{ base: "E2", rules: [] }, "rules", /object of rule overrides/],
  ];
  for (const [scheme, field, message] of cases) {
    let err: unknown;
    try {
      await Engine.create({ scheme: scheme as never, capacity: CAP });
    } catch (x) {
      err = x;
    }
    assert.ok(err instanceof RefsimError, `${JSON.stringify(scheme)} must be rejected`);
    assert.is((err as RefsimError).field, field, JSON.stringify(scheme));
    assert.match((err as RefsimError).message, message);
  }
  const ok = await Engine.create({ scheme: { base: "E2", rules: { tlbBatch: 0 } }, capacity: CAP });
  assert.equal([ok.scheme.rules.tlbBatch, ok.scheme.rules.idlePrivate], [0, 0], "a valid custom scheme still works");
});

test("bad capacity in Engine.create: unknown field, negative, fractional, non-number, zero where one is needed, too large", async () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ frames: 10 }, "frames", /unknown field 'frames'/],
    [{ systemPages: -1 }, "systemPages", /whole number >= 0/],
    [{ vmas: 1.5 }, "vmas", /whole number/],
    [{ devicePages: "16" }, "devicePages", /whole number/],
    [{ processes: 0 }, "processes", /capacity\.processes is invalid/],
    [{ vmas: 0 }, "vmas", /invalid/],
    [{ batch: 0 }, "batch", /invalid/],
    [{ systemPages: 2 ** 30, devicePages: 2 ** 30 }, "systemPages", /invalid/],
  ];
  for (const [capacity, field, message] of cases) {
    let err: unknown;
    try {
      await Engine.create({ scheme: "E2", capacity: capacity as Partial<Capacity> });
    } catch (x) {
      err = x;
    }
    assert.ok(err instanceof RefsimError, `${JSON.stringify(capacity)} must be rejected`);
    assert.is((err as RefsimError).field, field, JSON.stringify(capacity));
    assert.match((err as RefsimError).message, message);
  }
});

test("bad bench flags: refused with the flag named, before anything is measured", () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8", env: PLAIN_ENV });
  for (const [args, msg] of [
    [["bench", "--targets", "wasm,gpu"], /--targets takes wasm, model and c, got 'gpu'/],
    [["bench", "--rounds", "0"], /--rounds must be at least 1/],
    [["bench", "--rounds", "two"], /--rounds must be a whole number/],
  ] as const) {
    const r = cli(...args);
    assert.is(r.status, 2, `${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.not.match(r.stderr, /\[bench\]/); // nothing ran
  }
});

test.run();
