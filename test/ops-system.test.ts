// Refcount / mapcount accounting of ordinary (system RAM) anonymous and file
// pages, spec §4.1: one uvu suite per concept (faults, fork, COW, zap, VMAs, the
// quiesce check), one test per era where the eras differ or must all hold.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { PAGE, engine, pg, anonPage, delta, schemeName } from "./helpers/pages.ts";

const Anon = suite("anonymous faults: do_anonymous_page and the shared zero page");

Anon("do_anonymous_page: a write fault on untouched anon memory maps a fresh page at R1 M1, exclusive (E2)", async () => {
  const e = await engine("E2");
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 2 * PAGE });
  assert.is(e.page(mm, a), null, "nothing is mapped before the first touch");
  const s0 = e.stats();
  e.write(mm, a, 42);
  const d = delta(s0, e.stats());
  const p = pg(e, mm, a);
  assert.is(p.kind, "system");
  assert.is(p.refcount, 1);
  assert.is(p.mapcount, 1);
  assert.ok(p.allocated && p.anon && p.anonExclusive, "new anon page is allocated, anon and AnonExclusive");
  assert.ok(!p.pageCache);
  assert.equal(p.pte, { present: true, write: true, special: false, devmap: false, devicePrivate: false });
  assert.is(p.content, 42);
  // The allocation's reference is handed to the PTE: no refcount RMW, one mapcount RMW.
  assert.equal({ ref: d.ref, map: d.map, live: d.live, allocated: d.allocated }, { ref: 0, map: 1, live: 1, allocated: 1 });
  assert.is(e.page(mm, a + PAGE), null, "the neighbouring page is still untouched");
  assert.is(e.read(mm, a), 42);
});

Anon("do_anonymous_page in E0 (no PG_anon_exclusive before 5.19): R1 M1, anon but not marked exclusive", async () => {
  const { e, mm, a } = await anonPage("E0", 1, 1);
  const p = pg(e, mm, a);
  assert.equal({ refcount: p.refcount, mapcount: p.mapcount, anon: p.anon, anonExclusive: p.anonExclusive }, { refcount: 1, mapcount: 1, anon: true, anonExclusive: false });
});

Anon("read fault on untouched anon memory maps the shared zero page: special PTE, no ref, no mapcount, no frame", async () => {
  const e = await engine("E2");
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: PAGE });
  const s0 = e.stats();
  assert.is(e.read(mm, a), 0);
  const d = delta(s0, e.stats());
  const p = pg(e, mm, a);
  assert.is(p.pfn, 0);
  assert.is(p.kind, "zero");
  assert.equal(p.pte, { present: true, write: false, special: true, devmap: false, devicePrivate: false });
  assert.equal({ refcount: p.refcount, mapcount: p.mapcount }, { refcount: 0, mapcount: 0 });
  assert.equal({ ref: d.ref, map: d.map, live: d.live, allocated: d.allocated }, { ref: 0, map: 0, live: 0, allocated: 0 }, "mapping the zero page takes no reference and allocates nothing");
});

Anon("write after a zero-page read: wp_page_copy into a fresh page; the zero page stays untouched", async () => {
  const e = await engine("E2");
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: PAGE });
  e.read(mm, a);
  const s0 = e.stats();
  e.write(mm, a, 9);
  const d = delta(s0, e.stats());
  const p = pg(e, mm, a);
  assert.is.not(p.pfn, 0);
  assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, write: p.pte.write, special: p.pte.special }, { kind: "system", refcount: 1, mapcount: 1, write: true, special: false });
  assert.equal({ wpCopy: d.wpCopy, live: d.live }, { wpCopy: 1, live: 1 });
  const z = e.frame(0);
  assert.equal({ kind: z.kind, refcount: z.refcount, mapcount: z.mapcount }, { kind: "zero", refcount: 0, mapcount: 0 });
  assert.is(e.read(mm, a), 9);
});

Anon.run();

const File = suite("file faults: the page cache page and its mappings (filemap_fault, do_shared_fault, do_cow_fault)");

