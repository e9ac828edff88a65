// The test_hmm device model (lib/test_hmm.c): mirrors that fault pages in with
// hmm_range_fault and hold no page references, READ/WRITE's cpages and faults and
// errnos, SNAPSHOT's dmirror_mkentry bytes, the mmu-notifier invalidation of the
// mirror's pt (with dmirror_do_update's inclusive last index), and the user-space
// loops. Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { RefsimError } from "../src/core/errors.ts";
import { formatHmmBytes } from "../src/scenario/hmm_bytes.ts";
import { readdirSync } from "node:fs";
import { loadScenario } from "../src/scenario/load.ts";
import { runScenario } from "../src/scenario/run.ts";
import { resolveScheme } from "../src/scheme/resolve.ts";
import { targets, errnoOf } from "./helpers/targets.ts";

const PAGE = 4096;
const CAP = { systemPages: 4096, devicePages: 64 };
const TARGETS = targets(CAP);

for (const [name, make] of TARGETS) {
  test(`${name}: HMM_DMIRROR_READ faults the range in once (cmd->faults 1), copies every page, and takes no page reference`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 8 * PAGE });
    t.writeRange(mm, a + 2 * PAGE, 6 * PAGE, 100);
    const before = t.page(mm, a + 2 * PAGE)!;
    const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
    assert.is(t.dmirrorRead(fd, a, 8), 8);
    assert.equal(t.mirror(fd), { open: true, device: 0, mm, cpages: 8, faults: 1, entries: 8 });
    const after = t.page(mm, a + 2 * PAGE)!;
    assert.equal({ refcount: after.refcount, mapcount: after.mapcount }, { refcount: before.refcount, mapcount: before.mapcount }, "the pt holds no reference (dmirror_do_update)");
    assert.is(t.page(mm, a)!.kind, "zero", "the read fault of a pte_none page maps the zero page");
    assert.is(t.dmirrorRead(fd, a, 8), 8);
    assert.is(t.mirror(fd).faults, 0, "every page already in the pt: no fault round");
  });

  test(`${name}: READ of PROT_NONE is -EFAULT, WRITE of a read-only VMA -EPERM, and a failed ioctl leaves cpages as they were`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 4 * PAGE });
    const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
    assert.is(t.dmirrorRead(fd, a, 1), 1);
    t.mprotect(mm, a, 4 * PAGE, "none");
    assert.is(errnoOf(() => t.dmirrorRead(fd, a, 4)), "EFAULT"); // hmm_vma_walk_test: no VM_READ
    t.mprotect(mm, a, 4 * PAGE, "r");
    assert.is(errnoOf(() => t.dmirrorWrite(fd, a, 4)), "EPERM"); // hmm_vma_fault: write fault without VM_WRITE
    assert.equal({ cpages: t.mirror(fd).cpages, faults: t.mirror(fd).faults }, { cpages: 1, faults: 1 }, "only an ioctl that returns 0 copies cmd back");
    t.munmap(mm, a, PAGE);
    assert.is(errnoOf(() => t.dmirrorRead(fd, a, 2)), "EFAULT"); // hmm_vma_walk_hole with no VMA
  });

  test(`${name}: HMM_DMIRROR_WRITE stores through the pt into the process's pages, COW-breaking the zero page first`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 4 * PAGE });
    t.readRange(mm, a, 4 * PAGE); // zero pages
    const fd = t.dmirrorOpen(t.dmirrorNew("device-coherent"), mm);
    assert.is(t.dmirrorWrite(fd, a, 4, 7, 1), 4);
    assert.is(t.mirror(fd).faults, 1);
    assert.equal([0, 1, 2, 3].map((i) => t.read(mm, a + i * PAGE)), [7, 8, 9, 10]);
    assert.is(t.readRange(mm, a, 4 * PAGE, 7, 1), 0, "the user-space check loop finds every value");
    assert.is(t.page(mm, a)!.kind, "system");
  });

  test(`${name}: the pt is invalidated by the notifier: munmap of one page erases it and the page after it (xa_for_each_range's last index is inclusive)`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 4 * PAGE });
    t.writeRange(mm, a, 4 * PAGE, 1);
    const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
    t.dmirrorRead(fd, a, 4);
    const inv = t.stats().dmirror.invalidated;
    t.munmap(mm, a + PAGE, PAGE);
    assert.is(t.mirror(fd).entries, 2, "pages 1 and 2 erased, 0 and 3 kept");
    assert.is(t.stats().dmirror.invalidated - inv, 2);
    t.mprotect(mm, a + 3 * PAGE, PAGE, "r");
    assert.is(t.mirror(fd).entries, 1, "change_protection notifies PROTECTION_VMA");
    t.dmirrorClose(fd);
    assert.equal({ open: t.mirror(fd).open, entries: t.mirror(fd).entries, mirrorEntries: t.stats().dmirror.mirrorEntries }, { open: false, entries: 0, mirrorEntries: 0 });
  });

  test(`${name}: a mirror follows one mm: a child's writes after fork go through its own mirror and COW, the parent keeps its data`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 2 * PAGE });
    t.writeRange(mm, a, 2 * PAGE, 0);
    const dev = t.dmirrorNew("device-private");
    const parentFd = t.dmirrorOpen(dev, mm);
    t.dmirrorRead(parentFd, a, 2);
    const child = t.fork(mm);
    assert.is(t.mirror(parentFd).entries, 0, "fork's copy_page_range write-protects the parent: PROTECTION_PAGE");
    const fd = t.dmirrorOpen(dev, child);
    assert.is(t.dmirrorWrite(fd, a, 2, -1, -1), 2);
    assert.equal({ page0: t.read(child, a), page1: t.read(child, a + PAGE) }, { page0: 0xffffffff, page1: 0xfffffffe });
    assert.is(t.readRange(mm, a, 2 * PAGE, 0, 1), 0, "the parent's pages did not change");
    assert.is(t.stats().violations.total, 0);
  });

  test(`${name}: SNAPSHOT bytes (dmirror_mkentry): hole and PROT_NONE ERROR, zero page ZERO|READ, read-only READ, writable WRITE, another driver's private page NONE, a coherent one DEV_COHERENT_REMOTE|WRITE`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 8 * PAGE, prot: "none" });
    t.munmap(mm, a + PAGE, PAGE);
    t.mprotect(mm, a + 2 * PAGE, PAGE, "r");
    t.read(mm, a + 2 * PAGE);
    t.mprotect(mm, a + 3 * PAGE, PAGE, "rw");
    t.write(mm, a + 3 * PAGE, 3);
    t.mprotect(mm, a + 3 * PAGE, PAGE, "r");
    t.mprotect(mm, a + 4 * PAGE, 4 * PAGE, "rw");
    t.writeRange(mm, a + 4 * PAGE, 4 * PAGE, 3);
    t.migrateToDevice(mm, a + 6 * PAGE, PAGE, t.driverNew("device-private", 8));
    t.migrateToDevice(mm, a + 7 * PAGE, PAGE, t.driverNew("device-coherent", 8));
    const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
    const refs = t.page(mm, a + 4 * PAGE)!.refcount;
    assert.is(t.dmirrorSnapshot(fd, a, 8), 8);
    assert.equal(formatHmmBytes([...t.lastSnapshot()]), ["ERROR*2", "ZERO|READ", "READ", "WRITE*2", "NONE", "DEV_COHERENT_REMOTE|WRITE"]);
    assert.equal({ cpages: t.mirror(fd).cpages, entries: t.mirror(fd).entries }, { cpages: 8, entries: 0 }, "a snapshot faults nothing and fills no pt entry");
    assert.is(t.page(mm, a + 4 * PAGE)!.refcount, refs);
    assert.is(t.page(mm, a + 6 * PAGE)!.pte.devicePrivate, true, "the snapshot did not fault the private page back");
  });

  test(`${name}: a READ over another driver's device-private page faults it back to system memory (do_swap_page -> migrate_to_ram)`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const a = t.mmap(mm, { length: 2 * PAGE });
    t.writeRange(mm, a, 2 * PAGE, 40);
    t.migrateToDevice(mm, a, 2 * PAGE, t.driverNew("device-private", 8));
    const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
    assert.is(t.dmirrorRead(fd, a, 2), 2);
    assert.equal({ page0: t.page(mm, a)!.kind, page1: t.page(mm, a + PAGE)!.kind }, { page0: "system", page1: "system" });
    assert.is(t.readRange(mm, a, 2 * PAGE, 40, 1), 0);
    assert.is(t.stats().violations.total, 0);
  });

  test(`${name}: bad input names the field: no such device, no such or closed mirror, a snapshot too large, a bad kind`, async () => {
    const t = await make("E4");
    const mm = t.mmNew();
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (e instanceof RefsimError) return e.field;
        throw e;
      }
      return "none";
    };
    assert.is(field(() => t.dmirrorOpen(0, mm)), "device");
    const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
    assert.is(field(() => t.dmirrorOpen(0, 5)), "mm");
    assert.is(field(() => t.dmirrorRead(fd + 1, 0x10000000, 1)), "mirror");
    assert.is(field(() => t.dmirrorSnapshot(fd, 0x10000000, 9000)), "npages");
    t.dmirrorClose(fd);
    assert.is(field(() => t.dmirrorRead(fd, 0x10000000, 1)), "mirror");
    assert.is(field(() => t.run([{ op: "dmirror_new", kind: "fsdax" } as never])), "kind");
    assert.is(field(() => t.mirror(7)), "mirror");
  });
}

// scenarios/hmm/: one file per hmm-tests.c test function written so far (README "The kernel's HMM selftests").
for (const file of readdirSync("scenarios/hmm").filter((f) => f.endsWith(".json")).sort()) {
  test(`scenarios/hmm/${file} holds under each of its schemes`, async () => {
    const loaded = await loadScenario(`scenarios/hmm/${file}`);
    const schemes = (loaded.scenario.schemes ?? ["E4"]).map((s) => resolveScheme(s));
    for (const s of schemes) {
      const run = await runScenario(loaded, s, schemes.map((x) => x.name));
      const failed = run.checks.filter((c) => c.pass === false).map((c) => `${c.label}: ${c.field} want ${JSON.stringify(c.expected)} got ${JSON.stringify(c.observed)}`);
      assert.equal({ error: run.error?.message, stopped: run.stopped?.message }, { error: undefined, stopped: undefined }, `${file} under ${s.name}`);
      assert.equal(failed, [], `${file} under ${s.name}`);
      assert.ok(run.checks.some((c) => c.pass === true), `${file} under ${s.name} checks something`);
    }
  });
}

test.run();
