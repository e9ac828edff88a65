// Spec §7 scenarios written directly against the Engine API, one test per scenario id.
// The full per-era regression suite is the scenario files in scenarios/ (sNN-*.json), run by
// test/scenarios.test.ts (S17 and S18 are there only).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine, type PageInfo } from "../src/core/engine.ts";

const PAGE = 4096;
const SYS = 256;
const CAP = { systemPages: SYS, devicePages: 64 };
const DEV0 = SYS + 1;
/** Era base value B of device-private/coherent pages while allocated (spec §6 table). */
const B: Record<string, number> = { E0: 1, E1: 0, E2: 0, E3: 0, E4: 0 };
const IDLE: Record<string, number> = { E0: 1, E1: 1, E2: 0, E3: 0, E4: 0 };

function pg(e: Engine, mm: number, addr: number): PageInfo {
  const p = e.page(mm, addr);
  assert.ok(p, `expected a mapping at 0x${addr.toString(16)} in mm ${mm}`);
  return p!;
}

test("S1: anon MAP_PRIVATE -> migrate to a coherent page -> munmap: E0-devmap leaks page and BO, E0/E1/E2/E4 ok", async () => {
  for (const [scheme, leaks] of [["E0-devmap", true], ["E0", false], ["E1", false], ["E2", false], ["E4", false]] as const) {
    const e = await Engine.create({ scheme, capacity: CAP });
    const mm = e.mmNew();
    const a = e.mmap(mm, { length: PAGE });
    e.write(mm, a, 7);
    const gpu = e.driverNew("device-coherent", 4);
    const bo = e.migrateToDevice(mm, a, PAGE, gpu);
    assert.is(pg(e, mm, a).kind, "device-coherent", scheme);
    e.munmap(mm, a, PAGE);
    e.teardown();
    assert.equal(e.violations().map((v) => v.kind), leaks ? ["leak_page", "leak_bo"] : [], scheme);
    assert.is(e.bo(bo).state, leaks ? "live" : "freed", scheme);
    assert.is(e.stats().device.pageFree, leaks ? 0 : 1, `${scheme}: page_free ${leaks ? "never" : "once"}`);
    assert.is(e.frame(DEV0).allocated, leaks, scheme);
  }
});

test("S2: device-private migrate, fork, parent munmap, child exit: B+1 -> B+2 (M2, read-only) -> B+1 -> page_free once, all eras", async () => {
  for (const scheme of ["E0", "E1", "E2", "E3", "E4"]) {
    const e = await Engine.create({ scheme, capacity: CAP });
    const parent = e.mmNew();
    const a = e.mmap(parent, { length: PAGE });
    e.write(parent, a, 5);
    const d = e.driverNew("device-private", 4);
    const bo = e.migrateToDevice(parent, a, PAGE, d);
    assert.equal([pg(e, parent, a).refcount, pg(e, parent, a).mapcount], [B[scheme] + 1, 1], `${scheme} after migrate`);
    const child = e.fork(parent);
    const p = pg(e, parent, a);
    const c = pg(e, child, a);
    assert.equal([p.refcount, p.mapcount, p.pte.write, c.pte.write, c.pfn], [B[scheme] + 2, 2, false, false, p.pfn], `${scheme} after fork`);
    e.munmap(parent, a, PAGE);
    assert.equal([e.frame(DEV0).refcount, e.frame(DEV0).mapcount, e.frame(DEV0).allocated], [B[scheme] + 1, 1, true], `${scheme} after parent munmap`);
    assert.is(e.stats().device.pageFree, 0);
    e.exit(child);
    assert.equal([e.frame(DEV0).allocated, e.frame(DEV0).refcount], [false, IDLE[scheme]], `${scheme} after child exit`);
    assert.is(e.stats().device.pageFree, 1, `${scheme}: page_free exactly once`);
    assert.is(e.bo(bo).state, "freed");
    e.teardown();
    assert.equal(e.violations(), [], scheme);
    assert.is(e.stats().device.pageFree, 1, `${scheme}: still once after teardown`);
  }
});

test("S3: child writes after fork of a device-private page: both end up on one system page (R2 M2), then the writer COW-copies", async () => {
  for (const scheme of ["E0", "E1", "E2", "E4"]) {
    const e = await Engine.create({ scheme, capacity: CAP });
    const parent = e.mmNew();
    const a = e.mmap(parent, { length: PAGE });
    e.write(parent, a, 5);
    const d = e.driverNew("device-private", 4);
    const bo = e.migrateToDevice(parent, a, PAGE, d);
    const child = e.fork(parent);

    // Step 1 (a read, so the intermediate state is visible): migrate_to_ram converts both entries.
    assert.is(e.read(child, a), 5, scheme);
    const p = pg(e, parent, a);
    const c = pg(e, child, a);
    assert.equal([p.kind, c.pfn, p.refcount, p.mapcount, p.pte.write, c.pte.write], ["system", p.pfn, 2, 2, false, false], `${scheme}: one read-only system page`);
    assert.equal([e.frame(DEV0).allocated, e.bo(bo).state], [false, "freed"], scheme);

    // Step 2: the writer copies.
    const s0 = e.stats();
    e.write(child, a, 6);
    assert.is(e.stats().wpCopy - s0.wpCopy, 1, scheme);
    const c2 = pg(e, child, a);
    const p2 = pg(e, parent, a);
    assert.is.not(c2.pfn, p2.pfn, scheme);
    assert.equal([c2.refcount, c2.mapcount, p2.pfn, p2.refcount, p2.mapcount], [1, 1, p.pfn, 1, 1], scheme);
    assert.equal([e.read(parent, a), e.read(child, a)], [5, 6], scheme);
    e.teardown();
    assert.equal(e.violations(), [], scheme);
    assert.is(e.stats().device.pageFree, 1, scheme);
  }
});

