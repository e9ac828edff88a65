// Explore and shrink: the shrinker on planted bugs (a synthetic predicate, and a
// custom scheme with a broken rule), the seed thread's leak rediscovered under
// E0-devmap from random workloads alone, E4 clean on the same kinds, and the
// written scenario reproducing under the scenario runner.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as abi from "../assembly/abi.ts";
import { Engine } from "../src/core/engine.ts";
import { checkScenario, parseScenario } from "../src/scenario/parse.ts";
import { runScenario } from "../src/scenario/run.ts";
import { resolveScheme } from "../src/scheme/resolve.ts";
import {
  explore, shrinkTrace, SymTrace, SymExecutor, EpisodeGenerator, runTrace, parseKinds, parseRatios, traceToSteps,
  ST_OK, ST_REJECTED, ST_SKIPPED, MAP_BASE,
} from "../src/explore/index.ts";
import { PLAIN_ENV } from "./helpers/cli.ts";

const RW_ANON = abi.VM_READ | abi.VM_WRITE | abi.VM_ANON;

function ops(t: SymTrace): string[] {
  return Array.from({ length: t.n }, (_, i) => t.describe(i));
}

test("symbolic traces: references resolve to the producer's result; a deleted or failed producer skips its consumers", async () => {
  const t = new SymTrace();
  const a = t.push(abi.OP_MM_NEW);
  const b = t.push(abi.OP_MM_NEW);
  t.push(abi.OP_MMAP, [b, MAP_BASE, 2, RW_ANON, -1, 0], 1);
  t.push(abi.OP_WRITE, [b, MAP_BASE + 1, 9], 1);
  t.push(abi.OP_WRITE, [a, MAP_BASE, 9], 1); // a has no mapping: the access raises SIGSEGV (a result, not a rejection)
  const g = t.push(abi.OP_GUP, [a, MAP_BASE, 0], 1); // -EFAULT: ran, produced no handle
  t.push(abi.OP_UNPIN, [g], 1); // its producer failed -> skipped
  t.push(abi.OP_GUP, [a, MAP_BASE, 99], 1); // bad flags: rejected
  const e = await Engine.create({ scheme: "E4" });
  const x = new SymExecutor(e);
  x.run(t);
  assert.equal(Array.from(x.status.slice(0, t.n)), [ST_OK, ST_OK, ST_OK, ST_OK, ST_OK, ST_OK, ST_SKIPPED, ST_REJECTED]);
  assert.equal(Array.from(x.kernelFailed.slice(0, t.n)), [0, 0, 0, 0, 1, 1, 0, 0]);
  assert.is(x.results[1], 1); // the second mm
  assert.is(e.page(1, (MAP_BASE + 1) * 4096)!.content, 9);
  // deleting the first mm_new renumbers the references and drops its consumers
  const keep = t.closeOver([false, true, true, true, true, true, true, true]);
  assert.equal(keep, [false, true, true, true, false, false, false, false]);
  assert.equal(ops(t.filter(keep)), ["mm_new()", "mmap(#0, 65536, 2, 11, -1)", "write(#0, 65537, 9)"]);
});

test("shrinker on a planted bug (synthetic predicate): a random episode shrinks to the one known 1-minimal trace", async () => {
  // The planted bug: a forked process that pins a page and then unmaps it.
  const bug = (t: SymTrace): boolean => {
    for (let i = 0; i < t.n; i++) {
      if (t.code(i) !== abi.OP_MUNMAP || t.code(t.arg(i, 0)) !== abi.OP_FORK) continue;
      for (let j = 0; j < i; j++) {
        if (t.code(j) === abi.OP_GUP && t.arg(j, 0) === t.arg(i, 0) && (t.arg(j, 2) & abi.FOLL_PIN) !== 0 && t.arg(j, 1) === t.arg(i, 1)) return true;
      }
    }
    return false;
  };
  const gen = new EpisodeGenerator({ ratios: { fork: 6, gup: 8, munmap: 8 } });
  let seed = 1;
  let t = gen.single(seed, 400);
  while (!bug(t)) t = gen.single(++seed, 400);
  const before = t.n;
  let runs = 0;
  const r = await shrinkTrace(t.clone(), (c) => { runs++; return bug(c); });
  assert.ok(before > 100, `the episode has ${before} ops`);
  assert.equal(ops(r.trace), ["mm_new()", "fork(#0)", `gup(#1, ${MAP_BASE}, 2)`, `munmap(#1, ${MAP_BASE}, 1)`]);
  assert.is(r.runs, runs);
  // deterministic
  const again = await shrinkTrace(t.clone(), bug);
  assert.equal(ops(again.trace), ops(r.trace));
  assert.is(again.runs, r.runs);
});

