// The core and the model are read leaf first (issue 17 item 2): their value imports may form only the
// cycles listed here, each one a mutual dependency the kernel's own files have (the README's layout
// section says which kernel functions make them call each other). A cycle that grows, or a new one,
// fails this test: put the helper that closes it where the kernel keeps it instead.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fileURLToPath } from "node:url";
import { importGraph, cycles } from "../scripts/import-cycles.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The cycles each folder may have, file names without .ts. */
const ALLOWED: Record<string, string[][]> = {
  assembly: [["device", "refcount"], ["migrate", "thp"], ["dmirror_ioctl", "hmm", "ops"]],
  "src/model": [["device", "refcount"], ["migrate", "thp"], ["dmirror_ioctl", "hmm", "ops"]],
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

test.run();