test("S3 (direct write): a child write to a shared device-private entry ends with the parent on the migrated page, the child on a copy", async () => {
  for (const scheme of ["E0", "E2"]) {
    const e = await Engine.create({ scheme, capacity: CAP });
    const parent = e.mmNew();
    const a = e.mmap(parent, { length: PAGE });
    e.write(parent, a, 5);
    const d = e.driverNew("device-private", 4);
    e.migrateToDevice(parent, a, PAGE, d);
    const child = e.fork(parent);
    const s0 = e.stats();
    e.write(child, a, 6);
    const s1 = e.stats();
    assert.equal([s1.migrated - s0.migrated, s1.wpCopy - s0.wpCopy, s1.device.pageFree - s0.device.pageFree], [1, 1, 1], scheme);
    const p = pg(e, parent, a);
    const c = pg(e, child, a);
    assert.equal([p.kind, c.kind, p.refcount, p.mapcount, c.refcount, c.mapcount], ["system", "system", 1, 1, 1, 1], scheme);
    assert.is.not(p.pfn, c.pfn);
    assert.equal([e.read(parent, a), e.read(child, a)], [5, 6], scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  }
});

test("S6: FOLL_PIN (not longterm) on a coherent page, then driver eviction: mig-fail, BO held; after unpin eviction succeeds", async () => {
  // 6.0+ per §7; E0 (v6 proposal) too, by §6 invariant 6: pinned pages are not migrated.
  for (const scheme of ["E0", "E1", "E2", "E4"]) {
    const e = await Engine.create({ scheme, capacity: CAP });
    const mm = e.mmNew();
    const a = e.mmap(mm, { length: PAGE });
    e.write(mm, a, 5);
    const d = e.driverNew("device-coherent", 4);
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const h = e.gup(mm, a, { pin: true });
    assert.is(pg(e, mm, a).refcount, B[scheme] + 1 + 1024, scheme);
    const f0 = e.stats().migrateFailed;
    assert.is(e.migrateToRam(mm, a, PAGE), 0, `${scheme}: eviction refused`);
    assert.is(e.stats().migrateFailed - f0, 1, scheme);
    const p = pg(e, mm, a);
    assert.equal([p.pfn, p.kind, p.refcount, p.mapcount, p.pte.present, p.pte.write], [DEV0, "device-coherent", B[scheme] + 1025, 1, true, true], `${scheme}: entry restored`);
    assert.is(e.bo(bo).state, "live", `${scheme}: the BO cannot be released while pinned`);
    e.unpin(h);
    assert.is(e.migrateToRam(mm, a, PAGE), 1, `${scheme}: eviction after unpin`);
    assert.equal([pg(e, mm, a).kind, pg(e, mm, a).refcount, e.read(mm, a)], ["system", 1, 5], scheme);
    assert.is(e.bo(bo).state, "freed", scheme);
    e.teardown();
    assert.equal(e.violations(), [], scheme);
  }
});

test("S7: FOLL_LONGTERM pin on a coherent page: migrated to system RAM first, then pinned -> ok", async () => {
  for (const scheme of ["E1", "E2", "E4"]) {
    const e = await Engine.create({ scheme, capacity: CAP });
    const mm = e.mmNew();
    const a = e.mmap(mm, { length: PAGE });
    e.write(mm, a, 5);
    const d = e.driverNew("device-coherent", 4);
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const m0 = e.stats().migrated;
    const h = e.gup(mm, a, { pin: true, longterm: true });
    assert.ok(h > 0, scheme);
    assert.is(e.stats().migrated - m0, 1, scheme);
    const p = pg(e, mm, a);
    assert.equal([p.kind, p.refcount, p.mapcount, e.read(mm, a)], ["system", 1025, 1, 5], scheme);
    assert.equal([e.bo(bo).state, e.frame(DEV0).allocated], ["freed", false], `${scheme}: device memory is not pinned`);
    e.unpin(h);
    e.teardown();
    assert.equal(e.violations(), [], scheme);
  }
});

test("S8: FOLL_PIN on an anon page, then fork: the child gets a copy, the parent keeps the pinned page and its later writes reach it", async () => {
  for (const scheme of ["E0", "E1", "E2", "E4"]) {
    for (const kind of ["system", "device-coherent"] as const) {
      const e = await Engine.create({ scheme, capacity: CAP });
      const mm = e.mmNew();
      const a = e.mmap(mm, { length: PAGE });
      e.write(mm, a, 5);
      if (kind !== "system") e.migrateToDevice(mm, a, PAGE, e.driverNew("device-coherent", 4));
      const h = e.gup(mm, a, { pin: true, write: true });
      const pinned = pg(e, mm, a);
      const child = e.fork(mm);
      const c = pg(e, child, a);
      const tag = `${scheme} ${kind}`;
      assert.is.not(c.pfn, pinned.pfn, tag);
      assert.equal([c.kind, c.refcount, c.mapcount, c.content], ["system", 1, 1, 5], `${tag}: the child's copy is ordinary RAM`);
      const p = pg(e, mm, a);
      assert.equal([p.pfn, p.refcount, p.mapcount, p.pte.write], [pinned.pfn, pinned.refcount, 1, true], `${tag}: parent untouched`);
      e.write(mm, a, 6); // the DMA target must still be the parent's page
      assert.is(pg(e, mm, a).pfn, pinned.pfn, `${tag}: the parent's write did not COW away from the pinned page`);
      assert.equal([e.frame(pinned.pfn).content, e.read(child, a)], [6, 5], tag);
      e.unpin(h);
      e.teardown();
      assert.equal(e.violations(), [], tag);
    }
  }
});

test("S8 (pre-5.9 rule, cowPinnedAtFork off): the pinned page is COW-shared and the parent's next write loses the DMA target", async () => {
  const e = await Engine.create({ scheme: { base: "E2", rules: { cowPinnedAtFork: false } }, capacity: CAP });
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: PAGE });
  e.write(mm, a, 5);
  e.gup(mm, a, { pin: true, write: true });
  const pinned = pg(e, mm, a).pfn;
  const child = e.fork(mm);
  assert.is(pg(e, child, a).pfn, pinned, "shared with the child");
  e.write(mm, a, 6);
  assert.is.not(pg(e, mm, a).pfn, pinned, "the parent now writes to a copy; DMA still targets the old page");
  assert.is(e.frame(pinned).content, 5);
});

