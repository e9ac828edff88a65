// mremap (mm/mremap.c, 6.16): grow in place, move (MREMAP_MAYMOVE), MREMAP_FIXED,
// MREMAP_DONTUNMAP, shrink; the entries move and are never duplicated
// (move_page_tables/move_ptes), so no refcount or mapcount changes; a PMD moves whole
// only between 2 MiB-aligned addresses (move_huge_pmd), else it is split; pins, rmap
// (page->index through the copied pgoff) and COW keep working at the new address;
// the kernel's errnos. Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { KernelError, RefsimError } from "../src/core/errors.ts";

const PAGE = 4096;
const PMD = 512 * PAGE;
const CAP = { systemPages: 4096, devicePages: 16, hugePages: 4 };
type Target = Engine | Model;
const TARGETS: [string, (scheme?: string) => Promise<Target>][] = [
  ["engine", (scheme = "E4") => Engine.create({ scheme, capacity: CAP })],
  ["model", async (scheme = "E4") => Model.create({ scheme, capacity: CAP })],
];

/** n written pages (values 1..n) and a one-page VMA right after them, so nothing can grow in place. */
function setup(t: Target, n = 4) {
  const mm = t.mmNew();
  const a = t.mmap(mm, { length: n * PAGE });
  for (let i = 0; i < n; i++) t.write(mm, a + i * PAGE, i + 1);
  const wall = t.mmap(mm, { addr: a + n * PAGE, length: PAGE });
  return { mm, a, wall };
}

const frameOf = (t: Target, mm: number, addr: number) => { const p = t.page(mm, addr)!; return [p.pfn, p.refcount, p.mapcount]; };

