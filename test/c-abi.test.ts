// The C reference kernel's constants are generated from assembly/abi.ts (bench/c-abi.ts),
// so the engine-port compared in the bench cannot drift from the core's op codes, flag bits,
// scheme and stats words; and the port builds against them and runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import * as abi from "../assembly/abi.ts";
import { cAbiHeader } from "../bench/c-abi.ts";
import { buildC, runC } from "../bench/cref.ts";
import { buildCWasm, setupCWasm } from "../bench/cwasm.ts";

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

// the bench's "C engine-port (wasm32)" column: the same C compiled by clang, run in this process
const clang = spawnSync("clang", ["--version"]).status === 0;
if (gcc && clang) {
  test("the C engine-port's clang wasm32 build ends in the gcc build's frame state", () => {
    const b = buildCWasm();
    assert.ok(b.ok, b.error);
    assert.ok(buildC().ok);
    for (const kase of ["churn", "fork"] as const) {
      const args = { kase, mode: "engine" as const, n: 2048, frames: 4096, l: 256, seed: 7 };
      const native = runC({ ...args, minSamples: 1, maxMs: 50 });
      const k = setupCWasm(b, args);
      k.run(3);
      assert.ok(k.opsDone() > 0, `${kase}: no op ran`);
      if (kase === "churn") assert.equal(k.cycleMaps, native.cycleMaps, "maps per cycle");
      assert.equal([k.checksum(), k.freeFrames()], [native.checksum, native.freeFrames], kase);
    }
  });
  test("a failure inside the wasm32 build is an Error naming it, not a trap", () => {
    const b = buildCWasm();
    // mmCap 1: the fork unit's OP_FORK is refused (ENOMEM: no mm left), which refkernel reports through rk_abort
    const k = setupCWasm(b, { kase: "fork", mode: "engine", n: 64, frames: 256, seed: 1, mmCap: 1 });
    assert.throws(() => k.run(1), /refkernel \(wasm32\) failed \(4\): refkernel: op .* rejected/);
  });
} else {
  console.log("# refsim-skip: the C engine-port's wasm32 build: clang not found (apt-get install -y clang lld)");
}

test.run();
