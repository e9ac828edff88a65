// The reference model with no WASM build (issue 17 item 4): run every `@example` of src/model/ and a
// few ops through Model, in a checkout that has no build/ and no src/core/generated/. CI runs it from
// the fresh clone before `npm run build`; test/model-standalone.test.ts runs it in a copy of the tree
// without the build. Exit 1, naming the example or the op, if anything fails; 2 if the build is there
// (it would prove nothing).
//
//   node --import tsx scripts/model-without-build.ts
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { examplesOf, runExample } from "../test/helpers/doc-examples.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const built = ["build/refsim.wasm", "src/core/generated"].filter((p) => existsSync(root + p));
if (built.length) {
  console.error(`model-without-build: ${built.join(" and ")} present: run it in a checkout without the build`);
  process.exit(2);
}

let examples = 0;
let claims = 0;
for (const f of readdirSync(root + "src/model").filter((f) => f.endsWith(".ts")).sort()) {
  for (const ex of examplesOf(root, root + "src/model/" + f)) {
    if (ex.ignore) continue;
    try {
      claims += await runExample(root, ex, examples++);
    } catch (e) {
      console.error(`model-without-build: @example ${ex.file}:${ex.line}: ${(e as Error).message}`);
      process.exit(1);
    }
  }
}
const { Model } = await import("../src/model/model.ts");
const m = await Model.create({ scheme: "E2" });
const mm = m.mmNew();
const addr = m.mmap(mm, { length: 2 * 4096 });
m.write(mm, addr, 7);
const child = m.fork(mm);
const seen = [m.read(child, addr), m.page(mm, addr)?.refcount, m.page(mm, addr)?.mapcount];
if (JSON.stringify(seen) !== "[7,2,2]") {
  console.error(`model-without-build: fork of a written anon page read/refcount/mapcount ${JSON.stringify(seen)}, expected [7,2,2]`);
  process.exit(1);
}
console.log(`model-without-build: ${examples} examples of src/model/ ran (${claims} claims checked) and the model ran ops, with no WASM build`);
