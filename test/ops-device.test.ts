// ZONE_DEVICE accounting per era: device-private (spec §4.2) and device-coherent
// (§4.3) pages, their idle values (§3), migration, page_free and BOs, GUP (§4.6).
// One uvu suite per concept, one test per era (and page kind) it covers.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { DeviceKind } from "../src/core/ops.ts";
import { PAGE, SYS, DEV0, engine, pg } from "./helpers/pages.ts";

const ERAS = ["E0", "E1", "E2", "E3", "E4"] as const;
/** Base (idle) refcount of free device-private/coherent pages, spec §3 table. */
const IDLE: Record<string, number> = { E0: 1, "E0-devmap": 1, E1: 1, E2: 0, E3: 0, E4: 0 };
/** Refcount of a device page mapped once, spec §4.2 "steady state, mapped k times". */
const MAPPED_ONCE: Record<string, number> = { E0: 2, "E0-devmap": 2, E1: 1, E2: 1, E3: 1, E4: 1 };

/** A process with `pages` anon pages written with 100, 101, ... and a driver of `kind`. */
async function setup(scheme: string, kind: DeviceKind, pages = 1, devPages = 8) {
  const e = await engine(scheme);
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: pages * PAGE });
  for (let i = 0; i < pages; i++) e.write(mm, a + i * PAGE, 100 + i);
  const d = e.driverNew(kind, devPages);
  return { e, mm, a, d };
}

const Idle = suite("idle device pages: the era's base refcount");

for (const scheme of [...ERAS, "E0-devmap"]) {
  Idle(`idle refcount of free device pages per era (E0/E1: 1, E2+: 0), for private and coherent pgmaps [${scheme}]`, async () => {
    const e = await engine(scheme);
    const priv = e.driverNew("device-private", 4);
    const coh = e.driverNew("device-coherent", 4);
    assert.equal({ priv, coh }, { priv: 0, coh: 1 });
    for (let i = 0; i < 8; i++) {
      const f = e.frame(DEV0 + i);
      assert.is(f.kind, i < 4 ? "device-private" : "device-coherent", `${scheme} pfn ${DEV0 + i}`);
      assert.equal({ refcount: f.refcount, mapcount: f.mapcount, allocated: f.allocated, bo: f.bo }, { refcount: IDLE[scheme], mapcount: 0, allocated: false, bo: 0 }, `${scheme} pfn ${DEV0 + i}`);
    }
    assert.equal({ privFree: e.driverFreePages(priv), cohFree: e.driverFreePages(coh) }, { privFree: 4, cohFree: 4 });
    assert.is(e.frame(SYS).kind, "system", "the last system pfn is just below the device frames");
  });
}

Idle.run();

const Migrate = suite("migration to the device and back (migrate_vma_pages, migrate_to_ram)");

for (const scheme of ERAS) {
  Migrate(`migrate_to_device (device-private): R = B+1 (E0: 2, E1+: 1), M1, a writable device-private entry on the driver's first page [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-private");
    const src = pg(e, mm, a).pfn;
    const s0 = e.stats();
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const s1 = e.stats();
    const p = pg(e, mm, a);
    assert.is(p.pfn, DEV0, scheme);
    assert.is(p.kind, "device-private", scheme);
    assert.equal({ refcount: p.refcount, mapcount: p.mapcount }, { refcount: MAPPED_ONCE[scheme], mapcount: 1 }, scheme);
    assert.equal(p.pte, { present: false, write: true, special: false, devmap: false, devicePrivate: true }, scheme);
    assert.equal({ allocated: p.allocated, anon: p.anon, bo: p.bo, content: p.content }, { allocated: true, anon: true, bo: bo, content: 100 }, scheme);
    assert.is(p.anonExclusive, scheme !== "E0", `${scheme}: AnonExclusive carried over where it exists`);
    assert.is(e.frame(src).allocated, false, `${scheme}: the system page went back to the buddy`);
    assert.equal(e.bo(bo), { id: bo, state: "live", pages: 1, driver: d }, scheme);
    assert.is(e.driverFreePages(d), 7, scheme);
    assert.equal({ migrated: s1.migrated - s0.migrated, allocated: s1.device.allocated - s0.device.allocated, migrateFailed: s1.migrateFailed - s0.migrateFailed }, { migrated: 1, allocated: 1, migrateFailed: 0 }, scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  });
}

for (const scheme of ERAS) {
  Migrate(`migrate_to_device (device-coherent): a normal present PTE, R = B+1, M1; the CPU reads it in place [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-coherent");
    e.migrateToDevice(mm, a, PAGE, d);
    const p = pg(e, mm, a);
    assert.equal({ pfn: p.pfn, kind: p.kind, refcount: p.refcount, mapcount: p.mapcount }, { pfn: DEV0, kind: "device-coherent", refcount: MAPPED_ONCE[scheme], mapcount: 1 }, scheme);
    assert.equal(p.pte, { present: true, write: true, special: false, devmap: false, devicePrivate: false }, scheme);
    const m0 = e.stats().migrated;
    assert.is(e.read(mm, a), 100, scheme);
    e.write(mm, a, 7);
    assert.equal({ pfn: pg(e, mm, a).pfn, content: pg(e, mm, a).content, migrated: e.stats().migrated }, { pfn: DEV0, content: 7, migrated: m0 }, `${scheme}: CPU access needs no migration`);
  });
}

