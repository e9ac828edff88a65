// hmm-tests.c hmm_gup_test on the test_hmm device: the gup_test module's get_user_pages
// and pin_user_pages (FOLL_LONGTERM) of pages MIGRATE_TO_DEV put on the device. A
// device-private entry faults back to RAM (faultin_page -> do_swap_page ->
// dmirror_devmem_fault, which erases the mirror's entry); a device-coherent page is
// taken where it is, unless FOLL_LONGTERM moves it to RAM (migrate_device_coherent_folio,
// whose try_to_migrate_one notifies MMU_NOTIFY_CLEAR: the mirror's entry goes).
// Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as abi from "../assembly/abi.ts";
import { targets } from "./helpers/targets.ts";

const PAGE = 4096;
const TARGETS = targets({ systemPages: 2048, devicePages: 2048 });

for (const [name, make] of TARGETS) {
  for (const kind of ["device-private", "device-coherent"] as const) {
    for (const scheme of ["E0", "E2", "E4", "E5"]) {
      test(`${name} ${kind}: hmm_gup_test: GUP and longterm pins of device pages, then where the snapshot finds them [${scheme}]`, async () => {
        const t = await make(scheme);
        const mm = t.mmNew();
        const a = t.mmap(mm, { length: 4 * PAGE });
        t.writeRange(mm, a, 4 * PAGE, 100, 1);
        const fd = t.dmirrorOpen(t.dmirrorNew(kind), mm);
        assert.is(t.dmirrorMigrateToDev(fd, a, 4), 4);
        const coherent = kind === "device-coherent";
        const idle = scheme === "E0" ? 1 : 0; // memmap_init_zone_device's idle reference before 6.1
        // GUP_BASIC_TEST and GUP_FAST_BENCHMARK: FOLL_WRITE, no pin
        for (const k of [0, 1]) {
          const h = t.gup(mm, a + k * PAGE, { write: true });
          const p = t.page(mm, a + k * PAGE)!;
          assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount }, { kind: coherent ? kind : "system", refcount: 2 + (coherent ? idle : 0), mapcount: 1 }, `${scheme} page ${k}`);
          t.unpin(h);
        }
        assert.is(t.mirror(fd).entries, coherent ? 4 : 2, `${scheme}: dmirror_devmem_fault erased what it moved`);
        // PIN_FAST_BENCHMARK (with FOLL_LONGTERM) and PIN_LONGTERM_BENCHMARK
        for (const k of [2, 3]) {
          const h = t.gup(mm, a + k * PAGE, { write: true, pin: true, longterm: true });
          const p = t.page(mm, a + k * PAGE)!;
          assert.equal({ kind: p.kind, refcount: p.refcount, mapcount: p.mapcount }, { kind: "system", refcount: 1025, mapcount: 1 }, `${scheme} page ${k} longterm`);
          t.unpin(h);
        }
        // the longterm migration of a coherent page notified the mirror (MMU_NOTIFY_CLEAR)
        assert.is(t.mirror(fd).entries, coherent ? 2 : 0, `${scheme}: mirror entries after the longterm pins`);
        t.dmirrorSnapshot(fd, a, 4);
        const w = abi.HMM_PROT_WRITE;
        const first = coherent ? abi.HMM_PROT_DEV_COHERENT_LOCAL | w : w;
        assert.equal([...t.lastSnapshot()], [first, first, w, w], `${scheme} snapshot`);
        assert.is(t.readRange(mm, a, 4 * PAGE, 100, 1), 0, "no corrupted data");
        t.munmap(mm, a, 4 * PAGE);
        assert.equal(t.violations(), [], scheme);
      });
    }
  }
}

test.run();
