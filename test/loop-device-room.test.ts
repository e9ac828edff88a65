// The device pages the user-space loops' faults take from a file's device (write_range /
// read_range over an fsdax or p2pdma mapping: each fault reads the file's block into a device
// page, or p2pmem_alloc_mmap's vm_insert_page maps one). As for the dmirror range ops
// (dmirror-device-room.test.ts), the whole loop is checked before its first fault: with too few
// free device pages it is refused (NOMEM_DEVICE naming its 'length') with nothing changed, not
// part-way with the first pages already faulted in and written. Engine and Model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { targets, type Target, refusal } from "./helpers/targets.ts";

const PAGE = 4096;
const TARGETS = targets({ systemPages: 512, devicePages: 64 });

/** A process mapping a 2-page file on a `kind` device of `pages` pages, nothing faulted in yet. */
function setUp(t: Target, kind: "fsdax" | "p2pdma", pages: number, shared: boolean) {
  const mm = t.mmNew();
  const d = t.driverNew(kind, pages);
  const f = t.fileNew(2 * PAGE, d);
  const a = t.mmap(mm, { length: 2 * PAGE, file: f, shared });
  return { mm, a };
}

function state(t: Target, mm: number, a: number): string {
  return JSON.stringify([t.stats(), t.page(mm, a), t.page(mm, a + PAGE)]);
}

const CASES = [
  { what: "write_range over a MAP_PRIVATE fsdax mapping", kind: "fsdax", shared: false, write: true },
  { what: "read_range over a MAP_PRIVATE fsdax mapping", kind: "fsdax", shared: false, write: false },
  { what: "write_range over a MAP_SHARED fsdax mapping", kind: "fsdax", shared: true, write: true },
  { what: "write_range over a p2pmem mapping", kind: "p2pdma", shared: true, write: true },
] as const;

for (const [name, make] of TARGETS) {
  for (const c of CASES) {
    test(`${name}: ${c.what} whose 2 faults need 2 device pages, 1 free, is refused whole naming 'length'`, async () => {
      const t = await make("E5");
      const { mm, a } = setUp(t, c.kind, 1, c.shared);
      const before = state(t, mm, a);
      const e = refusal(() => (c.write ? t.writeRange(mm, a, 2 * PAGE, 5) : t.readRange(mm, a, 2 * PAGE)));
      assert.is(e.code, "NOMEM_DEVICE");
      assert.is(e.op, c.write ? "write_range" : "read_range");
      assert.is(e.field, "length");
      assert.is(state(t, mm, a), before, "page 0 was not faulted in or written");
      t.check();
      assert.equal(t.violations(), []);
    });

    test(`${name}: ${c.what} with 2 device pages free goes through`, async () => {
      const t = await make("E5");
      const { mm, a } = setUp(t, c.kind, 2, c.shared);
      if (c.write) t.writeRange(mm, a, 2 * PAGE, 5);
      else t.readRange(mm, a, 2 * PAGE);
      assert.ok(t.page(mm, a) && t.page(mm, a + PAGE), "both pages mapped");
      if (c.write) assert.is(t.readRange(mm, a, 2 * PAGE, 5), 0, "both pages hold what was written");
      t.munmap(mm, a, 2 * PAGE);
      t.check();
      assert.equal(t.violations(), []);
    });
  }

  test(`${name}: a loop over a mapping whose first page is already faulted in needs a device page only for the rest`, async () => {
    const t = await make("E5");
    const { mm, a } = setUp(t, "fsdax", 1, false);
    t.read(mm, a); // page 0's block read into the one device page
    const before = state(t, mm, a);
    const e = refusal(() => t.readRange(mm, a, 2 * PAGE));
    assert.is(e.code, "NOMEM_DEVICE");
    assert.is(e.field, "length");
    assert.is(state(t, mm, a), before);
    assert.is(t.readRange(mm, a, PAGE), 0, "page 0 alone needs no device page");
    t.check();
    assert.equal(t.violations(), []);
  });
}

test.run();