test("shrinker on a planted bug (a custom scheme with a broken rule): fork no longer copies pinned pages -> the GUP-after-fork corruption, and E4 is clean on it", async () => {
  const broken = { name: "E4-no-cow-pinned", base: "E4", rules: { cowPinnedAtFork: false } };
  const r = await explore({ scheme: broken, seed: 1, budgetOps: 200_000 });
  assert.ok(r.found, "found");
  const f = r.found!;
  assert.is(f.failure.kind, "corruption");
  assert.equal(f.scenario.steps, [
    { op: "mm_new", as: "p1" },
    { op: "mmap", mm: "p1", addr: "0x10000000", length: "4K", prot: "rw", as: "buf1" },
    { op: "gup", mm: "p1", addr: "buf1", write: true, pin: true, as: "pin1" },
    { op: "fork", mm: "p1", as: "p2" },
    { op: "dma_write", handle: "pin1", value: 1 },
    { op: "read", mm: "p2", addr: "buf1" },
    { label: "violations found", expect: { violations: { "E4-no-cow-pinned": { corruption: 1 } } } },
  ]);
  const loaded = checkScenario(JSON.parse(JSON.stringify(f.scenario)), "found.json");
  const bad = await runScenario(loaded, broken, ["E4-no-cow-pinned", "E4"]);
  assert.ok(bad.passed);
  const good = await runScenario(loaded, "E4", ["E4-no-cow-pinned", "E4"]);
  assert.ok(good.passed); // E4 is only observed by the per-scheme expectation
  assert.is(good.stats.violations.total, 0);
});

test("explore --scheme E0-devmap rediscovers the seed thread's leak from random workloads and shrinks it to mmap, migrate, munmap", async () => {
  const t0 = performance.now();
  const r = await explore({ scheme: "E0-devmap", seed: 1 });
  const ms = performance.now() - t0;
  assert.ok(r.found, "found");
  const f = r.found!;
  assert.ok(ms < 20_000, `took ${ms} ms`);
  assert.is(f.failure.kind, "leak_page");
  assert.is(f.failure.culprit, "munmap");
  assert.equal(f.scenario.steps.map((s) => ("op" in s ? s.op : "expect")), ["mm_new", "driver_new", "mmap", "migrate_to_device", "munmap", "check", "expect"]);
  assert.equal(f.scenario.steps[1], { op: "driver_new", kind: "device-coherent", pages: 1, as: "coh1" });
  assert.equal(f.scenario.steps[4], { op: "munmap", mm: "p1", addr: "buf1", length: "4K" });
  assert.is(f.violation.index, 4); // the munmap
  assert.is(f.detectedAt, 5); // the check
  assert.equal(f.scenario.steps[6], { label: "violations found", expect: { violations: { "E0-devmap": { leak_page: 1, leak_bo: 1 } } } });
  // the written scenario reproduces it under the scenario runner
  const loaded = parseScenario(JSON.stringify(f.scenario), "found.json");
  const run = await runScenario(loaded, "E0-devmap", ["E0-devmap"]);
  assert.ok(run.passed, JSON.stringify(run.checks));
  assert.equal(run.violations.map((v) => `${v.kind}@${v.step}`), ["leak_page@4", "leak_bo@4"]);
  // and the v6 patch's normal PTE (E0) frees the page: no violation
  const e0 = await runScenario(loaded, "E0", ["E0-devmap", "E0"]);
  assert.is(e0.stats.violations.total, 0);
});

test("explore: the same seed gives the same episodes, the same find and the same shrunk scenario", async () => {
  const a = await explore({ scheme: "E0", seed: 5, budgetOps: 300_000 });
  const b = await explore({ scheme: "E0", seed: 5, budgetOps: 300_000 });
  assert.ok(a.found && b.found);
  assert.is(a.episodes, b.episodes);
  assert.equal(a.found!.scenario, b.found!.scenario);
  assert.ok(a.found!.shrunk.n <= 8, `${a.found!.shrunk.n} ops`);
});

test("explore: E4 reports no violation on the same kinds (reduced in-test budget; the CLI run uses 10M ops)", async () => {
  const r = await explore({ scheme: "E4", seed: 1, budgetOps: 400_000 });
  assert.is(r.found, undefined);
  assert.is(r.stop, "ops");
  assert.is(r.ops, 400_000); // a cap, exactly (issue 15 item 12: 19 999 once, then 20 014 for a budget of 20 000)
  assert.ok(r.episodes > 700);
});

