// The mmu-notifier calls the core makes, counted in stats.mmuNotify whether or not a
// mirror listens: one per mmu_notifier_invalidate_range_start the kernel makes (and
// mmu_notifier_release at exit). Device mirrors (lib/test_hmm.c's dmirror) hook the
// same calls. Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";

const PAGE = 4096;
const PMD = 512 * PAGE;
const CAP = { systemPages: 2048, devicePages: 16, hugePages: 4 };
type Target = Engine | Model;
const TARGETS: [string, () => Promise<Target>][] = [
  ["engine", () => Engine.create({ scheme: "E4", capacity: CAP })],
  ["model", async () => Model.create({ scheme: "E4", capacity: CAP })],
];

for (const [name, make] of TARGETS) {
  test(`${name}: where the kernel invalidates and where it does not`, async () => {
    const t = await make();
    const calls = (f: () => unknown) => { const n = t.stats().mmuNotify; f(); return t.stats().mmuNotify - n; };
    const mm = t.mmNew();
    let a = 0;
    assert.is(calls(() => { a = t.mmap(mm, { length: 4 * PAGE }); }), 0, "mmap");
    assert.is(calls(() => { t.write(mm, a, 1); t.read(mm, a + PAGE); }), 0, "faults that only fill PTEs");
    let child = 0;
    assert.is(calls(() => { child = t.fork(mm); }), 1, "copy_page_range of a COW VMA: PROTECTION_PAGE on the parent");
    assert.is(calls(() => t.write(mm, a, 2)), 1, "wp_page_copy: CLEAR of the page");
    assert.is(calls(() => t.write(mm, a, 3)), 0, "wp reuse: no invalidation");
    // change_pud_range notifies once a PUD under the range is populated, even for a page with no PTE
    assert.is(calls(() => t.mprotect(mm, a + 2 * PAGE, PAGE, "r")), 1, "mprotect: PROTECTION_VMA");
    assert.is(calls(() => t.mprotect(mm, a, PAGE, "r")), 1, "mprotect: PROTECTION_VMA");
    const empty = t.mmNew();
    const e0 = t.mmap(empty, { length: PAGE });
    assert.is(calls(() => t.mprotect(empty, e0, PAGE, "r")), 0, "mprotect where no PUD is populated: nothing");
    assert.is(calls(() => t.madviseDontneed(mm, a, 4 * PAGE)), 4, "MADV_DONTNEED: zap_page_range_single per VMA (r, rw, r, rw after the two mprotects)");
    assert.is(calls(() => t.munmap(mm, a, 4 * PAGE)), 1, "munmap: unmap_vmas, once for the range");
    assert.is(calls(() => t.munmap(mm, 0x3000_0000, PAGE)), 0, "munmap of nothing");
    const d = t.driverNew("device-private", 4);
    const b = t.mmap(mm, { length: PAGE });
    t.write(mm, b, 1);
    assert.is(calls(() => t.migrateToDevice(mm, b, PAGE, d)), 1, "migrate_vma_collect: MIGRATE");
    assert.is(calls(() => t.read(mm, b)), 1, "do_swap_page -> migrate_to_ram: MIGRATE");
    t.mmap(mm, { addr: b + PAGE, length: PAGE });
    assert.is(calls(() => t.mremap(mm, b, PAGE, 2 * PAGE, { maymove: true })), 2, "mremap move: move_page_tables UNMAP, then the munmap of the (empty) source");
    const f = t.fileNew(2 * PAGE);
    const fm = t.mmap(mm, { length: 2 * PAGE, file: f, shared: true });
    t.read(mm, fm);
    assert.is(calls(() => t.run([{ op: "truncate", file: f, offset: 0, length: 2 * PAGE }])), 1, "truncate: unmap_mapping_range CLEAR per VMA");
    const h = t.mmap(mm, { length: 2 * PMD, huge: true });
    const s = Math.ceil(h / PMD) * PMD;
    t.write(mm, s, 1);
    assert.is(calls(() => t.munmap(mm, s, PAGE)), 2, "a partial munmap of a THP: __split_huge_pmd CLEAR, then UNMAP");
    assert.is(calls(() => t.exit(child)), 2, "exit_mmap: mmu_notifier_release, then one UNMAP over everything");
  });
}

test.run();
