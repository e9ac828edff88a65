// The model's pairing (scripts/model-pairing.ts): a core file with a model twin is
// changed together with its twin, or the commit says why (performance or layout only...).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkPairing, modelTwins, unpairedFiles, PAIRING_BASE } from "../scripts/model-pairing.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const twins = modelTwins(root);

test("the twins are the core files with a model file of the same name", () => {
  for (const f of ["zap.ts", "fault.ts", "gup.ts", "frames.ts"]) assert.ok(twins.has(f), f);
  for (const f of ["abi.ts", "heap.ts", "index.ts"]) assert.not.ok(twins.has(f), f); // core-only: the ABI, the allocator, the exports
});

test("a core file changed without its twin is listed; with the twin, or a core-only file, it is not", () => {
  assert.equal(unpairedFiles(["assembly/zap.ts"], twins, "zap: drop the rmap first"), ["assembly/zap.ts"]);
  assert.equal(unpairedFiles(["assembly/zap.ts", "src/model/zap.ts"], twins, "zap: drop the rmap first"), []);
  assert.equal(unpairedFiles(["assembly/abi.ts", "assembly/counters/atomic.ts", "test/zap.test.ts"], twins, ""), []);
});

test("the message can excuse the model's absence, and only in the named ways", () => {
  for (const why of ["zap: fewer loads (performance only)", "frames: one record per frame, layout only", "fix a comment (comment only)", "no semantic change", "gup: zero page. Model twin: src/model/machine.ts"]) {
    assert.equal(unpairedFiles(["assembly/gup.ts"], twins, why), [], why);
  }
  assert.equal(unpairedFiles(["assembly/gup.ts"], twins, "gup: faster and performance-minded"), ["assembly/gup.ts"]);
});

const hasHistory = (() => {
  try {
    execFileSync("git", ["cat-file", "-e", `${PAIRING_BASE}^{commit}`], { cwd: root, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

if (hasHistory) {
  test(`every commit since ${PAIRING_BASE} that changes the core changes the model too, or says why`, () => {
    const bad = checkPairing(root);
    assert.equal(bad.map((u) => `${u.commit} ${u.subject.slice(0, 60)}: ${u.files.join(", ")}`), []);
  });
} else {
  console.log(`# refsim-skip: model pairing over the history: commit ${PAIRING_BASE} is not in this checkout (no git history)`);
}

test.run();