File("file read fault: page cache ref + PTE ref (R2 M1); a second mapping adds +1R +1M", async () => {
  const e = await engine("E2");
  const f = e.fileNew(2 * PAGE);
  const A = e.mmNew();
  const a = e.mmap(A, { length: 2 * PAGE, file: f, shared: true });
  const s0 = e.stats();
  assert.is(e.read(A, a), 0, "a fresh file reads as zeros");
  const p = pg(e, A, a);
  assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount, pageCache: p.pageCache, anon: p.anon }, { kind: "system", refcount: 2, mapcount: 1, pageCache: true, anon: false });
  assert.equal(p.pte, { present: true, write: false, special: false, devmap: false, devicePrivate: false }, "read fault maps read-only");
  assert.is(delta(s0, e.stats()).live, 1, "one frame: the page cache page");

  const B = e.mmNew();
  const b = e.mmap(B, { length: 2 * PAGE, file: f });
  e.read(B, b);
  const q = pg(e, B, b);
  assert.is(q.pfn, p.pfn, "both mappings map the same page cache page");
  assert.equal({ refcount: q.refcount, mapcount: q.mapcount }, { refcount: 3, mapcount: 2 });
  assert.is(delta(s0, e.stats()).live, 1);
});

File("shared file mapping: writes reach the page cache page and the file; other mappers read them", async () => {
  const e = await engine("E2");
  const f = e.fileNew(PAGE);
  const A = e.mmNew();
  const a = e.mmap(A, { length: PAGE, file: f, shared: true });
  e.write(A, a, 11);
  const p = pg(e, A, a);
  assert.equal({ refcount: p.refcount, mapcount: p.mapcount, pageCache: p.pageCache, anon: p.anon, write: p.pte.write }, { refcount: 2, mapcount: 1, pageCache: true, anon: false, write: true }, "do_shared_fault: cache ref + PTE ref, writable");
  const B = e.mmNew();
  const b = e.mmap(B, { length: PAGE, file: f });
  assert.is(e.read(B, b), 11, "a private mapping sees the shared writer's data before any COW");
  e.check();
  assert.equal(e.violations(), []);
});

File("private file write fault (do_cow_fault): an anon copy R1 M1; the page cache page keeps only the cache ref", async () => {
  const e = await engine("E2");
  const f = e.fileNew(PAGE);
  const A = e.mmNew();
  const shared = e.mmap(A, { length: PAGE, file: f, shared: true });
  e.write(A, shared, 5);
  const B = e.mmNew();
  const priv = e.mmap(B, { length: PAGE, file: f });
  const s0 = e.stats();
  e.write(B, priv, 99);
  const copy = pg(e, B, priv);
  const cache = pg(e, A, shared);
  assert.is.not(copy.pfn, cache.pfn);
  assert.equal({ refcount: copy.refcount, mapcount: copy.mapcount, anon: copy.anon, anonExclusive: copy.anonExclusive, pageCache: copy.pageCache }, { refcount: 1, mapcount: 1, anon: true, anonExclusive: true, pageCache: false });
  assert.equal({ refcount: cache.refcount, mapcount: cache.mapcount }, { refcount: 2, mapcount: 1 }, "B's COW fault took no mapping of the page cache page");
  assert.is(delta(s0, e.stats()).live, 1, "one new frame: the anon copy");
  assert.is(e.read(B, priv), 99);
  assert.is(e.read(A, shared), 5, "the private write does not reach the file");
});

File("private file: read then write = wp_page_copy; the page cache page loses that mapping (-1R -1M)", async () => {
  const e = await engine("E2");
  const f = e.fileNew(PAGE);
  const A = e.mmNew();
  const shared = e.mmap(A, { length: PAGE, file: f, shared: true });
  e.write(A, shared, 7);
  const B = e.mmNew();
  const priv = e.mmap(B, { length: PAGE, file: f });
  assert.is(e.read(B, priv), 7);
  const before = pg(e, B, priv);
  assert.equal({ pfn: before.pfn, refcount: before.refcount, mapcount: before.mapcount, write: before.pte.write }, { pfn: pg(e, A, shared).pfn, refcount: 3, mapcount: 2, write: false });
  const s0 = e.stats();
  e.write(B, priv, 8);
  const d = delta(s0, e.stats());
  const after = pg(e, B, priv);
  assert.is.not(after.pfn, before.pfn);
  assert.equal({ refcount: after.refcount, mapcount: after.mapcount, anon: after.anon, write: after.pte.write }, { refcount: 1, mapcount: 1, anon: true, write: true });
  const cache = e.frame(before.pfn);
  assert.equal({ refcount: cache.refcount, mapcount: cache.mapcount }, { refcount: 2, mapcount: 1 });
  assert.equal({ wpCopy: d.wpCopy, wpReuse: d.wpReuse }, { wpCopy: 1, wpReuse: 0 });
  assert.equal({ privateInB: e.read(B, priv), sharedInA: e.read(A, shared) }, { privateInB: 8, sharedInA: 7 });
});