for (const [name, make] of TARGETS) {
  test(`${name}: MREMAP_MAYMOVE moves the entries: same frames and counts at the new address, nothing left at the old`, async () => {
    const t = await make();
    const { mm, a } = setup(t);
    const before = [0, 1, 2, 3].map((i) => frameOf(t, mm, a + i * PAGE));
    const n0 = t.stats().mmuNotify;
    const b = t.mremap(mm, a, 4 * PAGE, 8 * PAGE, { maymove: true });
    assert.is.not(b, a);
    assert.equal([0, 1, 2, 3].map((i) => frameOf(t, mm, b + i * PAGE)), before, "move_ptes: no get, no put, no rmap change");
    assert.equal([0, 1, 2, 3].map((i) => t.page(mm, a + i * PAGE)), [null, null, null, null]);
    assert.is(t.stats().ptesMoved, 4);
    assert.ok(t.stats().mmuNotify - n0 >= 1, "move_page_tables: an UNMAP notifier over the old range");
    const v = t.maps(mm).find((x) => x.start === b)!;
    assert.equal({ length: v.end - v.start, offset: v.offset }, { length: 8 * PAGE, offset: a }, "copy_vma keeps vm_pgoff, so page->index still finds the pages");
    assert.equal([0, 1, 2, 3, 4].map((i) => t.read(mm, b + i * PAGE)), [1, 2, 3, 4, 0]);
    t.check();
    assert.equal(t.violations(), []);
  });

  test(`${name}: grow in place when the space after is free; without MREMAP_MAYMOVE a blocked grow is ENOMEM and changes nothing`, async () => {
    const t = await make();
    const { mm, a, wall } = setup(t);
    assert.equal(t.runDetailed([{ op: "mremap", mm, addr: a, length: 4 * PAGE, newLength: 6 * PAGE }]), [{ result: -12, errno: "ENOMEM" }]);
    assert.equal(t.maps(mm).map((v) => [v.start, v.end]), [[a, a + 4 * PAGE], [wall, wall + PAGE]]);
    t.munmap(mm, wall, PAGE);
    assert.is(t.mremap(mm, a, 4 * PAGE, 6 * PAGE), a, "vma_merge_extend");
    assert.equal(t.maps(mm).map((v) => [v.start, v.end]), [[a, a + 6 * PAGE]]);
    assert.equal(t.stats().ptesMoved, 0);
  });

  test(`${name}: shrink unmaps the tail (its pages are freed); same size is a no-op`, async () => {
    const t = await make();
    const { mm, a } = setup(t);
    const live = t.stats().frames.live;
    assert.is(t.mremap(mm, a, 4 * PAGE, PAGE), a);
    assert.equal({ page: t.page(mm, a + PAGE), live: t.stats().frames.live }, { page: null, live: live - 3 });
    assert.is(t.mremap(mm, a, PAGE, PAGE), a);
  });

  test(`${name}: MREMAP_FIXED unmaps what is at the destination first, then moves there`, async () => {
    const t = await make();
    const { mm, a } = setup(t);
    const dst = 0x2000_0000;
    t.mmap(mm, { addr: dst, length: 2 * PAGE });
    t.write(mm, dst, 99);
    const old = t.page(mm, dst)!.pfn;
    assert.is(t.mremap(mm, a, 2 * PAGE, 2 * PAGE, { maymove: true, fixed: true, newAddr: dst }), dst);
    assert.equal({ page0: t.read(mm, dst), page1: t.read(mm, dst + PAGE) }, { page0: 1, page1: 2 });
    assert.is(t.frame(old).allocated, false, "the page that was at the destination is gone");
    assert.equal(t.maps(mm).map((v) => (v.start - a) / PAGE), [2, 4, (dst - a) / PAGE], "the source's remaining pages stay where they were");
  });

  test(`${name}: MREMAP_DONTUNMAP: the entries move, the old VMA stays mapped and empty (a read there faults a fresh zero page)`, async () => {
    const t = await make();
    const { mm, a } = setup(t, 2);
    const pfn = t.page(mm, a)!.pfn;
    const b = t.mremap(mm, a, 2 * PAGE, 2 * PAGE, { maymove: true, dontunmap: true });
    assert.is.not(b, a);
    assert.equal({ pfn: t.page(mm, b)!.pfn, page: t.page(mm, a) }, { pfn: pfn, page: null });
    assert.ok(t.maps(mm).some((v) => v.start === a && v.end === a + 2 * PAGE), "the source VMA is kept");
    assert.equal({ atA: t.read(mm, a), atB: t.read(mm, b) }, { atA: 0, atB: 1 });
  });

  test(`${name}: a PMD moves whole between aligned addresses (move_huge_pmd); a misaligned destination splits it (the data moves, the folio stays large)`, async () => {
    const t = await make();
    const mm = t.mmNew();
    const h = t.mmap(mm, { length: 2 * PMD, huge: true });
    const s = Math.ceil(h / PMD) * PMD;
    t.write(mm, s, 7);
    t.write(mm, s + 5 * PAGE, 8);
    const head = t.page(mm, s)!.head;
    t.mremap(mm, s, PMD, PMD, { maymove: true, fixed: true, newAddr: 0x4000_0000 });
    assert.equal({ pmd: t.page(mm, 0x4000_0000)!.pmd, head: t.page(mm, 0x4000_0000)!.head, splitPmd: t.stats().thp.splitPmd }, { pmd: true, head: head, splitPmd: 0 });
    assert.is(t.stats().ptesMoved, 512);
    const odd = 0x5000_0000 + 3 * PAGE;
    t.mremap(mm, 0x4000_0000, PMD, PMD, { maymove: true, fixed: true, newAddr: odd });
    const p = t.page(mm, odd)!;
    assert.equal({ pmd: p.pmd, large: p.large, head: p.head, splitPmd: t.stats().thp.splitPmd }, { pmd: false, large: true, head: head, splitPmd: 1 });
    assert.equal({ page0: t.read(mm, odd), page5: t.read(mm, odd + 5 * PAGE) }, { page0: 7, page5: 8 });
    assert.equal({ folioRefcount: p.folioRefcount, entireMapcount: p.entireMapcount }, { folioRefcount: 512, entireMapcount: 0 }, "split: one reference and one mapping per PTE, none from the PMD");
    t.check();
    assert.equal(t.violations(), []);
  });

  test(`${name}: after a move, pins, fork's COW and rmap work at the new address`, async () => {
    const t = await make();
    const { mm, a } = setup(t, 2);
    const h = t.gup(mm, a + PAGE, { pin: true });
    const b = t.mremap(mm, a, 2 * PAGE, 2 * PAGE, { maymove: true, fixed: true, newAddr: 0x3000_0000 });
    t.dmaWrite(h, 77);
    assert.is(t.read(mm, b + PAGE), 77, "the pin still names the page, now at the new address");
    const child = t.fork(mm);
    t.write(child, b, 50);
    assert.equal({ parent: t.read(mm, b), child: t.read(child, b) }, { parent: 1, child: 50 });
    // migration walks the rmap (page->index against the VMA's pgoff) to find the moved page
    t.migrateToDevice(mm, b, PAGE, t.driverNew("device-private", 4));
    assert.is(t.page(mm, b)!.kind, "device-private");
    assert.is(t.read(mm, b), 1);
    t.unpin(h);
    t.check();
    assert.equal(t.violations(), []);
  });

  test(`${name}: the kernel's errnos: EFAULT no VMA or across its end, EINVAL FIXED overlapping the source, DONTUNMAP resizing, FIXED without MAYMOVE`, async () => {
    const t = await make();
    const { mm, a } = setup(t);
    const run = (o: object) => t.runDetailed([{ op: "mremap", mm, addr: a, length: 4 * PAGE, newLength: 4 * PAGE, ...o } as never])[0];
    assert.equal(run({ addr: a + 64 * PAGE }), { result: -14, errno: "EFAULT" }, "vma_lookup");
    assert.equal(run({ length: 8 * PAGE, newLength: 10 * PAGE, maymove: true }), { result: -14, errno: "EFAULT" }, "remap_is_valid: the old range runs past the VMA");
    assert.equal(run({ length: 8 * PAGE, newLength: 8 * PAGE }), { result: a / PAGE }, "same size: nothing to map, addr comes back (MREMAP_NO_RESIZE)");
    assert.equal(run({ maymove: true, fixed: true, newAddr: a + 2 * PAGE }), { result: -22, errno: "EINVAL" }, "vrm_overlaps");
    assert.equal(run({ maymove: true, dontunmap: true, newLength: 8 * PAGE }), { result: -22, errno: "EINVAL" }, "DONTUNMAP needs old_len == new_len");
    assert.equal(run({ fixed: true, newAddr: 0x2000_0000 }), { result: -22, errno: "EINVAL" }, "MREMAP_FIXED without MREMAP_MAYMOVE");
    assert.equal([0, 1, 2, 3].map((i) => t.read(mm, a + i * PAGE)), [1, 2, 3, 4]);
  });
}

test("mremap's fields: newAddr only with fixed or dontunmap, fixed needs newAddr, newLength > 0", async () => {
  const e = await Engine.create({ scheme: "E4", capacity: CAP });
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: PAGE });
  for (const [o, field] of [
    [{ newAddr: 0x2000_0000 }, "newAddr"],
    [{ maymove: true, fixed: true }, "newAddr"],
    [{ newLength: 0 }, "newLength"],
    [{ newAddr: 0x2000_0001, fixed: true, maymove: true }, "newAddr"],
  ] as const) {
    assert.throws(() => e.run([{ op: "mremap", mm, addr: a, length: PAGE, newLength: PAGE, ...o } as never]),
      (x: unknown) => x instanceof RefsimError && x.field === field && !(x instanceof KernelError), JSON.stringify(o));
  }
});

test.run();
