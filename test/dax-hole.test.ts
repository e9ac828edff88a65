// A hole of an fsdax file (a block punched or truncated away): a read fault maps the
// shared zero page and allocates nothing (6.1 fs/dax.c dax_iomap_pte_fault ->
// dax_fault_iter -> dax_load_hole, vmf_insert_mixed of my_zero_pfn), a read-only GUP
// meets the same zero page, a private write copies zeroes (dax_fault_cow_page), and a
// shared write allocates a block, unmapping the zero page everywhere first
// (dax_insert_entry -> unmap_mapping_pages). Every era; engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { RefsimError } from "../src/core/errors.ts";

const PAGE = 4096;
const CAP = { systemPages: 64, devicePages: 8 };
const TARGETS: [string, (scheme: string) => Promise<Engine | Model>][] = [
  ["engine", (scheme) => Engine.create({ scheme, capacity: CAP })],
  ["model", async (scheme) => Model.create({ scheme, capacity: CAP })],
];

for (const [name, make] of TARGETS) {
  for (const scheme of ["E0", "E2", "E4"]) {
    test(`${name} ${scheme}: a hole reads as the zero page; a shared write fills it and unmaps the zero page everywhere`, async () => {
      const t = await make(scheme);
      const pmem = t.driverNew("fsdax", 4);
      const f = t.fileNew(4 * PAGE, pmem);
      const p = t.mmNew();
      const q = t.mmNew();
      const d = t.mmap(p, { length: 4 * PAGE, file: f, shared: true });
      const e = t.mmap(q, { length: 4 * PAGE, file: f, shared: true });
      const pv = t.mmap(q, { length: 4 * PAGE, file: f });
      for (let i = 0; i < 4; i++) t.write(p, d + i * PAGE, i + 1);
      assert.is(t.driverFreePages(pmem), 0, "every block faulted in");
      assert.is(t.truncate(f, PAGE, 2 * PAGE), 0);
      assert.is(t.driverFreePages(pmem), 2, "the hole punch freed two blocks");

      assert.is(t.read(p, d + PAGE), 0);
      assert.is(t.page(p, d + PAGE)?.kind, "zero", "dax_load_hole: the zero page");
      assert.is(t.page(p, d + PAGE)?.pte.write, false);
      assert.is(t.driverFreePages(pmem), 2, "a read of a hole allocates no block");
      assert.is(t.read(q, e + PAGE), 0);
      assert.is(t.page(q, e + PAGE)?.kind, "zero");
      const h = t.gup(q, e + 2 * PAGE);
      assert.is(t.page(q, e + 2 * PAGE)?.kind, "zero", "a read-only GUP faults for reading: the zero page");
      assert.is(t.page(q, e + 2 * PAGE)?.refcount, 1, "FOLL_GET's reference on it");
      assert.is(t.read(q, pv + 2 * PAGE), 0);
      assert.is(t.page(q, pv + 2 * PAGE)?.kind, "zero", "a private read of a hole: the zero page too");
      assert.is(t.driverFreePages(pmem), 2);

      t.write(q, pv + PAGE, 5);
      assert.is(t.page(q, pv + PAGE)?.kind, "system", "do_cow_fault on a hole: an anonymous copy of zeroes");
      assert.is(t.driverFreePages(pmem), 2, "the hole stays");
      assert.is(t.read(p, d + PAGE), 0);

      t.write(p, d + PAGE, 6);
      assert.is(t.page(p, d + PAGE)?.kind, "fsdax", "a shared write on the zero page: a block (wp_pfn_shared -> pfn_mkwrite)");
      assert.is(t.page(p, d + PAGE)?.pte.write, true);
      assert.is(t.driverFreePages(pmem), 1);
      assert.is(t.page(q, e + PAGE), null, "the other process's zero page unmapped (dax_insert_entry)");
      assert.is(t.read(q, e + PAGE), 6);
      assert.is(t.read(q, pv + PAGE), 5, "the private copy stays");

      t.write(p, d + 2 * PAGE, 7); // a missing PTE over a zero-page entry
      assert.is(t.page(q, pv + 2 * PAGE), null, "the private mapping's zero page unmapped too (no page: should_zap_page)");
      assert.is(t.page(q, e + 2 * PAGE), null);
      assert.is(t.read(q, pv + 2 * PAGE), 7);
      assert.is(t.driverFreePages(pmem), 0);
      t.unpin(h);
      assert.is(t.stats().gupLive, 0);
      t.check();
      t.teardown();
      assert.equal(t.violations(), []);
    });
  }

  test(`${name}: a hole needs a device page only for a shared write`, async () => {
    const t = await make("E2");
    const pmem = t.driverNew("fsdax", 2);
    const f = t.fileNew(2 * PAGE, pmem);
    const g = t.fileNew(2 * PAGE, pmem);
    const p = t.mmNew();
    const d = t.mmap(p, { length: 2 * PAGE, file: f, shared: true });
    const x = t.mmap(p, { length: 2 * PAGE, file: g, shared: true });
    t.write(p, d, 1);
    assert.is(t.truncate(f, 0, PAGE), 0);
    t.write(p, x, 2);
    t.write(p, x + PAGE, 3);
    assert.is(t.driverFreePages(pmem), 0, "the driver is full");
    assert.is(t.read(p, d), 0, "a read of the hole needs no block");
    assert.is(t.page(p, d)?.kind, "zero");
    let err: unknown;
    try { t.write(p, d, 4); } catch (e) { err = e; }
    assert.instance(err, RefsimError, "a shared write on the zero page needs a block: none left");
    assert.is(t.page(p, d)?.kind, "zero", "state intact");
    t.munmap(p, x, 2 * PAGE);
    assert.is(t.truncate(g, 0, 2 * PAGE), 0);
    t.write(p, d, 4);
    assert.is(t.page(p, d)?.kind, "fsdax");
    assert.is(t.read(p, d), 4);
    t.check();
    assert.equal(t.violations(), []);
  });
}

test.run();