File.run();

const Fork = suite("fork: copy_page_range and vma_needs_copy");

for (const scheme of ["E0", "E2"]) {
  Fork(`fork of an anon page: +1R +1M, one page mapped by both, both PTEs write-protected, AnonExclusive cleared [${schemeName(scheme)}]`, async () => {
    const { e, mm, a } = await anonPage(scheme, 1, 3);
    const s0 = e.stats();
    const child = e.fork(mm);
    const d = delta(s0, e.stats());
    const p = pg(e, mm, a);
    const c = pg(e, child, a);
    assert.is(c.pfn, p.pfn, scheme);
    assert.equal({ refcount: p.refcount, mapcount: p.mapcount, anonExclusive: p.anonExclusive }, { refcount: 2, mapcount: 2, anonExclusive: false }, scheme);
    assert.equal({ parentWrite: p.pte.write, childWrite: c.pte.write }, { parentWrite: false, childWrite: false }, `${scheme}: both write-protected`);
    assert.equal({ ref: d.ref, map: d.map, ptesCopied: d.ptesCopied, live: d.live, wpCopy: d.wpCopy }, { ref: 1, map: 1, ptesCopied: 1, live: 0, wpCopy: 0 }, scheme);
  });
}

Fork("fork of a maybe-pinned anon page (FOLL_PIN in this mm): the child gets a copy, the parent keeps its page", async () => {
  const e = await engine("E2");
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 2 * PAGE });
  e.write(mm, a, 10);
  e.write(mm, a + PAGE, 20);
  e.gup(mm, a, { pin: true });
  const pinned = pg(e, mm, a);
  assert.is(pinned.refcount, 1 + 1024);
  const s0 = e.stats();
  const child = e.fork(mm);
  const d = delta(s0, e.stats());
  const p = pg(e, mm, a);
  const c = pg(e, child, a);
  assert.is.not(c.pfn, p.pfn, "copy_present_page: child has its own page");
  assert.equal({ pfn: p.pfn, refcount: p.refcount, mapcount: p.mapcount, anonExclusive: p.anonExclusive, write: p.pte.write }, { pfn: pinned.pfn, refcount: 1025, mapcount: 1, anonExclusive: true, write: true }, "parent page untouched");
  assert.equal({ kind: c.kind, refcount: c.refcount, mapcount: c.mapcount, content: c.content }, { kind: "system", refcount: 1, mapcount: 1, content: 10 });
  // The unpinned page next to it is shared as usual.
  const p2 = pg(e, mm, a + PAGE);
  assert.is(pg(e, child, a + PAGE).pfn, p2.pfn);
  assert.equal({ refcount: p2.refcount, mapcount: p2.mapcount, write: p2.pte.write }, { refcount: 2, mapcount: 2, write: false });
  assert.equal({ wpCopy: d.wpCopy, live: d.live }, { wpCopy: 1, live: 1 });
  assert.equal({ page0: e.read(child, a), page1: e.read(child, a + PAGE) }, { page0: 10, page1: 20 });
});

Fork("page_needs_cow_for_dma needs an mm with pins: R >= 1024 from FOLL_GETs is shared unless the mm has pinned something", async () => {
  const e = await engine("E2");
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 2 * PAGE });
  e.write(mm, a, 1);
  e.write(mm, a + PAGE, 2);
  e.run(Array.from({ length: 1024 }, () => ({ op: "gup" as const, mm, addr: a })));
  const page = pg(e, mm, a);
  assert.is(page.refcount, 1025, "1024 FOLL_GET refs look like a pin to folio_maybe_dma_pinned");
  const c1 = e.fork(mm);
  assert.is(pg(e, c1, a).pfn, page.pfn, "no MMF_HAS_PINNED: shared");
  assert.is(pg(e, mm, a).refcount, 1026);
  e.gup(mm, a + PAGE, { pin: true }); // now the mm has a pin (on another page)
  const c2 = e.fork(mm);
  assert.is.not(pg(e, c2, a).pfn, page.pfn, "MMF_HAS_PINNED + maybe pinned: copied (a false positive, as in the kernel)");
  assert.is(pg(e, mm, a).refcount, 1026, "the copy took no reference on the parent's page");
});

