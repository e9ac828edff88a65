// Bad scenario files (issue 15 items 5, 6, 8, 9, 12): every one is a RefsimError naming
// the file, step, line and field before anything runs, or ends the run at the bad step
// with everything before it kept; `refsim run` exits 2 for all of them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { RefsimError } from "../src/core/errors.ts";
import { parseScenario, checkScenario } from "../src/scenario/parse.ts";
import { loadScenario } from "../src/scenario/load.ts";
import { runScenario } from "../src/scenario/run.ts";
import { decodeUtf8, firstBadUtf8 } from "../src/scenario/utf8.ts";
import { PLAIN_ENV } from "./helpers/cli.ts";

const TMP = mkdtempSync(join(tmpdir(), "refsim-badscen-"));
const file = (name: string, text: string | Uint8Array) => {
  const p = join(TMP, name);
  writeFileSync(p, text);
  return p;
};
const refsim = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8", env: PLAIN_ENV });

/** fn must throw a RefsimError whose message matches every pattern; returns it. */
function rejects(fn: () => unknown, ...patterns: RegExp[]): RefsimError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof RefsimError, `expected a RefsimError, got ${err === undefined ? "no error" : String(err)}`);
  for (const p of patterns) assert.match((err as Error).message, p);
  return err as RefsimError;
}

const scenario = (steps: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ name: "t", schemes: ["E2"], ...extra, steps });
const P = { op: "mm_new", as: "p" };

test("item 5: null (and other non-count values) for violations or stats is refused at parse time, naming the step and field", () => {
  for (const field of ["violations", "stats"]) {
    const e = rejects(() => parseScenario(scenario([P, { expect: { [field]: null } }]), "t.json"), /t\.json step 2 \(line 1\)/, new RegExp(`"${field}" must be an object of counts`), /got null/);
    assert.is(e.field, field);
  }
  rejects(() => parseScenario(scenario([P, { expect: { violations: { leak_page: "1" } } }]), "t.json"), /whole-number counts, and 'leak_page' is "1"/);
  rejects(() => parseScenario(scenario([P, { expect: { violations: { leak: 1 } } }]), "t.json"), /'leak' is not a kind/);
  rejects(() => parseScenario(scenario([P, { expect: { violations: { E2: { leak: 1 } } } }]), "t.json"), /"violations" for E2 must be violation counts by kind/);
  // per-scheme counts are told apart by shape: values that are objects
  const ok = parseScenario(scenario([P, { expect: { violations: { "E0-devmap": { leak_page: 1 }, "*": {} }, stats: { E2: { wpCopy: 0 } } } }]), "t.json");
  assert.is(ok.scenario.steps.length, 2);
});

test("item 12: expectations with no subject, or a field of another subject, or nothing to check, are refused", () => {
  const e = rejects(() => parseScenario(scenario([P, { expect: { refcount: 5 } }]), "t.json"), /step 2 \(line 1\): "refcount" is a page field: name the page with "page"/);
  assert.is(e.field, "refcount");
  rejects(() => parseScenario(scenario([P, { expect: { state: "live" } }]), "t.json"), /"state" is a buffer-object field/);
  rejects(() => parseScenario(scenario([P, { expect: { value: 1 } }]), "t.json"), /"value" is the value of a read or a result/);
  rejects(() => parseScenario(scenario([P, { expect: { page: { mm: "p", addr: 0 }, state: "live" } }]), "t.json"), /"state" is a buffer-object field.*not "page"/);
  rejects(() => parseScenario(scenario([P, { expect: { page: { mm: "p", addr: 0 } } }]), "t.json"), /"page" is named but nothing is checked/);
  rejects(() => parseScenario(scenario([P, { expect: {} }]), "t.json"), /needs a subject and fields/);
  rejects(() => parseScenario(scenario([P, { expect: { page: { mm: "p" }, refcount: 1 } }]), "t.json"), /"page\.addr" must be a number or a name, got undefined/);
  rejects(() => parseScenario(scenario([P, { expect: { page: { mm: "p", addr: 0, pfn: 1 }, refcount: 1 } }]), "t.json"), /takes "mm" and "addr", not 'pfn'/);
  rejects(() => parseScenario(scenario([P, { expect: { page: { mm: "p", addr: 0 }, refcount: "2" } }]), "t.json"), /"refcount" must be a whole number, got "2"/);
  rejects(() => parseScenario(scenario([P, { expect: { page: { mm: "p", addr: 0 }, kind: "gpu" } }]), "t.json"), /"kind" must be one of system, device-private/);
  rejects(() => parseScenario(scenario([P, { expect: { page: { mm: "p", addr: 0 }, refcount: { E0: 2, "*": "1" } } }]), "t.json"), /"refcount" for \* must be a whole number/);
});

