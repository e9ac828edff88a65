// The runtime-neutral library subset (test/lib/cases.ts) under Node; the same
// cases run under Deno from test/deno/library_test.ts.
import { test } from "uvu";
import { cases } from "./lib/cases.ts";

for (const c of cases) test(`library (node): ${c.name}`, c.fn);

test.run();
