// Engine bugs found by the first test suite, each pinned by its reproduction.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { RefsimError } from "../src/core/errors.ts";

async function setup(scheme = "E2", capacity: Record<string, number> = {}) {
  const e = await Engine.create({ scheme, capacity: { systemPages: 64, devicePages: 16, ...capacity } });
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 4096 });
  return { e, mm, a };
}

test("a migration to device that fails on an extra ref keeps PageAnonExclusive (remove_migration_pte)", async () => {
  const { e, mm, a } = await setup();
  e.write(mm, a, 1);
  e.gup(mm, a); // FOLL_GET: O_DIRECT in flight
  e.migrateToDevice(mm, a, 4096, e.driverNew("device-private", 4));
  const p = e.page(mm, a)!;
  assert.is(p.kind, "system");
  assert.is(p.anonExclusive, true);
  const before = p.pfn;
  e.gup(mm, a, { pin: true }); // exclusive: pins in place, no unshare copy
  assert.is(e.page(mm, a)!.pfn, before);
  assert.is(e.stats().wpCopy, 0);
});

test("FOLL_GET without FOLL_WRITE on a COW-shared page takes +1 and does not break COW", async () => {
  const { e, mm, a } = await setup();
  e.write(mm, a, 1);
  e.fork(mm);
  e.gup(mm, a);
  const p = e.page(mm, a)!;
  assert.equal({ refcount: p.refcount, mapcount: p.mapcount, write: p.pte.write }, { refcount: 3, mapcount: 2, write: false });
  assert.is(e.stats().wpCopy, 0);
});

test("FOLL_PIN on a COW-shared page unshares (E1+) and the PTE stays read-only", async () => {
  const { e, mm, a } = await setup();
  e.write(mm, a, 1);
  e.fork(mm);
  e.gup(mm, a, { pin: true });
  const p = e.page(mm, a)!;
  assert.equal({ refcount: p.refcount, mapcount: p.mapcount, write: p.pte.write, anonExclusive: p.anonExclusive }, { refcount: 1025, mapcount: 1, write: false, anonExclusive: true });
  assert.is(e.stats().wpCopy, 1);
});

test("drop_cache then a read of a still-mapped file page is not corruption", async () => {
  const e = await Engine.create({ scheme: "E4", capacity: { systemPages: 64 } });
  const f = e.fileNew(4096);
  const A = e.mmNew();
  const B = e.mmNew();
  const pa = e.mmap(A, { length: 4096, file: f, shared: true });
  const pb = e.mmap(B, { length: 4096, file: f, shared: true });
  e.write(A, pa, 7);
  assert.is(e.read(B, pb), 7);
  e.dropCache(f);
  assert.is(e.read(B, pb), 7);
  assert.is(e.stats().violations.corruption, 0);
});

test("a read of a mapped page needs no free frame", async () => {
  const { e, mm, a } = await setup("E2", { systemPages: 3 });
  e.write(mm, a, 5);
  const b = e.mmap(mm, { length: 4096 });
  e.write(mm, b, 6);
  assert.is(e.read(mm, a), 5);
  e.write(mm, a, 8); // writable already: no fault either
  assert.is(e.read(mm, a), 8);
});

test("munmap of a whole vma needs no spare vma slot; a split does", async () => {
  const { e, mm, a } = await setup("E2", { vmas: 1 });
  e.write(mm, a, 1);
  e.munmap(mm, a, 4096);
  const big = e.mmap(mm, { length: 3 * 4096 });
  try {
    e.munmap(mm, big + 4096, 4096);
    assert.unreachable("a middle split needs a second vma slot");
  } catch (err) {
    assert.instance(err, RefsimError);
    assert.is((err as RefsimError).code, "NOMEM_VMA");
  }
});

test("errors name the field the user wrote: gup longterm, mmap prot, scheme base", async () => {
  const { e, mm } = await setup();
  const a = e.mmap(mm, { length: 4096 });
  const field = (f: () => unknown) => {
    try { f(); } catch (err) { return (err as RefsimError).field; }
    return "no error";
  };
  // (This test named 'write' for a FOLL_WRITE gup of a read-only mapping and 'shared' for
  // MAP_SHARED|MAP_ANONYMOUS: both are kernel behaviour now, EFAULT from check_vma_flags and a
  // shmem mapping, in test/kernel-errno.test.ts and test/shmem.test.ts.)
  assert.is(field(() => e.gup(mm, a, { longterm: true })), "longterm");
  assert.is(field(() => e.mmap(mm, { length: 4096, prot: "x" as never })), "prot");
  let base = "no error";
  try { await Engine.create({ scheme: { base: "E7" } }); } catch (err) { base = (err as RefsimError).field!; }
  assert.is(base, "base");
});

