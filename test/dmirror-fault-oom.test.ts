// HMM_DMIRROR_FLAG_FAIL_ALLOC on the CPU-fault path of a small device-private page
// (lib/test_hmm.c linux-mm 05ab5121: dmirror_devmem_fault -> dmirror_devmem_fault_alloc_and_copy
// with vmf->pte set, so order 0; the one-shot flag of the mirror the page was migrated for is
// cleared and the fault returns VM_FAULT_OOM, the entry put back by migrate_vma_finalize).
// What each caller of handle_mm_fault makes of it: the CPU's #PF handler
// (pagefault_out_of_memory, 5.16+) returns and the access faults again, now migrating;
// hmm_range_fault's hmm_vma_fault sees VM_FAULT_ERROR: -EFAULT; GUP's faultin_page:
// -ENOMEM. Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { targets, type Target, errnoOf } from "./helpers/targets.ts";

const PAGE = 4096;
const TARGETS = targets({ systemPages: 1024, devicePages: 4096 });

/** Four written pages (page k holds 10 + k) migrated to device A; FAIL_ALLOC set on A's mirror. */
function setUp(t: Target) {
  const mm = t.mmNew();
  const a = t.mmap(mm, { length: 4 * PAGE });
  t.writeRange(mm, a, 4 * PAGE, 10, 1);
  const fdA = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
  assert.is(t.dmirrorMigrateToDev(fdA, a, 4), 4);
  t.dmirrorFlags(fdA, 1); // HMM_DMIRROR_FLAG_FAIL_ALLOC
  return { mm, a, fdA };
}

for (const [name, make] of TARGETS) {
  for (const scheme of ["E2", "E5"]) {
    test(`${name} ${scheme}: a CPU read faults twice (VM_FAULT_OOM, then the retry migrates) and spends the flag`, async () => {
      const t = await make(scheme);
      const { mm, a, fdA } = setUp(t);
      const faults = t.stats().faults;
      assert.is(t.read(mm, a + PAGE), 11);
      assert.is(t.stats().faults - faults, 2, "the OOM fault and the retried one");
      assert.is(t.page(mm, a + PAGE)!.kind, "system");
      assert.is(t.page(mm, a + 2 * PAGE)!.kind, "device-private", "the other pages stay");
      // the flag is spent: the next small device allocation is not failed by it
      const b = t.mmap(mm, { length: PAGE });
      t.write(mm, b, 5);
      assert.is(t.dmirrorMigrateToDev(fdA, b, 1), 1);
      t.munmap(mm, a, 4 * PAGE);
      t.munmap(mm, b, PAGE);
      t.check();
      assert.equal(t.violations(), []);
    });

    test(`${name} ${scheme}: another device's READ faulting the page in gets -EFAULT (hmm_vma_fault), and the flag is spent`, async () => {
      const t = await make(scheme);
      const { mm, a } = setUp(t);
      const fdB = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
      assert.is(errnoOf(() => t.dmirrorRead(fdB, a, 4)), "EFAULT");
      assert.is(t.page(mm, a)!.kind, "device-private", "nothing moved");
      assert.is(t.dmirrorRead(fdB, a, 4), 4, "the next READ faults every page back");
      t.munmap(mm, a, 4 * PAGE);
      t.check();
      assert.equal(t.violations(), []);
    });

    test(`${name} ${scheme}: GUP faulting the page in gets -ENOMEM (faultin_page), then succeeds`, async () => {
      const t = await make(scheme);
      const { mm, a } = setUp(t);
      assert.is(errnoOf(() => t.gup(mm, a)), "ENOMEM");
      assert.is(t.page(mm, a)!.kind, "device-private");
      const h = t.gup(mm, a);
      assert.is(t.page(mm, a)!.kind, "system");
      t.unpin(h);
      t.munmap(mm, a, 4 * PAGE);
      t.check();
      assert.equal(t.violations(), []);
    });
  }
}

test.run();
