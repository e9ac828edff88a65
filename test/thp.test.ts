// Large folios: PMD-mapped anonymous THPs (spec §1 glossary, §4.1 "PMD-mapped THP",
// §4.6 GUP on large folios). One refcount per folio on the head page, the PMD in
// _entire_mapcount, PTEs in each page's _mapcount, FOLL_PIN in _pincount; every
// test ends with a quiesce check that must find nothing.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { RefsimError } from "../src/core/errors.ts";
import { EpisodeGenerator, exploreCapacity } from "../src/explore/generate.ts";
import { SymExecutor } from "../src/explore/symbolic.ts";
import { runWorkload } from "../src/workload/index.ts";
import { PAGE, pg } from "./helpers/pages.ts";

const NR = 512;
const M2 = NR * PAGE;
const BASE = 0x40000000; // 2 MiB aligned

async function engine(scheme = "E4", hugePages = 4): Promise<Engine> {
  return Engine.create({ scheme, capacity: { systemPages: 4096, hugePages } });
}

/** A process with one huge-page-enabled 2 MiB region, written once (a THP fault). */
async function withThp(scheme = "E4", hugePages = 4) {
  const e = await engine(scheme, hugePages);
  const mm = e.mmNew();
  const a = e.mmap(mm, { addr: BASE, length: M2, huge: true });
  e.write(mm, a + PAGE, 11);
  return { e, mm, a };
}

function clean(e: Engine, what: string) {
  e.check();
  assert.equal(e.violations(), [], `${what}: the quiesce check finds nothing`);
}

const Fault = suite("THP faults: do_huge_pmd_anonymous_page, the huge zero page, the 4 KiB fallback");

Fault("do_huge_pmd_anonymous_page: a write maps one 512-page folio by a PMD: refcount 1, entire mapcount 1, page mapcounts 0", async () => {
  const { e, mm, a } = await withThp();
  const p = pg(e, mm, a + PAGE);
  assert.equal({ pmd: p.pmd, large: p.large, head: p.head, pfn: p.pfn }, { pmd: true, large: true, head: p.pfn - 1, pfn: p.pfn });
  assert.equal({ folioRefcount: p.folioRefcount, entireMapcount: p.entireMapcount, mapcount: p.mapcount, refcount: p.refcount }, { folioRefcount: 1, entireMapcount: 1, mapcount: 0, refcount: 0 }, "tail pages keep no count of their own");
  assert.equal(pg(e, mm, a).refcount, 1, "the head holds the folio's count");
  assert.ok(pg(e, mm, a).anonExclusive, "PageAnonExclusive on the head");
  assert.equal({ written: e.read(mm, a + PAGE), untouched: e.read(mm, a + 5 * PAGE) }, { written: 11, untouched: 0 });
  assert.equal(e.stats().thp.allocated, 1);
  assert.is(e.stats().frames.live, NR);
  clean(e, "after the fault");
});

Fault("a read of untouched huge-page memory maps the huge zero page: no folio, no reference", async () => {
  const e = await engine();
  const mm = e.mmNew();
  const a = e.mmap(mm, { addr: BASE, length: M2, huge: true });
  assert.is(e.read(mm, a + 7 * PAGE), 0);
  const p = pg(e, mm, a + 7 * PAGE);
  assert.equal({ pmd: p.pmd, kind: p.kind, special: p.pte.special, write: p.pte.write }, { pmd: true, kind: "zero", special: true, write: false });
  assert.is(e.stats().frames.live, 0);
  e.write(mm, a + 7 * PAGE, 5); // do_huge_pmd_wp_page on the zero page: split, then a 4 KiB copy
  assert.equal({ pmd: pg(e, mm, a + 7 * PAGE).pmd, large: pg(e, mm, a + 7 * PAGE).large, kind: pg(e, mm, a + 8 * PAGE).kind }, { pmd: false, large: false, kind: "zero" });
  assert.equal(e.read(mm, a + 7 * PAGE), 5);
  clean(e, "after the zero-page split");
});

