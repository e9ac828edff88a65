// migrate_vma_collect against a CPU fault as explorer steps (issue 18): migrate_collect /
// migrate_finish / migration_wait on the Engine and the Model, the era's waiter
// reference, bad input, and the two scenarios.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Engine } from "../src/core/engine.ts";
import { Model } from "../src/model/model.ts";
import { RefsimError } from "../src/core/errors.ts";
import { readFileSync } from "node:fs";
import { parseScenario } from "../src/scenario/parse.ts";
import { raceScenario } from "../src/races/search.ts";
import type { SchemeInput } from "../src/scheme/resolve.ts";
import { spawnSync } from "node:child_process";
import { PLAIN_ENV } from "./helpers/cli.ts";

type Host = Engine | Model;
const BEFORE = { name: "E0-before-ffa65753", base: "E0", rules: { migrateCheckDeviceRefs: false } };
const hosts: Array<[string, (scheme: SchemeInput) => Promise<Host>]> = [
  ["engine", async (scheme) => await Engine.create({ scheme })],
  ["model", async (scheme) => Model.create({ scheme })],
];

async function setup(make: (s: SchemeInput) => Promise<Host>, scheme: SchemeInput) {
  const m = await make(scheme);
  const mm = m.mmNew();
  const addr = m.mmap(mm, { length: 4096 });
  m.write(mm, addr, 7);
  const gpu = m.driverNew("device-private", 4);
  return { m, mm, addr, gpu, pfn: m.page(mm, addr)!.pfn };
}

for (const [name, make] of hosts) {
  test(`${name}: migrate_collect leaves a migration entry, the folio locked and only the collect reference; migrate_finish migrates`, async () => {
    const { m, mm, addr, gpu, pfn } = await setup(make, "E4");
    const t = m.runDetailed([{ op: "migrate_collect", mm, addr, driver: gpu }])[0].result;
    const p = m.page(mm, addr)!;
    assert.is(p.pfn, pfn);
    assert.is(p.pte.present, false, "a migration entry");
    assert.is(p.pte.devicePrivate, false);
    assert.is(p.locked, true, "the PTL is dropped with the folio locked");
    assert.is(m.frame(pfn).refcount, 1, "the collect reference alone");
    assert.is(m.frame(pfn).mapcount, 0);
    m.runDetailed([{ op: "check" }]);
    assert.equal(m.violations(), [], "the quiesce check counts the collect reference");
    const bo = m.runDetailed([{ op: "migrate_finish", migration: t }])[0].result;
    assert.ok(bo > 0, "migrate_finish returns the BO");
    assert.is(m.page(mm, addr)!.kind, "device-private");
    assert.is(m.stats().migrated, 1);
    assert.is(m.read(mm, addr), 7, "the data moved");
    m.runDetailed([{ op: "teardown" }]);
    assert.equal(m.violations(), []);
  });

  test(`${name}: before ffa65753c431 a migration_wait waiter's reference fails the migration; from it the waiter holds none`, async () => {
    const old = await setup(make, BEFORE);
    const t = old.m.runDetailed([{ op: "migrate_collect", mm: old.mm, addr: old.addr, driver: old.gpu }])[0].result;
    const w = old.m.runDetailed([{ op: "migration_wait", mm: old.mm, addr: old.addr }])[0].result;
    assert.ok(w > 0, "__migration_entry_wait: get_page_unless_zero");
    assert.is(old.m.frame(old.pfn).refcount, 2);
    old.m.runDetailed([{ op: "check" }]);
    assert.equal(old.m.violations(), [], "the quiesce check counts the waiter's reference");
    old.m.runDetailed([{ op: "migrate_finish", migration: t }]);
    assert.is(old.m.stats().migrateFailed, 1, "migrate_vma_check_page saw the extra reference");
    const p = old.m.page(old.mm, old.addr)!;
    assert.equal([p.pte.present, p.locked, p.refcount, p.mapcount], [true, false, 2, 1], "remove_migration_ptes restored the PTE; the waiter still holds its reference");
    old.m.runDetailed([{ op: "migration_wait", mm: old.mm, addr: old.addr, waiter: w }]);
    assert.is(old.m.frame(old.pfn).refcount, 1, "put_and_wait_on_page_locked's put");
    assert.is(old.m.read(old.mm, old.addr), 7);
    old.m.runDetailed([{ op: "teardown" }]);
    assert.equal(old.m.violations(), []);

    const now = await setup(make, "E0");
    const t2 = now.m.runDetailed([{ op: "migrate_collect", mm: now.mm, addr: now.addr, driver: now.gpu }])[0].result;
    assert.is(now.m.runDetailed([{ op: "migration_wait", mm: now.mm, addr: now.addr }])[0].result, 0, "migration_entry_wait_on_locked: no waiter");
    assert.is(now.m.frame(now.pfn).refcount, 1);
    now.m.runDetailed([{ op: "migrate_finish", migration: t2 }]);
    assert.equal([now.m.stats().migrated, now.m.stats().migrateFailed], [1, 0]);
  });

  test(`${name}: a fork inside the window copies the migration entry (no reference, no rmap); finish moves or restores both`, async () => {
    for (const [scheme, waiter] of [["E4", false], [BEFORE, true]] as const) {
      const { m, mm, addr, gpu, pfn } = await setup(make, scheme);
      const t = m.runDetailed([{ op: "migrate_collect", mm, addr, driver: gpu }])[0].result;
      const w = waiter ? m.runDetailed([{ op: "migration_wait", mm, addr }])[0].result : 0;
      const child = m.fork(mm);
      assert.equal([m.frame(pfn).refcount, m.frame(pfn).mapcount], [waiter ? 2 : 1, 0], "copy_nonpresent_pte: no reference, no mapcount");
      assert.is(m.page(child, addr)!.pte.present, false, "the child has the migration entry too");
      m.runDetailed([{ op: "migrate_finish", migration: t }]);
      if (w) m.runDetailed([{ op: "migration_wait", mm, addr, waiter: w }]);
      const [pp, pc] = [m.page(mm, addr)!, m.page(child, addr)!];
      assert.is(pp.pfn, pc.pfn, "both entries point at the same page");
      assert.is(pp.kind, waiter ? "system" : "device-private", String(scheme));
      assert.equal([pp.pte.write, pc.pte.write], [false, false], "COW: both readable");
      assert.equal([pp.refcount, pp.mapcount], [2, 2], "one reference and one mapcount per entry");
      m.write(child, addr, 9);
      assert.equal([m.read(mm, addr), m.read(child, addr)], [7, 9]);
      m.runDetailed([{ op: "teardown" }]);
      assert.equal(m.violations(), [], String(scheme));
    }
  });

  test(`${name}: migrate_collect, migrate_finish and migration_wait refuse bad input naming the field, state intact`, async () => {
    const { m, mm, addr, gpu, pfn } = await setup(make, BEFORE);
    const field = (op: object): string | undefined => {
      try { m.runDetailed([op as never]); } catch (e) { assert.ok(e instanceof RefsimError, String(e)); return (e as RefsimError).field; }
      return undefined;
    };
    assert.is(field({ op: "migrate_finish", migration: 3 }), "migration");
    assert.is(field({ op: "migration_wait", mm, addr }), "addr", "a present PTE is no migration entry");
    assert.is(field({ op: "migration_wait", mm, addr, waiter: 5 }), "waiter");
    assert.is(field({ op: "migrate_collect", mm, addr: addr + 4096, driver: gpu }), "addr", "a hole is not cut");
    assert.is(field({ op: "migrate_collect", mm, addr, driver: 9 }), "driver");
    assert.is(field({ op: "migrate_collect", mm, addr, driver: gpu, bo: 42 }), "bo");
    assert.is(field({ op: "migrate_collect", mm: 7, addr, driver: gpu }), "mm");
    const p = m.page(mm, addr)!;
    assert.equal([p.pfn, p.pte.present, p.locked, p.refcount, p.mapcount], [pfn, true, false, 1, 1], "nothing changed");
    assert.is(m.stats().migrateFailed, 0);
  });
}

