// HMM_DMIRROR_EXCLUSIVE and HMM_DMIRROR_CHECK_EXCLUSIVE (lib/test_hmm.c dmirror_exclusive,
// dmirror_check_atomic) over make_device_exclusive (mm/rmap.c): the device-exclusive
// entry, what each era counts for it, and how a CPU touch, fork and zap undo it.
// Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { targets, type Target, errnoOf } from "./helpers/targets.ts";

const PAGE = 4096;
const CAP = { systemPages: 4096, devicePages: 256 };
const TARGETS = targets(CAP);

/** A process with n written pages (page k holds 100 + k) and a mirror of it. */
function setUp(t: Target, n: number, shared = false) {
  const mm = t.mmNew();
  const a = t.mmap(mm, { length: n * PAGE, ...(shared ? { shared: true } : {}) });
  t.writeRange(mm, a, n * PAGE, 100, 1);
  const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
  return { mm, a, fd };
}

test("the rule, not the era's other rules, decides the mapcount: E4 with exclusiveKeepsMapcount off counts as 6.14 did, E2 with it on as 6.15", async () => {
  const E4_OLD = { name: "E4-exclusive-drops-mapcount", base: "E4", rules: { exclusiveKeepsMapcount: false } };
  const E2_NEW = { name: "E2-exclusive-keeps-mapcount", base: "E2", rules: { exclusiveKeepsMapcount: true } };
  for (const [scheme, mapcount] of [[E4_OLD, 0], [E2_NEW, 1]] as const) {
    for (const t of [await Engine.create({ scheme, capacity: CAP }), Model.create({ scheme, capacity: CAP })]) {
      const { mm, a, fd } = setUp(t, 2);
      assert.is(t.dmirrorExclusive(fd, a, 2), 2);
      const p = t.page(mm, a)!;
      assert.equal({ refcount: p.refcount, mapcount: p.mapcount }, { refcount: 1, mapcount: mapcount }, `${scheme.name} counts`);
      t.munmap(mm, a, 2 * PAGE); // zap: the rmap goes with the entry (on) or went at conversion (off)
      t.check();
      assert.equal(t.violations(), [], scheme.name);
    }
  }
});

for (const [name, make] of TARGETS) {
  for (const scheme of ["E0", "E2", "E4"]) {
    test(`${name}: EXCLUSIVE makes every page a device-exclusive entry (cpages n); the refcount stays, the mapcount by era [${scheme}]`, async () => {
      const t = await make(scheme);
      const { mm, a, fd } = setUp(t, 4);
      assert.is(t.dmirrorExclusive(fd, a, 4), 4, scheme);
      assert.is(t.mirror(fd).cpages, 4);
      const p = t.page(mm, a + PAGE)!;
      assert.equal({ present: p.pte.present, devicePrivate: p.pte.devicePrivate }, { present: false, devicePrivate: false }, "a non-present entry that is no device-private one");
      // <= 6.14 page_remove_rmap at conversion; 6.15+ (E3 on) keeps the mapcount (1a3240bc6379)
      assert.equal({ refcount: p.refcount, mapcount: p.mapcount }, { refcount: 1, mapcount: scheme === "E4" ? 1 : 0 }, `${scheme} counts`);
      assert.is(errnoOf(() => t.dmirrorCheckExclusive(fd, a, 4)), "EPERM", "still atomic in the mirror");
      assert.equal(t.violations(), []);
    });
  }

  for (const scheme of ["E2", "E4"]) {
    test(`${name}: a CPU touch restores the PTE and revokes the atomic entry (hmm-tests exclusive); CHECK_EXCLUSIVE is then 0 [${scheme}]`, async () => {
      const t = await make(scheme);
      const { mm, a, fd } = setUp(t, 4);
      t.dmirrorExclusive(fd, a, 4);
      assert.is(t.readRange(mm, a, 4 * PAGE, 100, 1), 0, "the data is the process's");
      t.writeRange(mm, a, 4 * PAGE, 101, 1);
      assert.is(t.readRange(mm, a, 4 * PAGE, 101, 1), 0);
      assert.is(t.dmirrorCheckExclusive(fd, a, 4), 0, scheme);
      const p = t.page(mm, a)!;
      assert.equal({ present: p.pte.present, write: p.pte.write, refcount: p.refcount, mapcount: p.mapcount }, { present: true, write: true, refcount: 1, mapcount: 1 }, scheme);
      assert.equal(t.violations(), []);
    });
  }

  for (const scheme of ["E2", "E4"]) {
    test(`${name}: munmap of device-exclusive entries frees the pages (zap_nonpresent_ptes); fork restores them in the parent first [${scheme}]`, async () => {
      const t = await make(scheme);
      const { mm, a, fd } = setUp(t, 4);
      t.dmirrorExclusive(fd, a, 4);
      const child = t.fork(mm);
      const p = t.page(mm, a)!;
      assert.equal({ present: p.pte.present, refcount: p.refcount, mapcount: p.mapcount }, { present: true, refcount: 2, mapcount: 2 }, `${scheme} fork`);
      assert.is(t.page(child, a)!.pte.present, true);
      t.dmirrorExclusive(fd, a + 2 * PAGE, 2); // the parent's write faults break COW first
      const free = t.stats().freeSystemPages ?? 0;
      t.munmap(mm, a, 4 * PAGE);
      t.munmap(child, a, 4 * PAGE);
      assert.equal(t.violations(), [], scheme);
      if (free) assert.ok((t.stats().freeSystemPages ?? 0) > free);
    });
  }

  test(`${name}: EXCLUSIVE refuses what make_device_exclusive refuses: no vma (EFAULT), read-only (EFAULT), shared (EOPNOTSUPP), empty (EINVAL)`, async () => {
    const t = await make("E4");
    const { mm, a, fd } = setUp(t, 2);
    assert.is(errnoOf(() => t.dmirrorExclusive(fd, a + 16 * PAGE, 1)), "EFAULT");
    assert.is(errnoOf(() => t.dmirrorExclusive(fd, a, 0)), "EINVAL");
    const ro = t.mmap(mm, { length: PAGE, prot: "r" });
    assert.is(errnoOf(() => t.dmirrorExclusive(fd, ro, 1)), "EFAULT");
    const sh = t.mmap(mm, { length: PAGE, shared: true });
    assert.is(errnoOf(() => t.dmirrorExclusive(fd, sh, 1)), "EOPNOTSUPP");
    assert.equal(t.violations(), []);
  });
}

test.run();
