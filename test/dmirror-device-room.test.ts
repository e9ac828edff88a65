// The device pages an hmm ioctl's faults take from a file's device (fsdax blocks, p2pmem):
// HMM_DMIRROR_EXCLUSIVE's GUP write faults (make_device_exclusive: a MAP_PRIVATE fsdax page is
// read from its block, then COW-copied into an anonymous page the entry can hold) and
// HMM_DMIRROR_READ / WRITE's hmm_range_fault. When the device has too few free pages the op is
// refused before any fault runs (NOMEM_DEVICE naming npages), the same on Engine and Model; with
// room, the exclusive conversion goes through. Found by a custom-scheme differential run (seed 902):
// the model threw "device page for a file with the driver empty" and the engine used pfn 0.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { targets, type Target, errnoOf, refusal } from "./helpers/targets.ts";

const PAGE = 4096;
const TARGETS = targets({ systemPages: 512, devicePages: 64 });

/** A process mapping a 2-page fsdax file MAP_PRIVATE whose device has `pages` pages; page 0 written (its block read, then COW). */
function setUp(t: Target, pages: number) {
  const mm = t.mmNew();
  const pm = t.driverNew("fsdax", pages);
  const f = t.fileNew(2 * PAGE, pm);
  const a = t.mmap(mm, { length: 2 * PAGE, file: f });
  t.write(mm, a, 7);
  const fd = t.dmirrorOpen(t.dmirrorNew("device-private"), mm);
  return { mm, a, fd };
}

for (const [name, make] of TARGETS) {
  test(`${name}: EXCLUSIVE whose GUP fault needs a DAX block's page the device lacks is refused whole, nothing changed`, async () => {
    const t = await make("E5");
    const { mm, a, fd } = setUp(t, 1); // the one device page went to page 0's block
    const before = JSON.stringify([t.stats(), t.page(mm, a)]);
    const e = refusal(() => t.dmirrorExclusive(fd, a, 2));
    assert.is(e.code, "NOMEM_DEVICE");
    assert.is(e.field, "npages");
    assert.is(JSON.stringify([t.stats(), t.page(mm, a)]), before, "page 0 is not exclusive yet");
    t.check();
    assert.equal(t.violations(), []);
  });

  test(`${name}: with a page free the same EXCLUSIVE converts both pages (each COW-copied to anonymous memory)`, async () => {
    const t = await make("E5");
    const { mm, a, fd } = setUp(t, 2);
    assert.is(t.dmirrorExclusive(fd, a, 2), 2);
    assert.is(errnoOf(() => t.dmirrorCheckExclusive(fd, a, 2)), "EPERM", "both pages are mapped ATOMIC");
    assert.is(t.page(mm, a + PAGE)!.kind, "system", "page 1 is the COW copy, not the fsdax page");
    t.munmap(mm, a, 2 * PAGE);
    t.check();
    assert.equal(t.violations(), []);
  });

  test(`${name}: READ whose hmm_range_fault needs more DAX pages than are free is refused before it faults`, async () => {
    const t = await make("E2");
    const { mm, a, fd } = setUp(t, 1);
    const e = refusal(() => t.dmirrorRead(fd, a, 2));
    assert.is(e.code, "NOMEM_DEVICE");
    assert.is(e.field, "npages");
    t.munmap(mm, a, 2 * PAGE);
    t.check();
    assert.equal(t.violations(), []);
  });
}

test.run();
