// madvise(MADV_COLLAPSE) (mm/khugepaged.c madvise_collapse, 6.1+) on private anonymous
// memory: aligned 2 MiB blocks become one new THP (refcount 1, entire mapcount 1,
// PMD-mapped) with the data copied and the small pages' mappings and references
// dropped; pte_none and zero-page PTEs are zero-filled (max_ptes_none is khugepaged's
// only); a PMD-mapped block counts as done; an extra reference or a lock is EAGAIN and
// the other blocks are still tried, no writable PTE / an empty pmd / a small VMA is
// EINVAL, no THP is ENOMEM; shmem VMAs and entries to fault in are refused (BAD_STATE)
// before anything changes. Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { targets, type Target } from "./helpers/targets.ts";

const PAGE = 4096;
const PMD = 512 * PAGE;
const BASE = 0x40000000;
const CAP = { systemPages: 4096, devicePages: 1024, hugePages: 3 };
const TARGETS = targets(CAP);

/** madvise_collapse as the kernel answers it: "0" or the errno's name. */
function collapse(t: Target, mm: number, addr: number, length: number): string {
  const [o] = t.runDetailed([{ op: "madvise_collapse", mm, addr, length }]);
  return o.errno ?? String(o.result);
}

for (const [name, make] of TARGETS) {
  test(`${name}: written small pages become one PMD-mapped THP: refcount 1, entire mapcount 1, data copied, the small pages freed`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: BASE, length: 2 * PMD });
    for (let i = 0; i < 512; i++) t.write(mm, a + i * PAGE, i + 1);
    assert.is(t.stats().frames.live, 512);
    assert.is(collapse(t, mm, a, PMD), "0");
    const p = t.page(mm, a + 7 * PAGE)!;
    assert.equal({ pmd: p.pmd, large: p.large, ref: p.folioRefcount, entire: p.entireMapcount, map: p.mapcount, write: p.pte.write },
      { pmd: true, large: true, ref: 1, entire: 1, map: 0, write: true });
    assert.is(t.stats().frames.live, 512, "512 small pages freed, one THP of 512 allocated");
    assert.is(t.stats().thp.allocated, 1);
    assert.equal([1, 8, 512].map((k) => t.read(mm, a + (k - 1) * PAGE)), [1, 8, 512], "copy_mc_user_highpage");
    assert.equal(t.violations(), []);
    assert.is(collapse(t, mm, a, PMD), "0", "SCAN_PMD_MAPPED counts as collapsed");
    assert.is(t.stats().thp.allocated, 1);
    t.munmap(mm, a, 2 * PMD);
    assert.is(t.stats().frames.live, 0);
    assert.equal(t.violations(), []);
  });

  test(`${name}: pte_none and the zero page are zero-filled (MADV_COLLAPSE ignores max_ptes_none); one writable PTE is enough`, async () => {
    const t = await make("E2");
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: BASE, length: PMD });
    t.write(mm, a + 3 * PAGE, 9);
    assert.is(t.read(mm, a + 5 * PAGE), 0); // the shared zero page
    assert.is(collapse(t, mm, a, PMD), "0");
    assert.equal([t.read(mm, a + 3 * PAGE), t.read(mm, a + 5 * PAGE), t.read(mm, a + 100 * PAGE)], [9, 0, 0]);
    assert.is(t.page(mm, a + 5 * PAGE)!.pmd, true);
    assert.is(t.stats().frames.live, 512);
    assert.equal(t.violations(), []);
  });

  test(`${name}: a pinned page is SCAN_PAGE_COUNT: EAGAIN, nothing changes; after the unpin the collapse goes through`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: BASE, length: PMD });
    for (let i = 0; i < 512; i++) t.write(mm, a + i * PAGE, i);
    const h = t.gup(mm, a + 10 * PAGE, { pin: true });
    assert.is(collapse(t, mm, a, PMD), "EAGAIN");
    assert.equal({ pmd: t.page(mm, a)!.pmd, live: t.stats().frames.live, thp: t.stats().thp.allocated }, { pmd: false, live: 512, thp: 0 });
    t.unpin(h);
    assert.is(collapse(t, mm, a, PMD), "0");
    assert.is(t.page(mm, a)!.pmd, true);
  });

  test(`${name}: EAGAIN is whitelisted: the next block is still collapsed, the result is the last failure's errno`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: BASE, length: 2 * PMD });
    t.write(mm, a, 1);
    t.write(mm, a + PMD, 2);
    const h = t.gup(mm, a); // FOLL_GET: one reference besides the mapping
    assert.is(collapse(t, mm, a, 2 * PMD), "EAGAIN");
    assert.equal([t.page(mm, a)!.pmd, t.page(mm, a + PMD)!.pmd], [false, true]);
    t.unpin(h);
  });

  test(`${name}: after fork the PTEs are read-only: SCAN_PAGE_RO, EINVAL; a shared page is collapsed (max_ptes_shared is khugepaged's), the child keeps it`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: BASE, length: PMD });
    t.write(mm, a, 5);
    t.write(mm, a + PAGE, 6);
    const child = t.fork(mm);
    assert.is(collapse(t, mm, a, PMD), "EINVAL");
    assert.is(t.page(mm, a)!.pmd, false);
    t.write(mm, a + PAGE, 7); // COW: one writable PTE again; page 0 stays shared with the child
    assert.is(collapse(t, mm, a, PMD), "0");
    const c = t.page(child, a)!;
    assert.equal({ ref: c.refcount, map: c.mapcount, v: t.read(child, a), mine: t.read(mm, a) }, { ref: 1, map: 1, v: 5, mine: 5 });
    assert.equal(t.violations(), []);
  });

  test(`${name}: EINVAL for an empty pmd (SCAN_PMD_NONE stops) and for a VMA without an aligned 2 MiB block; ENOMEM with no THP free and at a hole`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: BASE, length: 2 * PMD });
    t.write(mm, a + PMD, 1);
    assert.is(collapse(t, mm, a, 2 * PMD), "EINVAL", "block 0 is pmd_none: madvise_collapse stops there");
    assert.is(t.page(mm, a + PMD)!.pmd, false);
    assert.is(collapse(t, mm, a + PMD, PMD), "0");
    const small = t.mmap(mm, { addr: BASE + 4 * PMD, length: 16 * PAGE });
    t.write(mm, small, 1);
    assert.is(collapse(t, mm, small, 16 * PAGE), "EINVAL", "thp_vma_allowable_order: no aligned block fits the VMA");
    const b = t.mmap(mm, { addr: BASE + 8 * PMD, length: 4 * PMD });
    for (let k = 0; k < 3; k++) t.write(mm, b + k * PMD, k);
    assert.is(collapse(t, mm, b, 3 * PMD), "ENOMEM", "two THPs left in the pool of three");
    assert.equal([0, 1, 2].map((k) => t.page(mm, b + k * PMD)!.pmd), [true, true, false]);
    assert.is(collapse(t, mm, b + 3 * PMD, PMD), "EINVAL", "pmd_none again");
    assert.is(collapse(t, mm, b - PMD, 2 * PMD), "ENOMEM", "madvise_walk_vmas: a hole before the VMA, whose PMD-mapped block counts as done");
  });

  test(`${name}: a shmem VMA and a block with a device-private entry are refused naming the op, before anything changes`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: BASE, length: PMD });
    for (let i = 0; i < 512; i++) t.write(mm, a + i * PAGE, i);
    const s = t.mmap(mm, { addr: BASE + 2 * PMD, length: PMD, shared: true });
    t.write(mm, s, 1);
    const refused = (addr: number, length: number) => {
      try { t.run([{ op: "madvise_collapse", mm, addr, length }]); } catch (x) { return x as { code?: string; op?: string; field?: string; message: string }; }
      assert.unreachable("not refused");
    };
    const e = refused(a, 3 * PMD)!;
    assert.equal([e.code, e.op, e.field], ["BAD_STATE", "madvise_collapse", "addr"]);
    assert.match(e.message, /not modelled/);
    assert.is(t.page(mm, a)!.pmd, false, "block 0 was not collapsed first");
    const gpu = t.dmirrorNew("device-private");
    const fd = t.dmirrorOpen(gpu, mm);
    t.dmirrorMigrateToDev(fd, a + 4 * PAGE, 1);
    assert.is(t.page(mm, a + 4 * PAGE)!.pte.devicePrivate, true);
    const before = [t.stats().frames.live, t.stats().mmuNotify, t.page(mm, a)!.refcount];
    assert.match(refused(a, PMD)!.message, /__collapse_huge_page_swapin/);
    assert.equal([t.stats().frames.live, t.stats().mmuNotify, t.page(mm, a)!.refcount], before);
    assert.is(t.page(mm, a)!.pmd, false);
  });

  for (const era of ["E0", "E0-devmap", "E1", "E1-5.18"]) {
    test(`${name}: ${era} (before 6.1) has no MADV_COLLAPSE: madvise_behavior_valid refuses it, -EINVAL, nothing changes`, async () => {
      const t = await make(era);
      const mm = t.mmNew();
      const a = t.mmap(mm, { addr: BASE, length: PMD });
      for (let i = 0; i < 512; i++) t.write(mm, a + i * PAGE, i + 1);
      assert.is(collapse(t, mm, a, PMD), "EINVAL");
      const p = t.page(mm, a + 7 * PAGE)!;
      assert.equal({ pmd: p.pmd, large: p.large, ref: p.folioRefcount, map: p.mapcount }, { pmd: false, large: false, ref: 1, map: 1 });
      assert.is(t.stats().thp.allocated, 0);
      assert.is(t.read(mm, a + 7 * PAGE), 8);
    });
  }
}

test.run();