Migrate("E0-devmap: a coherent page is mapped by a devmap PTE (present+special+devmap), M0; the owner keeps its ref (R2)", async () => {
  const { e, mm, a, d } = await setup("E0-devmap", "device-coherent");
  const bo = e.migrateToDevice(mm, a, PAGE, d);
  const p = pg(e, mm, a);
  assert.equal(p.pte, { present: true, write: true, special: true, devmap: true, devicePrivate: false });
  assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, bo: p.bo }, { kind: "device-coherent", refcount: 2, mapcount: 0, bo: bo }, "idle 1 + owner ref 1, no mapping ref");
  assert.is(e.read(mm, a), 100);
  // A fork copies the devmap PTE without touching the counts.
  const c = e.fork(mm);
  const q = pg(e, c, a);
  assert.equal({ pfn: q.pfn, refcount: q.refcount, mapcount: q.mapcount, devmap: q.pte.devmap }, { pfn: p.pfn, refcount: 2, mapcount: 0, devmap: true });
  e.check();
  assert.equal(e.violations(), [], "a mapped devmap page is reachable: no leak yet");
  // Device-private pages are refcounted by their entries even in this model.
  const { e: e2, mm: mm2, a: a2, d: d2 } = await setup("E0-devmap", "device-private");
  e2.migrateToDevice(mm2, a2, PAGE, d2);
  const r = pg(e2, mm2, a2);
  assert.equal({ refcount: r.refcount, mapcount: r.mapcount, devicePrivate: r.pte.devicePrivate, devmap: r.pte.devmap }, { refcount: 2, mapcount: 1, devicePrivate: true, devmap: false });
});

for (const kind of ["device-private", "device-coherent"] as const) {
  for (const scheme of ["E0", "E1", "E2", "E4"]) {
    Migrate(`driver-initiated migrate_to_ram: moves device pages (private and coherent) back with their data, skips system pages [${kind}, ${scheme}]`, async () => {
      const { e, mm, a, d } = await setup(scheme, kind, 3);
      const bo = e.migrateToDevice(mm, a, 2 * PAGE, d); // page 2 stays in RAM
      const sysPfn = pg(e, mm, a + 2 * PAGE).pfn;
      assert.is(e.migrateToRam(mm, a, 3 * PAGE), 2, `${kind} ${scheme}`);
      for (let i = 0; i < 3; i++) {
        const p = pg(e, mm, a + i * PAGE);
        assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, present: p.pte.present, write: p.pte.write }, { kind: "system", refcount: 1, mapcount: 1, present: true, write: true }, `${kind} ${scheme} page ${i}`);
        assert.is(e.read(mm, a + i * PAGE), 100 + i, `${kind} ${scheme} page ${i}`);
      }
      assert.is(pg(e, mm, a + 2 * PAGE).pfn, sysPfn, "the system page was left alone");
      assert.is(e.bo(bo).state, "freed", `${kind} ${scheme}`);
      assert.is(e.migrateToRam(mm, a, 3 * PAGE), 0, "nothing left to move");
      e.check();
      assert.equal(e.violations(), [], `${kind} ${scheme}`);
    });
  }
}

