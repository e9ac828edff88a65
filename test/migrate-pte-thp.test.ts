// Issue 12 item 4: migrate_to_device over pages of a PTE-mapped THP. Before Balbir
// Singh's device-private THP series the PTE walk of migrate_vma_collect_pmd does not
// collect a page of a large folio ("FIXME support THP": PageTransCompound -> mpfn 0)
// and migrate_vma_check_page refuses compound pages (5.15 mm/migrate.c; 6.1 and 6.4
// mm/migrate_device.c), so the page is not migrated and nothing is split or
// allocated. The series adds migrate_vma_split_folio ("mm/migrate_device: handle
// partially mapped folios during collection"; in 7.0.0): the folio is split and its
// pages migrate (rule migrateSplitLarge, E5). A PMD-mapped THP is split whole in every
// era (split_huge_page in 5.15, split_folio later), so only the PTE-mapped case differs.
// Core and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";

const PAGE = 4096;
const NR = 512;
const BASE = 0x40000000; // 2 MiB aligned
const CAP = { systemPages: 2048, hugePages: 2, devicePages: 1024 };
const SPLITS: Record<string, boolean> = { E0: false, "E0-devmap": false, E1: false, "E1-5.18": false, E2: false, E3: false, E4: false, E5: true };

type Target = Engine | Model;

/** A THP written once, then half unmapped: the PMD is split and 256 pages stay PTE-mapped. */
function pteMappedThp(t: Target) {
  const mm = t.mmNew();
  const a = t.mmap(mm, { addr: BASE, length: NR * PAGE, huge: true });
  t.write(mm, a + PAGE, 11);
  t.munmap(mm, a + 256 * PAGE, 256 * PAGE);
  const p = t.page(mm, a + PAGE)!;
  assert.equal({ pmd: p.pmd, large: p.large, mapcount: p.mapcount, folioRefcount: p.folioRefcount }, { pmd: false, large: true, mapcount: 1, folioRefcount: 256 }, "a PTE-mapped THP");
  return { mm, a };
}

for (const [scheme, splits] of Object.entries(SPLITS)) {
  for (const [name, make] of [
    ["engine", () => Engine.create({ scheme, capacity: CAP })],
    ["model", async () => Model.create({ scheme, capacity: CAP })],
  ] as const) {
    test(`${name} ${scheme}: migrate_to_device over 4 pages of a PTE-mapped THP ${splits ? "splits the folio and migrates them" : "migrates none of them"}`, async () => {
      const t = await make();
      const { mm, a } = pteMappedThp(t);
      const gpu = t.driverNew("device-private", 16);
      const s0 = t.stats();
      const bo = t.migrateToDevice(mm, a, 4 * PAGE, gpu);
      const s = t.stats();
      const moved = { migrated: s.migrated - s0.migrated, failed: s.migrateFailed - s0.migrateFailed, allocated: s.device.allocated - s0.device.allocated, splitFolio: s.thp.splitFolio - s0.thp.splitFolio };
      const p = t.page(mm, a + PAGE)!;
      if (splits) {
        assert.equal(moved, { migrated: 4, failed: 0, allocated: 4, splitFolio: 1 }, "migrate_vma_split_folio, then four pages move");
        assert.equal({ kind: p.kind, large: p.large, pages: t.bo(bo).pages }, { kind: "device-private", large: false, pages: 4 });
        assert.equal(t.page(mm, a + 4 * PAGE)!.large, false, "the rest of the folio is small pages now");
      } else {
        assert.equal(moved, { migrated: 0, failed: 4, allocated: 0, splitFolio: 0 }, "not collected: no split, no device page");
        assert.equal({ kind: p.kind, large: p.large, mapcount: p.mapcount, folioRefcount: p.folioRefcount, pages: t.bo(bo).pages }, { kind: "system", large: true, mapcount: 1, folioRefcount: 256, pages: 0 }, "the THP is as it was");
      }
      assert.is(t.read(mm, a + PAGE), 11, "the data is where the process left it");
      t.check();
      assert.equal(t.violations(), [], "the quiesce check finds nothing");
    });
  }
}

for (const scheme of ["E2", "E5"]) {
  test(`a PMD-mapped THP is split whole and migrates in E2 and E5 alike (split_huge_page / split_folio in migrate_vma_collect_pmd) [${scheme}]`, async () => {
    const t = await Engine.create({ scheme, capacity: CAP });
    const mm = t.mmNew();
    const a = t.mmap(mm, { addr: BASE, length: NR * PAGE, huge: true });
    t.write(mm, a + PAGE, 11);
    const gpu = t.driverNew("device-private", 16);
    t.migrateToDevice(mm, a, 4 * PAGE, gpu);
    assert.equal({ kind: t.page(mm, a + PAGE)!.kind, migrated: t.stats().migrated, splitFolio: t.stats().thp.splitFolio }, { kind: "device-private", migrated: 4, splitFolio: 1 }, scheme);
  });
}

test.run();
