// The core's rmap walk (assembly/rmap.ts rmapWalk) takes a shortcut in an mm none of whose private VMAs
// has vm_pgoff != vm_start: a page of index idx can only be mapped there at vpn idx. mm.ts counts such
// "shifted" VMAs per mm (an mremap'd anonymous VMA, a private file mapping) across mmap, split, merge,
// mremap, fork and munmap. If the count says 0 while a shifted VMA holds the page, the walk misses that
// mapping: after a migration the mm keeps a PTE to the old page (not the device page), and the old page
// is not freed. These tests put the page in a shifted VMA after each kind of VMA change and migrate it
// from another sharer. Engine and model alike (the model walks every VMA).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { targets, type Target } from "./helpers/targets.ts";

const PAGE = 4096;
const CAP = { systemPages: 256, devicePages: 64, processes: 32 };
const TARGETS = targets(CAP).map(([name, make]) => [name, () => make("E4")] as const);

/**
 * mm maps 4 pages at a and writes them (data 10 + i), a child forks (it keeps them at a), and mm moves
 * its VMA to b by mremap: mm's VMA at b has vm_pgoff a / PAGE, a shifted VMA.
 */
async function moved(make: () => Promise<Target>) {
  const t = await make();
  const d = t.driverNew("device-private", 16);
  const mm = t.mmNew();
  const a = t.mmap(mm, { length: 4 * PAGE });
  for (let i = 0; i < 4; i++) t.write(mm, a + i * PAGE, 10 + i);
  const child = t.fork(mm);
  const b = t.mremap(mm, a, 4 * PAGE, 4 * PAGE, { maymove: true, fixed: true, newAddr: a + 64 * PAGE });
  assert.is(b, a + 64 * PAGE);
  return { t, d, mm, child, a, b };
}

/** Migrate page i of the child's buffer to the device: every mapping in `at` (mm, addr) must follow it. */
function migrateAndCheck(t: Target, d: number, child: number, a: number, i: number, at: [number, number][]) {
  const old = t.page(child, a + i * PAGE)!;
  assert.is(old.kind, "system");
  for (const [m, x] of at) assert.is(t.page(m, x)!.pfn, old.pfn, "shared before the migration");
  assert.ok(t.migrateToDevice(child, a + i * PAGE, PAGE, d) > 0);
  const dev = t.page(child, a + i * PAGE)!;
  assert.is(dev.kind, "device-private");
  for (const [m, x] of at) assert.equal(t.page(m, x), dev, `mm ${m} at ${x.toString(16)} follows the page`);
  assert.is(t.frame(old.pfn).refcount, 0, "the old page is free: no mapping was left behind");
  t.migrateToRam(child, a + i * PAGE, PAGE);
  assert.is(t.read(child, a + i * PAGE), 10 + i);
  for (const [m, x] of at) assert.is(t.read(m, x), 10 + i);
}

for (const [name, make] of TARGETS) {
  test(`${name}: mremap: the moved VMA (pgoff != start) holds the page at its new address; once it is unmapped a fresh mapping is walked again`, async () => {
    const { t, d, mm, child, a, b } = await moved(make);
    for (let i = 0; i < 4; i++) migrateAndCheck(t, d, child, a, i, [[mm, b + i * PAGE]]);
    t.munmap(mm, b, 4 * PAGE); // no shifted VMA left in mm
    const c = t.mmap(mm, { length: PAGE });
    t.write(mm, c, 50);
    const kid = t.fork(mm);
    t.migrateToDevice(kid, c, PAGE, d);
    assert.equal([t.page(mm, c)!.kind, t.page(kid, c)!.kind], ["device-private", "device-private"]);
    assert.equal(t.violations(), []);
  });

  test(`${name}: a moved VMA split by mprotect, one piece unmapped: the pieces left still hold their pages`, async () => {
    const { t, d, mm, child, a, b } = await moved(make);
    t.mprotect(mm, b + PAGE, PAGE, "r"); // three VMAs, each shifted
    t.munmap(mm, b + 2 * PAGE, 2 * PAGE); // the third goes
    migrateAndCheck(t, d, child, a, 0, [[mm, b]]);
    migrateAndCheck(t, d, child, a, 1, [[mm, b + PAGE]]);
    assert.equal(t.violations(), []);
  });

  test(`${name}: a moved VMA split and merged back by mprotect, then split by munmap of its middle`, async () => {
    const { t, d, mm, child, a, b } = await moved(make);
    t.mprotect(mm, b + PAGE, 2 * PAGE, "r");
    t.mprotect(mm, b + PAGE, 2 * PAGE, "rw"); // merged: one VMA again
    for (let i = 0; i < 4; i++) migrateAndCheck(t, d, child, a, i, [[mm, b + i * PAGE]]);
    t.munmap(mm, b + PAGE, PAGE); // __split_vma, then the middle piece goes
    for (const i of [0, 2, 3]) migrateAndCheck(t, d, child, a, i, [[mm, b + i * PAGE]]);
    assert.equal(t.violations(), []);
  });

  test(`${name}: fork of an mm with a moved VMA: the child's copy is shifted too, and the first child's exit leaves it so`, async () => {
    const { t, d, mm, child, a, b } = await moved(make);
    const kid = t.fork(mm); // its VMA at b, pgoff a / PAGE
    const gone = t.fork(mm);
    t.exit(gone);
    for (let i = 0; i < 4; i++) migrateAndCheck(t, d, child, a, i, [[mm, b + i * PAGE], [kid, b + i * PAGE]]);
    t.exit(mm);
    migrateAndCheck(t, d, child, a, 2, [[kid, b + 2 * PAGE]]);
    assert.equal(t.violations(), []);
  });

  test(`${name}: a moved VMA moved back by mremap to its old address (pgoff == start again), next to a moved one`, async () => {
    const { t, d, mm, child, a, b } = await moved(make);
    assert.is(t.mremap(mm, b, 2 * PAGE, 2 * PAGE, { maymove: true, fixed: true, newAddr: a }), a); // back home: not shifted
    migrateAndCheck(t, d, child, a, 0, [[mm, a]]);
    migrateAndCheck(t, d, child, a, 3, [[mm, b + 3 * PAGE]]); // the other half stays shifted
    assert.equal(t.violations(), []);
  });

  test(`${name}: a private file mapping at an offset: its COW copies have the file index, not the vpn`, async () => {
    const t = await make();
    const d = t.driverNew("device-private", 16);
    const f = t.fileNew(8 * PAGE);
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 4 * PAGE, file: f, offset: 3 * PAGE }); // private: pgoff 3
    for (let i = 0; i < 4; i++) t.write(mm, a + i * PAGE, 10 + i); // COW: anonymous pages of index 3 + i
    const child = t.fork(mm);
    for (let i = 0; i < 4; i++) migrateAndCheck(t, d, child, a, i, [[mm, a + i * PAGE]]);
    assert.equal(t.violations(), []);
  });
}

test.run();
