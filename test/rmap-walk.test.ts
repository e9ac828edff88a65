// The rmap walk (rmap_walk_anon, mm/rmap.c) finds every mapping of an anonymous page,
// wherever exits left holes among the mm ids and whichever fork made the sharer. The
// core's walk visits only live mms (a list kept in id order); these tests go red if such
// a shortcut skips a mapping it should have found: a skipped sharer keeps a present PTE
// to the old page after a migration. And a zap of a pinned page detaches every pin the
// pinner took there, however many pins share the core's chain of handles (pins.ts chains
// them by pfn). Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";

const PAGE = 4096;
const CAP = { systemPages: 256, devicePages: 64, processes: 32 };
type Target = Engine | Model;
const TARGETS: [string, () => Promise<Target>][] = [
  ["engine", () => Engine.create({ scheme: "E4", capacity: CAP })],
  ["model", async () => Model.create({ scheme: "E4", capacity: CAP })],
];

/** Where each mm maps addr: the page's kind and pfn, or null. */
function where(t: Target, mms: number[], addr: number) {
  return mms.map((mm) => {
    const p = t.page(mm, addr);
    return p ? { kind: p.kind, pfn: p.pfn } : null;
  });
}

for (const [name, make] of TARGETS) {
  test(`${name}: migrate_vma's collect unmaps the page in every live sharer, the first and the last mm id, with exited mms between them`, async () => {
    const t = await make();
    const d = t.driverNew("device-private", 8);
    const gap0 = t.mmNew(); // exits: an id below every sharer
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 2 * PAGE });
    t.write(mm, a, 7);
    t.write(mm, a + PAGE, 8);
    const c1 = t.fork(mm);
    const gap1 = t.fork(mm); // exits: a hole between sharers
    const c2 = t.fork(c1); // a grandchild
    const gap2 = t.mmNew();
    const c3 = t.fork(mm); // the highest id
    for (const g of [gap0, gap1, gap2]) t.exit(g);
    const sharers = [mm, c1, c2, c3];
    const pfn = t.page(mm, a)!.pfn;
    assert.equal(where(t, sharers, a).map((w) => w!.pfn), [pfn, pfn, pfn, pfn]);
    const bo = t.migrateToDevice(c3, a, PAGE, d);
    assert.ok(bo > 0);
    const after = where(t, sharers, a);
    assert.equal(after.map((w) => w!.kind), ["device-private", "device-private", "device-private", "device-private"], "every sharer's PTE became the device-private entry");
    assert.equal(new Set(after.map((w) => w!.pfn)).size, 1, "all point at the one device page");
    assert.is(t.frame(pfn).refcount, 0, "the old page is free: no mapping was left behind");
    // migrate_to_ram from the first sharer: every device-private entry comes back (the walk again)
    t.migrateToRam(mm, a, PAGE);
    const back = where(t, sharers, a);
    assert.equal(back.map((w) => w!.kind), ["system", "system", "system", "system"]);
    assert.equal(sharers.map((m) => t.read(m, a)), [7, 7, 7, 7]);
    assert.equal(t.violations(), []);
  });

  test(`${name}: a child that exits after the fork drops out of the walk; one forked after the exit is found`, async () => {
    const t = await make();
    const d = t.driverNew("device-private", 8);
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: PAGE });
    t.write(mm, a, 3);
    const kids = [t.fork(mm), t.fork(mm), t.fork(mm)];
    t.exit(kids[1]);
    const late = t.fork(kids[2]);
    const sharers = [mm, kids[0], kids[2], late];
    const pfn = t.page(mm, a)!.pfn;
    assert.is(t.frame(pfn).mapcount, 4);
    t.migrateToDevice(kids[0], a, PAGE, d);
    assert.equal(where(t, sharers, a).map((w) => w!.kind), ["device-private", "device-private", "device-private", "device-private"]);
    assert.is(t.frame(pfn).refcount, 0);
    assert.equal(t.violations(), []);
  });
  test(`${name}: after mremap(MREMAP_DONTUNMAP) the VMA left behind holds the page's index but maps nothing: the walk goes on to the moved one`, async () => {
    const t = await make();
    const d = t.driverNew("device-private", 8);
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: PAGE });
    t.write(mm, a, 9);
    const child = t.fork(mm);
    const b = t.mremap(mm, a, PAGE, PAGE, { maymove: true, dontunmap: true });
    assert.ok(b > a, "the moved VMA comes after the one left behind");
    assert.is(t.page(mm, a), null);
    t.migrateToDevice(child, a, PAGE, d);
    assert.equal([t.page(mm, b)!.kind, t.page(child, a)!.kind], ["device-private", "device-private"], "both mappings found");
    t.migrateToRam(mm, b, PAGE);
    assert.equal([t.read(mm, b), t.read(child, a)], [9, 9]);
    assert.equal(t.violations(), []);
  });
}

