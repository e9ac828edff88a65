// JSON Schemas of scenario and sweep files (issue 16 item 2): generated from the
// TypeScript types (scripts/schemas.ts), checked in, and kept in sync by this test;
// every built-in scenario and the example sweep fit them, and a typo does not.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers/dist.ts";
import { generatedFiles } from "../scripts/schemas.ts";
import { firstProblem } from "../src/experiment/json-schema.ts";

const schema = (name: string) => JSON.parse(readFileSync(join(ROOT, "schemas", `${name}.schema.json`), "utf8"));

test("schemas/*.schema.json and src/experiment/sweep-schema.ts are what the TypeScript types give (run npm run schemas)", () => {
  for (const [path, text] of generatedFiles()) {
    assert.ok(readFileSync(path, "utf8") === text, `${path.slice(ROOT.length)} is out of date with the types: run npm run schemas`);
  }
});

test("every built-in scenario fits the scenario schema; the example sweep fits the sweep schema", () => {
  const sc = schema("scenario");
  for (const f of readdirSync(join(ROOT, "scenarios")).filter((f) => f.endsWith(".json"))) {
    const p = firstProblem(sc, JSON.parse(readFileSync(join(ROOT, "scenarios", f), "utf8")));
    assert.is(p, undefined, `${f}: ${JSON.stringify(p)}`);
  }
  assert.is(firstProblem(schema("sweep"), JSON.parse(readFileSync(join(ROOT, "examples/cluster/sweep.json"), "utf8"))), undefined);
});

test("the schemas refuse typos and wrong types, and know each op's fields", () => {
  const sc = schema("scenario");
  const base = { name: "t", steps: [{ op: "mm_new", as: "p" }] };
  assert.is(firstProblem(sc, base), undefined);
  assert.match(firstProblem(sc, { ...base, stpes: [] })!.message, /unknown field 'stpes' \(did you mean 'steps'\?/);
  assert.ok(firstProblem(sc, { name: "t", steps: [{ op: "mmap", mm: "p", lenght: "4K" }] }), "an op field typo");
  assert.is(firstProblem(sc, { name: "t", steps: [{ op: "mmap", mm: "p", length: "4K", prot: "rw" }] }), undefined);
  assert.ok(firstProblem(sc, { name: "t", steps: [{ op: "mmap", mm: "p", length: "4K", prot: "rwx" }] }), "prot is r or rw");
  assert.is(firstProblem(sc, { name: "t", steps: [{ label: "x", expect: { page: { mm: "p", addr: "a" }, refcount: { E0: 2, "*": 1 } } }] }), undefined);
  const sw = schema("sweep");
  assert.match(firstProblem(sw, { name: "s", schemes: ["E2"], seed: [1] })!.message, /unknown field 'seed' \(did you mean 'seeds'\?/);
  assert.ok(firstProblem(sw, { name: "s", schemes: [{ base: "E2", rules: { swapFaultRef: 3 } }] }), "a rule's value type comes from SchemeRules");
});

test.run();
