// Spec §7 scenarios written directly against the Engine API: one uvu suite per scenario
// id, one test per era in it (a failure names the era). The full per-era regression
// suite is the scenario files in scenarios/ (sNN-*.json), run by test/scenarios.test.ts
// (S17 and S18 are there only).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { PageInfo } from "../src/core/engine.ts";
import { PAGE, DEV0, pg, anonPage, cleanEnd } from "./helpers/pages.ts";

/** Era base value B of device-private/coherent pages while allocated (spec §6 table). */
const B: Record<string, number> = { E0: 1, E1: 0, E2: 0, E3: 0, E4: 0 };
const IDLE: Record<string, number> = { E0: 1, E1: 1, E2: 0, E3: 0, E4: 0 };
/** GUP_PIN_COUNTING_BIAS (include/linux/mm.h): what a FOLL_PIN adds to _refcount. */
const PIN = 1024;

/** The named fields of a page that these scenarios follow. */
const counts = (p: PageInfo) => ({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, write: p.pte.write });

const S1 = suite("S1: anon MAP_PRIVATE -> migrate to a coherent page -> munmap: E0-devmap leaks page and BO, E0/E1/E2/E4 ok");
for (const [scheme, leaks] of [["E0-devmap", true], ["E0", false], ["E1", false], ["E2", false], ["E4", false]] as const) {
  S1(scheme, async () => {
    const { e, mm, a } = await anonPage(scheme, 1, 7);
    const bo = e.migrateToDevice(mm, a, PAGE, e.driverNew("device-coherent", 4));
    assert.is(pg(e, mm, a).kind, "device-coherent");
    e.munmap(mm, a, PAGE);
    e.teardown();
    assert.equal(e.violations().map((v) => v.kind), leaks ? ["leak_page", "leak_bo"] : []);
    assert.is(e.bo(bo).state, leaks ? "live" : "freed");
    assert.is(e.stats().device.pageFree, leaks ? 0 : 1, `page_free ${leaks ? "never" : "once"}`);
    assert.is(e.frame(DEV0).allocated, leaks);
  });
}
S1.run();

const S2 = suite("S2: device-private migrate, fork, parent munmap, child exit: B+1 -> B+2 (M2, read-only) -> B+1 -> page_free once");
for (const scheme of ["E0", "E1", "E2", "E3", "E4"]) {
  S2(scheme, async () => {
    const { e, mm: parent, a } = await anonPage(scheme);
    const bo = e.migrateToDevice(parent, a, PAGE, e.driverNew("device-private", 4));
    // a writable device-private entry: remove_migration_pte keeps the migration entry's write bit
    assert.equal(counts(pg(e, parent, a)), { kind: "device-private", refcount: B[scheme] + 1, mapcount: 1, write: true }, "after migrate");
    const child = e.fork(parent);
    const p = pg(e, parent, a);
    const c = pg(e, child, a);
    assert.equal(counts(p), { kind: "device-private", refcount: B[scheme] + 2, mapcount: 2, write: false }, "parent after fork");
    assert.equal({ pfn: c.pfn, write: c.pte.write }, { pfn: p.pfn, write: false }, "child after fork");
    e.munmap(parent, a, PAGE);
    const f = e.frame(DEV0);
    assert.equal({ refcount: f.refcount, mapcount: f.mapcount, allocated: f.allocated }, { refcount: B[scheme] + 1, mapcount: 1, allocated: true }, "after parent munmap");
    assert.is(e.stats().device.pageFree, 0);
    e.exit(child);
    assert.equal({ allocated: e.frame(DEV0).allocated, refcount: e.frame(DEV0).refcount }, { allocated: false, refcount: IDLE[scheme] }, "after child exit");
    assert.is(e.stats().device.pageFree, 1, "page_free exactly once");
    assert.is(e.bo(bo).state, "freed");
    cleanEnd(e);
    assert.is(e.stats().device.pageFree, 1, "still once after teardown");
  });
}
S2.run();

const S3 = suite("S3: child reads then writes after fork of a device-private page: both end up on one system page (R2 M2), then the writer COW-copies");
for (const scheme of ["E0", "E1", "E2", "E4"]) {
  S3(scheme, async () => {
    const { e, mm: parent, a } = await anonPage(scheme);
    const bo = e.migrateToDevice(parent, a, PAGE, e.driverNew("device-private", 4));
    const child = e.fork(parent);

    // Step 1 (a read, so the intermediate state is visible): migrate_to_ram converts both entries.
    assert.is(e.read(child, a), 5);
    const p = pg(e, parent, a);
    const c = pg(e, child, a);
    assert.equal(counts(p), { kind: "system", refcount: 2, mapcount: 2, write: false }, "one read-only system page");
    assert.equal({ pfn: c.pfn, write: c.pte.write }, { pfn: p.pfn, write: false }, "the child maps it too");
    assert.equal({ allocated: e.frame(DEV0).allocated, bo: e.bo(bo).state }, { allocated: false, bo: "freed" });

    // Step 2: the writer copies.
    const s0 = e.stats();
    e.write(child, a, 6);
    assert.is(e.stats().wpCopy - s0.wpCopy, 1);
    const c2 = pg(e, child, a);
    const p2 = pg(e, parent, a);
    assert.is.not(c2.pfn, p2.pfn);
    assert.equal({ refcount: c2.refcount, mapcount: c2.mapcount }, { refcount: 1, mapcount: 1 }, "the child's copy");
    assert.equal({ pfn: p2.pfn, refcount: p2.refcount, mapcount: p2.mapcount }, { pfn: p.pfn, refcount: 1, mapcount: 1 }, "the parent's page");
    assert.equal({ parent: e.read(parent, a), child: e.read(child, a) }, { parent: 5, child: 6 });
    cleanEnd(e);
    assert.is(e.stats().device.pageFree, 1);
  });
}
S3.run();