Fault("no THP free, a vma that does not cover the 2 MiB block, or no huge flag: the fault falls back to a 4 KiB page", async () => {
  const { e, mm } = await withThp("E4", 1);
  const b = e.mmap(mm, { addr: BASE + 4 * M2, length: M2, huge: true });
  e.write(mm, b, 1); // the only THP is taken
  assert.equal({ pmd: pg(e, mm, b).pmd, large: pg(e, mm, b).large }, { pmd: false, large: false });
  assert.is(e.stats().thp.fallback, 1);
  const c = e.mmap(mm, { addr: BASE + 8 * M2 + PAGE, length: M2, huge: true }); // not aligned: no block fits
  e.write(mm, c, 1);
  const d = e.mmap(mm, { addr: BASE + 12 * M2, length: M2 });
  e.write(mm, d, 1);
  assert.equal({ unaligned: pg(e, mm, c).large, notHuge: pg(e, mm, d).large }, { unaligned: false, notHuge: false });
  assert.is(e.stats().thp.allocated, 1);
  clean(e, "fallbacks");
});

Fault.run();

const Fork = suite("fork of a THP: copy_huge_pmd and PTE batching");

Fork("copy_huge_pmd: fork shares the THP with +1 refcount, +1 entire mapcount, both PMDs read-only: 2 atomics for 512 pages", async () => {
  const { e, mm, a } = await withThp();
  const before = e.stats().atomics;
  const child = e.fork(mm);
  const after = e.stats().atomics;
  assert.equal({ refcount: after.refcount - before.refcount, mapcount: after.mapcount - before.mapcount }, { refcount: 1, mapcount: 1 });
  const p = pg(e, mm, a);
  const c = pg(e, child, a);
  assert.equal({ childPmd: c.pmd, childPfn: c.pfn, folioRefcount: p.folioRefcount, entireMapcount: p.entireMapcount, parentWrite: p.pte.write, childWrite: c.pte.write, anonExclusive: p.anonExclusive }, { childPmd: true, childPfn: p.pfn, folioRefcount: 2, entireMapcount: 2, parentWrite: false, childWrite: false, anonExclusive: false });
  assert.is(e.read(child, a + PAGE), 11);
  assert.is(e.stats().ptesCopied, 1, "one PMD copied");
  clean(e, "after fork");
});

Fork("fork of the same 2 MiB as 4 KiB pages costs 512 refcount and 512 mapcount atomics", async () => {
  const e = await engine("E4", 0);
  const mm = e.mmNew();
  const a = e.mmap(mm, { addr: BASE, length: M2, huge: true });
  for (let i = 0; i < NR; i++) e.write(mm, a + i * PAGE, i);
  const before = e.stats().atomics;
  e.fork(mm);
  const after = e.stats().atomics;
  assert.equal({ refcount: after.refcount - before.refcount, mapcount: after.mapcount - before.mapcount }, { refcount: NR, mapcount: NR });
  clean(e, "small-page fork");
});

for (const [scheme, refAtomics] of [["E4", 1], ["E2", NR - 1]] as const) {
  Fork(`fork with PTE batching (E4, 6.9+): a PTE-mapped THP is shared with one folio_ref_add per folio; E2 takes one per PTE [${scheme}]`, async () => {
    const { e, mm, a } = await withThp(scheme);
    e.munmap(mm, a + (NR - 1) * PAGE, PAGE); // split: 511 PTEs map the folio
    const before = e.stats().atomics;
    const child = e.fork(mm);
    const after = e.stats().atomics;
    assert.equal({ refcount: after.refcount - before.refcount, mapcount: after.mapcount - before.mapcount }, { refcount: refAtomics, mapcount: NR - 1 }, scheme);
    assert.equal({ folioRefcount: pg(e, child, a).folioRefcount, mapcount: pg(e, child, a).mapcount }, { folioRefcount: 2 * (NR - 1), mapcount: 2 }, scheme);
    clean(e, `${scheme} after fork`);
    const z = e.stats().atomics.refcount;
    e.exit(child);
    assert.is(e.stats().atomics.refcount - z, scheme === "E4" ? 1 : NR - 1, `${scheme}: zap batches the same way`);
    clean(e, `${scheme} after exit`);
  });
}