for (const kind of ["device-private", "device-coherent"] as const) {
  Migrate(`device memory exhausted: the pages that fit migrate, the rest stay in RAM (stats.migrateFailed), data intact [${kind}]`, async () => {
    const { e, mm, a, d } = await setup("E2", kind, 4, 2);
    const s0 = e.stats();
    const bo = e.migrateToDevice(mm, a, 4 * PAGE, d);
    const s1 = e.stats();
    assert.equal({ migrated: s1.migrated - s0.migrated, migrateFailed: s1.migrateFailed - s0.migrateFailed }, { migrated: 2, migrateFailed: 2 }, kind);
    assert.equal([0, 1, 2, 3].map((i) => pg(e, mm, a + i * PAGE).kind), [kind, kind, "system", "system"], kind);
    assert.equal({ refcount: pg(e, mm, a + 2 * PAGE).refcount, mapcount: pg(e, mm, a + 2 * PAGE).mapcount }, { refcount: 1, mapcount: 1 }, kind);
    assert.equal({ pages: e.bo(bo).pages, driverFreePages: e.driverFreePages(d) }, { pages: 2, driverFreePages: 0 }, kind);
    for (let i = 0; i < 4; i++) assert.is(e.read(mm, a + i * PAGE), 100 + i, `${kind} page ${i}`);
    e.check();
    assert.equal(e.violations(), [], kind);
  });
}

for (const scheme of ERAS) {
  for (const pin of [true, false]) {
    Migrate(`a pinned system page is not migrated to the device (extra refs -> mig-fail); its neighbours are [${scheme}, pin=${pin}]`, async () => {
      const { e, mm, a, d } = await setup(scheme, "device-private", 3);
      const held = pg(e, mm, a + PAGE);
      e.gup(mm, a + PAGE, { pin });
      const s0 = e.stats();
      const bo = e.migrateToDevice(mm, a, 3 * PAGE, d);
      const s1 = e.stats();
      assert.equal({ migrated: s1.migrated - s0.migrated, migrateFailed: s1.migrateFailed - s0.migrateFailed }, { migrated: 2, migrateFailed: 1 }, `${scheme} pin=${pin}`);
      const p = pg(e, mm, a + PAGE);
      assert.equal({ pfn: p.pfn, kind: p.kind, refcount: p.refcount, mapcount: p.mapcount }, { pfn: held.pfn, kind: "system", refcount: pin ? 1025 : 2, mapcount: 1 }, `${scheme} pin=${pin}`);
      assert.equal(p.pte, { present: true, write: true, special: false, devmap: false, devicePrivate: false }, "entry restored");
      if (pin) assert.is(p.anonExclusive, scheme !== "E0", `${scheme}: a pinned page stays AnonExclusive (folio_try_share_anon_rmap fails)`);
      assert.equal({ first: pg(e, mm, a).kind, third: pg(e, mm, a + 2 * PAGE).kind }, { first: "device-private", third: "device-private" });
      assert.is(e.bo(bo).pages, 2);
      assert.is(e.read(mm, a + PAGE), 101);
      e.check();
      assert.equal(e.violations(), [], `${scheme} pin=${pin}`);
    });
  }
}

Migrate.run();

const Private = suite("device-private entries: fork and CPU access (copy_nonpresent_pte, do_swap_page)");

for (const scheme of ERAS) {
  Private(`fork of a device-private entry: +1R +1M, the writable entry is demoted to read-only in parent and child [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-private");
    e.migrateToDevice(mm, a, PAGE, d);
    const s0 = e.stats();
    const child = e.fork(mm);
    const s1 = e.stats();
    const p = pg(e, mm, a);
    const c = pg(e, child, a);
    assert.is(c.pfn, p.pfn, scheme);
    assert.equal({ refcount: p.refcount, mapcount: p.mapcount }, { refcount: MAPPED_ONCE[scheme] + 1, mapcount: 2 }, scheme);
    assert.equal({ parent: { devicePrivate: p.pte.devicePrivate, write: p.pte.write }, child: { devicePrivate: c.pte.devicePrivate, write: c.pte.write } }, { parent: { devicePrivate: true, write: false }, child: { devicePrivate: true, write: false } }, scheme);
    assert.is(p.anonExclusive, false, scheme);
    assert.equal({ refcount: s1.atomics.refcount - s0.atomics.refcount, mapcount: s1.atomics.mapcount - s0.atomics.mapcount }, { refcount: 1, mapcount: 1 }, scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  });
}

for (const scheme of ERAS) {
  Private(`CPU read of a device-private entry: do_swap_page -> migrate_to_ram brings the data back to a system page [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-private");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const s0 = e.stats();
    assert.is(e.read(mm, a), 100, scheme);
    const s1 = e.stats();
    const p = pg(e, mm, a);
    assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, anon: p.anon }, { kind: "system", refcount: 1, mapcount: 1, anon: true }, scheme);
    assert.equal(p.pte, { present: true, write: true, special: false, devmap: false, devicePrivate: false }, scheme);
    const dev = e.frame(DEV0);
    assert.equal({ allocated: dev.allocated, refcount: dev.refcount, mapcount: dev.mapcount }, { allocated: false, refcount: IDLE[scheme], mapcount: 0 }, `${scheme}: device page back on the free list`);
    assert.is(e.bo(bo).state, "freed", scheme);
    assert.equal({ migrated: s1.migrated - s0.migrated, pageFree: s1.device.pageFree - s0.device.pageFree }, { migrated: 1, pageFree: 1 }, scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  });
}

