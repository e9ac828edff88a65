// Issue 12 item 13: zap of a migration entry. try_to_migrate_one already dropped the
// mapping's rmap and reference when it wrote the entry, so zap_nonpresent_ptes
// (5.15-7.0 mm/memory.c) only lowers the rss counter: the page keeps the
// migration's own (collect) reference and is freed when the migration puts it.
// No op leaves a migration entry behind today (the stepped migration of the races
// work will), so this drives the model's own collect steps by hand; the core's
// zapOne has the same rule and the differential keeps the two identical.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Model } from "../src/model/model.ts";
import { folioGet, folioPut, rmapRemove } from "../src/model/refcount.ts";
import { PTE_MIGRATION, PTE_WRITE } from "../assembly/abi.ts";

const PAGE = 4096;

for (const scheme of ["E0", "E3", "E5"]) {
  test(`${scheme}: munmap over a migration entry drops neither rmap nor reference (zap_nonpresent_ptes)`, () => {
    const t = Model.create({ scheme, capacity: { systemPages: 64, devicePages: 8 } });
    const m = t.machine;
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: PAGE });
    t.write(mm, a, 7);
    const pfn = t.page(mm, a)!.pfn;
    const page = m.frames.all[pfn];
    const pte = m.mms.live(mm)!.tables.get(a / PAGE)!;
    // migrate_vma_collect_pmd's folio_get, then try_to_migrate_one's unmap
    folioGet(m, page, 1, -1, -1);
    pte.bits = PTE_MIGRATION | (pte.bits & PTE_WRITE);
    rmapRemove(m, page, mm, a / PAGE);
    folioPut(m, page, 1, mm, a / PAGE);
    assert.equal({ refcount: page.refcount, mapcount: page.mapcount }, { refcount: 1, mapcount: 0 }, "a migration entry: only the collect reference");
    t.munmap(mm, a, PAGE);
    assert.equal({ refcount: page.refcount, mapcount: page.mapcount }, { refcount: 1, mapcount: 0 }, "the zap left the collect reference and the mapcount alone");
    assert.equal(t.violations(), []);
    folioPut(m, page, 1, -1, -1); // migrate_vma_finalize: the collect reference
    assert.is(t.frame(pfn).allocated, false, "freed by the migration's own put");
  });
}

test.run();
