// The race scenarios (scenarios/races/): under each of its schemes `refsim races`
// must find what the scenario's race.expect says, within its bound: the race in the
// eras that have it (found from plain ops, shrunk, and the written scenario replaying
// it step by step), and "no violation up to bound k" in the eras that fixed it. A
// scenario also runs serially under `refsim run` (each thread to completion), clean.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { loadScenario, builtinDir } from "../src/scenario/load.ts";
import { runScenario } from "../src/scenario/run.ts";
import { raceScenario } from "../src/races/search.ts";
import { expectedKind } from "../src/races/format.ts";
import { resolveScheme } from "../src/scheme/resolve.ts";

const dir = join(builtinDir(), "races");
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();

const All = suite("scenarios/races");
All("the race scenarios are there: CVE-2022-3523 and S21 at least", () => {
  for (const f of ["cve-2022-3523.json", "s21-fault-livelock.json", "s21-many-faulters.json"]) assert.ok(files.includes(f), f);
});
All.run();

for (const f of files) {
  const s = suite(`scenarios/races/${f}`);
  const path = join(dir, f);
  s("runs serially under refsim run with its expectations holding, in every scheme", async () => {
    const l = await loadScenario(path);
    for (const sc of l.scenario.schemes ?? ["E4"]) {
      const r = await runScenario(l, sc);
      assert.ok(r.passed, `${resolveScheme(sc).name}: ${JSON.stringify(r.error ?? r.checks.filter((c) => c.pass === false))}`);
    }
  });
  s("every scheme gives what race.expect says; a found race's written scenario replays it", async () => {
    const l = await loadScenario(path);
    assert.ok(l.scenario.race?.expect, "a race scenario says what the explorer must find");
    for (const sc of l.scenario.schemes ?? ["E4"]) {
      const name = resolveScheme(sc).name;
      const r = await raceScenario(l, sc);
      const want = expectedKind(l.scenario.race, name);
      assert.ok(want !== undefined, `${name}: race.expect has no entry`);
      if (want === "none") {
        assert.is(r.finding, null, `${name}: found ${r.finding?.kind} at ${JSON.stringify(r.finding?.schedule)}`);
        if (r.mode === "exhaustive") assert.ok(r.complete, `${name}: every interleaving up to bound ${r.bound} explored`);
        else assert.ok(r.pct!.missBound < 0.5, `${name}: the PCT runs miss a depth-${r.pct!.depth} bug with probability ${r.pct!.missBound}`);
      } else {
        assert.is(r.finding?.kind, want, name);
        assert.ok(r.shrunk && r.shrunk.switches >= 1, `${name}: a race needs a context switch`);
        assert.ok(r.replayPassed, `${name}: the written scenario replays ${want}`);
      }
      assert.ok(r.asExpected, name);
    }
  });
  s.run();
}

const Diff = suite("the Model explores like the Engine");
Diff("every race scenario's search under every scheme (S21 at bound 3): the same finding, interleavings and states", async () => {
  for (const f of ["cve-2022-3523.json", "s21-fault-livelock.json"]) {
    const l = await loadScenario(join(dir, f));
    for (const sc of l.scenario.schemes ?? ["E4"]) {
      const o = { bound: f.startsWith("s21") ? 3 : undefined, shrink: false };
      const e = await raceScenario(l, sc, { ...o, backend: "engine" });
      const m = await raceScenario(l, sc, { ...o, backend: "model" });
      const name = `${f} ${resolveScheme(sc).name}`;
      assert.equal(m.finding, e.finding, name);
      assert.equal({ ...m.stats, ms: 0, executed: 0 }, { ...e.stats, ms: 0, executed: 0 }, name);
    }
  }
});
Diff.run();