for (const [name, make] of TARGETS) {
  test(`${name}: a fork tree whose root exited: a migration from a grandchild finds the root's other descendants; another tree at the same address is left alone`, async () => {
    const t = await make();
    const d = t.driverNew("device-private", 8);
    const root = t.mmNew();
    const other = t.mmNew(); // its own tree: its buffer has the same address and page index
    const a = t.mmap(root, { length: PAGE });
    assert.is(t.mmap(other, { length: PAGE }), a);
    t.write(root, a, 5);
    t.write(other, a, 6);
    const child = t.fork(root);
    const grand = t.fork(child);
    const grand2 = t.fork(child);
    t.exit(root);
    t.exit(child);
    const otherPage = t.page(other, a)!;
    t.migrateToDevice(grand2, a, PAGE, d);
    assert.equal(where(t, [grand, grand2], a).map((w) => w!.kind), ["device-private", "device-private"]);
    assert.equal(t.page(other, a), otherPage, "the other tree's page is untouched");
    t.migrateToRam(grand, a, PAGE);
    assert.equal(where(t, [grand, grand2], a).map((w) => w!.kind), ["system", "system"]);
    assert.equal([t.read(grand, a), t.read(grand2, a), t.read(other, a)], [5, 5, 6]);
    assert.equal(t.violations(), []);
  });
  test(`${name}: MADV_DONTNEED of pinned pages detaches each of their pins, with many pins to a handle bucket and some released`, async () => {
    // 8 handles: the core chains handles by pfn modulo 8, so pages 8 apart share a chain
    const t = name === "engine" ? await Engine.create({ scheme: "E4", capacity: { ...CAP, gupHandles: 8 } }) : Model.create({ scheme: "E4", capacity: { ...CAP, gupHandles: 8 } });
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 24 * PAGE });
    for (let i = 0; i < 24; i++) t.write(mm, a + i * PAGE, 100 + i);
    const pin = (i: number) => t.gup(mm, a + i * PAGE, { pin: true, write: true });
    const h = [pin(0), pin(8), pin(16), pin(8), pin(1), pin(9)];
    t.unpin(h[1]); // a handle from the middle of its chain
    const h2 = pin(16);
    const pinned = [0, 8, 16, 1, 9];
    t.madviseDontneed(mm, a, 24 * PAGE);
    for (const i of pinned) t.write(mm, a + i * PAGE, 200 + i); // new pages at the pinned addresses
    // a device writes through every pin: the pinner's addresses no longer expect that data
    for (const x of [h[0], h[2], h[3], h[4], h[5], h2]) t.dmaWrite(x, 999);
    assert.equal(pinned.map((i) => t.read(mm, a + i * PAGE)), pinned.map((i) => 200 + i));
    assert.equal(t.violations(), [], "no read is taken for a corruption: every pin was detached");
  });
  test(`${name}: migrate_to_ram of a range over several pte tables (one of them never allocated, the range starting and ending mid-table) brings back every device-private page`, async () => {
    // the core scans a migrate_to_ram range table by table (ops.ts doMigrateToRam): a slot it skipped
    // would leave its device-private entry behind
    const cap = { ...CAP, systemPages: 2304 }; // migrate_to_ram wants a free frame per page of its range
    const t = name === "engine" ? await Engine.create({ scheme: "E4", capacity: cap }) : Model.create({ scheme: "E4", capacity: cap });
    const d = t.driverNew("device-private", 16);
    const mm = t.mmNew();
    const len = 2048;
    const a = t.mmap(mm, { length: len * PAGE });
    const vpn0 = a / PAGE;
    const b1 = Math.ceil((vpn0 + 1) / 512) * 512; // the first table boundary inside the VMA
    const b3 = b1 + 1024; // the table [b1 + 512, b3) stays empty: its pte table is never allocated
    const start = vpn0 + 1;
    const end = Math.min(vpn0 + len, b3 + 512) - 1;
    const vpns = [start, start + 1, b1 - 1, b1, b1 + 1, b1 + 511, b3, b3 + 1, end - 1];
    vpns.forEach((v, i) => t.write(mm, v * PAGE, 40 + i));
    for (const v of vpns) assert.ok(t.migrateToDevice(mm, v * PAGE, PAGE, d) > 0);
    assert.ok(vpns.every((v) => t.page(mm, v * PAGE)!.kind === "device-private"));
    const moved = t.migrateToRam(mm, start * PAGE, (end - start) * PAGE);
    assert.is(moved, vpns.length);
    assert.equal(vpns.map((v) => t.page(mm, v * PAGE)!.kind), vpns.map(() => "system"));
    assert.equal(vpns.map((v) => t.read(mm, v * PAGE)), vpns.map((_, i) => 40 + i));
    assert.equal(t.violations(), []);
  });
}

test.run();