for (const scheme of ["E0", "E2"]) {
  Private(`CPU write to a device-private entry migrates first, then stores; later reads see the new value [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-private", 2);
    e.migrateToDevice(mm, a, 2 * PAGE, d);
    e.write(mm, a + PAGE, 55);
    assert.equal({ kind: pg(e, mm, a + PAGE).kind, read: e.read(mm, a + PAGE) }, { kind: "system", read: 55 }, scheme);
    assert.is(pg(e, mm, a).kind, "device-private", `${scheme}: only the touched page migrates`);
  });
}

Private.run();

const Free = suite("page_free and buffer objects");

for (const kind of ["device-private", "device-coherent"] as const) {
  for (const scheme of ERAS) {
    Free(`page_free on the era's trigger: E0 2->1, E1 1->0 then reset to 1, E2+ 1->0; mapping/anon/BO cleared [${kind}, ${scheme}]`, async () => {
      const { e, mm, a, d } = await setup(scheme, kind);
      const bo = e.migrateToDevice(mm, a, PAGE, d);
      assert.is(e.stats().device.pageFree, 0);
      e.munmap(mm, a, PAGE);
      const f = e.frame(DEV0);
      assert.equal({ allocated: f.allocated, refcount: f.refcount, mapcount: f.mapcount }, { allocated: false, refcount: IDLE[scheme], mapcount: 0 }, `${kind} ${scheme}`);
      assert.equal({ anon: f.anon, anonExclusive: f.anonExclusive, bo: f.bo }, { anon: false, anonExclusive: false, bo: 0 }, `${kind} ${scheme}: page_free clears mapping and owner`);
      assert.is(e.stats().device.pageFree, 1, `${kind} ${scheme}`);
      assert.is(e.bo(bo).state, "freed", `${kind} ${scheme}`);
      assert.is(e.driverFreePages(d), 8, `${kind} ${scheme}`);
      e.check();
      assert.equal(e.violations(), [], `${kind} ${scheme}`);
    });
  }
}

