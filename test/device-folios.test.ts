// Large device-private folios (E5) and the driver's own allocations: zone_device_folio_init
// with an order, one folio_free per folio, a blocked allocation served by the next free,
// and spec S18's free path (the pgmap put after ->folio_free). Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { RefsimError } from "../src/core/errors.ts";

const NR = 512;
const CAP = { systemPages: 256, devicePages: 4096 };
const BEFORE_FIX = { name: "E5-before-fix", base: "E5", rules: { folioFreePgmapSaved: false } } as const;

async function targets(scheme: string | typeof BEFORE_FIX = "E5") {
  return [await Engine.create({ scheme, capacity: CAP }), Model.create({ scheme, capacity: CAP })] as const;
}

const TARGETS = ["Engine", "Model"] as const;

/** A fresh Engine or Model of CAP's size under `scheme`. */
async function make(target: (typeof TARGETS)[number], scheme: string | typeof BEFORE_FIX = "E5"): Promise<Engine | Model> {
  return target === "Engine" ? Engine.create({ scheme, capacity: CAP }) : Model.create({ scheme, capacity: CAP });
}

for (const target of TARGETS) {
  test(`zone_device_folio_init(order 9): one folio of 512 pages at refcount 1, 512 pgmap refs, 512 BO refs; folio_free returns it whole [${target}]`, async () => {
    const t = await make(target);
    const gpu = t.driverNew("device-private", 2 * NR);
    const bo = t.driverAlloc(gpu, { order: 9 });
    const d = t.driver(gpu);
    assert.equal({ pgmapRef: d.pgmapRef, freePages: d.freePages, pages: t.bo(bo).pages }, { pgmapRef: 1 + NR, freePages: NR, pages: NR });
    assert.is(t.stats().device.allocated, NR, "512 pages initialised");
    const head = findHead(t);
    const h = t.frame(head);
    const tail = t.frame(head + 7);
    assert.equal({ head: { large: h.large, refcount: h.refcount }, tail: { large: tail.large, refcount: tail.refcount, folioRefcount: tail.folioRefcount, head: tail.head }, blockOffset: head % NR }, { head: { large: true, refcount: 1 }, tail: { large: true, refcount: 0, folioRefcount: 1, head }, blockOffset: 0 });
    t.check();
    assert.equal(t.violations(), []);
    t.driverFree(bo);
    assert.equal({ pgmapRef: t.driver(gpu).pgmapRef, freePages: t.driver(gpu).freePages, state: t.bo(bo).state, pageFree: t.stats().device.pageFree }, { pgmapRef: 1, freePages: 2 * NR, state: "freed", pageFree: 1 });
    assert.is(t.frame(head).allocated, false);
    assert.is(t.driverTeardown(gpu), 2, "memunmap_pages completes: nothing holds the pgmap");
  });
}

/** The first allocated device frame (the head of the one folio allocated). */
function findHead(t: Engine | Model): number {
  for (let pfn = 1; ; pfn++) if (t.frame(pfn).allocated) return pfn;
}

test("E5 lays device-private pgmaps out in 2 MiB blocks; other eras do not, and refuse order 9 naming the field", async () => {
  for (const t of await targets("E5")) {
    t.driverNew("device-coherent", 3);
    const gpu = t.driverNew("device-private", NR);
    const b = t.driverAlloc(gpu, { order: 9 });
    assert.is(findHead(t) % NR, 0, "the block is aligned");
    t.driverFree(b);
  }
  for (const t of await targets("E4")) {
    const gpu = t.driverNew("device-private", NR);
    assert.throws(() => t.driverAlloc(gpu, { order: 9 }), (e: unknown) => e instanceof RefsimError && e.field === "order");
    assert.ok(t.driverAlloc(gpu) > 0, "order 0 works in every era");
  }
});

