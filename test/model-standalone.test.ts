// The reference model loads without a WASM build (issue 17 item 4): no value import reachable from
// src/model/ leads to src/core/engine.ts or the generated WASM in src/core/generated/. Type-only imports
// (`import type`, or braces naming only types) are erased by every TypeScript runtime and do not count.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, mkdtempSync, cpSync, symlinkSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { valueImports } from "../scripts/import-cycles.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Every module reachable from `start` through value imports, with the chain that reaches it. */
function reachable(start: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const todo = start.map((f) => [f]);
  while (todo.length) {
    const chain = todo.pop()!;
    const f = chain[chain.length - 1];
    if (seen.has(f)) continue;
    seen.set(f, chain);
    if (f.endsWith(".ts")) for (const g of valueImports(f)) todo.push([...chain, g.file]);
  }
  return seen;
}

const modelFiles = readdirSync(root + "src/model").filter((f) => f.endsWith(".ts")).map((f) => root + "src/model/" + f);

test("type-only imports are told from value imports", () => {
  const files = valueImports(root + "src/model/model.ts").map((i) => relative(root, i.file));
  assert.ok(files.includes("src/core/capacity.ts"), files.join(" "));
  assert.not.ok(files.includes("src/core/engine.ts"), "model.ts imports only types from engine.ts");
  // and the walk does find the engine where it is imported for its value
  assert.ok(reachable([root + "src/explore/explore.ts"]).has(root + "src/core/engine.ts"));
});

test("no value import from src/model/ reaches the engine or the generated WASM", () => {
  const bad: string[] = [];
  for (const [f, chain] of reachable(modelFiles)) {
    const rel = relative(root, f);
    if (rel === "src/core/engine.ts" || rel.startsWith("src/core/generated/") || rel.endsWith(".wasm")) {
      bad.push(chain.map((c) => relative(root, c)).join(" -> "));
    }
  }
  assert.equal(bad, []);
});

test("the model runs ops (loaded the same way, without the engine)", async () => {
  const { Model } = await import("../src/model/model.ts");
  const m = await Model.create({ scheme: "E2" });
  const mm = m.run([{ op: "mm_new" }]);
  assert.equal(mm.length, 1);
});

test("in a copy of the tree with no WASM build (no build/, no src/core/generated/), every src/model example runs and the model runs ops", () => {
  const dir = mkdtempSync(join(tmpdir(), "refsim-no-build-"));
  try {
    for (const d of ["src", "assembly", "scripts", "test/helpers"]) {
      cpSync(root + d, join(dir, d), { recursive: true, filter: (p) => !relative(root, p).startsWith(join("src", "core", "generated")) });
    }
    for (const f of ["package.json", "tsconfig.json"]) cpSync(root + f, join(dir, f));
    symlinkSync(root + "node_modules", join(dir, "node_modules"));
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/model-without-build.ts"], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const ran = Number(/(\d+) examples of src\/model\/ ran/.exec(r.stdout)?.[1]);
    assert.ok(ran >= 30, r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
