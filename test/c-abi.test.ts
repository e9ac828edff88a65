// The C reference kernel's constants are generated from assembly/abi.ts (bench/c-abi.ts),
// so the engine-port compared in the bench cannot drift from the core's op codes, flag bits,
// scheme and stats words; and the port builds against them and runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import * as abi from "../assembly/abi.ts";
import { cAbiHeader } from "../bench/c-abi.ts";
import { buildC, runC } from "../bench/cref.ts";

test("the header defines every whole-number constant of assembly/abi.ts with its value", () => {
  const defined = new Map([...cAbiHeader().matchAll(/^#define ([A-Z][A-Z0-9_]*) \(?(-?\d+)u?\)?$/gm)].map((m) => [m[1], Number(m[2])]));
  const constants = Object.entries(abi).filter(([k, v]) => typeof v === "number" && Number.isInteger(v) && /^[A-Z][A-Z0-9_]*$/.test(k));
  assert.ok(constants.length > 200, `${constants.length} constants`);
  for (const [k, v] of constants) assert.equal(defined.get(k), v, k);
  for (const k of ["OP_MMAP", "OP_GUP", "PTE_PRESENT", "PG_ANON_EXCLUSIVE", "SCHEME_PIN_BIAS", "ST_OPS", "ST_WORDS"]) assert.ok(defined.has(k), k);
});

const gcc = spawnSync("gcc", ["--version"]).status === 0;
if (gcc) {
  test("the C engine-port builds against the generated header and both layouts agree", () => {
    const b = buildC();
    assert.ok(b.ok, b.error);
    for (const kase of ["churn", "fork"] as const) {
      const [soa, aos] = (["soa", "aos16"] as const).map((layout) => runC({ kase, mode: "engine", n: 2048, frames: 4096, l: 256, minSamples: 1, maxMs: 50, layout }));
      assert.ok(soa.opsDone > 0, `${kase}: no op ran`);
      assert.equal([soa.checksum, soa.freeFrames], [aos.checksum, aos.freeFrames], kase);
    }
  });
} else {
  console.log("# refsim-skip: the C engine-port build: gcc not found (apt-get install gcc)");
}

test.run();