test("drop_cache evicts only unmapped, unreferenced pages (invalidate_mapping_pages)", async () => {
  const e = await Engine.create({ scheme: "E4", capacity: { systemPages: 64 } });
  const f = e.fileNew(2 * 4096);
  const A = e.mmNew();
  const a = e.mmap(A, { length: 2 * 4096, file: f, shared: true });
  e.write(A, a, 1);
  e.write(A, a + 4096, 2);
  e.munmap(A, a + 4096, 4096); // page 1 is now cached but unmapped
  const live = e.stats().frames.live;
  e.dropCache(f);
  assert.is(e.stats().frames.live, live - 1, "only the unmapped page leaves the cache");
  const B = e.mmNew();
  const b = e.mmap(B, { length: 2 * 4096, file: f, shared: true });
  assert.is(e.read(B, b), 1);
  assert.is(e.read(B, b + 4096), 2, "the evicted page reads back from disk");
  assert.is(e.page(B, b)!.pfn, e.page(A, a)!.pfn, "the mapped page stayed the file's page");
  assert.is(e.stats().violations.total, 0);
});

test("a private file mapping's COW copy starts out expecting the file's data (do_cow_fault)", async () => {
  const e = await Engine.create({ scheme: "E4", capacity: { systemPages: 64 } });
  const f = e.fileNew(4096);
  const w = e.mmNew();
  e.write(w, e.mmap(w, { length: 4096, file: f, shared: true }), 42);
  const p = e.mmNew();
  const a = e.mmap(p, { length: 4096, file: f });
  e.gup(p, a, { write: true, pin: true }); // a write fault on a missing PTE: the COW copy
  assert.is(e.page(p, a)!.anon, true);
  assert.is(e.read(p, a), 42);
  assert.is(e.stats().violations.corruption, 0);
});

test("DMA through a pin after the pinner zapped that address is not its data; after a COW it is (S8)", async () => {
  const e = await Engine.create({ scheme: "E2", capacity: { systemPages: 64 } });
  const mm = e.mmNew();
  const a = e.mmap(mm, { length: 4096 });
  e.write(mm, a, 1);
  const h = e.gup(mm, a); // FOLL_GET, like O_DIRECT
  e.madviseDontneed(mm, a, 4096);
  e.dmaWrite(h, 99); // lands in the old page, which the process discarded
  assert.is(e.read(mm, a), 0);
  assert.is(e.stats().violations.corruption, 0);
  const pre59 = await Engine.create({ scheme: { base: "E0", rules: { cowPinnedAtFork: false } }, capacity: { systemPages: 64 } });
  const m2 = pre59.mmNew();
  const b = pre59.mmap(m2, { length: 4096 });
  pre59.write(m2, b, 1);
  const h2 = pre59.gup(m2, b, { write: true, pin: true });
  pre59.fork(m2);
  pre59.write(m2, b, 2); // COW moves the parent off the pinned page
  pre59.dmaWrite(h2, 99);
  pre59.read(m2, b);
  assert.is(pre59.stats().violations.corruption, 1, "the parent lost the DMA's data");
});

for (const scheme of ["E2", "E4"]) {
  test(`a punched fsdax hole reads zeroes even if a DMA wrote the page while truncate waited [${scheme}]`, async () => {
    const e = await Engine.create({ scheme, capacity: { systemPages: 64, devicePages: 16 } });
    const dax = e.driverNew("fsdax", 8);
    const f = e.fileNew(4096, dax);
    const mm = e.mmNew();
    const a = e.mmap(mm, { length: 4096, file: f, shared: true });
    e.write(mm, a, 5);
    const h = e.gup(mm, a, { write: true, pin: true });
    assert.is(e.truncate(f, 0, 4096), 1, `${scheme}: truncate waits for the pinned page`);
    e.dmaWrite(h, 98);
    e.unpin(h); // the page goes idle: the waiting truncate frees the block
    assert.is(e.read(mm, a), 0, `${scheme}: the hole`);
    assert.is(e.stats().violations.total, 0, scheme);
  });
}

test.run();