const S3w = suite("S3 (direct write): a child write to a shared device-private entry ends with the parent on the migrated page, the child on a copy");
for (const scheme of ["E0", "E2"]) {
  S3w(scheme, async () => {
    const { e, mm: parent, a } = await anonPage(scheme);
    e.migrateToDevice(parent, a, PAGE, e.driverNew("device-private", 4));
    const child = e.fork(parent);
    const s0 = e.stats();
    e.write(child, a, 6);
    const s1 = e.stats();
    assert.equal(
      { migrated: s1.migrated - s0.migrated, wpCopy: s1.wpCopy - s0.wpCopy, pageFree: s1.device.pageFree - s0.device.pageFree },
      { migrated: 1, wpCopy: 1, pageFree: 1 },
    );
    const p = pg(e, parent, a);
    const c = pg(e, child, a);
    assert.equal(counts(p), { kind: "system", refcount: 1, mapcount: 1, write: p.pte.write }, "parent");
    assert.equal(counts(c), { kind: "system", refcount: 1, mapcount: 1, write: c.pte.write }, "child");
    assert.is.not(p.pfn, c.pfn);
    assert.equal({ parent: e.read(parent, a), child: e.read(child, a) }, { parent: 5, child: 6 });
    e.check();
    assert.equal(e.violations(), []);
  });
}
S3w.run();

// 6.0+ per §7; E0 (v6 proposal) too, by §6 invariant 6: pinned pages are not migrated.
const S6 = suite("S6: FOLL_PIN (not longterm) on a coherent page, then driver eviction: mig-fail, BO held; after unpin eviction succeeds");
for (const scheme of ["E0", "E1", "E2", "E4"]) {
  S6(scheme, async () => {
    const { e, mm, a } = await anonPage(scheme);
    const bo = e.migrateToDevice(mm, a, PAGE, e.driverNew("device-coherent", 4));
    const h = e.gup(mm, a, { pin: true });
    assert.is(pg(e, mm, a).refcount, B[scheme] + 1 + PIN);
    const f0 = e.stats().migrateFailed;
    assert.is(e.migrateToRam(mm, a, PAGE), 0, "eviction refused");
    assert.is(e.stats().migrateFailed - f0, 1);
    const p = pg(e, mm, a);
    assert.equal({ pfn: p.pfn, present: p.pte.present, ...counts(p) }, { pfn: DEV0, present: true, kind: "device-coherent", refcount: B[scheme] + 1 + PIN, mapcount: 1, write: true }, "entry restored");
    assert.is(e.bo(bo).state, "live", "the BO cannot be released while pinned");
    e.unpin(h);
    assert.is(e.migrateToRam(mm, a, PAGE), 1, "eviction after unpin");
    assert.equal({ kind: pg(e, mm, a).kind, refcount: pg(e, mm, a).refcount, value: e.read(mm, a) }, { kind: "system", refcount: 1, value: 5 });
    assert.is(e.bo(bo).state, "freed");
    cleanEnd(e);
  });
}
S6.run();

const S7 = suite("S7: FOLL_LONGTERM pin on a coherent page: migrated to system RAM first, then pinned -> ok");
for (const scheme of ["E1", "E2", "E4"]) {
  S7(scheme, async () => {
    const { e, mm, a } = await anonPage(scheme);
    const bo = e.migrateToDevice(mm, a, PAGE, e.driverNew("device-coherent", 4));
    const m0 = e.stats().migrated;
    const h = e.gup(mm, a, { pin: true, longterm: true });
    assert.ok(h > 0);
    assert.is(e.stats().migrated - m0, 1);
    const p = pg(e, mm, a);
    assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, value: e.read(mm, a) }, { kind: "system", refcount: 1 + PIN, mapcount: 1, value: 5 });
    assert.equal({ bo: e.bo(bo).state, allocated: e.frame(DEV0).allocated }, { bo: "freed", allocated: false }, "device memory is not pinned");
    e.unpin(h);
    cleanEnd(e);
  });
}
S7.run();