Fork.run();

const Cow = suite("write faults on a shared THP: do_huge_pmd_wp_page");

Cow("do_huge_pmd_wp_page after fork: the writer's PMD is split and one 4 KiB page copied; the folio keeps the other 511 mapped", async () => {
  const { e, mm, a } = await withThp();
  const child = e.fork(mm);
  e.write(child, a + 2 * PAGE, 99);
  const w = pg(e, child, a + 2 * PAGE);
  assert.equal({ pmd: w.pmd, large: w.large, refcount: w.refcount, mapcount: w.mapcount }, { pmd: false, large: false, refcount: 1, mapcount: 1 }, "the written page is a fresh small copy");
  const o = pg(e, child, a + 3 * PAGE);
  assert.equal({ pmd: o.pmd, large: o.large, mapcount: o.mapcount, folioRefcount: o.folioRefcount, entireMapcount: o.entireMapcount }, { pmd: false, large: true, mapcount: 1, folioRefcount: 1 + 511, entireMapcount: 1 });
  assert.equal({ parentPmd: pg(e, mm, a).pmd, parentPage2: e.read(mm, a + 2 * PAGE), childPage2: e.read(child, a + 2 * PAGE), childPage1: e.read(child, a + PAGE) }, { parentPmd: true, parentPage2: 0, childPage2: 99, childPage1: 11 });
  assert.equal({ splitPmd: e.stats().thp.splitPmd, wpCopy: e.stats().wpCopy }, { splitPmd: 1, wpCopy: 1 });
  clean(e, "after the child's write");
  e.exit(mm);
  // A page of a PTE-mapped THP the child alone maps now (511 mappings, 511 references): from 6.15
  // __wp_can_reuse_large_anon_folio reuses it (E4 here); 6.1 (E2) copies, folio_ref_count is not 1.
  e.write(child, a + 4 * PAGE, 4);
  assert.equal({ wpCopy: e.stats().wpCopy, wpReuse: e.stats().wpReuse, large: pg(e, child, a + 4 * PAGE).large }, { wpCopy: 1, wpReuse: 1, large: true });
  clean(e, "after the parent's exit");
  const old = await withThp("E2");
  const oldChild = old.e.fork(old.mm);
  old.e.write(oldChild, old.a + 2 * PAGE, 99);
  old.e.exit(old.mm);
  old.e.write(oldChild, old.a + 4 * PAGE, 4);
  assert.equal({ wpCopy: old.e.stats().wpCopy, wpReuse: old.e.stats().wpReuse, large: pg(old.e, oldChild, old.a + 4 * PAGE).large }, { wpCopy: 2, wpReuse: 0, large: false }, "E2 copies");
  clean(old.e, "E2 after the parent's exit");
});

Cow("a THP mapped once reuses its PMD on a write after the other mapping is gone (refcount 1)", async () => {
  const { e, mm, a } = await withThp("E0"); // no PG_anon_exclusive: reuse only at refcount 1
  const child = e.fork(mm);
  e.exit(child);
  e.write(mm, a, 3);
  const p = pg(e, mm, a);
  assert.equal({ pmd: p.pmd, write: p.pte.write, folioRefcount: p.folioRefcount, wpReuse: e.stats().wpReuse, wpCopy: e.stats().wpCopy }, { pmd: true, write: true, folioRefcount: 1, wpReuse: 1, wpCopy: 0 });
  clean(e, "reuse");
});

Cow.run();

const Zap = suite("munmap and zap of a THP: the PMD split, zap_huge_pmd, free_pgtables");

