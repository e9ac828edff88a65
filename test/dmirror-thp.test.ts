// E5's large device folios for the test_hmm device (the 2025 device-private THP
// series: lib/test_hmm.c dmirror_migrate_alloc_and_copy / dmirror_devmem_fault /
// dmirror_devmem_fault_alloc_and_copy with MIGRATE_VMA_SELECT_COMPOUND, 6.19
// mm/migrate_device.c migrate_vma_collect_hole / _collect_huge_pmd /
// migrate_vma_insert_huge_pmd_page): a 2 MiB block moves whole, into one large
// device-private folio mapped by a device-private PMD, and back into a THP; with
// FAIL_ALLOC (one-shot) or no large folio it moves as 512 small pages. Before E5
// the block is split and moves page by page. Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { targets, type Target } from "./helpers/targets.ts";

const PAGE = 4096;
const HUGE = 2 << 20;
const CAP = { systemPages: 4096, hugePages: 2, devicePages: 4096 };
const TARGETS = targets(CAP);
const FAIL_ALLOC = 1;
const A = 0x40000000;

/** A process with a 4 MiB MADV_HUGEPAGE mapping at A (2 MiB aligned) and a mirror of it on a device of `kind`. */
function setUp(t: Target, prot = "rw", kind: "device-private" | "device-coherent" = "device-private") {
  const mm = t.mmNew();
  const a = t.mmap(mm, { addr: A, length: 2 * HUGE, prot, huge: true });
  const fd = t.dmirrorOpen(t.dmirrorNew(kind), mm);
  return { mm, a, fd };
}