const before = "E0-before-ffa65753";
const expectations: Array<[string, Record<string, string>]> = [
  ["scenarios/races/migrate-collect-vs-fault.json", { [before]: "migrateFailed grew", E0: "none", E4: "none" }],
  ["scenarios/races/migrate-collect-vs-fault-refs.json", { [before]: "none", E0: "none", E5: "none" }],
];
for (const [file, want] of expectations) {
  test(`${file}: ${JSON.stringify(want)}, Engine and Model alike`, async () => {
    const l = parseScenario(readFileSync(file, "utf8"), file);
    for (const [scheme, kind] of Object.entries(want)) {
      const input: SchemeInput = scheme === before ? BEFORE : scheme;
      for (const backend of ["engine", "model"] as const) {
        const r = await raceScenario(l, input, { backend, shrink: backend === "engine" });
        assert.is(r.finding?.kind ?? "none", kind, `${scheme} ${backend}`);
        if (kind === "none") assert.ok(r.complete, `${scheme} ${backend}: the bound was searched completely`);
        else if (backend === "engine") assert.ok(r.replayPassed, `${scheme}: the written interleaving replays it`);
      }
    }
  });
}

test("refsim races --schemes names the scenario's own custom scheme (E0-before-ffa65753) as well as presets", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "races", "scenarios/races/migrate-collect-vs-fault.json", "--schemes", "E0-before-ffa65753,E4", "--no-shrink"], { encoding: "utf8", env: PLAIN_ENV });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /E0-before-ffa65753: migrateFailed grew \(exhaustive, bound 4\)/);
  assert.match(r.stdout, /2  B  do_swap_page -> __migration_entry_wait: .*get_page_unless_zero/);
  assert.match(r.stdout, /E4: no violation up to bound 4: 3 interleavings/);
  assert.not.match(r.stdout, /E0: /, "only the schemes named");
});

test.run();
