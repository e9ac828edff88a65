// ZONE_DEVICE accounting per era: device-private (spec §4.2) and device-coherent
// (§4.3) pages, their idle values (§3), migration, page_free and BOs, GUP (§4.6).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine, type PageInfo } from "../src/core/engine.ts";
import type { DeviceKind } from "../src/core/ops.ts";

const PAGE = 4096;
const SYS = 256;
const CAP = { systemPages: SYS, devicePages: 64 };
/** pfn of the first page of the first driver: device frames follow pfn 0 and the system pages. */
const DEV0 = SYS + 1;

const ERAS = ["E0", "E1", "E2", "E3", "E4"] as const;
/** Base (idle) refcount of free device-private/coherent pages, spec §3 table. */
const IDLE: Record<string, number> = { E0: 1, "E0-devmap": 1, E1: 1, E2: 0, E3: 0, E4: 0 };
/** Refcount of a device page mapped once, spec §4.2 "steady state, mapped k times". */
const MAPPED_ONCE: Record<string, number> = { E0: 2, "E0-devmap": 2, E1: 1, E2: 1, E3: 1, E4: 1 };

async function engine(scheme: string): Promise<Engine> {
  return Engine.create({ scheme, capacity: CAP });
}

function pg(e: Engine, mm: number, addr: number): PageInfo {
  const p = e.page(mm, addr);
  assert.ok(p, `expected a mapping at 0x${addr.toString(16)} in mm ${mm}`);
  return p!;
}

/** A process with `pages` anon pages written with 100, 101, ... and a driver of `kind`. */
async function setup(scheme: string, kind: DeviceKind, pages = 1, devPages = 8) {
  const e = await engine(scheme);
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: pages * PAGE });
  for (let i = 0; i < pages; i++) e.write(mm, a + i * PAGE, 100 + i);
  const d = e.driverNew(kind, devPages);
  return { e, mm, a, d };
}

test("idle refcount of free device pages per era (E0/E1: 1, E2+: 0), for private and coherent pgmaps", async () => {
  for (const scheme of [...ERAS, "E0-devmap"]) {
    const e = await engine(scheme);
    const priv = e.driverNew("device-private", 4);
    const coh = e.driverNew("device-coherent", 4);
    assert.equal([priv, coh], [0, 1]);
    for (let i = 0; i < 8; i++) {
      const f = e.frame(DEV0 + i);
      assert.is(f.kind, i < 4 ? "device-private" : "device-coherent", `${scheme} pfn ${DEV0 + i}`);
      assert.equal([f.refcount, f.mapcount, f.allocated, f.bo], [IDLE[scheme], 0, false, 0], `${scheme} pfn ${DEV0 + i}`);
    }
    assert.equal([e.driverFreePages(priv), e.driverFreePages(coh)], [4, 4]);
    assert.is(e.frame(SYS).kind, "system", "the last system pfn is just below the device frames");
  }
});

