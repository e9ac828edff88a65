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
  // scenarios/races/protocols/ holds protocol models (src/races/protocol-search.ts checks their shape), not op scenarios.
  const files = (readdirSync(join(ROOT, "scenarios"), { recursive: true }) as string[]).filter((f) => f.endsWith(".json") && !f.startsWith("races/protocols/"));
  assert.ok(files.some((f) => f.includes("/")), "the scenarios in subdirectories (scenarios/hmm/) too");
  for (const f of files) {
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

/** The README's "### Ops" table: each row's op names and the fields it lists (name, optional?). */
function readmeOpRows(): { ops: string[]; fields: Map<string, boolean> }[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const table = readme.slice(readme.indexOf("### Ops\n")).split("\n").slice(2).filter((l, i, a) => a.slice(0, i + 1).every((x) => x.startsWith("|")));
  return table.slice(2).map((row) => {
    const [, ops, fields] = row.split(/(?<!\\)\|/).map((c) => c.trim());
    const names = [...fields.matchAll(/`([a-zA-Z][a-zA-Z0-9]*)(\??)`/g)];
    return { ops: [...ops.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]), fields: new Map(names.map((m) => [m[1], m[2] === "?"])) };
  });
}

test("the README's op table has a row for every op, listing exactly its fields (optional ones with ?) as the schema has them", () => {
  const steps = schema("scenario").$defs.OpStep.oneOf as { properties: Record<string, { const?: string; enum?: string[] }>; required?: string[] }[];
  const byOp = new Map(steps.flatMap((s) => (s.properties.op.enum ?? [s.properties.op.const!]).map((op) => [op, s] as const)));
  const stepFields = new Set(["op", "as", "note", "errno", "signal", "thread"]);
  const rows = readmeOpRows();
  const listed = rows.flatMap((r) => r.ops);
  assert.equal([...listed].sort(), [...byOp.keys()].sort(), "one README row per op, every op in one row");
  for (const { ops, fields } of rows) {
    const theirs = new Set<string>();
    for (const op of ops) {
      const s = byOp.get(op)!;
      for (const f of Object.keys(s.properties).filter((f) => !stepFields.has(f))) {
        theirs.add(f);
        assert.ok(fields.has(f), `README op table, ${op}: field ${f} is not listed`);
        assert.is(fields.get(f), !(s.required ?? []).includes(f), `README op table, ${op}: ${f} is ${(s.required ?? []).includes(f) ? "required: no ?" : "optional: write it as \`" + f + "?\`"}`);
      }
    }
    for (const f of fields.keys()) assert.ok(theirs.has(f), `README op table, ${ops.join(", ")}: ${f} is no field of these ops`);
  }
});

test.run();