for (const scheme of ["E0", "E1", "E2"]) {
  Free(`a freed device page is reused by the next migration with the same counts [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-private", 2, 1);
    e.migrateToDevice(mm, a, PAGE, d);
    e.munmap(mm, a, PAGE);
    e.migrateToDevice(mm, a + PAGE, PAGE, d);
    const p = pg(e, mm, a + PAGE);
    assert.equal({ pfn: p.pfn, refcount: p.refcount, mapcount: p.mapcount, content: p.content }, { pfn: DEV0, refcount: MAPPED_ONCE[scheme], mapcount: 1, content: 101 }, scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  });
}

Free("a BO holds one ref per device page and is freed when its last page goes; explicit bo adds to it", async () => {
  const { e, mm, a, d } = await setup("E2", "device-coherent", 3);
  const bo = e.migrateToDevice(mm, a, 2 * PAGE, d);
  assert.equal(e.bo(bo).pages, 2);
  assert.is(e.migrateToDevice(mm, a + 2 * PAGE, PAGE, d, bo), bo, "migrating into an existing BO returns it");
  assert.equal({ pages: e.bo(bo).pages, bufferObjects: e.bufferObjects, live: e.stats().bufferObjects.live }, { pages: 3, bufferObjects: 1, live: 1 });
  e.munmap(mm, a, PAGE);
  assert.equal({ state: e.bo(bo).state, pages: e.bo(bo).pages }, { state: "live", pages: 2 });
  e.madviseDontneed(mm, a + PAGE, PAGE);
  assert.equal({ state: e.bo(bo).state, pages: e.bo(bo).pages }, { state: "live", pages: 1 });
  e.exit(mm);
  assert.equal({ state: e.bo(bo).state, pages: e.bo(bo).pages }, { state: "freed", pages: 0 });
  const s = e.stats();
  assert.equal({ created: s.bufferObjects.created, freed: s.bufferObjects.freed, live: s.bufferObjects.live, pageFree: s.device.pageFree }, { created: 1, freed: 1, live: 0, pageFree: 3 });
});

for (const scheme of ["E0", "E1", "E4"]) {
  Free(`exit and MADV_DONTNEED drop device-private entries at once (zap_nonpresent_ptes) -> page_free [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-private", 2);
    e.migrateToDevice(mm, a, 2 * PAGE, d);
    const f0 = e.stats().tlbFlushes;
    e.madviseDontneed(mm, a, PAGE);
    assert.equal({ allocated: e.frame(DEV0).allocated, pageFree: e.stats().device.pageFree }, { allocated: false, pageFree: 1 }, scheme);
    assert.is(e.stats().tlbFlushes, f0, `${scheme}: device-private entries are not TLB-batched`);
    e.exit(mm);
    assert.equal({ allocated: e.frame(DEV0 + 1).allocated, pageFree: e.stats().device.pageFree }, { allocated: false, pageFree: 2 }, scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  });
}

Free.run();

const Gup = suite("GUP on system and device pages (FOLL_GET, FOLL_PIN, FOLL_LONGTERM)");

for (const scheme of ERAS) {
  for (const kind of ["system", "device-coherent"] as const) {
    Gup(`GUP: FOLL_GET +1, FOLL_PIN +1024 (system and coherent pages, every era); unpin restores exactly [${scheme}, ${kind}]`, async () => {
      const { e, mm, a, d } = await setup(scheme, "device-coherent");
      if (kind !== "system") e.migrateToDevice(mm, a, PAGE, d);
      const base = pg(e, mm, a);
      assert.is(base.kind, kind);
      const r0 = base.refcount;
      const g = e.gup(mm, a);
      assert.is(pg(e, mm, a).refcount, r0 + 1, `${scheme} ${kind} FOLL_GET`);
      const p = e.gup(mm, a, { pin: true });
      assert.is(pg(e, mm, a).refcount, r0 + 1 + 1024, `${scheme} ${kind} FOLL_PIN`);
      assert.is(pg(e, mm, a).mapcount, 1, "GUP does not map");
      assert.is(e.stats().gupLive, 2);
      assert.ok(g > 0 && p > 0 && g !== p, "distinct handles");
      e.unpin(p);
      assert.is(pg(e, mm, a).refcount, r0 + 1);
      e.unpin(g);
      assert.is(pg(e, mm, a).refcount, r0);
      assert.is(pg(e, mm, a).pfn, base.pfn, "GUP did not move the page");
      assert.is(e.stats().gupLive, 0);
      e.check();
      assert.equal(e.violations(), [], `${scheme} ${kind}`);
    });
  }
}

for (const scheme of ["E0", "E1", "E2", "E4"]) {
  Gup(`GUP on a device-private entry faults it back to RAM (never pins a device-private page) [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-private");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const h = e.gup(mm, a, { pin: true });
    assert.ok(h > 0);
    const p = pg(e, mm, a);
    assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, content: p.content }, { kind: "system", refcount: 1 + 1024, mapcount: 1, content: 100 }, scheme);
    assert.equal({ allocated: e.frame(DEV0).allocated, state: e.bo(bo).state }, { allocated: false, state: "freed" }, scheme);
    e.unpin(h);
    assert.is(pg(e, mm, a).refcount, 1);
  });
}

for (const scheme of ["E1", "E2", "E4"]) {
  Gup(`FOLL_LONGTERM on a coherent page migrates it to RAM first and pins the system page (spec S7 / §4.3) [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-coherent");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const h = e.gup(mm, a, { pin: true, longterm: true });
    assert.ok(h > 0, scheme);
    const p = pg(e, mm, a);
    assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, content: p.content }, { kind: "system", refcount: 1025, mapcount: 1, content: 100 }, scheme);
    assert.equal({ allocated: e.frame(DEV0).allocated, refcount: e.frame(DEV0).refcount, state: e.bo(bo).state }, { allocated: false, refcount: IDLE[scheme], state: "freed" }, scheme);
    // A longterm pin of a system page does not move it.
    const q = e.mmap(mm, { length: PAGE });
    e.write(mm, q, 1);
    const before = pg(e, mm, q).pfn;
    e.gup(mm, q, { pin: true, longterm: true });
    assert.equal({ pfn: pg(e, mm, q).pfn, refcount: pg(e, mm, q).refcount }, { pfn: before, refcount: 1025 }, scheme);
  });
}

