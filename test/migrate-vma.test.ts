// migrate_to_device on any VMA (mm/migrate_device.c): migrate_vma_setup refuses only
// hugetlb, VM_SPECIAL and DAX VMAs (and a range outside the VMA) with -EINVAL; then
// the rule is per page (migrate_vma_collect_pmd): holes are filled only in anonymous
// VMAs, anonymous folios migrate, a page-cache page is collected and then refused by
// __migrate_device_pages after the driver allocated its device page, which
// migrate_vma_finalize frees again. Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";

const PAGE = 4096;
const CAP = { systemPages: 256, devicePages: 64 };
type Target = Engine | Model;
const TARGETS: [string, () => Promise<Target>][] = [
  ["engine", () => Engine.create({ scheme: "E4", capacity: CAP })],
  ["model", async () => Model.create({ scheme: "E4", capacity: CAP })],
];

/** What one migrate_to_device did: pages migrated, refused, device pages allocated and freed. */
function delta(t: Target, f: () => unknown) {
  const s0 = t.stats();
  f();
  const s = t.stats();
  return { migrated: s.migrated - s0.migrated, failed: s.migrateFailed - s0.migrateFailed, allocated: s.device.allocated - s0.device.allocated, freed: s.device.pageFree - s0.device.pageFree };
}

for (const [name, make] of TARGETS) {
  test(`${name}: an anonymous VMA: its pages migrate and its holes are filled (migrate_vma_collect_hole)`, async () => {
    const t = await make();
    const mm = t.mmNew();
    const d = t.driverNew("device-private", 8);
    const a = t.mmap(mm, { length: 2 * PAGE });
    t.write(mm, a, 1);
    assert.equal(delta(t, () => t.migrateToDevice(mm, a, 2 * PAGE, d)), { migrated: 2, failed: 0, allocated: 2, freed: 0 });
    assert.equal({ page0: t.page(mm, a)!.kind, page1: t.page(mm, a + PAGE)!.kind }, { page0: "device-private", page1: "device-private" });
    assert.equal({ page0: t.read(mm, a), page1: t.read(mm, a + PAGE) }, { page0: 1, page1: 0 });
  });

  test(`${name}: a private file VMA: the COW copies migrate; the page-cache page is refused after its device page was allocated; holes stay`, async () => {
    const t = await make();
    const mm = t.mmNew();
    const d = t.driverNew("device-private", 8);
    const f = t.fileNew(3 * PAGE);
    const m = t.mmap(mm, { length: 3 * PAGE, file: f });
    t.write(mm, m, 10); // do_cow_fault: an anonymous copy
    t.read(mm, m + PAGE); // the page-cache page itself
    const cached = t.page(mm, m + PAGE)!;
    const bo = t.migrateToDevice(mm, m, PAGE, d);
    assert.equal(t.page(mm, m)!.kind, "device-private");
    assert.equal(delta(t, () => t.migrateToDevice(mm, m + PAGE, 2 * PAGE, d, bo)), { migrated: 0, failed: 1, allocated: 1, freed: 1 });
    const p = t.page(mm, m + PAGE)!;
    assert.equal({ pfn: p.pfn, kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, pageCache: p.pageCache }, { pfn: cached.pfn, kind: "system", refcount: 2, mapcount: 1, pageCache: true }, "restored as it was (remove_migration_ptes)");
    assert.is(t.page(mm, m + 2 * PAGE), null, "no hole filled in a file VMA");
    assert.is(t.read(mm, m), 10, "the COW page comes back on a CPU read");
  });

  test(`${name}: shared file and shmem VMAs: nothing migrates, every page is refused, each device page freed again`, async () => {
    const t = await make();
    const mm = t.mmNew();
    const d = t.driverNew("device-private", 8);
    const fm = t.mmap(mm, { length: 2 * PAGE, file: t.fileNew(2 * PAGE), shared: true });
    t.write(mm, fm, 3);
    assert.equal(delta(t, () => t.migrateToDevice(mm, fm, 2 * PAGE, d)), { migrated: 0, failed: 1, allocated: 1, freed: 1 });
    const sm = t.mmap(mm, { length: PAGE, shared: true });
    t.write(mm, sm, 4);
    assert.equal(delta(t, () => t.migrateToDevice(mm, sm, PAGE, d)), { migrated: 0, failed: 1, allocated: 1, freed: 1 });
    assert.equal({ sharedFile: t.read(mm, fm), sharedAnon: t.read(mm, sm), driverFreePages: t.driverFreePages(d) }, { sharedFile: 3, sharedAnon: 4, driverFreePages: 8 });
  });

  test(`${name}: DAX, device-dax and p2pmem VMAs: migrate_vma_setup returns -EINVAL (vma_is_dax, VM_MIXEDMAP), nothing changes`, async () => {
    const t = await make();
    const mm = t.mmNew();
    const d = t.driverNew("device-private", 8);
    for (const kind of ["fsdax", "device-dax", "p2pdma"] as const) {
      const m = t.mmap(mm, { length: PAGE, file: t.fileNew(PAGE, t.driverNew(kind, 4)), shared: true });
      t.read(mm, m);
      const before = t.page(mm, m);
      const allocated = t.stats().device.allocated;
      assert.equal(t.runDetailed([
        { op: "migrate_to_device", mm, addr: m, length: PAGE, driver: d },
        { op: "migrate_to_ram", mm, addr: m, length: PAGE },
      ]), [{ result: -22, errno: "EINVAL" }, { result: -22, errno: "EINVAL" }], kind);
      assert.equal({ page: t.page(mm, m), allocated: t.stats().device.allocated }, { page: before, allocated: allocated }, kind);
    }
  });
}

test.run();