Zap("munmap of part of a THP splits the PMD; the rest stays mapped by PTEs; unmapping the rest frees the folio to the THP pool", async () => {
  const { e, mm, a } = await withThp();
  e.munmap(mm, a + 256 * PAGE, 256 * PAGE);
  const p = pg(e, mm, a + PAGE);
  assert.equal({ pmd: p.pmd, large: p.large, folioRefcount: p.folioRefcount, entireMapcount: p.entireMapcount, mapcount: p.mapcount }, { pmd: false, large: true, folioRefcount: 256, entireMapcount: 0, mapcount: 1 });
  assert.is(e.page(mm, a + 300 * PAGE), null);
  assert.is(e.read(mm, a + PAGE), 11);
  clean(e, "after the partial munmap");
  e.munmap(mm, a, 256 * PAGE);
  assert.equal({ freed: e.stats().thp.freed, live: e.stats().frames.live, allocated: e.frame(p.head).allocated }, { freed: 1, live: 0, allocated: false });
  const b = e.mmap(mm, { addr: BASE + 2 * M2, length: M2, huge: true });
  e.write(mm, b, 1);
  assert.ok(pg(e, mm, b).pmd, "the freed block is a THP again");
  clean(e, "after the full munmap");
});

// 6.1 mm/mmap.c unmap_region -> free_pgtables(prev->vm_end, next->vm_start) -> free_pgd_range
const FREE_PGTABLES_CAPACITY = { systemPages: 4096, hugePages: 4 };
for (const [name, make] of [["Engine", () => Engine.create({ scheme: "E2", capacity: FREE_PGTABLES_CAPACITY })], ["Model", async () => Model.create({ scheme: "E2", capacity: FREE_PGTABLES_CAPACITY })]] as const) {
  Zap(`free_pgtables: munmap frees a PTE table whose 2 MiB no neighbouring vma shares, so a THP vma mapped there again gets a THP (with the last vma of the block, whichever munmap that is) [${name}]`, async () => {
    const t = await make();
    const mm = t.mmNew();
    t.mmap(mm, { addr: BASE, length: M2, huge: true });
    t.write(mm, BASE + PAGE, 11); // a THP
    t.munmap(mm, BASE + 100 * PAGE, 100 * PAGE); // splits the PMD: the block has a PTE table now
    t.munmap(mm, BASE, 100 * PAGE); // the vma [BASE + 200 pages, ...) still shares the block: the table stays
    t.munmap(mm, BASE + 200 * PAGE, M2 - 200 * PAGE); // no vma is left in the block: the table goes
    t.mmap(mm, { addr: BASE, length: M2, huge: true });
    t.write(mm, BASE + 3 * PAGE, 5);
    const p = t.page(mm, BASE + 3 * PAGE)!;
    assert.equal({ pmd: p.pmd, large: p.large, entireMapcount: p.entireMapcount }, { pmd: true, large: true, entireMapcount: 1 }, "pmd_none again: create_huge_pmd maps a THP");
    // a small vma below the block's end keeps the table when the rest of the block is unmapped
    const b = BASE + 2 * M2;
    t.mmap(mm, { addr: b, length: PAGE });
    t.mmap(mm, { addr: b + PAGE, length: M2 - PAGE, huge: true });
    t.write(mm, b, 1);
    t.munmap(mm, b + PAGE, M2 - PAGE);
    t.munmap(mm, b, PAGE); // now the block is free of vmas: freed here, not left behind
    t.mmap(mm, { addr: b, length: M2, huge: true });
    t.write(mm, b, 2);
    assert.ok(t.page(mm, b)!.pmd, "the table went with the last vma of the block");
    t.check();
    assert.equal(t.violations(), []);
  });
}