for (const target of TARGETS) {
  test(`a blocked allocation (wait) is served by the free that makes room; without wait it fails; one waiter at a time [${target}]`, async () => {
    const t = await make(target);
    const gpu = t.driverNew("device-private", NR);
    const small = t.driverAlloc(gpu);
    assert.throws(() => t.driverAlloc(gpu, { order: 9 }), (e: unknown) => e instanceof RefsimError && e.code === "NOMEM_DEVICE");
    const big = t.driverAlloc(gpu, { order: 9, wait: true });
    assert.equal({ pages: t.bo(big).pages, state: t.bo(big).state }, { pages: 0, state: "live" });
    assert.throws(() => t.driverAlloc(gpu, { order: 9, wait: true }), (e: unknown) => e instanceof RefsimError && e.field === "wait");
    t.driverFree(small);
    assert.is(t.bo(big).pages, NR, "folio_free handed the block to the waiter");
    t.check();
    assert.equal(t.violations(), []);
    const other = t.driverAlloc(gpu, { wait: true });
    t.driverFree(other); // cancels the blocked allocation
    assert.is(t.bo(other).state, "freed");
  });
}

for (const [scheme, broken] of [["E5", false], [BEFORE_FIX, true]] as const) {
  for (const target of TARGETS) {
    test(`S18: the page just freed becomes a tail of the waiter's folio; reading folio->pgmap after ->folio_free puts nothing and memunmap_pages hangs [${typeof scheme === "string" ? scheme : scheme.name}, ${target}]`, async () => {
      const t = await make(target, scheme);
      const gpu = t.driverNew("device-private", NR);
      const first = t.driverAlloc(gpu);
      const second = t.driverAlloc(gpu);
      t.driverFree(first);
      const big = t.driverAlloc(gpu, { order: 9, wait: true });
      t.driverFree(second);
      const v = t.violations();
      assert.equal(v.map((x) => [x.kind, x.extra]), broken ? [["use_after_free", 13]] : [], `${JSON.stringify(scheme)}`);
      assert.is(t.driver(gpu).pgmapRef, 1 + NR + (broken ? 1 : 0), "the astray put leaves one reference");
      t.driverFree(big);
      assert.is(t.driverTeardown(gpu), broken ? 1 : 2);
      t.teardown();
      assert.is(t.stats().violations.hang, broken ? 1 : 0);
    });
  }
}

for (const target of TARGETS) {
  test(`the driver's own folios are not evicted, count as reachable, and only their BOs can be freed with driver_free [${target}]`, async () => {
    const t = await make(target, "E2");
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 4096 });
    t.write(mm, a, 1);
    const gpu = t.driverNew("device-private", 16);
    const own = t.driverAlloc(gpu);
    const migrated = t.migrateToDevice(mm, a, 4096, gpu);
    assert.throws(() => t.driverFree(migrated), (e: unknown) => e instanceof RefsimError && e.field === "bo");
    assert.is(t.evictBo(own), 0, "migrate_device_range does not take the driver's own pages");
    assert.is(t.driverTeardown(gpu, true), 1, "memunmap_pages waits for the driver's own page");
    t.check();
    assert.equal(t.violations().map((x) => x.kind), ["hang"], "no leak: the driver holds its page");
    t.driverFree(own);
    assert.equal(t.driver(gpu).state, "gone");
  });
}

