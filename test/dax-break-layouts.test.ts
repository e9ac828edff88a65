// An fsdax hole punch or truncate breaks layouts over the whole file before freeing
// anything (6.1 fs/ext4/inode.c ext4_break_layouts -> dax_layout_busy_page, range
// 0..LLONG_MAX; 6.15+ dax_break_layout_inode): every mapping of the file is unmapped,
// a busy page anywhere in it makes the truncate wait on that page, a second truncate
// waits behind it (inode_lock), and when the page goes idle the woken truncate breaks
// layouts again before it and the queued one run. Engine and model alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { RefsimError } from "../src/core/errors.ts";

const PAGE = 4096;
const TARGETS: [string, (scheme: string, files?: number) => Promise<Engine | Model>][] = [
  ["engine", (scheme, files = 8) => Engine.create({ scheme, capacity: { systemPages: 64, devicePages: 16, files } })],
  ["model", async (scheme, files = 8) => Model.create({ scheme, capacity: { systemPages: 64, devicePages: 16, files } })],
];

for (const [name, make] of TARGETS) {
  for (const scheme of ["E0", "E2", "E4"]) {
    test(`${name} ${scheme}: a pin outside the punched range makes the punch wait; nothing is freed until it goes`, async () => {
      const t = await make(scheme);
      const pmem = t.driverNew("fsdax", 8);
      const f = t.fileNew(4 * PAGE, pmem);
      const p = t.mmNew();
      const q = t.mmNew();
      const d = t.mmap(p, { length: 4 * PAGE, file: f, shared: true });
      const e = t.mmap(q, { length: 4 * PAGE, file: f, shared: true });
      for (let i = 0; i < 4; i++) t.write(p, d + i * PAGE, i + 1);
      t.read(q, e + 3 * PAGE);
      const h = t.gup(p, d, { pin: true, write: true });
      assert.is(t.truncate(f, 2 * PAGE, PAGE), 1, "waits for page 0's pin");
      for (let i = 0; i < 4; i++) assert.is(t.page(p, d + i * PAGE), null, `page ${i} unmapped in p (whole file)`);
      assert.is(t.page(q, e + 3 * PAGE), null, "and in every other process");
      assert.is(t.driverFreePages(pmem), 4, "no block freed while it waits");
      assert.is(t.stats().truncateWaits, 1);
      assert.is(t.read(q, e + 2 * PAGE), 3, "the punched block still holds its data");
      assert.is(t.truncate(f, PAGE, PAGE), 1, "a second punch waits behind the first (inode_lock)");
      assert.is(t.read(p, d + PAGE), 2, "and frees nothing either");
      assert.is(t.stats().truncateWaits, 1, "it waits on no page of its own");
      t.unpin(h);
      if (scheme === "E4") {
        // 6.15+: idle is refcount 0; q's refault of page 2 does not matter, but page 0 is not mapped: count 0, woken
        assert.is(t.page(q, e + 2 * PAGE), null, "the woken punch broke layouts again");
      }
      assert.is(t.page(q, e + 2 * PAGE), null, "broken again: q's refault unmapped");
      assert.is(t.page(p, d + PAGE), null);
      assert.is(t.driverFreePages(pmem), 6, "both punches done");
      assert.is(t.read(p, d + 2 * PAGE), 0);
      assert.is(t.page(p, d + 2 * PAGE)?.kind, "zero");
      assert.is(t.read(p, d + PAGE), 0);
      assert.is(t.read(p, d), 1);
      assert.is(t.read(p, d + 3 * PAGE), 4);
      t.check();
      t.teardown();
      assert.equal(t.violations(), []);
    });
  }

  for (const scheme of ["E2", "E4"]) {
    test(`${name}: E2 wakes the punch at refcount 1 though the page was mapped again; E4 only once its mapping is gone [${scheme}]`, async () => {
      const t = await make(scheme);
      const pmem = t.driverNew("fsdax", 4);
      const f = t.fileNew(2 * PAGE, pmem);
      const p = t.mmNew();
      const d = t.mmap(p, { length: 2 * PAGE, file: f, shared: true });
      t.write(p, d, 1);
      t.write(p, d + PAGE, 2);
      const h = t.gup(p, d, { pin: true, write: true });
      assert.is(t.truncate(f, PAGE, PAGE), 1);
      assert.is(t.read(p, d), 1, "page 0 faults back in while the punch sleeps (ext4_wait_dax_page drops the lock)");
      t.unpin(h);
      const woken = scheme === "E2";
      assert.is(t.driverFreePages(pmem), woken ? 3 : 2, `${scheme}: ${woken ? "woken, done" : "the mapping's reference keeps it busy: still waiting"}`);
      assert.is(t.page(p, d) === null, woken, "the woken punch unmapped page 0 again");
      if (!woken) {
        t.check();
        assert.is(t.violations().filter((v) => v.kind === "hang").length, 1, "the check reports the waiting truncate");
        t.munmap(p, d, 2 * PAGE);
        assert.is(t.driverFreePages(pmem), 3, "the munmap's put brings page 0 to 0: woken, done");
      }
    });
  }

  for (const scheme of ["E2", "E4"]) {
    test(`${name}: E2 skips the busy scan of an unmapped file; E4 waits (spec S12) [${scheme}]`, async () => {
      const t = await make(scheme);
      const pmem = t.driverNew("fsdax", 4);
      const f = t.fileNew(2 * PAGE, pmem);
      const p = t.mmNew();
      const d = t.mmap(p, { length: 2 * PAGE, file: f, shared: true });
      t.write(p, d, 1);
      const h = t.gup(p, d, { pin: true, write: true });
      t.munmap(p, d, 2 * PAGE);
      assert.is(t.truncate(f, PAGE, PAGE), scheme === "E2" ? 0 : 1, "a pin outside the range of a file nobody maps");
      t.unpin(h);
      assert.is(t.driverFreePages(pmem), 3);
    });
  }

  test(`${name}: truncates waiting past twice the file capacity are refused, naming the table`, async () => {
    const t = await make("E2", 1);
    const pmem = t.driverNew("fsdax", 4);
    const f = t.fileNew(4 * PAGE, pmem);
    const p = t.mmNew();
    const d = t.mmap(p, { length: 4 * PAGE, file: f, shared: true });
    t.write(p, d, 1);
    const h = t.gup(p, d, { pin: true });
    assert.is(t.truncate(f, PAGE, PAGE), 1);
    assert.is(t.truncate(f, 2 * PAGE, PAGE), 1);
    let err: unknown;
    try { t.truncate(f, 3 * PAGE, PAGE); } catch (x) { err = x; }
    assert.instance(err, RefsimError);
    assert.is((err as RefsimError).code, "NOMEM_OBJECTS");
    assert.match((err as RefsimError).message, /waiting-truncate table full/);
    t.unpin(h);
    assert.is(t.truncate(f, 3 * PAGE, PAGE), 0, "room again once they ran");
    assert.is(t.driverFreePages(pmem), 3, "page 0's block stays");
    assert.is(t.read(p, d), 1);
  });
}