test("explore: an ops budget is run exactly, whatever the last episode's teardown length; the kept trace is what ran", async () => {
  for (const budgetOps of [20_000, 16, 1_001]) {
    const r = await explore({ scheme: "E2", seed: 1, budgetOps, keepTrace: true });
    assert.is(r.ops, budgetOps, `budget ${budgetOps}`);
    assert.ok(r.machineTrace && r.machineTrace.n <= budgetOps);
  }
});

test("explore: a seconds budget, only one violation kind, and bad options named", async () => {
  const r = await explore({ scheme: "E4", seed: 2, budgetSeconds: 0.3, budgetOps: undefined });
  assert.is(r.stop, "seconds");
  const only = await explore({ scheme: "E0-devmap", seed: 1, violation: "leak_bo", budgetOps: 100_000 });
  assert.is(only.found!.failure.kind, "leak_bo");
  assert.throws(() => parseKinds("system,gpu"), /unknown page kind 'gpu'/);
  assert.throws(() => parseRatios("gup=x"), /cannot read 'gup=x'/);
  assert.throws(() => parseRatios("frob=1"), /unknown op 'frob'/);
  try {
    await explore({ scheme: "E9" });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /unknown scheme 'E9'/);
  }
});

test("traceToSteps names producers and writes addresses relative to their mapping", () => {
  const t = new SymTrace();
  const mm = t.push(abi.OP_MM_NEW);
  t.push(abi.OP_MMAP, [mm, MAP_BASE + 4, 4, RW_ANON, -1, 0], 1);
  const drv = t.push(abi.OP_DRIVER_NEW, [abi.KIND_DEVICE_PRIVATE, 8]);
  const bo = t.push(abi.OP_MIGRATE_TO_DEVICE, [mm, MAP_BASE + 5, 2, drv, 0], 0b1001);
  t.push(abi.OP_MIGRATE_TO_DEVICE, [mm, MAP_BASE + 7, 1, drv, bo], 0b11001);
  t.push(abi.OP_EVICT_BO, [bo], 1);
  const { steps } = traceToSteps(t, [0, MAP_BASE + 4, 0, 1, 1, 0]);
  assert.equal(steps, [
    { op: "mm_new", as: "p1" },
    { op: "mmap", mm: "p1", addr: "0x10004000", length: "16K", prot: "rw", as: "buf1" },
    { op: "driver_new", kind: "device-private", pages: 8, as: "priv1" },
    { op: "migrate_to_device", mm: "p1", addr: "buf1+4K", length: "8K", driver: "priv1", as: "bo1" },
    { op: "migrate_to_device", mm: "p1", addr: "buf1+12K", length: "4K", driver: "priv1", bo: "bo1" },
    { op: "evict_bo", bo: "bo1" },
  ]);
});

test("CLI: explore a custom scheme given as a file, write the scenario, and `refsim run` reproduces it", () => {
  const dir = mkdtempSync(join(tmpdir(), "refsim-explore-"));
  const scheme = join(dir, "devmap-e4.json");
  writeFileSync(scheme, JSON.stringify({ name: "E4-devmap", base: "E4", rules: { coherentPte: "devmap" } }));
  const out = join(dir, "found.json");
  const trace = join(dir, "found.rstrace");
  const cli = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8", env: PLAIN_ENV });
  const r = cli("explore", "--scheme", scheme, "--seed", "3", "--budget", "200k", "--out", out, "--trace", trace, "--quiet");
  assert.is(r.status, 1, r.stderr); // 1: a violation was found
  assert.match(r.stdout, /found leak_page caused by/);
  assert.ok(existsSync(out) && existsSync(trace));
  const written = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(written.schemes, [{ name: "E4-devmap", base: "E4", rules: { coherentPte: "devmap" } }]);
  const run = cli("run", out);
  assert.is(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /leak_page:1 leak_bo:1 ok/);
  const replay = cli("replay", trace);
  assert.is(replay.status, 0, replay.stdout + replay.stderr);
  assert.match(replay.stdout, /replay identical/);
  const bad = cli("explore", "--scheme", "E4", "--kinds", "gpu");
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /unknown page kind 'gpu'/);
  assert.ok(resolveScheme(written.schemes[0]).rules.coherentPte === "devmap");
});

test.run();
