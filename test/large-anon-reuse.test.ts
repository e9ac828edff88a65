// Issue 12 item 6: a write fault on a page of a PTE-mapped large anonymous folio that is
// not PageAnonExclusive. From 6.15 (mm: Copy-on-Write (COW) reuse support for PTE-mapped
// THP, 1da190f4d0a6; its WARN fired on "6.15.0-rc1+" in Kairui Song's fix) do_wp_page ->
// wp_can_reuse_anon_folio -> __wp_can_reuse_large_anon_folio reuses the page when more
// than one page of the folio is mapped, no other process maps it
// (!folio_test_large_maybe_mapped_shared) and every reference is a mapping
// (folio_large_mapcount == folio_ref_count); with one page left mapped it copies, to let
// the large folio go. Before (6.1 do_wp_page, 5.15 page_count of the head): reuse only at
// folio_ref_count == 1, the folio's last mapping. Rule largeAnonReuse, E3+; core and model.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";

const PAGE = 4096;
const NR = 512;
const BASE = 0x40000000; // 2 MiB aligned
const CAP = { systemPages: 2048, hugePages: 2 };
const REUSES: Record<string, boolean> = { E0: false, "E0-devmap": false, E1: false, "E1-5.18": false, E2: false, E3: true, E4: true, E5: true };

type Target = Engine | Model;

/**
 * A THP written once and half unmapped (256 pages PTE-mapped, one large folio), then
 * forked and the child gone: copy_present_ptes cleared PageAnonExclusive on every page,
 * and now only the parent maps the folio, each reference a mapping.
 */
function aloneAfterFork(t: Target) {
  const mm = t.mmNew();
  const a = t.mmap(mm, { addr: BASE, length: NR * PAGE, huge: true });
  t.write(mm, a + PAGE, 11);
  t.munmap(mm, a + 256 * PAGE, 256 * PAGE);
  t.exit(t.fork(mm));
  const p = t.page(mm, a + 2 * PAGE)!;
  assert.equal({ pmd: p.pmd, large: p.large, anonExclusive: p.anonExclusive, write: p.pte.write, mapcount: p.mapcount, folioRefcount: p.folioRefcount }, { pmd: false, large: true, anonExclusive: false, write: false, mapcount: 1, folioRefcount: 256 }, "PTE-mapped, not exclusive, mapped by the parent only");
  return { mm, a };
}

/** The write fault's outcome at addr: reused in place or copied to a new page. */
function writeFault(t: Target, mm: number, addr: number, value: number) {
  const before = t.page(mm, addr)!;
  const s0 = t.stats();
  t.write(mm, addr, value);
  const s = t.stats();
  const p = t.page(mm, addr)!;
  assert.is(t.read(mm, addr), value);
  return { reused: p.pfn === before.pfn, large: p.large, reuse: s.wpReuse - s0.wpReuse, copy: s.wpCopy - s0.wpCopy };
}

function clean(t: Target) {
  t.check();
  assert.equal(t.violations(), [], "the quiesce check finds nothing");
}

for (const [scheme, reuses] of Object.entries(REUSES)) {
  for (const [name, make] of [
    ["engine", () => Engine.create({ scheme, capacity: CAP })],
    ["model", async () => Model.create({ scheme, capacity: CAP })],
  ] as const) {
    test(`${name} ${scheme}: a page of a large folio only this process maps ${reuses ? "is reused" : "is copied"}`, async () => {
      const t = await make();
      const { mm, a } = aloneAfterFork(t);
      const r = writeFault(t, mm, a + 2 * PAGE, 5);
      if (reuses) {
        assert.equal(r, { reused: true, large: true, reuse: 1, copy: 0 }, "__wp_can_reuse_large_anon_folio: mapcount 256 == refcount 256");
        assert.ok(t.page(mm, a + 2 * PAGE)!.anonExclusive, "do_wp_page marks the reused page exclusive");
        assert.is(t.page(mm, a + 3 * PAGE)!.anonExclusive, false, "only that page");
      } else {
        assert.equal(r, { reused: false, large: false, reuse: 0, copy: 1 }, "folio_ref_count 256 > 1: wp_page_copy");
        assert.is(t.page(mm, a + 3 * PAGE)!.folioRefcount, 255, "the copy dropped the old page's reference");
      }
      assert.is(t.read(mm, a + PAGE), 11);
      clean(t);
    });

    test(`${name} ${scheme}: the folio's last mapped page ${reuses ? "is copied (the large folio goes)" : "is reused (folio_ref_count == 1)"}`, async () => {
      const t = await make();
      const { mm, a } = aloneAfterFork(t);
      t.munmap(mm, a, PAGE);
      t.munmap(mm, a + 2 * PAGE, 254 * PAGE);
      assert.equal({ large: t.page(mm, a + PAGE)!.large, folioRefcount: t.page(mm, a + PAGE)!.folioRefcount }, { large: true, folioRefcount: 1 }, "one page of the folio left mapped");
      const r = writeFault(t, mm, a + PAGE, 6);
      assert.equal(r, reuses ? { reused: false, large: false, reuse: 0, copy: 1 } : { reused: true, large: true, reuse: 1, copy: 0 });
      clean(t);
    });

    test(`${name} ${scheme}: with a GUP reference on the folio, or the child still mapping it, the page is copied`, async () => {
      const t = await make();
      const { mm, a } = aloneAfterFork(t);
      const h = t.gup(mm, a + 4 * PAGE); // FOLL_GET: a reference that is not a mapping
      assert.equal(writeFault(t, mm, a + 2 * PAGE, 5), { reused: false, large: false, reuse: 0, copy: 1 }, "folio_ref_count 257 != folio_large_mapcount 256");
      t.unpin(h);
      const child = t.fork(mm);
      assert.equal(writeFault(t, mm, a + 3 * PAGE, 7), { reused: false, large: false, reuse: 0, copy: 1 }, "maybe mapped shared: the child maps it too");
      assert.is(t.read(child, a + 3 * PAGE), 0, "the child keeps the old data");
      clean(t);
    });
  }
}

test.run();