test("item 12: a per-scheme value for a scheme the run does not know is refused when it runs, not left unchecked", async () => {
  const l = parseScenario(scenario([P, { op: "mmap", mm: "p", length: "4K", as: "b" }, { op: "write", mm: "p", addr: "b", value: 1 },
    { expect: { page: { mm: "p", addr: "b" }, refcount: { e2: 1 } } }]), "t.json");
  const r = await runScenario(l, "E2", ["E2"]);
  assert.ok(r.error, "rejected");
  assert.match(r.error!.message, /t\.json step 4 \(line 1\): "refcount" has a value for 'e2', which is not a scheme of this run/);
  assert.is(r.stats.ops.write, 1, "the steps before it ran and are reported");
});

test("a read expectation the kernel answers with SIGSEGV is a failed check showing the signal, not a crash; the run goes on", async () => {
  const l = parseScenario(scenario([P, { expect: { read: { mm: "p", addr: "0x10000000" }, value: 1 } },
    { op: "mmap", mm: "p", length: "4K", as: "b" }, { op: "write", mm: "p", addr: "b", value: 7 }, { expect: { read: { mm: "p", addr: "b" }, value: 7 } }]), "t.json");
  const r = await runScenario(l, "E2", ["E2"]);
  assert.is(r.error, undefined);
  assert.equal(r.checks.map((c) => [c.step, c.observed, c.pass]), [[1, "SIGSEGV", false], [4, 7, true]]);
  assert.is(r.stats.ops.read, 2, "the faulting read ran (the kernel raised SIGSEGV) and counts");
  const out = refsim("run", file("rd.json", scenario([P, { expect: { read: { mm: "p", addr: "0x10000000" }, value: 1 } }])));
  assert.is(out.status, 1, out.stderr);
  assert.match(out.stdout, /value\s+SIGSEGV FAIL \(want 1\)/);
});

test("item 12: \"schemes\": [] and bad scheme entries are refused, naming the file and the entry", () => {
  rejects(() => parseScenario(scenario([P], { schemes: [] }), "t.json"), /t\.json: "schemes" must be a non-empty array/);
  rejects(() => parseScenario(scenario([P], { schemes: ["E2", "toString"] }), "t.json"), /t\.json: "schemes"\[1\]: unknown scheme 'toString'/);
  rejects(() => parseScenario(scenario([P], { schemes: [{ base: "E2", rule: {} }] }), "t.json"), /"schemes"\[0\]: custom scheme: unknown field 'rule'/);
  rejects(() => parseScenario(scenario([P], { capacity: { systemPages: "4096" } }), "t.json"), /"capacity\.systemPages" must be a number/);
  rejects(() => parseScenario(scenario([P], { title: 5 }), "t.json"), /"title" must be a string/);
});

test("item 2: step lines come from one linear pass: 200 000 steps, each on its own line, blank lines and strings with brackets between", () => {
  const N = 200_000;
  const body = Array.from({ length: N }, (_, i) => (i % 7 === 3 ? `\n  {"op": "check", "note": "a ] , { \\" [ note"}` : `  {"op":"check"}`)).join(",\n");
  const text = `{"name": "big", "title": "[not the steps]",\n "steps": [\n${body}\n]}`;
  const l = parseScenario(text, "big.json");
  assert.is(l.lines.length, N);
  const want: number[] = [];
  let line = 3;
  for (let i = 0; i < N; i++) {
    if (i % 7 === 3) line++; // the blank line before it
    want.push(line);
    line++;
  }
  assert.equal(l.lines, want);
});

