// `refsim races <scenario>` (src/cli/races.ts) end to end: what it prints, the
// scenario it writes and that the written scenario replays the same violation step
// by step under `refsim run`, its exit status, and bad input refused with exit 2.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PLAIN_ENV } from "./helpers/cli.ts";
import { loadScenario } from "../src/scenario/load.ts";
import { parseScenario } from "../src/scenario/parse.ts";
import { runScenario } from "../src/scenario/run.ts";
import { RefsimError } from "../src/core/errors.ts";
import { dispatch } from "../src/cli/commands.ts";

const refsim = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8", env: PLAIN_ENV });
const CVE = "scenarios/races/cve-2022-3523.json";
const dir = mkdtempSync(join(tmpdir(), "refsim-races-"));

test("races on CVE-2022-3523: E0/E1 find use_after_free, shrunk to 2 context switches; E2+ 'no violation up to bound 6'; speed printed; exit 0", () => {
  const out = join(dir, "cve.json");
  const r = refsim(["races", CVE, "--out", out]);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /E0: use_after_free \(exhaustive, bound 6\): 3 interleavings, 8 states in [\d.]+ s \([\d.]+ k? ?interleavings\/s, [\d.]+ k? ?states\/s\)/);
  assert.match(r.stdout, /shrunk to 2 ops on 2 threads, 2 context switches/);
  for (const s of ["E2", "E3", "E4", "E5"]) assert.match(r.stdout, new RegExp(`${s}: no violation up to bound 6: `), s);
  assert.match(r.stdout, /3  A  do_swap_page: pgmap->ops->migrate_to_ram.*<- use_after_free/);
  assert.match(r.stdout, /wrote .*cve-E0\.json: E0's interleaving, step by step \(refsim run .* replays it: checked\)/);
  assert.match(r.stdout, /wrote .*cve-E1\.json/);
});

test("the written scenario replays that exact interleaving: one step per schedule step, and the same violation under refsim run", async () => {
  const file = join(dir, "cve-E0.json");
  const sc = JSON.parse(readFileSync(file, "utf8"));
  const steps = sc.steps.filter((s: Record<string, unknown>) => "step" in s).map((s: { step: string }) => s.step);
  assert.equal(steps, ["A", "B", "A"]);
  assert.equal(sc.steps.at(-1).expect.violations, { use_after_free: 1 });
  const run = await runScenario(await loadScenario(file), "E0");
  assert.ok(run.passed, JSON.stringify(run.checks));
  assert.is(run.violations.length, 1);
  assert.is(run.violations[0].kind, "use_after_free");
  assert.is(run.stepText[run.violations[0].step!], "step of thread A: do_swap_page: pgmap->ops->migrate_to_ram, no put (5.15-6.0 mm/memory.c)");
  // the same steps under E2 (the 6.1 fix) do not break: the replay is the interleaving, not the bug
  const e2 = await runScenario(await loadScenario(file), "E2");
  assert.is(e2.violations.length, 0);
  assert.not.ok(e2.passed, "its expectation (use_after_free 1) fails under E2");
  const cli = refsim(["run", file]);
  assert.is(cli.status, 0, cli.stdout);
  // a C program or a trace has no form for a step of one thread: refused by name, not a crash
  let err: unknown;
  try { await dispatch(["export", file, "--out", join(dir, "x.c")]); } catch (e) { err = e; }
  assert.ok(err instanceof RefsimError && err.field === "threads", String(err));
});

test("--json: results per scheme, deterministic (same schedule, counts and written scenario on a second run)", () => {
  const a = refsim(["races", CVE, "--json", "--out", join(dir, "j1.json")]);
  const b = refsim(["races", CVE, "--json", "--out", join(dir, "j2.json")]);
  assert.is(a.status, 0, a.stderr);
  const strip = (s: string) => JSON.parse(s).results.map((r: Record<string, unknown>) => ({ ...r, stats: { ...(r.stats as object), ms: 0 }, interleavingsPerSec: 0, statesPerSec: 0, out: 0 }));
  assert.equal(strip(a.stdout), strip(b.stdout));
  const j = JSON.parse(a.stdout);
  assert.equal(j.results.map((r: { violation: { kind: string } | null }) => r.violation?.kind ?? "none"), ["use_after_free", "use_after_free", "none", "none", "none", "none"]);
  assert.equal(j.results[0].shrunk.schedule, [0, 1, 0]);
  assert.is(readFileSync(join(dir, "j1-E0.json"), "utf8"), readFileSync(join(dir, "j2-E0.json"), "utf8"));
});

test("--mode pct --seed finds the E0 race with a seed; --backend model gives the Engine's results", () => {
  const p = refsim(["races", CVE, "--schemes", "E0", "--mode", "pct", "--runs", "300", "--seed", "1", "--no-shrink"]);
  assert.is(p.status, 0, p.stdout + p.stderr);
  assert.match(p.stdout, /E0: use_after_free \(PCT 300 runs, depth 2, seed 1, bound 6\)/);
  const m = refsim(["races", CVE, "--schemes", "E0,E2", "--backend", "model", "--no-shrink"]);
  assert.is(m.status, 0, m.stdout + m.stderr);
  assert.match(m.stdout, /E0: use_after_free \(exhaustive, bound 6\): 3 interleavings, 8 states/);
  assert.match(m.stdout, /E2: no violation up to bound 6: 4 interleavings, 12 states/);
});

