// Every `@example` in src/, bench/ and scripts/ runs, and every value it claims in a `console.log(...); // VALUE`
// comment is the value it logs (issue 17 item 1). One test per example, named by file and line.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fileURLToPath } from "node:url";
import { examplesOf, sourceFiles, runExample, claimHolds } from "./helpers/doc-examples.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const examples = ["src", "bench", "scripts"].flatMap((d) => sourceFiles(root + d)).flatMap((f) => examplesOf(root, f));

test("the doc examples are found", () => {
  assert.ok(examples.length >= 100, `found ${examples.length} @example blocks`);
});

test("a claim holds only for the value it names", () => {
  assert.ok(claimHolds("5000 true", [5000, true]));
  assert.not.ok(claimHolds("5000 true", [4993, true]));
  assert.ok(claimHolds('["a", 1]', [["a", 1]]));
  assert.ok(claimHolds('"rw"', ["rw"]));
  assert.ok(claimHolds("2 (the same on every runtime)", [2]));
  assert.ok(claimHolds("true: the write ran", [true]));
  assert.not.ok(claimHolds("true: the write ran", [false]));
  assert.ok(claimHolds("mmap1: 7 ops in ... ms", ["mmap1: 7 ops in 3 ms"]));
  assert.not.ok(claimHolds("mmap1: 7 ops in ... ms", ["mmap1: 8 ops in 3 ms"]));
});

let claims = 0;
examples.forEach((ex, n) => {
  const name = `@example ${ex.file}:${ex.line}`;
  if (ex.ignore) {
    console.log(`# refsim-skip: ${name}: a benchmark (\`ts ignore\`), run by npm run bench, not timed in tests`);
    test.skip(name, () => {});
    return;
  }
  test(name, async () => {
    claims += await runExample(root, ex, n);
  });
});

test("the examples claim values, and every claim was checked", () => {
  assert.ok(claims >= 100, `${claims} console.log(...); // VALUE claims checked`);
});

test.run();