test("item 12: a key written twice is refused with its line (JSON.parse would keep the last silently)", () => {
  const text = `{"name": "t", "schemes": ["E2"],\n "steps": [\n  {"op": "mm_new", "as": "p"},\n  {"op": "mm_new", "as": "q", "as": "r"}\n ]}`;
  const e = rejects(() => parseScenario(text, "t.json"), /t\.json step 2 \(line 4\): key "as" appears twice in steps\[1\]/);
  assert.is(e.field, "as");
  rejects(() => parseScenario(`{"name": "a",\n"name": "b", "steps": [{"op": "check"}]}`, "t.json"), /t\.json line 2: key "name" appears twice in \(top level\)/);
});

test("item 12: invalid UTF-8 is refused with the byte offset and line, never replaced silently", async () => {
  const bytes = new Uint8Array([...new TextEncoder().encode('{"name": "t",\n"title": "caf'), 0xc3, 0x28, ...new TextEncoder().encode('", "steps": [{"op": "check"}]}')]);
  const e = rejects(() => decodeUtf8(bytes, "t.json"), /t\.json: not valid UTF-8 at byte offset 27 \(line 2\): 0xc3 0x28 starts no UTF-8 character/);
  assert.is(e.index, 27);
  let err: unknown;
  try {
    await loadScenario(file("bad-utf8.json", bytes));
  } catch (x) {
    err = x;
  }
  assert.ok(err instanceof RefsimError && /not valid UTF-8 at byte offset 27 \(line 2\): 0xc3 0x28 starts no UTF-8 character/.test(err.message), String(err));
  // the validator against the decoder: overlongs, surrogates, truncation and code points past U+10FFFF
  for (const [seq, at] of [[[0xc0, 0x80], 0], [[0xe0, 0x80, 0x80], 0], [[0xed, 0xa0, 0x80], 0], [[0xf4, 0x90, 0x80, 0x80], 0], [[0x41, 0xe2, 0x82], 1], [[0xf8], 0], [[0x41, 0xe2, 0x82, 0xac], -1], [[0xf0, 0x9f, 0x98, 0x80], -1]] as [number[], number][]) {
    assert.is(firstBadUtf8(new Uint8Array(seq)), at, seq.map((b) => b.toString(16)).join(" "));
    let ok = true;
    try { new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(seq)); } catch { ok = false; }
    assert.is(ok, at === -1, `decoder agrees on ${seq.map((b) => b.toString(16)).join(" ")}`);
  }
});

test("item 8: a step field nested 10 000 levels deep is a RefsimError naming the field, not a stack overflow", () => {
  let deepObj = "1";
  let deepArr = "1";
  for (let i = 0; i < 10_000; i++) {
    deepObj = `{"a":${deepObj}}`;
    deepArr = `[${deepArr}]`;
  }
  rejects(() => parseScenario(`{"name":"t","steps":[{"op":"mm_new","as":"p","x":${deepObj}}]}`, "t.json"), /step 1 \(line 1\): mm_new: field 'x' must be a number, a string/);
  rejects(() => parseScenario(`{"name":"t","steps":[{"op":"mm_new","as":"p","x":${deepArr}}]}`, "t.json"), /field 'x' must be a number/);
  rejects(() => parseScenario(`{"name":"t","steps":[{"op":"mm_new"},{"expect":{"violations":{"*":${deepArr}}}}]}`, "t.json"), /"violations"/);
  rejects(() => parseScenario(`{"name":"t","steps":[{"op":"mm_new"},{"label":"x","expect":{"page":{"mm":0,"addr":0},"refcount":${deepObj}}}]}`, "t.json"), /"refcount" for a must be a whole number/);
});