Zap("zap_huge_pmd: munmap of the whole 2 MiB drops one reference and one entire mapping; teardown frees everything", async () => {
  const { e, mm, a } = await withThp();
  const child = e.fork(mm);
  const head = pg(e, mm, a).pfn;
  e.munmap(mm, a, M2);
  assert.equal({ refcount: e.frame(head).refcount, entireMapcount: e.frame(head).entireMapcount, pmd: pg(e, child, a).pmd }, { refcount: 1, entireMapcount: 1, pmd: true });
  e.teardown();
  assert.equal(e.violations(), []);
  assert.equal({ freed: e.stats().thp.freed, live: e.stats().frames.live, splitPmd: e.stats().thp.splitPmd }, { freed: 1, live: 0, splitPmd: 0 });
});

Zap("zap_huge_pmd frees the deposited table (zap_deposited_table): after MADV_DONTNEED of the whole block the next write maps a new THP", async () => {
  const { e, mm, a } = await withThp();
  e.madviseDontneed(mm, a, M2);
  assert.is(e.page(mm, a + PAGE), null);
  assert.equal({ freed: e.stats().thp.freed, live: e.stats().frames.live }, { freed: 1, live: 0 });
  e.write(mm, a + 3 * PAGE, 8);
  const p = pg(e, mm, a + 3 * PAGE);
  assert.equal({ pmd: p.pmd, large: p.large, allocated: e.stats().thp.allocated, page1: e.read(mm, a + PAGE), page3: e.read(mm, a + 3 * PAGE) }, { pmd: true, large: true, allocated: 2, page1: 0, page3: 8 });
  clean(e, "after the second THP fault");
});

Zap.run();

const Pin = suite("GUP pins on a THP: _pincount, unshare, fork of a pinned THP");

Pin("pin_user_pages on a THP page: +1 refcount and _pincount 1 (not the 1024 bias); unpin reverses both", async () => {
  const { e, mm, a } = await withThp();
  const h = e.gup(mm, a + 9 * PAGE, { pin: true, write: true });
  assert.ok(h > 0);
  let p = pg(e, mm, a + 9 * PAGE);
  assert.equal({ pmd: p.pmd, folioRefcount: p.folioRefcount, pincount: p.pincount }, { pmd: true, folioRefcount: 2, pincount: 1 });
  const g = e.gup(mm, a + 10 * PAGE); // FOLL_GET: a plain reference, no pincount
  p = pg(e, mm, a + 9 * PAGE);
  assert.equal({ folioRefcount: p.folioRefcount, pincount: p.pincount }, { folioRefcount: 3, pincount: 1 });
  clean(e, "pinned");
  e.unpin(h);
  e.unpin(g);
  p = pg(e, mm, a + 9 * PAGE);
  assert.equal({ folioRefcount: p.folioRefcount, pincount: p.pincount }, { folioRefcount: 1, pincount: 0 });
  clean(e, "unpinned");
});

Pin("FOLL_PIN on a THP shared after fork unshares: the PMD is split and the pinned 4 KiB page is copied (5.19+)", async () => {
  const { e, mm, a } = await withThp("E4");
  e.fork(mm);
  const h = e.gup(mm, a + PAGE, { pin: true });
  const p = pg(e, mm, a + PAGE);
  assert.equal({ large: p.large, refcount: p.refcount, pincount: p.pincount, anonExclusive: p.anonExclusive }, { large: false, refcount: 1 + 1024, pincount: 0, anonExclusive: true }, "the pin is on an exclusive small copy");
  assert.ok(h > 0);
  clean(e, "after the unshare");
});

Pin("S8 with a THP: fork of a pinned THP splits the parent's PMD and gives the child a copy of every page; the parent keeps the pinned folio", async () => {
  const { e, mm, a } = await withThp();
  const h = e.gup(mm, a + PAGE, { pin: true, write: true });
  const head = pg(e, mm, a).pfn;
  const copies = e.stats().wpCopy;
  const child = e.fork(mm);
  assert.is(e.stats().wpCopy - copies, NR, "copy_present_page for each of the 512 pages");
  const c = pg(e, child, a + PAGE);
  assert.equal({ large: c.large, parentsPage: c.pfn === head + 1, read: e.read(child, a + PAGE) }, { large: false, parentsPage: false, read: 11 });
  const p = pg(e, mm, a + PAGE);
  assert.equal({ pmd: p.pmd, pfn: p.pfn, folioRefcount: p.folioRefcount, pincount: p.pincount }, { pmd: false, pfn: head + 1, folioRefcount: NR + 1, pincount: 1 });
  e.dmaWrite(h, 77);
  assert.equal({ parent: e.read(mm, a + PAGE), child: e.read(child, a + PAGE) }, { parent: 77, child: 11 }, "the DMA reaches the parent only");
  clean(e, "after fork");
});