Fork("fork does not copy shared file mappings (vma_needs_copy); the child refaults the same page cache page", async () => {
  const e = await engine("E2");
  const f = e.fileNew(2 * PAGE);
  const mm = e.mmNew();
  const shared = e.mmap(mm, { length: PAGE, file: f, shared: true });
  const priv = e.mmap(mm, { length: PAGE, file: f, offset: PAGE });
  e.write(mm, shared, 4);
  e.read(mm, priv);
  const s0 = e.stats();
  const child = e.fork(mm);
  const d = delta(s0, e.stats());
  assert.is(e.page(child, shared), null, "shared file PTEs are not copied");
  // 6.1 copy_page_range / 7.0 vma_needs_copy: a private file VMA that never COWed has no anon_vma either
  assert.is(e.page(child, priv), null, "private file PTEs without an anon_vma are not copied");
  assert.is(d.ptesCopied, 0);
  const cachePfn = pg(e, mm, shared).pfn;
  assert.equal({ refcount: e.frame(cachePfn).refcount, mapcount: e.frame(cachePfn).mapcount }, { refcount: 2, mapcount: 1 });
  assert.is(e.read(child, shared), 4, "the child refaults and sees the file data");
  assert.equal({ childPfn: pg(e, child, shared).pfn, refcount: e.frame(cachePfn).refcount, mapcount: e.frame(cachePfn).mapcount }, { childPfn: cachePfn, refcount: 3, mapcount: 2 });
  const s1 = e.stats();
  e.write(child, shared, 12);
  const w = pg(e, child, shared);
  assert.equal({ pfn: w.pfn, write: w.pte.write, refcount: w.refcount, mapcount: w.mapcount }, { pfn: cachePfn, write: true, refcount: 3, mapcount: 2 }, "wp_page_shared: made writable in place");
  assert.equal({ wpCopy: delta(s1, e.stats()).wpCopy, live: delta(s1, e.stats()).live }, { wpCopy: 0, live: 0 });
  assert.is(e.read(mm, shared), 12, "shared: the child's write is visible to the parent");
});

Fork("fork of a private file page (not yet COWed): no PTE copied (no anon_vma); once the VMA COWed a page, +1R +1M and write-protected", async () => {
  const e = await engine("E2");
  const f = e.fileNew(2 * PAGE);
  const mm = e.mmNew();
  const priv = e.mmap(mm, { length: 2 * PAGE, file: f });
  e.read(mm, priv);
  const p = pg(e, mm, priv);
  assert.equal({ refcount: p.refcount, mapcount: p.mapcount }, { refcount: 2, mapcount: 1 });
  const child = e.fork(mm);
  assert.is(e.page(child, priv), null, "vma_needs_copy: no anon_vma, the child refaults");
  assert.equal({ refcount: e.frame(p.pfn).refcount, mapcount: e.frame(p.pfn).mapcount }, { refcount: 2, mapcount: 1 }, "fork took nothing");
  e.write(mm, priv + PAGE, 9); // do_cow_fault: anon_vma_prepare gives the VMA its anon_vma
  const child2 = e.fork(mm);
  const c = pg(e, child2, priv);
  assert.equal({ pfn: c.pfn, refcount: c.refcount, mapcount: c.mapcount, pageCache: c.pageCache, write: c.pte.write }, { pfn: p.pfn, refcount: 3, mapcount: 2, pageCache: true, write: false });
});

Fork.run();

const Cow = suite("write after fork: do_wp_page copies or reuses");