test("migrate_to_device (device-private): R = B+1 (E0: 2, E1+: 1), M1, a writable device-private entry on the driver's first page", async () => {
  for (const scheme of ERAS) {
    const { e, mm, a, d } = await setup(scheme, "device-private");
    const src = pg(e, mm, a).pfn;
    const s0 = e.stats();
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const s1 = e.stats();
    const p = pg(e, mm, a);
    assert.is(p.pfn, DEV0, scheme);
    assert.is(p.kind, "device-private", scheme);
    assert.equal([p.refcount, p.mapcount], [MAPPED_ONCE[scheme], 1], scheme);
    assert.equal(p.pte, { present: false, write: true, special: false, devmap: false, devicePrivate: true }, scheme);
    assert.equal([p.allocated, p.anon, p.bo, p.content], [true, true, bo, 100], scheme);
    assert.is(p.anonExclusive, scheme !== "E0", `${scheme}: AnonExclusive carried over where it exists`);
    assert.is(e.frame(src).allocated, false, `${scheme}: the system page went back to the buddy`);
    assert.equal(e.bo(bo), { id: bo, state: "live", pages: 1, driver: d }, scheme);
    assert.is(e.driverFreePages(d), 7, scheme);
    assert.equal([s1.migrated - s0.migrated, s1.device.allocated - s0.device.allocated, s1.migrateFailed - s0.migrateFailed], [1, 1, 0], scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  }
});

test("migrate_to_device (device-coherent): a normal present PTE, R = B+1, M1; the CPU reads it in place", async () => {
  for (const scheme of ERAS) {
    const { e, mm, a, d } = await setup(scheme, "device-coherent");
    e.migrateToDevice(mm, a, PAGE, d);
    const p = pg(e, mm, a);
    assert.equal([p.pfn, p.kind, p.refcount, p.mapcount], [DEV0, "device-coherent", MAPPED_ONCE[scheme], 1], scheme);
    assert.equal(p.pte, { present: true, write: true, special: false, devmap: false, devicePrivate: false }, scheme);
    const m0 = e.stats().migrated;
    assert.is(e.read(mm, a), 100, scheme);
    e.write(mm, a, 7);
    assert.equal([pg(e, mm, a).pfn, pg(e, mm, a).content, e.stats().migrated], [DEV0, 7, m0], `${scheme}: CPU access needs no migration`);
  }
});

test("E0-devmap: a coherent page is mapped by a devmap PTE (present+special+devmap), M0; the owner keeps its ref (R2)", async () => {
  const { e, mm, a, d } = await setup("E0-devmap", "device-coherent");
  const bo = e.migrateToDevice(mm, a, PAGE, d);
  const p = pg(e, mm, a);
  assert.equal(p.pte, { present: true, write: true, special: true, devmap: true, devicePrivate: false });
  assert.equal([p.kind, p.refcount, p.mapcount, p.bo], ["device-coherent", 2, 0, bo], "idle 1 + owner ref 1, no mapping ref");
  assert.is(e.read(mm, a), 100);
  // A fork copies the devmap PTE without touching the counts.
  const c = e.fork(mm);
  const q = pg(e, c, a);
  assert.equal([q.pfn, q.refcount, q.mapcount, q.pte.devmap], [p.pfn, 2, 0, true]);
  e.check();
  assert.equal(e.violations(), [], "a mapped devmap page is reachable: no leak yet");
  // Device-private pages are refcounted by their entries even in this model.
  const { e: e2, mm: mm2, a: a2, d: d2 } = await setup("E0-devmap", "device-private");
  e2.migrateToDevice(mm2, a2, PAGE, d2);
  const r = pg(e2, mm2, a2);
  assert.equal([r.refcount, r.mapcount, r.pte.devicePrivate, r.pte.devmap], [2, 1, true, false]);
});

test("fork of a device-private entry: +1R +1M, the writable entry is demoted to read-only in parent and child", async () => {
  for (const scheme of ERAS) {
    const { e, mm, a, d } = await setup(scheme, "device-private");
    e.migrateToDevice(mm, a, PAGE, d);
    const s0 = e.stats();
    const child = e.fork(mm);
    const s1 = e.stats();
    const p = pg(e, mm, a);
    const c = pg(e, child, a);
    assert.is(c.pfn, p.pfn, scheme);
    assert.equal([p.refcount, p.mapcount], [MAPPED_ONCE[scheme] + 1, 2], scheme);
    assert.equal([p.pte.devicePrivate, p.pte.write, c.pte.devicePrivate, c.pte.write], [true, false, true, false], scheme);
    assert.is(p.anonExclusive, false, scheme);
    assert.equal([s1.atomics.refcount - s0.atomics.refcount, s1.atomics.mapcount - s0.atomics.mapcount], [1, 1], scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  }
});

test("CPU read of a device-private entry: do_swap_page -> migrate_to_ram brings the data back to a system page", async () => {
  for (const scheme of ERAS) {
    const { e, mm, a, d } = await setup(scheme, "device-private");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const s0 = e.stats();
    assert.is(e.read(mm, a), 100, scheme);
    const s1 = e.stats();
    const p = pg(e, mm, a);
    assert.equal([p.kind, p.refcount, p.mapcount, p.anon], ["system", 1, 1, true], scheme);
    assert.equal(p.pte, { present: true, write: true, special: false, devmap: false, devicePrivate: false }, scheme);
    const dev = e.frame(DEV0);
    assert.equal([dev.allocated, dev.refcount, dev.mapcount], [false, IDLE[scheme], 0], `${scheme}: device page back on the free list`);
    assert.is(e.bo(bo).state, "freed", scheme);
    assert.equal([s1.migrated - s0.migrated, s1.device.pageFree - s0.device.pageFree], [1, 1], scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  }
});

test("CPU write to a device-private entry migrates first, then stores; later reads see the new value", async () => {
  for (const scheme of ["E0", "E2"]) {
    const { e, mm, a, d } = await setup(scheme, "device-private", 2);
    e.migrateToDevice(mm, a, 2 * PAGE, d);
    e.write(mm, a + PAGE, 55);
    assert.equal([pg(e, mm, a + PAGE).kind, e.read(mm, a + PAGE)], ["system", 55], scheme);
    assert.is(pg(e, mm, a).kind, "device-private", `${scheme}: only the touched page migrates`);
  }
});

test("page_free on the era's trigger: E0 2->1, E1 1->0 then reset to 1, E2+ 1->0; mapping/anon/BO cleared", async () => {
  for (const kind of ["device-private", "device-coherent"] as const) {
    for (const scheme of ERAS) {
      const { e, mm, a, d } = await setup(scheme, kind);
      const bo = e.migrateToDevice(mm, a, PAGE, d);
      assert.is(e.stats().device.pageFree, 0);
      e.munmap(mm, a, PAGE);
      const f = e.frame(DEV0);
      assert.equal([f.allocated, f.refcount, f.mapcount], [false, IDLE[scheme], 0], `${kind} ${scheme}`);
      assert.equal([f.anon, f.anonExclusive, f.bo], [false, false, 0], `${kind} ${scheme}: page_free clears mapping and owner`);
      assert.is(e.stats().device.pageFree, 1, `${kind} ${scheme}`);
      assert.is(e.bo(bo).state, "freed", `${kind} ${scheme}`);
      assert.is(e.driverFreePages(d), 8, `${kind} ${scheme}`);
      e.check();
      assert.equal(e.violations(), [], `${kind} ${scheme}`);
    }
  }
});

test("a freed device page is reused by the next migration with the same counts", async () => {
  for (const scheme of ["E0", "E1", "E2"]) {
    const { e, mm, a, d } = await setup(scheme, "device-private", 2, 1);
    e.migrateToDevice(mm, a, PAGE, d);
    e.munmap(mm, a, PAGE);
    e.migrateToDevice(mm, a + PAGE, PAGE, d);
    const p = pg(e, mm, a + PAGE);
    assert.equal([p.pfn, p.refcount, p.mapcount, p.content], [DEV0, MAPPED_ONCE[scheme], 1, 101], scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  }
});

test("a BO holds one ref per device page and is freed when its last page goes; explicit bo adds to it", async () => {
  const { e, mm, a, d } = await setup("E2", "device-coherent", 3);
  const bo = e.migrateToDevice(mm, a, 2 * PAGE, d);
  assert.equal(e.bo(bo).pages, 2);
  assert.is(e.migrateToDevice(mm, a + 2 * PAGE, PAGE, d, bo), bo, "migrating into an existing BO returns it");
  assert.equal([e.bo(bo).pages, e.bufferObjects, e.stats().bufferObjects.live], [3, 1, 1]);
  e.munmap(mm, a, PAGE);
  assert.equal([e.bo(bo).state, e.bo(bo).pages], ["live", 2]);
  e.madviseDontneed(mm, a + PAGE, PAGE);
  assert.equal([e.bo(bo).state, e.bo(bo).pages], ["live", 1]);
  e.exit(mm);
  assert.equal([e.bo(bo).state, e.bo(bo).pages], ["freed", 0]);
  const s = e.stats();
  assert.equal([s.bufferObjects.created, s.bufferObjects.freed, s.bufferObjects.live, s.device.pageFree], [1, 1, 0, 3]);
});

test("exit and MADV_DONTNEED drop device-private entries at once (zap_nonpresent_ptes) -> page_free", async () => {
  for (const scheme of ["E0", "E1", "E4"]) {
    const { e, mm, a, d } = await setup(scheme, "device-private", 2);
    e.migrateToDevice(mm, a, 2 * PAGE, d);
    const f0 = e.stats().tlbFlushes;
    e.madviseDontneed(mm, a, PAGE);
    assert.equal([e.frame(DEV0).allocated, e.stats().device.pageFree], [false, 1], scheme);
    assert.is(e.stats().tlbFlushes, f0, `${scheme}: device-private entries are not TLB-batched`);
    e.exit(mm);
    assert.equal([e.frame(DEV0 + 1).allocated, e.stats().device.pageFree], [false, 2], scheme);
    e.check();
    assert.equal(e.violations(), [], scheme);
  }
});

test("driver-initiated migrate_to_ram: moves device pages (private and coherent) back with their data, skips system pages", async () => {
  for (const kind of ["device-private", "device-coherent"] as const) {
    for (const scheme of ["E0", "E1", "E2", "E4"]) {
      const { e, mm, a, d } = await setup(scheme, kind, 3);
      const bo = e.migrateToDevice(mm, a, 2 * PAGE, d); // page 2 stays in RAM
      const sysPfn = pg(e, mm, a + 2 * PAGE).pfn;
      assert.is(e.migrateToRam(mm, a, 3 * PAGE), 2, `${kind} ${scheme}`);
      for (let i = 0; i < 3; i++) {
        const p = pg(e, mm, a + i * PAGE);
        assert.equal([p.kind, p.refcount, p.mapcount, p.pte.present, p.pte.write], ["system", 1, 1, true, true], `${kind} ${scheme} page ${i}`);
        assert.is(e.read(mm, a + i * PAGE), 100 + i, `${kind} ${scheme} page ${i}`);
      }
      assert.is(pg(e, mm, a + 2 * PAGE).pfn, sysPfn, "the system page was left alone");
      assert.is(e.bo(bo).state, "freed", `${kind} ${scheme}`);
      assert.is(e.migrateToRam(mm, a, 3 * PAGE), 0, "nothing left to move");
      e.check();
      assert.equal(e.violations(), [], `${kind} ${scheme}`);
    }
  }
});

test("device memory exhausted: the pages that fit migrate, the rest stay in RAM (stats.migrateFailed), data intact", async () => {
  for (const kind of ["device-private", "device-coherent"] as const) {
    const { e, mm, a, d } = await setup("E2", kind, 4, 2);
    const s0 = e.stats();
    const bo = e.migrateToDevice(mm, a, 4 * PAGE, d);
    const s1 = e.stats();
    assert.equal([s1.migrated - s0.migrated, s1.migrateFailed - s0.migrateFailed], [2, 2], kind);
    assert.equal([0, 1, 2, 3].map((i) => pg(e, mm, a + i * PAGE).kind), [kind, kind, "system", "system"], kind);
    assert.equal([pg(e, mm, a + 2 * PAGE).refcount, pg(e, mm, a + 2 * PAGE).mapcount], [1, 1], kind);
    assert.equal([e.bo(bo).pages, e.driverFreePages(d)], [2, 0], kind);
    for (let i = 0; i < 4; i++) assert.is(e.read(mm, a + i * PAGE), 100 + i, `${kind} page ${i}`);
    e.check();
    assert.equal(e.violations(), [], kind);
  }
});

test("GUP: FOLL_GET +1, FOLL_PIN +1024 (system and coherent pages, every era); unpin restores exactly", async () => {
  for (const scheme of ERAS) {
    for (const kind of ["system", "device-coherent"] as const) {
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
    }
  }
});

test("GUP on a device-private entry faults it back to RAM (never pins a device-private page)", async () => {
  for (const scheme of ["E0", "E1", "E2", "E4"]) {
    const { e, mm, a, d } = await setup(scheme, "device-private");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const h = e.gup(mm, a, { pin: true });
    assert.ok(h > 0);
    const p = pg(e, mm, a);
    assert.equal([p.kind, p.refcount, p.mapcount, p.content], ["system", 1 + 1024, 1, 100], scheme);
    assert.equal([e.frame(DEV0).allocated, e.bo(bo).state], [false, "freed"], scheme);
    e.unpin(h);
    assert.is(pg(e, mm, a).refcount, 1);
  }
});

test("FOLL_LONGTERM on a coherent page migrates it to RAM first and pins the system page (spec S7 / §4.3)", async () => {
  for (const scheme of ["E1", "E2", "E4"]) {
    const { e, mm, a, d } = await setup(scheme, "device-coherent");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const h = e.gup(mm, a, { pin: true, longterm: true });
    assert.ok(h > 0, scheme);
    const p = pg(e, mm, a);
    assert.equal([p.kind, p.refcount, p.mapcount, p.content], ["system", 1025, 1, 100], scheme);
    assert.equal([e.frame(DEV0).allocated, e.frame(DEV0).refcount, e.bo(bo).state], [false, IDLE[scheme], "freed"], scheme);
    // A longterm pin of a system page does not move it.
    const q = e.mmap(mm, { length: PAGE });
    e.write(mm, q, 1);
    const before = pg(e, mm, q).pfn;
    e.gup(mm, q, { pin: true, longterm: true });
    assert.equal([pg(e, mm, q).pfn, pg(e, mm, q).refcount], [before, 1025], scheme);
  }
});

test("FOLL_LONGTERM on a coherent page that is already pinned fails (-EBUSY): no handle, page stays on the device", async () => {
  for (const scheme of ["E1", "E2", "E4"]) {
    const { e, mm, a, d } = await setup(scheme, "device-coherent");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const pin = e.gup(mm, a, { pin: true });
    const f0 = e.stats().migrateFailed;
    // migrate_longterm_unpinnable_folios: -EBUSY when migrate_device_coherent_folio fails (was handle 0 here)
    assert.equal(e.runDetailed([{ op: "gup", mm, addr: a, pin: true, longterm: true }]), [{ result: -16, errno: "EBUSY" }], scheme);
    const p = pg(e, mm, a);
    assert.equal([p.kind, p.refcount, p.mapcount], ["device-coherent", 1 + 1024, 1], scheme);
    assert.equal([e.stats().migrateFailed - f0, e.stats().gupLive, e.bo(bo).state], [1, 1, "live"], scheme);
    e.unpin(pin);
    assert.ok(e.gup(mm, a, { pin: true, longterm: true }) > 0, `${scheme}: succeeds once the other pin is gone`);
    assert.is(pg(e, mm, a).kind, "system");
  }
});

test("a pinned system page is not migrated to the device (extra refs -> mig-fail); its neighbours are", async () => {
  for (const scheme of ERAS) {
    for (const pin of [true, false]) {
      const { e, mm, a, d } = await setup(scheme, "device-private", 3);
      const held = pg(e, mm, a + PAGE);
      e.gup(mm, a + PAGE, { pin });
      const s0 = e.stats();
      const bo = e.migrateToDevice(mm, a, 3 * PAGE, d);
      const s1 = e.stats();
      assert.equal([s1.migrated - s0.migrated, s1.migrateFailed - s0.migrateFailed], [2, 1], `${scheme} pin=${pin}`);
      const p = pg(e, mm, a + PAGE);
      assert.equal([p.pfn, p.kind, p.refcount, p.mapcount], [held.pfn, "system", pin ? 1025 : 2, 1], `${scheme} pin=${pin}`);
      assert.equal(p.pte, { present: true, write: true, special: false, devmap: false, devicePrivate: false }, "entry restored");
      if (pin) assert.is(p.anonExclusive, scheme !== "E0", `${scheme}: a pinned page stays AnonExclusive (folio_try_share_anon_rmap fails)`);
      assert.equal([pg(e, mm, a).kind, pg(e, mm, a + 2 * PAGE).kind], ["device-private", "device-private"]);
      assert.is(e.bo(bo).pages, 2);
      assert.is(e.read(mm, a + PAGE), 101);
      e.check();
      assert.equal(e.violations(), [], `${scheme} pin=${pin}`);
    }
  }
});

test("a pin outlives exit: the coherent page is not freed and not reported until unpin, then page_free and BO free", async () => {
  for (const scheme of ["E0", "E1", "E2", "E4"]) {
    const { e, mm, a, d } = await setup(scheme, "device-coherent");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    const h = e.gup(mm, a, { pin: true });
    e.exit(mm);
    const f = e.frame(DEV0);
    assert.equal([f.allocated, f.refcount, f.mapcount], [true, MAPPED_ONCE[scheme] - 1 + 1024, 0], scheme);
    e.check();
    assert.equal(e.violations(), [], `${scheme}: held by a pin, not leaked`);
    assert.is(e.bo(bo).state, "live");
    e.unpin(h);
    assert.equal([e.frame(DEV0).allocated, e.frame(DEV0).refcount, e.bo(bo).state], [false, IDLE[scheme], "freed"], scheme);
    assert.is(e.stats().device.pageFree, 1);
    e.check();
    assert.equal(e.violations(), [], scheme);
  }
});

test("leak detection fires only where it should: E0-devmap coherent after munmap; not before, not for private, not in E2", async () => {
  // E0-devmap coherent: clean while mapped, page + BO leaked once the devmap PTE goes.
  {
    const { e, mm, a, d } = await setup("E0-devmap", "device-coherent");
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    e.check();
    assert.equal(e.violations(), []);
    const munmapSeq = e.opsExecuted;
    e.munmap(mm, a, PAGE);
    e.check();
    const v = e.violations();
    assert.equal(v.map((x) => x.kind), ["leak_page", "leak_bo"]);
    assert.equal([v[0].pfn, v[0].op, v[0].refcount, v[0].mapcount], [DEV0, munmapSeq, 2, 0], "the leak is blamed on the munmap");
    assert.equal([v[1].extra, v[1].op], [bo, munmapSeq], "leak_bo names the BO");
    e.check();
    assert.is(e.violations().length, 2, "a leak is reported once");
    assert.equal([e.bo(bo).state, e.stats().device.pageFree], ["live", 0]);
  }
  // The same flow is clean where the coherent page is refcounted by its PTE, and for private pages.
  for (const [scheme, kind] of [["E2", "device-coherent"], ["E0", "device-coherent"], ["E0-devmap", "device-private"]] as const) {
    const { e, mm, a, d } = await setup(scheme, kind);
    const bo = e.migrateToDevice(mm, a, PAGE, d);
    e.munmap(mm, a, PAGE);
    e.check();
    assert.equal(e.violations(), [], `${scheme} ${kind}`);
    assert.is(e.bo(bo).state, "freed", `${scheme} ${kind}`);
  }
});

test.run();
