// zap's mmu_gather window as explorer steps (issue 18): zap_begin / zap_end on the
// Engine and the Model, the window's reference, bad input, and the three scenarios.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { RefsimError } from "../src/core/errors.ts";
import { readFileSync } from "node:fs";
import { parseScenario } from "../src/scenario/parse.ts";
import { raceScenario } from "../src/races/search.ts";

type Host = Engine | Model;
const hosts: Array<[string, () => Promise<Host>]> = [
  ["engine", async () => await Engine.create({ scheme: "E4" })],
  ["model", async () => Model.create({ scheme: "E4" })],
];

for (const [name, make] of hosts) {
  test(`${name}: the window holds the PTE's reference with no PTE and no rmap; zap_end puts it`, async () => {
    const m = await make();
    const mm = m.mmNew();
    const addr = m.mmap(mm, { length: 4096 });
    m.write(mm, addr, 1);
    const pfn = m.page(mm, addr)!.pfn;
    const w = m.runDetailed([{ op: "zap_begin", mm, addr, length: 4096 }])[0].result;
    assert.is(m.page(mm, addr), null);
    assert.is(m.stats().frames.live, 1, "the gathered reference keeps the page");
    assert.is(m.frame(pfn).refcount, 1);
    assert.is(m.frame(pfn).mapcount, 0);
    m.runDetailed([{ op: "check" }]);
    assert.equal(m.violations(), [], "the quiesce check counts the window's reference");
    m.runDetailed([{ op: "zap_end", window: w }]);
    assert.is(m.stats().frames.live, 0);
    m.runDetailed([{ op: "teardown" }]);
    assert.equal(m.violations(), []);
  });

  test(`${name}: zap_begin and zap_end refuse bad input naming the field, state intact`, async () => {
    const m = await make();
    const mm = m.mmNew();
    const addr = m.mmap(mm, { length: 4096 });
    m.write(mm, addr, 1);
    const field = (op: object): string | undefined => {
      try { m.runDetailed([op as never]); } catch (e) { assert.ok(e instanceof RefsimError, String(e)); return (e as RefsimError).field; }
      return undefined;
    };
    assert.is(field({ op: "zap_end", window: 3 }), "window");
    assert.is(field({ op: "zap_begin", mm, addr, length: 2 * 4096 }), "addr"); // past the VMA
    assert.is(field({ op: "zap_begin", mm, addr, length: 17 * 4096 }), "length");
    assert.is(field({ op: "zap_begin", mm, addr, length: 4096, order: "sideways" }), "order");
    assert.is(m.page(mm, addr)!.refcount, 1, "nothing changed");
  });
}

const expectations: Array<[string, Record<string, string>]> = [
  ["scenarios/races/zap-window-migrate.json", { E0: "migrateFailed grew", E4: "migrateFailed grew" }],
  ["scenarios/races/zap-window-gup.json", { E0: "none", E4: "none" }],
  ["scenarios/races/zap-put-first.json", { E0: "underflow", E4: "underflow" }],
];
for (const [file, want] of expectations) {
  test(`${file}: ${JSON.stringify(want)}, Engine and Model alike`, async () => {
    const l = parseScenario(readFileSync(file, "utf8"), file);
    for (const [scheme, kind] of Object.entries(want)) {
      for (const backend of ["engine", "model"] as const) {
        const r = await raceScenario(l, scheme, { backend, shrink: backend === "engine" });
        assert.is(r.finding?.kind ?? "none", kind, `${scheme} ${backend}`);
        if (kind === "none") assert.ok(r.complete, `${scheme} ${backend}: the bound was searched completely`);
        else if (backend === "engine") assert.ok(r.replayPassed, `${scheme}: the written interleaving replays it`);
      }
    }
  });
}

test.run();