for (const scheme of ["E0", "E2"]) {
  Cow(`write after fork: the writer copies (wp_page_copy), the last mapper reuses (page_count == 1) [${schemeName(scheme)}]`, async () => {
    const { e, mm, a } = await anonPage(scheme, 1, 1);
    const child = e.fork(mm);
    const old = pg(e, mm, a).pfn;
    let s0 = e.stats();
    e.write(mm, a, 2);
    let d = delta(s0, e.stats());
    const p = pg(e, mm, a);
    assert.is.not(p.pfn, old, `${scheme}: parent got a new page`);
    assert.equal({ refcount: p.refcount, mapcount: p.mapcount, write: p.pte.write, anonExclusive: p.anonExclusive }, { refcount: 1, mapcount: 1, write: true, anonExclusive: scheme === "E2" }, scheme);
    const o = e.frame(old);
    assert.equal({ refcount: o.refcount, mapcount: o.mapcount }, { refcount: 1, mapcount: 1 }, `${scheme}: old page lost the parent's mapping`);
    assert.equal({ wpCopy: d.wpCopy, wpReuse: d.wpReuse, live: d.live }, { wpCopy: 1, wpReuse: 0, live: 1 }, scheme);

    s0 = e.stats();
    e.write(child, a, 3);
    d = delta(s0, e.stats());
    const c = pg(e, child, a);
    assert.is(c.pfn, old, `${scheme}: the child reuses the old page`);
    assert.equal({ refcount: c.refcount, mapcount: c.mapcount, write: c.pte.write }, { refcount: 1, mapcount: 1, write: true }, scheme);
    assert.is(c.anonExclusive, scheme === "E2", `${scheme}: reuse marks the page exclusive again only where the flag exists`);
    assert.equal({ wpCopy: d.wpCopy, wpReuse: d.wpReuse, live: d.live }, { wpCopy: 0, wpReuse: 1, live: 0 }, scheme);
    assert.equal({ parent: e.read(mm, a), child: e.read(child, a) }, { parent: 2, child: 3 }, scheme);
  });
}

for (const scheme of ["E0", "E2"]) {
  Cow(`no reuse while another reference exists: a COW page with a FOLL_GET ref is copied on write (E0 and E2) [${schemeName(scheme)}]`, async () => {
    const { e, mm, a } = await anonPage(scheme, 1, 1);
    const h = e.gup(mm, a); // FOLL_GET on the exclusive page: +1
    const child = e.fork(mm);
    e.exit(child);
    const p = pg(e, mm, a);
    assert.equal({ refcount: p.refcount, mapcount: p.mapcount, write: p.pte.write }, { refcount: 2, mapcount: 1, write: false }, `${scheme}: mapped once, one GUP ref, still write-protected`);
    const s0 = e.stats();
    e.write(mm, a, 2);
    const d = delta(s0, e.stats());
    assert.is.not(pg(e, mm, a).pfn, p.pfn, `${scheme}: page_count 2 -> copy`);
    assert.equal({ wpCopy: d.wpCopy, wpReuse: d.wpReuse }, { wpCopy: 1, wpReuse: 0 }, scheme);
    e.unpin(h);
    assert.is(e.frame(p.pfn).allocated, false, `${scheme}: dropping the GUP ref frees the old page`);
  });
}

for (const scheme of ["E0", "E1", "E2", "E4"]) {
  Cow(`after fork + child exit the page is mapped once again: the write reuses it (no copy) [${schemeName(scheme)}]`, async () => {
    const { e, mm, a } = await anonPage(scheme, 1, 1);
    const child = e.fork(mm);
    e.exit(child);
    const p = pg(e, mm, a);
    assert.equal({ refcount: p.refcount, mapcount: p.mapcount, write: p.pte.write }, { refcount: 1, mapcount: 1, write: false }, scheme);
    const s0 = e.stats();
    e.write(mm, a, 2);
    const d = delta(s0, e.stats());
    const q = pg(e, mm, a);
    assert.equal({ pfn: q.pfn, write: q.pte.write }, { pfn: p.pfn, write: true }, scheme);
    assert.equal({ wpCopy: d.wpCopy, wpReuse: d.wpReuse, live: d.live }, { wpCopy: 0, wpReuse: 1, live: 0 }, scheme);
  });
}

Cow.run();

const Zap = suite("zap: munmap, the mmu_gather, exit and MADV_DONTNEED");