test("--budget stops an exhaustive search: 'not every interleaving explored', and race.expect none is then not met (exit 1)", async () => {
  assert.is(await dispatch(["races", "scenarios/races/s21-fault-livelock.json", "--schemes", "E3", "--budget", "1k"]), 1);
  assert.is(await dispatch(["races", "scenarios/races/s21-fault-livelock.json", "--schemes", "E3"]), 0);
});

test("a result that is not what race.expect says is exit 1: E2 with swapFaultRef none (the pre-6.1 fault) under '*: none'", () => {
  const scheme = join(dir, "e2-noref.json");
  writeFileSync(scheme, JSON.stringify({ name: "E2-noref", base: "E2", rules: { swapFaultRef: "none" } }));
  const r = refsim(["races", CVE, "--schemes", scheme, "--out", join(dir, "noref.json")]);
  assert.is(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /E2-noref: use_after_free/);
  assert.match(r.stdout, /race\.expect none: NOT MET/);
});

test("bad input is exit 2 naming the problem: no threads step, bad flags, a bad threads step", async () => {
  const cases: [string[], RegExp][] = [
    [["races", "scenarios/s04-swap-fault-vs-munmap.json"], /no "threads" step/],
    [["races"], /name a scenario file/],
    [["races", CVE, "--bound", "0"], /--bound/],
    [["races", CVE, "--mode", "dfs"], /--mode: 'dfs' is not one of exhaustive, pct/],
    [["races", CVE, "--runs", "5"], /--runs, --depth and --seed are for --mode pct/],
    [["races", CVE, "--backend", "qemu"], /--backend/],
    [["races", CVE, "--budget", "x"], /--budget must be a whole number/],
    [["races", CVE, "--schemes", "E9"], /E9/],
    [["races", join(dir, "missing.json")], /no scenario file/],
  ];
  const bad = join(dir, "bad-threads.json");
  writeFileSync(bad, JSON.stringify({ name: "b", steps: [{ op: "mm_new", as: "p" }, { threads: { "1A": [{ op: "check" }] } }] }));
  cases.push([["races", bad], /thread name '1A'/]);
  const two = join(dir, "two-threads-steps.json");
  writeFileSync(two, JSON.stringify({ name: "b", steps: [{ threads: { A: [{ op: "check" }] } }, { threads: { B: [{ op: "check" }] } }] }));
  cases.push([["races", two], /more than one "threads" step/]);
  const dep = join(dir, "name-inside.json");
  writeFileSync(dep, JSON.stringify({ name: "d", schemes: ["E2"], steps: [{ op: "mm_new", as: "p" }, { threads: {
    A: [{ op: "mmap", mm: "p", length: "4K", prot: "rw", as: "buf" }], B: [{ op: "write", mm: "p", addr: "buf", value: 1 }] } }] }));
  cases.push([["races", dep], /'buf' is bound by thread A's op inside the section, and in some interleavings this op runs first/]);
  // one through the real command line (a RefsimError is exit 2), the rest in process: the same dispatch
  const r = refsim(cases[0][0]);
  assert.is(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, cases[0][1]);
  for (const [args, msg] of cases) {
    let err: unknown;
    try {
      await dispatch(args);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RefsimError, `${args.join(" ")}: ${String(err)}`);
    assert.match((err as Error).message, msg, args.join(" "));
  }
});

test("a replay step of a thread with no op in progress is a RefsimError naming the step; a threads step runs serially under refsim run", async () => {
  const l = parseScenario(JSON.stringify({ name: "s", steps: [{ op: "mm_new", as: "p" }, { step: "A" }] }), "s.json");
  const r = await runScenario(l, "E2");
  assert.match(r.error!.message, /s\.json step 2 \(line 1\): thread A has no op in progress/);
  assert.is(r.error!.field, "step");
  const busy = parseScenario(JSON.stringify({ name: "s", steps: [{ op: "mm_new", as: "p" }, { op: "mmap", mm: "p", length: "4K", thread: "A", as: "b" }, { op: "check", thread: "A" }] }), "s.json");
  assert.match((await runScenario(busy, "E2")).error!.message, /thread A is still running/);
  const serial = await runScenario(await loadScenario(CVE), "E0");
  assert.ok(serial.passed, "run serially (A's read to completion, then B's munmap) E0 is clean");
  assert.throws(() => parseScenario(JSON.stringify({ name: "s", race: { bound: 0 }, steps: [{ op: "check" }] }), "s.json"), (e: unknown) => e instanceof RefsimError && e.field === "race.bound");
  assert.throws(() => parseScenario(JSON.stringify({ name: "s", steps: [{ threads: { A: [{ op: "nope" }] } }] }), "s.json"), (e: unknown) => e instanceof RefsimError && /thread A op 1: unknown op/.test(e.message));
});

test.run();