for (const scheme of ["E1", "E2", "E4"]) {
  Gup(`FOLL_LONGTERM on a coherent page that is already pinned fails (-EBUSY): no handle, page stays on the device [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-coherent");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const pin = e.gup(mm, a, { pin: true });
    const f0 = e.stats().migrateFailed;
    // migrate_longterm_unpinnable_folios: -EBUSY when migrate_device_coherent_folio fails (was handle 0 here)
    assert.equal(e.runDetailed([{ op: "gup", mm, addr: a, pin: true, longterm: true }]), [{ result: -16, errno: "EBUSY" }], scheme);
    const p = pg(e, mm, a);
    assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount }, { kind: "device-coherent", refcount: 1 + 1024, mapcount: 1 }, scheme);
    assert.equal({ migrateFailed: e.stats().migrateFailed - f0, gupLive: e.stats().gupLive, state: e.bo(bo).state }, { migrateFailed: 1, gupLive: 1, state: "live" }, scheme);
    e.unpin(pin);
    assert.ok(e.gup(mm, a, { pin: true, longterm: true }) > 0, `${scheme}: succeeds once the other pin is gone`);
    assert.is(pg(e, mm, a).kind, "system");
  });
}

for (const scheme of ["E0", "E1", "E2", "E4"]) {
  Gup(`a pin outlives exit: the coherent page is not freed and not reported until unpin, then page_free and BO free [${scheme}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, "device-coherent");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const h = e.gup(mm, a, { pin: true });
    e.exit(mm);
    const f = e.frame(DEV0);
    assert.equal({ allocated: f.allocated, refcount: f.refcount, mapcount: f.mapcount }, { allocated: true, refcount: MAPPED_ONCE[scheme] - 1 + 1024, mapcount: 0 }, scheme);
    e.check();
    assert.equal(e.violations(), [], `${scheme}: held by a pin, not leaked`);
    assert.is(e.bo(bo).state, "live");
    e.unpin(h);
    assert.equal({ allocated: e.frame(DEV0).allocated, refcount: e.frame(DEV0).refcount, state: e.bo(bo).state }, { allocated: false, refcount: IDLE[scheme], state: "freed" }, scheme);
    assert.is(e.stats().device.pageFree, 1);
    e.check();
    assert.equal(e.violations(), [], scheme);
  });
}

Gup.run();

const Leak = suite("leak detection");

Leak("E0-devmap coherent: clean while mapped; page and BO leaked, once, when the devmap PTE goes (blamed on the munmap)", async () => {
  const { e, mm, a, d } = await setup("E0-devmap", "device-coherent");
  const bo = e.migrateToDevice(mm, a, PAGE, d);
  e.check();
  assert.equal(e.violations(), []);
  const munmapSeq = e.opsExecuted;
  e.munmap(mm, a, PAGE);
  e.check();
  const v = e.violations();
  assert.equal(v.map((x) => x.kind), ["leak_page", "leak_bo"]);
  assert.equal({ pfn: v[0].pfn, op: v[0].op, refcount: v[0].refcount, mapcount: v[0].mapcount }, { pfn: DEV0, op: munmapSeq, refcount: 2, mapcount: 0 }, "the leak is blamed on the munmap");
  assert.equal({ extra: v[1].extra, op: v[1].op }, { extra: bo, op: munmapSeq }, "leak_bo names the BO");
  e.check();
  assert.is(e.violations().length, 2, "a leak is reported once");
  assert.equal({ state: e.bo(bo).state, pageFree: e.stats().device.pageFree }, { state: "live", pageFree: 0 });
});

// The same flow is clean where the coherent page is refcounted by its PTE, and for private pages.
for (const [scheme, kind] of [["E2", "device-coherent"], ["E0", "device-coherent"], ["E0-devmap", "device-private"]] as const) {
  Leak(`the same flow is clean where the coherent page is refcounted by its PTE, and for private pages [${scheme}, ${kind}]`, async () => {
    const { e, mm, a, d } = await setup(scheme, kind);
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    e.munmap(mm, a, PAGE);
    e.check();
    assert.equal(e.violations(), [], `${scheme} ${kind}`);
    assert.is(e.bo(bo).state, "freed", `${scheme} ${kind}`);
  });
}

Leak.run();