Zap("munmap (zap_pte_range): -1R -1M per page, pages back to the buddy, one TLB flush", async () => {
  const e = await engine("E2");
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 4 * PAGE });
  for (let i = 0; i < 3; i++) e.write(mm, a + i * PAGE, i + 1);
  const pfns = [0, 1, 2].map((i) => pg(e, mm, a + i * PAGE).pfn);
  const s0 = e.stats();
  e.munmap(mm, a, 4 * PAGE);
  const d = delta(s0, e.stats());
  assert.equal({ ref: d.ref, map: d.map, ptesZapped: d.ptesZapped, tlbFlushes: d.tlbFlushes, freed: d.freed, live: d.live }, { ref: 3, map: 3, ptesZapped: 3, tlbFlushes: 1, freed: 3, live: -3 });
  assert.is(e.stats().frames.live, 0);
  for (const pfn of pfns) assert.equal({ allocated: e.frame(pfn).allocated, refcount: e.frame(pfn).refcount, mapcount: e.frame(pfn).mapcount }, { allocated: false, refcount: 0, mapcount: 0 });
  assert.is(e.page(mm, a), null);
  // A range that only maps the zero page has nothing to put: no flush.
  const z = e.mmap(mm, { length: PAGE });
  e.read(mm, z);
  const s1 = e.stats();
  e.munmap(mm, z, PAGE);
  const d1 = delta(s1, e.stats());
  assert.equal({ ref: d1.ref, map: d1.map, tlbFlushes: d1.tlbFlushes, ptesZapped: d1.ptesZapped }, { ref: 0, map: 0, tlbFlushes: 0, ptesZapped: 1 });
});

for (const [scheme, flushes] of [["E2", 2], [{ base: "E2", rules: { tlbBatch: 0 } }, 0], [{ base: "E2", rules: { tlbBatch: 100 } }, 6]] as const) {
  Zap(`mmu_gather: references are dropped in TLB batches of tlbBatch pages (510 by default; 0 puts at once) [${schemeName(scheme)}]`, async () => {
    const e = await Engine.create({ scheme, capacity: { systemPages: 700, devicePages: 0 } });
    const mm = e.mmNew();
    const a = e.mmap(mm, { length: 600 * PAGE });
    e.run(Array.from({ length: 600 }, (_, i) => ({ op: "write" as const, mm, addr: a + i * PAGE, value: i })));
    const s0 = e.stats();
    e.munmap(mm, a, 600 * PAGE);
    const d = delta(s0, e.stats());
    assert.equal({ tlbFlushes: d.tlbFlushes, freed: d.freed, ref: d.ref, map: d.map }, { tlbFlushes: flushes, freed: 600, ref: 600, map: 600 }, JSON.stringify(scheme));
    assert.is(e.stats().frames.live, 0);
  });
}

Zap("exit: every mapping is zapped; file pages stay in the page cache (R1 M0) until drop_cache frees them", async () => {
  const e = await engine("E2");
  const f = e.fileNew(PAGE);
  const mm = e.mmNew();
  const anon = e.mmap(mm, { length: 2 * PAGE });
  const file = e.mmap(mm, { length: PAGE, file: f });
  e.write(mm, anon, 1);
  e.write(mm, anon + PAGE, 2);
  e.read(mm, file);
  const cache = pg(e, mm, file).pfn;
  assert.is(e.stats().frames.live, 3);
  e.exit(mm);
  const fr = e.frame(cache);
  assert.equal({ allocated: fr.allocated, refcount: fr.refcount, mapcount: fr.mapcount, pageCache: fr.pageCache }, { allocated: true, refcount: 1, mapcount: 0, pageCache: true });
  assert.is(e.stats().frames.live, 1, "only the page cache page is left");
  e.check();
  assert.equal(e.violations(), [], "a cached, unmapped file page is not a leak");
  e.dropCache(f);
  assert.is(e.frame(cache).allocated, false);
  assert.is(e.stats().frames.live, 0);
});

Zap("madvise(MADV_DONTNEED): drops the pages but keeps the VMA; the next read sees zeros, the next write a fresh page", async () => {
  const e = await engine("E2");
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 2 * PAGE });
  e.write(mm, a, 5);
  e.write(mm, a + PAGE, 6);
  const s0 = e.stats();
  e.madviseDontneed(mm, a, PAGE);
  const d = delta(s0, e.stats());
  assert.equal({ ref: d.ref, map: d.map, freed: d.freed, live: d.live, tlbFlushes: d.tlbFlushes }, { ref: 1, map: 1, freed: 1, live: -1, tlbFlushes: 1 });
  assert.is(e.page(mm, a), null);
  assert.is(e.read(mm, a), 0, "anonymous memory reads as zeros after DONTNEED");
  assert.is(pg(e, mm, a).pfn, 0, "and maps the zero page");
  assert.is(e.read(mm, a + PAGE), 6, "the page outside the range is untouched");
  e.write(mm, a, 7);
  assert.equal({ refcount: pg(e, mm, a).refcount, value: e.read(mm, a) }, { refcount: 1, value: 7 });
  e.check();
  assert.equal(e.violations(), []);
});

Zap.run();