test("item 9: .ts scenarios that throw at import, do not compile, or hold BigInt / Symbol fields name the file and the cause", async () => {
  const cases: [string, string, RegExp][] = [
    ["throws.ts", `throw new Error("boom at import");\n`, /throws\.ts: the scenario module failed to load: boom at import/],
    ["syntax.ts", `export default { name: "x", steps: [ { op: "mm_new" } ;\n`, /syntax\.ts: the scenario module failed to load: .*Expected "\]" but found ";"/],
    ["bigint.ts", `export default { name: "x", steps: [{ op: "mm_new", as: "p" }, { op: "mmap", mm: "p", length: 4096n }] };\n`, /bigint\.ts step 2: mmap: field 'length' must be .* got 4096n \(a BigInt\)/],
    ["symbol.ts", `export default { name: "x", steps: [{ op: "mm_new", as: Symbol("p") }] };\n`, /symbol\.ts step 1: "as" must be a name .* got Symbol\(p\) \(a Symbol\)/],
    ["getter.ts", `export default { name: "x", get steps() { throw new TypeError("no steps today"); } };\n`, /getter\.ts: the scenario module's default export cannot be read: TypeError: no steps today/],
    ["nodefault.ts", `export const scenario = { name: "x", steps: [] };\n`, /nodefault\.ts: the scenario module has no default export/],
    ["cycle.ts", `const s: any = { name: "x", steps: [{ op: "mm_new" }] }; s.steps[0].self = s;\nexport default s;\n`, /cycle\.ts step 1: mm_new: field 'self' must be a number.*an object JSON cannot show/],
  ];
  for (const [name, text, want] of cases) {
    let err: unknown;
    try {
      await loadScenario(file(name, text));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RefsimError, `${name}: ${String(err)}`);
    assert.match((err as Error).message, want);
  }
});

test("item 10 (scenario side): checkScenario names what it got for non-objects", () => {
  rejects(() => checkScenario(null, "m.ts"), /m\.ts: a scenario must be an object .* got null/);
  rejects(() => checkScenario({ name: "x", steps: [5] }, "m.ts"), /m\.ts step 1: a step must be an object .* got 5/);
  rejects(() => checkScenario({ name: "x", steps: [{ op: "toString" }] }, "m.ts"), /unknown op "toString"/);
});

test("items 5, 6, 8, 9, 12 from the CLI: refsim run exits 2 with the file, step, line and field; a rejected step keeps what ran before it", () => {
  const cases: [string, string, RegExp][] = [
    ["item6.json", scenario([P, { op: "mmap", mm: "p", addr: "0x10000001", length: "4K" }]), /item6\.json step 2 \(line 1\): mmap: field 'addr' must be page aligned/],
    ["unbound.json", scenario([P, { op: "mmap", mm: "q", length: "4K" }]), /unbound\.json step 2 \(line 1\) field 'mm': 'q' is not a name bound by an earlier step/],
    ["kind.json", scenario([{ op: "driver_new", kind: "gpu", pages: 4 }]), /kind\.json step 1 \(line 1\): driver_new: field 'kind' must be one of/],
    ["strlen.json", scenario([P, { op: "mmap", mm: "p", length: "four K" }]), /strlen\.json step 2 \(line 1\) field 'length': cannot read value 'four K'/],
    ["item5.json", scenario([P, { expect: { violations: null } }]), /item5\.json step 2 \(line 1\): "violations" must be an object of counts/],
    ["noschemes.json", scenario([P], { schemes: [] }), /"schemes" must be a non-empty array/],
  ];
  const paths = cases.map(([name, text]) => file(name, text));
  for (let i = 0; i < cases.length; i++) {
    const r = refsim("run", paths[i]);
    assert.is(r.status, 2, `${cases[i][0]}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, cases[i][2]);
    assert.not.match(r.stderr, /at .*\.ts:\d+/, "no stack trace");
  }
  // the table with the steps before the rejected one is still printed
  const r = refsim("run", paths[0], "--json");
  const runs = JSON.parse(r.stdout);
  assert.is(runs[0].stats.ops.mm_new, 1);
  assert.match(runs[0].error.message, /field 'addr' must be page aligned/);
});

test.run();
