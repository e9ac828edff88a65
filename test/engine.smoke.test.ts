import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";

for (const [scheme, leaks] of [["E0-devmap", true], ["E2", false]] as const) {
  test(`seed question: E0-devmap leaks the page and the BO, E2 frees both (spec S1) [${scheme}]`, async () => {
    const e = await Engine.create({ scheme });
    const mm = e.mmNew();
    const addr = e.mmap(mm, { length: 4096 });
    e.write(mm, addr, 7);
    const gpu = e.driverNew("device-coherent", 4);
    const bo = e.migrateToDevice(mm, addr, 4096, gpu);
    e.munmap(mm, addr, 4096);
    e.teardown();
    assert.is(e.bo(bo).state, leaks ? "live" : "freed", scheme);
    assert.equal(e.violations().map((v) => v.kind), leaks ? ["leak_page", "leak_bo"] : [], scheme);
  });
}

test.run();
