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
    assert.equal([v.shared, v.shmem, v.file, v.offset], [true, true, null, 0]);
    assert.is(t.read(mm, s), 0);
    const p = t.page(mm, s)!;
    assert.equal([p.pfn === 0, p.pageCache, p.anon, p.refcount, p.mapcount], [false, true, false, 2, 1], "the cache's reference and the mapping's");
    t.write(mm, s, 5);
    assert.equal([t.page(mm, s)!.pfn, t.stats().wpCopy], [p.pfn, 0], "a write to a shared mapping makes the PTE writable in place");
  });

  test(`${name}: fork shares the pages and copies no PTE (vma_needs_copy); writes are seen by both, never COWed`, async () => {
    for (const scheme of ["E0", "E2", "E4"]) {
      const t = await make(scheme);
      const mm = t.mmNew();
      const s = t.mmap(mm, { length: PAGE, shared: true });
      t.write(mm, s, 5);
      const child = t.fork(mm);
      assert.is(t.page(child, s), null, `${scheme}: no PTE copied`);
      assert.is(t.read(child, s), 5);
      const p = t.page(child, s)!;
      assert.equal([p.pfn, p.refcount, p.mapcount], [t.page(mm, s)!.pfn, 3, 2], scheme);
      t.write(child, s, 9);
      assert.equal([t.read(mm, s), t.stats().wpCopy], [9, 0], scheme);
      t.exit(child);
      assert.equal([t.page(mm, s)!.refcount, t.page(mm, s)!.mapcount], [2, 1], scheme);
    }
  });

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
    assert.equal([t.stats().shmemReleased, t.stats().frames.live], [0, live], "the child still maps the file");
    assert.is(t.read(child, s), 1);
    t.exit(child);
    assert.equal([t.stats().shmemReleased, t.stats().frames.live], [1, live - 1], "shmem_evict_inode: the unpinned page is freed");
    assert.equal([t.frame(pinned).allocated, t.frame(pinned).pageCache, t.frame(pinned).refcount], [true, false, 1024]);
    t.dmaWrite(h, 3);
    t.unpin(h);
    assert.equal([t.frame(pinned).allocated, t.stats().frames.live], [false, live - 2]);
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
    assert.equal([t.stats().migrated - m0, t.page(mm, s)!.kind, t.page(mm, s + PAGE)], [0, "system", null], "the page stays, the hole is not filled (not vma_is_anonymous)");
    assert.is(t.read(mm, s), 1);
  });
}

test.run();