Pin.run();

const Migrate = suite("migration and reclaim of a THP: split_folio, madvise_pageout");

Migrate("migrate_to_device over a THP: split_folio splits PMD and folio, every page migrates; a pinned THP cannot be split and stays PMD-mapped", async () => {
  const { e, mm, a } = await withThp("E2");
  const gpu = e.driverNew("device-private", NR);
  const bo = e.migrateToDevice(mm, a, M2, gpu);
  const p = pg(e, mm, a + PAGE);
  assert.equal({ kind: p.kind, large: p.large, devicePrivate: p.pte.devicePrivate, pages: e.bo(bo).pages }, { kind: "device-private", large: false, devicePrivate: true, pages: NR });
  assert.equal({ splitPmd: e.stats().thp.splitPmd, splitFolio: e.stats().thp.splitFolio, live: e.stats().frames.live }, { splitPmd: 1, splitFolio: 1, live: NR });
  assert.is(e.read(mm, a + PAGE), 11);
  clean(e, "after migration");

  const t = await withThp("E2");
  const h = t.e.gup(t.mm, t.a, { pin: true });
  const gpu2 = t.e.driverNew("device-private", NR);
  t.e.migrateToDevice(t.mm, t.a, M2, gpu2);
  const q = pg(t.e, t.mm, t.a + PAGE);
  assert.equal({ kind: q.kind, large: q.large, pmd: q.pmd, pincount: q.pincount }, { kind: "system", large: true, pmd: true, pincount: 1 }, "migrate_vma_collect_skip: the pinned THP keeps its PMD");
  assert.equal({ splitFailed: t.e.stats().thp.splitFailed, splitPmd: t.e.stats().thp.splitPmd, migrated: t.e.stats().migrated, migrateFailed: t.e.stats().migrateFailed }, { splitFailed: 1, splitPmd: 0, migrated: 0, migrateFailed: NR });
  t.e.unpin(h);
  clean(t.e, "after the refused split");
});

Migrate("madvise_pageout isolates a PMD-mapped THP once", async () => {
  const { e, mm, a } = await withThp();
  const r = e.run([{ op: "madvise_pageout", mm, addr: a, length: M2 }]);
  assert.equal(r, [1]);
});

Migrate.run();

const Input = suite("bad input");

Input("bad input: huge on a file mapping, a THP pool too large: clear errors naming the field, on Engine and Model alike", async () => {
  const e = await engine();
  const f = e.fileNew(M2);
  const mm = e.mmNew();
  assert.throws(() => e.run([{ op: "mmap", mm, length: M2, file: f, huge: true }]), (err: unknown) => err instanceof RefsimError && err.field === "huge");
  assert.throws(() => e.run([{ op: "mmap", mm, length: M2, huge: 1 as unknown as boolean }]), (err: unknown) => err instanceof RefsimError && err.field === "huge");
  e.write(mm, e.mmap(mm, { length: PAGE }), 1); // still usable
  try {
    await Engine.create({ capacity: { hugePages: 1 << 17 } });
    assert.unreachable("a 64 Mi-frame pool exceeds MAX_FRAMES");
  } catch (err) {
    assert.instance(err, RefsimError);
    assert.is((err as RefsimError).field, "hugePages");
  }
  try {
    Model.create({ capacity: { hugePages: 1 << 17 } });
    assert.unreachable("the model refuses the same pool");
  } catch (err) {
    assert.instance(err, RefsimError);
    assert.is((err as RefsimError).field, "hugePages");
  }
});