for (const scheme of ["E0", "E2", "E3", "E4"]) {
  test(`engine and model agree op by op on a mixed fsdax truncate trace [${scheme}]`, async () => {
    const ts = [await TARGETS[0][1](scheme), await TARGETS[1][1](scheme)];
    const seen = ts.map((t) => {
      const out: unknown[] = [];
      const pmem = t.driverNew("fsdax", 8);
      const f = t.fileNew(4 * PAGE, pmem);
      const p = t.mmNew();
      const d = t.mmap(p, { length: 4 * PAGE, file: f, shared: true });
      const v = t.mmap(p, { length: 4 * PAGE, file: f });
      for (let i = 0; i < 4; i++) t.write(p, d + i * PAGE, 10 + i);
      t.write(p, v + PAGE, 7);
      const h1 = t.gup(p, d + 3 * PAGE, { pin: true, write: true });
      out.push(t.truncate(f, 0, 2 * PAGE), t.truncateFile(f, 3 * PAGE));
      out.push(t.read(p, d), t.read(p, v + PAGE), t.read(p, d + 2 * PAGE));
      const h2 = t.gup(p, d + PAGE, { pin: true });
      t.unpin(h1);
      out.push(t.driverFreePages(pmem), t.stats(), [0, 1, 2].map((i) => t.page(p, d + i * PAGE)));
      t.unpin(h2);
      out.push(t.driverFreePages(pmem), t.stats(), [0, 1, 2].map((i) => t.page(p, v + i * PAGE)));
      t.check();
      out.push(t.violations());
      return out;
    });
    assert.equal(seen[0], seen[1], scheme);
  });
}

test.run();