// A CPU fault on a device-private PMD (do_huge_pmd_device_private, vmf->pte == NULL) moves the whole folio
// back into a THP, as lib/test_hmm.c's dmirror_devmem_fault does (order 9, MIGRATE_VMA_SELECT_COMPOUND);
// this test asserted refsim's earlier folio_split + one page instead, which the kernel's driver does not do.
test("E5 migrates a whole THP into a device folio mapped by a device-private PMD; fork shares it, a CPU fault brings the whole folio back into a THP", async () => {
  const P = 4096;
  const M2 = NR * P;
  const cap = { systemPages: 4096, hugePages: 4, devicePages: 4096 };
  const e = await Engine.create({ scheme: "E5", capacity: cap });
  const m = Model.create({ scheme: "E5", capacity: cap });
  for (const t of [e, m]) {
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: 0x40000000, length: 2 * M2, huge: true });
    for (let i = 0; i < 2 * NR; i += 64) t.write(mm, a + i * P, i + 1);
    const gpu = t.driverNew("device-private", 2 * NR);
    const bo = t.migrateToDevice(mm, a, 2 * M2, gpu);
    let p = t.page(mm, a + P)!;
    assert.equal({ kind: p.kind, pmd: p.pmd, large: p.large, folioRefcount: p.folioRefcount, entireMapcount: p.entireMapcount, devicePrivate: p.pte.devicePrivate, pages: t.bo(bo).pages }, { kind: "device-private", pmd: true, large: true, folioRefcount: 1, entireMapcount: 1, devicePrivate: true, pages: 2 * NR });
    assert.equal({ freed: t.stats().thp.freed, migrated: t.stats().migrated, pgmapRef: t.driver(gpu).pgmapRef }, { freed: 2, migrated: 2 * NR, pgmapRef: 1 + 2 * NR });
    const child = t.fork(mm);
    p = t.page(child, a)!;
    assert.equal({ pmd: p.pmd, folioRefcount: p.folioRefcount, entireMapcount: p.entireMapcount, write: p.pte.write }, { pmd: true, folioRefcount: 2, entireMapcount: 2, write: false }, "copy_huge_pmd of a device-private PMD");
    assert.is(t.read(mm, a + 64 * P), 65, "do_huge_pmd_device_private -> migrate_to_ram of the whole folio");
    p = t.page(mm, a + 64 * P)!;
    assert.equal({ kind: p.kind, large: p.large, pmd: p.pmd, folioRefcount: p.folioRefcount, entireMapcount: p.entireMapcount, write: p.pte.write }, { kind: "system", large: true, pmd: true, folioRefcount: 2, entireMapcount: 2, write: false }, "both processes' PMDs map the new THP");
    const q = t.page(child, a + 65 * P)!;
    assert.equal({ kind: q.kind, pmd: q.pmd, head: q.head, content: q.content }, { kind: "system", pmd: true, head: p.head, content: 0 }, "the child's PMD too (remove_migration_pmd)");
    assert.equal({ pageFree: t.stats().device.pageFree, pages: t.bo(bo).pages, allocated: t.stats().thp.allocated }, { pageFree: 1, pages: NR, allocated: 3 }, "one folio_free of the whole device folio");
    t.check();
    assert.equal(t.violations(), []);
    t.munmap(child, a + M2, M2);
    t.munmap(mm, a + M2, M2); // the second device folio: one folio_free
    assert.equal({ page: t.page(mm, a + M2 + P), pageFree: t.stats().device.pageFree, state: t.bo(bo).state }, { page: null, pageFree: 2, state: "freed" }, "one folio_free for the whole second folio");
    t.teardown();
    assert.equal({ violations: t.violations(), live: t.stats().frames.live, driverTeardown: t.driverTeardown(gpu) }, { violations: [], live: 0, driverTeardown: 2 });
  }
  assert.equal(m.stats(), e.stats());
});

test("E5: a CPU fault on a device-private PMD with no THP free brings the folio back as 512 small pages (dmirror_devmem_fault's order-0 fallback)", async () => {
  const P = 4096;
  const M2 = NR * P;
  const cap = { systemPages: 4096, hugePages: 2, devicePages: 4096 };
  const e = await Engine.create({ scheme: "E5", capacity: cap });
  const m = Model.create({ scheme: "E5", capacity: cap });
  for (const t of [e, m]) {
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: 0x40000000, length: M2, huge: true });
    for (let i = 0; i < NR; i += 64) t.write(mm, a + i * P, i + 1);
    const gpu = t.driverNew("device-private", NR);
    t.migrateToDevice(mm, a, M2, gpu);
    const b = t.mmap(mm, { addr: 0x80000000, length: 2 * M2, huge: true });
    t.write(mm, b, 1);
    t.write(mm, b + M2, 2); // both THPs of the pool in use
    assert.is(t.read(mm, a + 128 * P), 129);
    const p = t.page(mm, a + 128 * P)!;
    const far = t.page(mm, a + 500 * P)!;
    assert.equal({ page: { kind: p.kind, large: p.large, pmd: p.pmd, refcount: p.refcount, mapcount: p.mapcount }, far: { kind: far.kind, large: far.large } }, { page: { kind: "system", large: false, pmd: false, refcount: 1, mapcount: 1 }, far: { kind: "system", large: false } }, "every page moved back");
    assert.equal({ pageFree: t.stats().device.pageFree, migrated: t.stats().migrated, freePages: t.driver(gpu).freePages }, { pageFree: NR, migrated: 2 * NR, freePages: NR });
    t.teardown();
    assert.equal({ violations: t.violations(), live: t.stats().frames.live }, { violations: [], live: 0 });
  }
  assert.equal(m.stats(), e.stats());
});

test.run();
