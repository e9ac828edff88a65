// Every built-in scenario in scenarios/ (JSON and .ts) passes its own per-scheme
// expectations under every scheme it names, one test per scenario and scheme. Adding a
// scenario file adds its tests.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadScenario, builtinNames } from "../src/scenario/load.ts";
import { runScenario } from "../src/scenario/run.ts";
import { resolveScheme } from "../src/scheme/resolve.ts";
import type { Scheme } from "../src/scheme/presets.ts";
import type { LoadedScenario } from "../src/scenario/parse.ts";

// The scenarios are loaded as the tests are registered, so that each scheme a scenario names is a
// test of its own (a failure names the era); one that cannot load is a failing test of its own.
for (const name of builtinNames()) {
  let loaded: LoadedScenario;
  let schemes: Scheme[];
  try {
    loaded = await loadScenario(name);
    schemes = (loaded.scenario.schemes ?? ["E4"]).map((s) => resolveScheme(s));
  } catch (e) {
    test(`built-in scenario ${name} loads`, () => { throw e; });
    continue;
  }
  test(`built-in scenario ${name} names a scheme`, () => {
    assert.ok(schemes.length > 0);
  });
  for (const s of schemes) {
    test(`built-in scenario ${name} holds under ${s.name}`, async () => {
      const run = await runScenario(loaded, s, schemes.map((x) => x.name));
      const failed = run.checks.filter((c) => c.pass === false).map((c) => `${c.label}: ${c.field} want ${JSON.stringify(c.expected)} got ${JSON.stringify(c.observed)}`);
      assert.equal(run.error, undefined, `${name} under ${s.name}: ${run.error?.message}`);
      assert.equal(failed, [], `${name} under ${s.name}`);
      assert.ok(run.checks.some((c) => c.pass === true), `${name} under ${s.name} checks something`);
    });
  }
}

test.run();
