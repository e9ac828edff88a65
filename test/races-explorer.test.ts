// The interleaving explorer (src/races/) on toy step systems whose interleavings
// can be counted by hand: exhaustive search with and without sleep sets, PCT,
// shrinking to the fewest ops and context switches, and the written replay steps.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { exhaustive } from "../src/races/sleepsets.ts";
import { pct } from "../src/races/pct.ts";
import { shrinkRace } from "../src/races/shrink.ts";
import { interleavingSteps } from "../src/races/write.ts";
import { contextSwitches, runSchedule } from "../src/races/schedule.ts";
import { dependent, GLOBAL, readOf, writeOf } from "../src/races/target.ts";
import { Cursor } from "../src/races/cursor.ts";
import { counterRace, incrementers, lockOrder, privateWork } from "../src/races/toy.ts";

const multinomial = (n: number, k: number): number => {
  const f = (x: number): number => (x <= 1 ? 1 : x * f(x - 1));
  return f(n * k) / f(k) ** n;
};

const Dependence = suite("footprints");
Dependence("two reads commute; a read and a write, or GLOBAL, do not", () => {
  assert.is(dependent([readOf(3)], [readOf(3)]), false);
  assert.is(dependent([readOf(3)], [writeOf(3)]), true);
  assert.is(dependent([writeOf(3)], [writeOf(4)]), false);
  assert.is(dependent([writeOf(3)], [GLOBAL]), true);
  assert.is(dependent([GLOBAL], [readOf(9)]), true);
  assert.is(dependent([], [GLOBAL]), false, "a step touching nothing shared commutes with anything");
});
Dependence.run();

const Exhaustive = suite("exhaustive search");
Exhaustive("without reduction it visits every schedule: (n*k)! / (k!)^n leaves", () => {
  const r = exhaustive(privateWork(3, 2), { bound: 8, reduction: false });
  assert.is(r.stats.interleavings, multinomial(3, 2));
  assert.is(r.stats.interleavings, 90);
  assert.ok(r.complete);
});
Exhaustive("sleep sets explore one interleaving of threads that share nothing, and still visit all 27 states", () => {
  const r = exhaustive(privateWork(3, 2), { bound: 8 });
  assert.is(r.stats.interleavings, 1);
  assert.is(r.stats.states, 27, "every (pc0, pc1, pc2) in {0,1,2}^3 once");
});
Exhaustive("the lost update is found with reduction on and off, at the same schedule", () => {
  for (const reduction of [true, false]) {
    const r = exhaustive(counterRace(2), { bound: 8, reduction });
    assert.ok(r.finding, `reduction ${reduction}`);
    assert.is(r.finding!.kind, "lost_update");
    assert.equal(r.finding!.schedule, [0, 1, 1, 0]);
    assert.ok(r.finding!.atEpilogue);
  }
});
Exhaustive("a lock-order inversion is a deadlock: every live thread waits", () => {
  const r = exhaustive(lockOrder(), { bound: 8 });
  assert.is(r.finding?.kind, "deadlock");
  assert.equal(r.finding!.schedule, [0, 1]);
});
Exhaustive("the step bound cuts interleavings and says so", () => {
  const r = exhaustive(privateWork(2, 3), { bound: 2, reduction: false });
  assert.ok(r.stats.cut > 0);
  assert.is(r.stats.cut, r.stats.interleavings);
});
Exhaustive("snapshot and replay backtracking explore the same tree", () => {
  const a = exhaustive(counterRace(3), { bound: 8, stopAtFirst: false, mode: "snapshot" });
  const b = exhaustive(counterRace(3), { bound: 8, stopAtFirst: false, mode: "replay" });
  assert.is(a.stats.interleavings, b.stats.interleavings);
  assert.is(a.stats.states, b.stats.states);
  assert.ok(b.stats.executed > a.stats.executed, "replay re-runs prefixes");
});
Exhaustive("a context-switch bound of 0 runs threads one after another", () => {
  const r = exhaustive(counterRace(2), { bound: 8, reduction: false, maxSwitches: 1, stopAtFirst: false });
  assert.is(r.finding, null, "a lost update needs two switches");
  assert.is(r.stats.interleavings, 2);
});
Exhaustive.run();

const Pct = suite("PCT");
Pct("finds the depth-2 lost update, deterministically for a seed", () => {
  const a = pct(counterRace(2), { bound: 8, depth: 2, runs: 500, seed: 7 });
  const b = pct(counterRace(2), { bound: 8, depth: 2, runs: 500, seed: 7 });
  assert.is(a.finding?.kind, "lost_update");
  assert.equal(a.finding!.schedule, b.finding!.schedule);
  assert.is(a.steps, 16, "k = threads * bound");
  assert.is(a.guarantee, 1 / (2 * 16));
});
Pct("reports the chance that its runs missed a bug it did not find", () => {
  const r = pct(privateWork(2, 2), { bound: 4, depth: 2, runs: 10, seed: 1 });
  assert.is(r.finding, null);
  assert.ok(Math.abs(r.missBound - (1 - 1 / 16) ** 10) < 1e-12);
});
Pct.run();

const Shrink = suite("shrinking");
Shrink("drops ops and threads that the violation does not need, then minimises switches", () => {
  const r = shrinkRace((p) => incrementers(p), [["work", "inc", "work"], ["work", "work"], ["inc"]], "lost_update", { bound: 8 });
  assert.equal(r.program, [["inc"], ["inc"]]);
  assert.equal(r.threadOf, [0, 2]);
  assert.is(r.switches, 2);
  assert.equal(r.finding.schedule, [0, 1, 1, 0]);
  assert.is(contextSwitches(r.finding.schedule), 2);
});
Shrink("refuses a program without the violation", () => {
  assert.throws(() => shrinkRace((p) => incrementers(p), [["inc"], ["work"]], "lost_update", { bound: 8 }), /does not show/);
});
Shrink.run();

const Replay = suite("replay");
Replay("runSchedule replays a finding exactly, and refuses a step of a finished thread", () => {
  const r = runSchedule(counterRace(2), [0, 1, 1, 0]);
  assert.is(r.finding?.kind, "lost_update");
  assert.throws(() => runSchedule(counterRace(2), [0, 0, 0]), /cannot step/);
});
Replay("the written steps start each op where its thread first steps", () => {
  const steps = interleavingSteps(
    [{ name: "A", ops: [{ op: "read", mm: "p", addr: "x" }, { op: "check" }] }, { name: "B", ops: [{ op: "check" }] }],
    { schedule: [0, 1, 0, 0], labels: ["a1", "b1", "a2", "a3"], done: [false, true, true, true] },
  );
  assert.equal(steps, [
    { op: "read", mm: "p", addr: "x", thread: "A" }, { step: "A", note: "a1" },
    { op: "check", thread: "B" }, { step: "B", note: "b1" },
    { step: "A", note: "a2" },
    { op: "check", thread: "A" }, { step: "A", note: "a3" },
  ]);
});
Replay("a cursor's pop restores the parent state in both modes", () => {
  for (const mode of ["snapshot", "replay"] as const) {
    const t = counterRace(2);
    const c = new Cursor(t, mode);
    c.push(0); c.push(0);
    c.pop(); c.pop();
    c.push(1); c.push(1); c.push(0); c.push(0);
    assert.equal(t.epilogue!(), [], mode);
  }
});
Replay.run();