const Vmas = suite("data and VMAs: what each process reads, munmap splitting a VMA");

Vmas("data: reads return what was written; the child sees pre-fork data; writes after fork do not leak either way", async () => {
  const e = await engine("E2");
  const mm = e.mmNew();
  const n = 8;
  const a = e.mmap(mm, { length: n * PAGE });
  for (let i = 0; i < n; i++) e.write(mm, a + i * PAGE, 100 + i);
  for (let i = 0; i < n; i++) assert.is(e.read(mm, a + i * PAGE), 100 + i);
  const child = e.fork(mm);
  for (let i = 0; i < n; i++) assert.is(e.read(child, a + i * PAGE), 100 + i, `child sees pre-fork data at page ${i}`);
  for (let i = 0; i < n; i += 2) e.write(child, a + i * PAGE, 200 + i);
  for (let i = 1; i < n; i += 2) e.write(mm, a + i * PAGE, 300 + i);
  for (let i = 0; i < n; i++) {
    assert.is(e.read(mm, a + i * PAGE), i % 2 ? 300 + i : 100 + i, `parent page ${i}`);
    assert.is(e.read(child, a + i * PAGE), i % 2 ? 100 + i : 200 + i, `child page ${i}`);
  }
  e.write(mm, a, 0xffffffff);
  assert.is(e.read(mm, a), 0xffffffff, "values are unsigned 32-bit words");
  e.check();
  assert.equal(e.violations(), []);
  e.teardown();
  assert.equal({ violations: e.violations().length, live: e.stats().frames.live }, { violations: 0, live: 0 });
});

Vmas("munmap in the middle of a VMA splits it; the pieces keep their data and file offsets", async () => {
  const e = await engine("E2");
  const f = e.fileNew(3 * PAGE);
  const A = e.mmNew();
  const w = e.mmap(A, { length: 3 * PAGE, file: f, shared: true });
  for (let i = 0; i < 3; i++) e.write(A, w + i * PAGE, 50 + i);
  const B = e.mmNew();
  const anon = e.mmap(B, { length: 3 * PAGE });
  for (let i = 0; i < 3; i++) e.write(B, anon + i * PAGE, 60 + i);
  const file = e.mmap(B, { length: 3 * PAGE, file: f });
  e.munmap(B, anon + PAGE, PAGE);
  e.munmap(B, file + PAGE, PAGE);
  assert.equal({ head: e.read(B, anon), tail: e.read(B, anon + 2 * PAGE) }, { head: 60, tail: 62 });
  assert.equal({ head: e.read(B, file), tail: e.read(B, file + 2 * PAGE) }, { head: 50, tail: 52 }, "the tail VMA still maps file page 2");
  assert.throws(() => e.read(B, anon + PAGE), /SIGSEGV/);
  assert.throws(() => e.read(B, file + PAGE), /SIGSEGV/);
  e.check();
  assert.equal(e.violations(), []);
});

Vmas.run();

const Quiesce = suite("the quiesce check after a mixed workload");

for (const scheme of ["E0", "E1", "E2", "E3", "E4"]) {
  Quiesce(`quiesce check stays clean (refcount and mapcount equations hold) after a mixed workload in every era [${schemeName(scheme)}]`, async () => {
    const e = await engine(scheme);
    const f = e.fileNew(4 * PAGE);
    const mm = e.mmNew();
    const a = e.mmap(mm, { length: 8 * PAGE });
    const s = e.mmap(mm, { length: 4 * PAGE, file: f, shared: true });
    const p = e.mmap(mm, { length: 4 * PAGE, file: f });
    for (let i = 0; i < 8; i++) e.write(mm, a + i * PAGE, i);
    e.write(mm, s, 1);
    e.read(mm, p);
    e.write(mm, p + PAGE, 2);
    const h = e.gup(mm, a, { pin: true });
    const g = e.gup(mm, a + PAGE);
    const c = e.fork(mm);
    e.write(c, a + 2 * PAGE, 9);
    e.write(mm, a + 3 * PAGE, 9);
    e.madviseDontneed(c, a + 4 * PAGE, 2 * PAGE);
    e.check();
    assert.equal(e.violations(), [], `${scheme} mid-run`);
    e.unpin(h);
    e.unpin(g);
    e.teardown();
    assert.equal(e.violations(), [], `${scheme} after teardown`);
    assert.is(e.stats().frames.live, 0, scheme);
  });
}

Quiesce.run();
