// The core and the model are read leaf first (issue 17 item 2): their value imports may form only the
// cycles listed here, each one a mutual dependency the kernel's own files have (the README's layout
// section says which kernel functions make them call each other). A cycle that grows, or a new one,
// fails this test: put the helper that closes it where the kernel keeps it instead.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { importGraph, cycles } from "../scripts/import-cycles.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The cycles each folder may have, file names without .ts. */
const ALLOWED: Record<string, string[][]> = {
  assembly: [["driver", "memremap", "refcount"], ["migrate", "thp"]],
  "src/model": [["driver", "memremap", "refcount"], ["migrate", "thp"]],
};

/** The cycles of `graph` that lie in none of the allowed ones. */
function unexpected(found: string[][], allowed: string[][]): string[] {
  return found
    .map((c) => c.map((f) => f.replace(/\.ts$/, "")))
    .filter((c) => !allowed.some((a) => c.every((f) => a.includes(f))))
    .map((c) => c.join(" "));
}

test("the cycle finder finds a ring and only the ring", () => {
  const g = new Map([
    ["a.ts", new Map([["b.ts", ["x"]]])],
    ["b.ts", new Map([["c.ts", ["y"]], ["d.ts", ["z"]]])],
    ["c.ts", new Map([["a.ts", ["w"]]])],
    ["d.ts", new Map<string, string[]>()],
  ]);
  assert.equal(cycles(g), [["a.ts", "b.ts", "c.ts"]]);
  assert.equal(unexpected(cycles(g), [["a", "b"]]), ["a b c"], "a cycle grown past the allowed one is reported");
  assert.equal(unexpected(cycles(g), [["a", "b", "c", "e"]]), []);
});

for (const dir of Object.keys(ALLOWED)) {
  test(`${dir}: value imports form only the allowed cycles`, () => {
    const found = cycles(importGraph(root + dir));
    assert.equal(unexpected(found, ALLOWED[dir]), [], "run: node --import tsx scripts/import-cycles.ts " + dir);
  });
}

test("the README's layout section lists exactly the allowed cycles", () => {
  const readme = readFileSync(root + "README.md", "utf8");
  const section = readme.slice(readme.indexOf("### Import cycles"));
  const rows = [...section.matchAll(/^\| ((?:`[a-z_]+` ?)+) \| ([a-z, ]+) \|/gm)];
  for (const [dir, where] of [["assembly", "core"], ["src/model", "model"]]) {
    const listed = rows.filter((r) => r[2].includes(where)).map((r) => [...r[1].matchAll(/`([a-z_]+)`/g)].map((m) => m[1]).sort().join(" "));
    assert.equal(listed.sort(), ALLOWED[dir].map((c) => [...c].sort().join(" ")).sort(), dir);
  }
});

test.run();