Input.run();

const Agree = suite("engine and model agree on THPs: a THP's life, random episodes, fork-heavy");

const LIFE_CAPACITY = { systemPages: 4096, hugePages: 2 };
for (const scheme of ["E2", "E4"]) {
  Agree(`the TypeScript model agrees with the engine on a THP's life: fault, fork, pin, split, migrate, teardown [${scheme}]`, async () => {
    const e = await Engine.create({ scheme, capacity: LIFE_CAPACITY });
    const m = Model.create({ scheme, capacity: LIFE_CAPACITY });
    for (const t of [e, m]) {
      const mm = t.mmNew();
      const a = t.mmap(mm, { addr: BASE, length: 2 * M2, huge: true });
      t.write(mm, a + PAGE, 3);
      t.read(mm, a + M2);
      const child = t.fork(mm);
      t.write(child, a + 2 * PAGE, 4);
      const h = t.gup(mm, a + 5 * PAGE, { pin: true });
      t.fork(mm);
      t.unpin(h);
      t.migrateToDevice(child, a, M2, t.driverNew("device-private", NR));
      t.check();
    }
    for (const addr of [BASE, BASE + PAGE, BASE + 5 * PAGE, BASE + M2]) {
      for (const mm of [0, 1, 2]) assert.equal(m.page(mm, addr), e.page(mm, addr), `${scheme} mm ${mm} 0x${addr.toString(16)}`);
    }
    e.teardown();
    m.teardown();
    assert.equal(m.stats(), e.stats(), scheme);
    assert.equal(m.violations(), e.violations(), scheme);
    assert.ok(e.stats().thp.allocated >= 1 && e.stats().thp.splitPmd >= 1, JSON.stringify(e.stats().thp));
  });
}

Agree("random episodes with THPs (the explorer's thp kind): PMDs mapped, split and freed, folios split for migration, no violation (E4, 200 k ops)", async () => {
  const kinds = ["system", "thp", "device-private", "device-coherent"] as const;
  const capacity = exploreCapacity(kinds);
  const gen = new EpisodeGenerator({ kinds, capacity });
  const total = { allocated: 0, splitPmd: 0, splitFolio: 0, freed: 0, ops: 0 };
  let e: Engine | undefined;
  let exec: SymExecutor | undefined;
  const add = () => {
    if (!e) return;
    const t = e.stats().thp;
    total.allocated += t.allocated; total.splitPmd += t.splitPmd; total.splitFolio += t.splitFolio; total.freed += t.freed;
    assert.equal(e.violations(), [], "no violation");
  };
  for (let i = 0; total.ops < 200_000; i++) {
    if (!e || gen.full) {
      add();
      gen.begin();
      e = await Engine.create({ scheme: "E4", capacity });
      exec = new SymExecutor(e, { expect: 1 << 15 });
    }
    const { from, to } = gen.episode(i + 1, 512);
    exec!.run(gen.trace, from, to);
    total.ops += to - from;
  }
  add();
  assert.ok(total.allocated > 50 && total.splitPmd > 50 && total.splitFolio > 5 && total.freed > 20, JSON.stringify(total));
});

Agree("fork-heavy with huge=true: the parent's THPs are shared at fork and split by the children's writes; engine and model agree", async () => {
  const capacity = { systemPages: 16384, hugePages: 8 };
  const params = { pages: 4096, huge: true };
  const e = await Engine.create({ scheme: "E4", capacity });
  const m = Model.create({ scheme: "E4", capacity });
  const a = runWorkload("fork-heavy", e, params, 5, 40_000);
  const b = runWorkload("fork-heavy", m, params, 5, 40_000);
  assert.equal(b.stats, a.stats);
  assert.equal(m.violations(), e.violations());
  const t = e.stats().thp;
  assert.ok(t.allocated === 8 && t.splitPmd > 0, JSON.stringify(t));
  assert.is(e.stats().violations.total, 0);
});

Agree.run();
