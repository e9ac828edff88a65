// The bench's target lines for workloads (bench/report.ts workloadGoals): built from
// made-up rows, so nothing here is timed; it checks which rows a target names.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { workloadGoals, type Row } from "../bench/report.ts";
import type { WorkloadRow } from "../bench/workloads.ts";

const row = (name: string, target: "wasm" | "model", cpuOpsPerSec: number, ofCore?: number): WorkloadRow =>
  ({ name, target, ops: 1000, cpuOpsPerSec, ofCore });
// churn-small at 25 ns an op: 40 M ops/s, so half of it is 20 M.
const churn = [{ c: { id: "churn-small" }, wasm: { timing: { nsPerOp: 25 } }, model: {} }] as unknown as Row[];
const goal = (rows: WorkloadRow[], what: string) => workloadGoals(rows, churn).find((g) => g.what.includes(what));

test("TS model / WASM on workloads names each workload below 10x", () => {
  const g = goal([row("a", "wasm", 30e6, 1), row("a", "model", 2e6), row("b", "wasm", 12e6, 1), row("b", "model", 4e6)], "every workload (CPU time)");
  assert.ok(g, "a TS/WASM line for workloads");
  assert.is(g!.status, "NOT met");
  assert.match(g!.measured, /^3\.0× at the least \(below: b 3\.0×\)$/);
  const met = goal([row("a", "wasm", 30e6, 1), row("a", "model", 2e6)], "every workload (CPU time)");
  assert.is(met!.status, "met");
  assert.is(met!.measured, "15.0× at the least");
});

test("a workload without a model run is left out of the TS/WASM line, not counted as met", () => {
  assert.is(goal([row("a", "wasm", 30e6, 1)], "every workload (CPU time)"), undefined);
});

test("half the churn rate: workloads below 20 M ops/s are named", () => {
  const g = goal([row("a", "wasm", 30e6, 1), row("b", "wasm", 19e6, 1)], "churn rate");
  assert.is(g!.status, "NOT met");
  assert.match(g!.measured, /^1 of 2 below 20\.0 M ops\/s \(b 19\.0 M\)$/);
});

test.run();