for (const [name, make] of TARGETS) {
  for (const scheme of ["E4", "E5"]) {
    test(`${name}: E5 migrates an empty THP block whole (a compound hole): one device-private PMD; E4 512 small device pages [${scheme}]`, async () => {
      const t = await make(scheme);
      const { mm, a, fd } = setUp(t, "r");
      assert.is(t.dmirrorMigrateToDev(fd, a, 512), 512, scheme);
      const p = t.page(mm, a + PAGE)!;
      const e5 = scheme === "E5";
      assert.equal({ pmd: p.pmd, large: p.large, devicePrivate: p.pte.devicePrivate, kind: p.kind }, { pmd: e5, large: e5, devicePrivate: true, kind: "device-private" }, `${scheme} mapping`);
      assert.equal({ folioRefcount: p.folioRefcount, entireMapcount: p.entireMapcount, mapcount: p.mapcount }, e5 ? { folioRefcount: 1, entireMapcount: 1, mapcount: 0 } : { folioRefcount: 1, entireMapcount: 0, mapcount: 1 }, `${scheme} counts`);
      assert.is(p.pte.write, false, "a read-only VMA's entry");
      assert.is(t.mirror(fd).entries, 512);
      t.munmap(mm, a, 2 * HUGE); // zap_huge_pmd of a device-private PMD: the folio is freed
      assert.is(t.frame(p.head).allocated, false, `${scheme}: the device memory went back`);
      t.check();
      assert.equal(t.violations(), [], scheme);
    });
  }

  test(`${name}: E5 a written THP moves whole (WRITE pt entries: a device write needs no fault) and faults back whole into a THP`, async () => {
    const t = await make("E5");
    const { mm, a, fd } = setUp(t);
    t.writeRange(mm, a, HUGE, 0, 1);
    const thp = t.page(mm, a)!.head;
    assert.is(t.dmirrorMigrateToDev(fd, a, 512), 512);
    assert.is(t.frame(thp).allocated, false, "the THP went back to the pool");
    const dev = t.page(mm, a + 5 * PAGE)!;
    assert.equal({ pmd: dev.pmd, large: dev.large, devicePrivate: dev.pte.devicePrivate, write: dev.pte.write, folioRefcount: dev.folioRefcount, entireMapcount: dev.entireMapcount }, { pmd: true, large: true, devicePrivate: true, write: true, folioRefcount: 1, entireMapcount: 1 });
    t.dmirrorWrite(fd, a, 512, 7, 1);
    assert.equal({ cpages: t.mirror(fd).cpages, faults: t.mirror(fd).faults }, { cpages: 512, faults: 0 }, "every entry was tagged WRITE");
    // do_huge_pmd_device_private -> dmirror_devmem_fault: order 9, the pt entries erased
    assert.is(t.readRange(mm, a, HUGE, 7, 1), 0, "the CPU reads what the device wrote");
    const back = t.page(mm, a + 5 * PAGE)!;
    assert.equal({ pmd: back.pmd, large: back.large, present: back.pte.present, kind: back.kind, folioRefcount: back.folioRefcount, entireMapcount: back.entireMapcount }, { pmd: true, large: true, present: true, kind: "system", folioRefcount: 1, entireMapcount: 1 });
    assert.is(t.frame(dev.head).allocated, false, "the device folio was freed");
    assert.is(t.mirror(fd).entries, 0, "xa_erase of all 512 pages");
    t.check();
    assert.equal(t.violations(), []);
  });

  test(`${name}: E5 the huge zero page migrates as a compound hole; the device's own PMD is read through hmm_range_fault without a fault`, async () => {
    const t = await make("E5");
    const { mm, a, fd } = setUp(t);
    assert.is(t.read(mm, a), 0); // the huge zero page
    assert.equal(t.page(mm, a)!.pmd, true);
    assert.is(t.dmirrorMigrateToDev(fd, a, 512), 512);
    const p = t.page(mm, a)!;
    assert.equal({ pmd: p.pmd, devicePrivate: p.pte.devicePrivate, write: p.pte.write }, { pmd: true, devicePrivate: true, write: true }, "a writable VMA: a writable entry");
    t.dmirrorWrite(fd, a, 512, 3, 0); // the hole's entries are not WRITE: one round of hmm_range_fault
    assert.equal({ cpages: t.mirror(fd).cpages, faults: t.mirror(fd).faults }, { cpages: 512, faults: 1 });
    assert.equal(t.page(mm, a)!.pte.devicePrivate, true, "hmm_vma_handle_absent_pmd: the owner's folio is not faulted back");
    t.dmirrorSnapshot(fd, a, 512);
    const want = 0x20 | 0x02 | 0x04; // DEV_PRIVATE_LOCAL | WRITE | PMD
    assert.ok(t.lastSnapshot().every((b) => b === want), "snapshot: DEV_PRIVATE_LOCAL|WRITE|PMD");
    assert.is(t.readRange(mm, a, HUGE, 3, 0), 0);
    t.check();
    assert.equal(t.violations(), []);
  });

  test(`${name}: E5 FAIL_ALLOC fails the large allocation once: the THP is split and moves as 512 small device pages`, async () => {
    const t = await make("E5");
    const { mm, a, fd } = setUp(t);
    t.writeRange(mm, a, HUGE, 0, 1);
    t.dmirrorFlags(fd, FAIL_ALLOC);
    assert.is(t.dmirrorMigrateToDev(fd, a, 512), 512);
    const p = t.page(mm, a + 2048 * 4)!;
    assert.equal({ pmd: p.pmd, large: p.large, devicePrivate: p.pte.devicePrivate, folioRefcount: p.folioRefcount, mapcount: p.mapcount }, { pmd: false, large: false, devicePrivate: true, folioRefcount: 1, mapcount: 1 });
    assert.is(t.read(mm, a + 2048 * 4), 2, "hmm-tests: ptr[2048] (the page at 8 KiB, refsim value 2) faults one small page back");
    // the flag was one-shot: a second THP block moves whole
    t.writeRange(mm, a + HUGE, HUGE, 0, 1);
    assert.is(t.dmirrorMigrateToDev(fd, a + HUGE, 512), 512);
    assert.equal(t.page(mm, a + HUGE)!.pmd, true);
    t.check();
    assert.equal(t.violations(), []);
  });

  for (const fail of [false, true]) {
    test(`${name}: E5 MIGRATE_TO_SYS moves a device PMD back whole (cpages counts one src entry), or as 512 small pages with FAIL_ALLOC [${fail}]`, async () => {
      const t = await make("E5");
      const { mm, a, fd } = setUp(t);
      t.writeRange(mm, a, HUGE, 0, 1);
      assert.is(t.dmirrorMigrateToDev(fd, a, 512), 512);
      if (fail) t.dmirrorFlags(fd, FAIL_ALLOC);
      assert.is(t.dmirrorMigrateToSys(fd, a, 512), fail ? 512 : 1, `FAIL_ALLOC ${fail}`);
      const p = t.page(mm, a + 2048 * 4)!;
      assert.equal({ present: p.pte.present, kind: p.kind, pmd: p.pmd, large: p.large }, { present: true, kind: "system", pmd: !fail, large: !fail }, `FAIL_ALLOC ${fail}`);
      assert.is(t.mirror(fd).entries, 0);
      assert.is(t.read(mm, a + 2048 * 4), 2);
      t.check();
      assert.equal(t.violations(), []);
    });
  }

  test(`${name}: a device-coherent device keeps the split path under E5 (no device-coherent PMD is modelled)`, async () => {
    const t = await make("E5");
    const { mm, a, fd } = setUp(t, "rw", "device-coherent");
    t.writeRange(mm, a, HUGE, 0, 1);
    assert.is(t.dmirrorMigrateToDev(fd, a, 512), 512);
    const p = t.page(mm, a)!;
    assert.equal({ pmd: p.pmd, large: p.large, kind: p.kind }, { pmd: false, large: false, kind: "device-coherent" });
    assert.equal(t.violations(), []);
  });
}

test.run();
