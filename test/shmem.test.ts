// MAP_SHARED | MAP_ANONYMOUS (mm/shmem.c): the VMA gets a shmem file of its own
// (shmem_zero_setup), its pages live in that file's page cache (shmem_fault; the
// cache holds a reference, each mapping one more), fork shares them and copies no
// PTE, writes are seen by every process, nothing is COWed, migration skips them, and
// the file goes with its last VMA (a pinned page outlives it). Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";

const PAGE = 4096;
const CAP = { systemPages: 256, devicePages: 16 };
type Target = Engine | Model;
const TARGETS: [string, (scheme?: string) => Promise<Target>][] = [
  ["engine", (scheme = "E4") => Engine.create({ scheme, capacity: CAP })],
  ["model", async (scheme = "E4") => Model.create({ scheme, capacity: CAP })],
];

for (const [name, make] of TARGETS) {
  test(`${name}: a shared anonymous mapping is a shmem file mapping; a read allocates a page-cache page (shmem_fault), not the zero page`, async () => {
    const t = await make();
    const mm = t.mmNew();
    const s = t.mmap(mm, { length: 2 * PAGE, shared: true });
    const [v] = t.maps(mm);
    assert.equal({ shared: v.shared, shmem: v.shmem, file: v.file, offset: v.offset }, { shared: true, shmem: true, file: null, offset: 0 });
    assert.is(t.read(mm, s), 0);
    const p = t.page(mm, s)!;
    assert.equal({ zeroPage: p.pfn === 0, pageCache: p.pageCache, anon: p.anon, refcount: p.refcount, mapcount: p.mapcount }, { zeroPage: false, pageCache: true, anon: false, refcount: 2, mapcount: 1 }, "the cache's reference and the mapping's");
    t.write(mm, s, 5);
    assert.equal({ pfn: t.page(mm, s)!.pfn, wpCopy: t.stats().wpCopy }, { pfn: p.pfn, wpCopy: 0 }, "a write to a shared mapping makes the PTE writable in place");
  });

  for (const scheme of ["E0", "E2", "E4"]) {
    test(`${name}: fork shares the pages and copies no PTE (vma_needs_copy); writes are seen by both, never COWed [${scheme}]`, async () => {
      const t = await make(scheme);
      const mm = t.mmNew();
      const s = t.mmap(mm, { length: PAGE, shared: true });
      t.write(mm, s, 5);
      const child = t.fork(mm);
      assert.is(t.page(child, s), null, `${scheme}: no PTE copied`);
      assert.is(t.read(child, s), 5);
      const p = t.page(child, s)!;
      assert.equal({ pfn: p.pfn, refcount: p.refcount, mapcount: p.mapcount }, { pfn: t.page(mm, s)!.pfn, refcount: 3, mapcount: 2 }, scheme);
      t.write(child, s, 9);
      assert.equal({ read: t.read(mm, s), wpCopy: t.stats().wpCopy }, { read: 9, wpCopy: 0 }, scheme);
      t.exit(child);
      assert.equal({ refcount: t.page(mm, s)!.refcount, mapcount: t.page(mm, s)!.mapcount }, { refcount: 2, mapcount: 1 }, scheme);
    });
  }

  test(`${name}: the last unmap releases the shmem file and its pages; a pinned page lives until unpinned`, async () => {
    const t = await make();
    const mm = t.mmNew();
    const s = t.mmap(mm, { length: 2 * PAGE, shared: true });
    t.write(mm, s, 1);
    t.write(mm, s + PAGE, 2);
    const pinned = t.page(mm, s + PAGE)!.pfn;
    const child = t.fork(mm);
    const h = t.gup(mm, s + PAGE, { pin: true });
    const live = t.stats().frames.live;
    t.munmap(mm, s, 2 * PAGE);
    assert.equal({ shmemReleased: t.stats().shmemReleased, live: t.stats().frames.live }, { shmemReleased: 0, live: live }, "the child still maps the file");
    assert.is(t.read(child, s), 1);
    t.exit(child);
    assert.equal({ shmemReleased: t.stats().shmemReleased, live: t.stats().frames.live }, { shmemReleased: 1, live: live - 1 }, "shmem_evict_inode: the unpinned page is freed");
    assert.equal({ allocated: t.frame(pinned).allocated, pageCache: t.frame(pinned).pageCache, refcount: t.frame(pinned).refcount }, { allocated: true, pageCache: false, refcount: 1024 });
    t.dmaWrite(h, 3);
    t.unpin(h);
    assert.equal({ allocated: t.frame(pinned).allocated, live: t.stats().frames.live }, { allocated: false, live: live - 2 });
    t.check();
    assert.equal(t.violations(), []);
  });

  test(`${name}: migrate_to_device skips shmem pages (not anonymous folios)`, async () => {
    const t = await make();
    const mm = t.mmNew();
    const s = t.mmap(mm, { length: 2 * PAGE, shared: true });
    t.write(mm, s, 1);
    const d = t.driverNew("device-private", 4);
    const m0 = t.stats().migrated;
    t.migrateToDevice(mm, s, 2 * PAGE, d);
    assert.equal({ migrated: t.stats().migrated - m0, kind: t.page(mm, s)!.kind, hole: t.page(mm, s + PAGE) }, { migrated: 0, kind: "system", hole: null }, "the page stays, the hole is not filled (not vma_is_anonymous)");
    assert.is(t.read(mm, s), 1);
  });
}

test.run();
