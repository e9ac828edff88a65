// Issue 12 item 12: a free p2pdma page sits at refcount 1 before 6.15 and at 0 from 6.15.
// __init_zone_device_page sets 0 only for device-private/coherent pages and
// free_zone_device_folio (free_zone_device_page in 6.1) resets every other kind to 1
// (6.1 mm/page_alloc.c, 6.12 mm/mm_init.c and mm/memremap.c); 6.15 moved the p2pdma
// count into p2pmem_alloc_mmap (set_page_count(page, 1) before vm_insert_page) and
// frees at 0 with no reset. A mapped page is at 1 in both (vm_insert_page, then put_page).
// The scenario runner sees only mapped pages, so the free count is checked here, in the
// core and the model alike (scenarios/p2pdma-idle-count.json has the mapped side).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";

const PAGE = 4096;
const CAP = { systemPages: 32, devicePages: 8 };
const IDLE: Record<string, number> = { E0: 1, "E0-devmap": 1, E1: 1, "E1-5.18": 1, E2: 1, E3: 0, E4: 0, E5: 0 };

for (const [scheme, idle] of Object.entries(IDLE)) {
  for (const [name, make] of [
    ["engine", () => Engine.create({ scheme, capacity: CAP })],
    ["model", async () => Model.create({ scheme, capacity: CAP })],
  ] as const) {
    test(`${name} ${scheme}: a free p2pdma page idles at ${idle}, a mapped one is at 1`, async () => {
      const t = await make();
      const d = t.driverNew("p2pdma", 4);
      const f = t.fileNew(PAGE, d);
      const mm = t.mmNew();
      const a = t.mmap(mm, { length: PAGE, file: f, shared: true });
      t.read(mm, a);
      const p = t.page(mm, a)!;
      assert.is(p.kind, "p2pdma");
      assert.is(p.refcount, 1, "mapped: vm_insert_page's reference, p2pmem_alloc_mmap put its own");
      const pfn = p.pfn;
      const others = [1, 2, 3].map((i) => t.frame(pfn + i));
      for (const o of others) {
        assert.is(o.kind, "p2pdma");
        assert.is(o.refcount, idle, `a never-used p2pdma page is at ${idle}`);
      }
      t.munmap(mm, a, PAGE);
      assert.is(t.frame(pfn).refcount, idle, "freed on 1->0 and reset to the idle count");
      t.check();
      assert.equal(t.violations().length, 0);
    });
  }
}

test.run();
