// How a violation is told to the user: a corruption's count fields are the value read and
// the value expected (assembly/fault.ts checkedLoad), not a refcount and a mapcount.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadScenario } from "../src/scenario/load.ts";
import { runScenario } from "../src/scenario/run.ts";
import { violationDetails } from "../src/report/table.ts";
import { violationCounts } from "../src/core/violations.ts";

test("a corruption reads 'read X, expected Y'; a leak 'refcount, mapcount'; a BO leak the pages held", () => {
  const base = { op: 1, pfn: 5, mm: 0, vpn: 0, extra: 0 };
  assert.is(violationCounts({ ...base, kind: "corruption", refcount: 7, mapcount: 5 }), "read 7, expected 5");
  assert.is(violationCounts({ ...base, kind: "leak_page", refcount: 1, mapcount: 0 }), "refcount 1, mapcount 0");
  assert.is(violationCounts({ ...base, kind: "leak_bo", refcount: 3, mapcount: 0 }), "3 page(s) held");
});

test("scenarios/gup-get-write-fork: the child's read of the DMA's value is reported as read / expected", async () => {
  const run = await runScenario(await loadScenario("scenarios/gup-get-write-fork.json"), "E4");
  const text = violationDetails([run]);
  assert.match(text, /E4: corruption at step \d+ \([^)]*\): pfn \d+, read \d+, expected \d+/);
  assert.not.match(text, /corruption[^\n]*refcount/);
});

test.run();
