// Every built-in scenario in scenarios/ (JSON and .ts) passes its own per-scheme
// expectations under every scheme it names. Adding a scenario file adds a test.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadScenario, builtinNames } from "../src/scenario/load.ts";
import { runScenario } from "../src/scenario/run.ts";
import { resolveScheme } from "../src/scheme/resolve.ts";

for (const name of builtinNames()) {
  test(`built-in scenario ${name} holds under each of its schemes`, async () => {
    const loaded = await loadScenario(name);
    const schemes = (loaded.scenario.schemes ?? ["E4"]).map((s) => resolveScheme(s));
    assert.ok(schemes.length > 0);
    for (const s of schemes) {
      const run = await runScenario(loaded, s, schemes.map((x) => x.name));
      const failed = run.checks.filter((c) => c.pass === false).map((c) => `${c.label}: ${c.field} want ${JSON.stringify(c.expected)} got ${JSON.stringify(c.observed)}`);
      assert.equal(run.error, undefined, `${name} under ${s.name}: ${run.error?.message}`);
      assert.equal(failed, [], `${name} under ${s.name}`);
      assert.ok(run.checks.some((c) => c.pass === true), `${name} under ${s.name} checks something`);
    }
  });
}

test.run();