test("S9: write fault on a coherent page mapped once (after fork + child exit): E0 copies (R2), E1/E2/E4 reuse (R1)", async () => {
  for (const [scheme, reuse] of [["E0", false], ["E1", true], ["E2", true], ["E4", true]] as const) {
    const e = await Engine.create({ scheme, capacity: CAP });
    const mm = e.mmNew();
    const a = e.mmap(mm, { length: PAGE });
    e.write(mm, a, 5);
    const bo = e.migrateToDevice(mm, a, PAGE, e.driverNew("device-coherent", 4));
    e.exit(e.fork(mm));
    const p = pg(e, mm, a);
    assert.equal([p.kind, p.refcount, p.mapcount, p.pte.write], ["device-coherent", B[scheme] + 1, 1, false], scheme);
    const s0 = e.stats();
    e.write(mm, a, 6);
    const s1 = e.stats();
    const q = pg(e, mm, a);
    assert.equal([s1.wpCopy - s0.wpCopy, s1.wpReuse - s0.wpReuse], reuse ? [0, 1] : [1, 0], scheme);
    assert.equal([q.kind, q.pfn === p.pfn], reuse ? ["device-coherent", true] : ["system", false], scheme);
    assert.is(e.bo(bo).state, reuse ? "live" : "freed", `${scheme}: a copy drops the last mapping of the device page`);
    assert.is(e.read(mm, a), 6);
    e.teardown();
    assert.equal(e.violations(), [], scheme);
  }
});

test("S19: a system page with a transient FOLL_GET is not migrated to the device (mig-fail for that pfn only), all eras", async () => {
  for (const scheme of ["E0", "E1", "E2", "E3", "E4"]) {
    for (const kind of ["device-private", "device-coherent"] as const) {
      const e = await Engine.create({ scheme, capacity: CAP });
      const mm = e.mmNew();
      const a = e.mmap(mm, { length: 4 * PAGE });
      for (let i = 0; i < 4; i++) e.write(mm, a + i * PAGE, 10 + i);
      const held = pg(e, mm, a + 2 * PAGE);
      const h = e.gup(mm, a + 2 * PAGE); // O_DIRECT in flight
      const s0 = e.stats();
      const bo = e.migrateToDevice(mm, a, 4 * PAGE, e.driverNew(kind, 8));
      const s1 = e.stats();
      const tag = `${scheme} ${kind}`;
      assert.equal([s1.migrated - s0.migrated, s1.migrateFailed - s0.migrateFailed], [3, 1], tag);
      assert.equal([0, 1, 2, 3].map((i) => pg(e, mm, a + i * PAGE).kind), [kind, kind, "system", kind], tag);
      const p = pg(e, mm, a + 2 * PAGE);
      assert.equal([p.pfn, p.refcount, p.mapcount, p.pte.present, p.pte.write], [held.pfn, 2, 1, true, true], tag);
      assert.is(e.bo(bo).pages, 3, tag);
      for (let i = 0; i < 4; i++) assert.is(e.read(mm, a + i * PAGE), 10 + i, tag);
      e.unpin(h);
      e.teardown();
      assert.equal(e.violations(), [], tag);
    }
  }
});

test.run();
