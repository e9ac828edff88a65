// Every built-in scenario records to a trace without a rejected step under each of its
// schemes, and the trace replays: the recorder resolves the same named fields as the
// runner (src/scenario/name-fields.ts), so `refsim record` works on scenarios/hmm/ too.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { loadScenario, builtinNames, builtinDir } from "../src/scenario/load.ts";
import { recordScenario, replayTrace } from "../src/trace/index.ts";
import type { LoadedScenario } from "../src/scenario/parse.ts";

const hmm = join(builtinDir(), "hmm");
const refs = [...builtinNames(), ...readdirSync(hmm).filter((f) => f.endsWith(".json")).sort().map((f) => join(hmm, f))];

// Loaded as the tests are registered: one test per scenario and scheme (a failure names the era).
for (const name of refs) {
  let loaded: LoadedScenario;
  try {
    loaded = await loadScenario(name);
  } catch (e) {
    test(`built-in scenario ${name} loads`, () => { throw e; });
    continue;
  }
  for (const scheme of loaded.scenario.schemes ?? ["E4"]) {
    test(`built-in scenario ${name} records and replays under ${typeof scheme === "string" ? scheme : JSON.stringify(scheme)}`, async () => {
      const rec = await recordScenario(loaded, scheme, { engineVersion: "test" });
      assert.equal(rec.error, undefined, `${name} under ${scheme}: ${rec.error?.message}`);
      assert.ok(rec.ops > 0, `${name} under ${scheme}: no op recorded`);
      const rep = await replayTrace(rec.bytes);
      assert.equal(rep.ops, rec.ops, `${name} under ${scheme}: replayed ops`);
      assert.ok(rep.identical, `${name} under ${scheme}: ${rep.differences.join("; ")}`);
    });
  }
}

test.run();