const S8 = suite("S8: FOLL_PIN on an anon page, then fork: the child gets a copy, the parent keeps the pinned page and its later writes reach it");
for (const scheme of ["E0", "E1", "E2", "E4"]) {
  for (const kind of ["system", "device-coherent"] as const) {
    S8(`${scheme} ${kind}`, async () => {
      const { e, mm, a } = await anonPage(scheme);
      if (kind !== "system") e.migrateToDevice(mm, a, PAGE, e.driverNew("device-coherent", 4));
      const h = e.gup(mm, a, { pin: true, write: true });
      const pinned = pg(e, mm, a);
      const child = e.fork(mm);
      const c = pg(e, child, a);
      assert.is.not(c.pfn, pinned.pfn);
      assert.equal({ kind: c.kind, refcount: c.refcount, mapcount: c.mapcount, content: c.content }, { kind: "system", refcount: 1, mapcount: 1, content: 5 }, "the child's copy is ordinary RAM");
      const p = pg(e, mm, a);
      assert.equal({ pfn: p.pfn, refcount: p.refcount, mapcount: p.mapcount, write: p.pte.write }, { pfn: pinned.pfn, refcount: pinned.refcount, mapcount: 1, write: true }, "parent untouched");
      e.write(mm, a, 6); // the DMA target must still be the parent's page
      assert.is(pg(e, mm, a).pfn, pinned.pfn, "the parent's write did not COW away from the pinned page");
      assert.equal({ pinned: e.frame(pinned.pfn).content, child: e.read(child, a) }, { pinned: 6, child: 5 });
      e.unpin(h);
      cleanEnd(e);
    });
  }
}
S8.run();

const S8old = suite("S8 (pre-5.9 rule, cowPinnedAtFork off): the pinned page is COW-shared and the parent's next write loses the DMA target");
S8old("E2 with cowPinnedAtFork: false", async () => {
  const { e, mm, a } = await anonPage({ base: "E2", rules: { cowPinnedAtFork: false } });
  e.gup(mm, a, { pin: true, write: true });
  const pinned = pg(e, mm, a).pfn;
  const child = e.fork(mm);
  assert.is(pg(e, child, a).pfn, pinned, "shared with the child");
  e.write(mm, a, 6);
  assert.is.not(pg(e, mm, a).pfn, pinned, "the parent now writes to a copy; DMA still targets the old page");
  assert.is(e.frame(pinned).content, 5);
});
S8old.run();

const S9 = suite("S9: write fault on a coherent page mapped once (after fork + child exit): E0 copies (R2), E1/E2/E4 reuse (R1)");
for (const [scheme, reuse] of [["E0", false], ["E1", true], ["E2", true], ["E4", true]] as const) {
  S9(`${scheme} ${reuse ? "reuses" : "copies"}`, async () => {
    const { e, mm, a } = await anonPage(scheme);
    const bo = e.migrateToDevice(mm, a, PAGE, e.driverNew("device-coherent", 4));
    e.exit(e.fork(mm));
    const p = pg(e, mm, a);
    assert.equal(counts(p), { kind: "device-coherent", refcount: B[scheme] + 1, mapcount: 1, write: false });
    const s0 = e.stats();
    e.write(mm, a, 6);
    const s1 = e.stats();
    const q = pg(e, mm, a);
    assert.equal({ wpCopy: s1.wpCopy - s0.wpCopy, wpReuse: s1.wpReuse - s0.wpReuse }, reuse ? { wpCopy: 0, wpReuse: 1 } : { wpCopy: 1, wpReuse: 0 });
    assert.equal({ kind: q.kind, samePage: q.pfn === p.pfn }, reuse ? { kind: "device-coherent", samePage: true } : { kind: "system", samePage: false });
    assert.is(e.bo(bo).state, reuse ? "live" : "freed", "a copy drops the last mapping of the device page");
    assert.is(e.read(mm, a), 6);
    cleanEnd(e);
  });
}
S9.run();

const S19 = suite("S19: a system page with a transient FOLL_GET is not migrated to the device (mig-fail for that pfn only), all eras");
for (const scheme of ["E0", "E1", "E2", "E3", "E4"]) {
  for (const kind of ["device-private", "device-coherent"] as const) {
    S19(`${scheme} ${kind}`, async () => {
      const { e, mm, a } = await anonPage(scheme, 4, 10);
      const held = pg(e, mm, a + 2 * PAGE);
      const h = e.gup(mm, a + 2 * PAGE); // O_DIRECT in flight
      const s0 = e.stats();
      const bo = e.migrateToDevice(mm, a, 4 * PAGE, e.driverNew(kind, 8));
      const s1 = e.stats();
      assert.equal({ migrated: s1.migrated - s0.migrated, failed: s1.migrateFailed - s0.migrateFailed }, { migrated: 3, failed: 1 });
      assert.equal([0, 1, 2, 3].map((i) => pg(e, mm, a + i * PAGE).kind), [kind, kind, "system", kind]);
      const p = pg(e, mm, a + 2 * PAGE);
      assert.equal({ pfn: p.pfn, present: p.pte.present, ...counts(p) }, { pfn: held.pfn, present: true, kind: "system", refcount: 2, mapcount: 1, write: true });
      assert.is(e.bo(bo).pages, 3);
      for (let i = 0; i < 4; i++) assert.is(e.read(mm, a + i * PAGE), 10 + i);
      e.unpin(h);
      cleanEnd(e);
    });
  }
}
S19.run();
