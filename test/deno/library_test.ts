// The runtime-neutral library subset (test/lib/cases.ts) under Deno:
// `deno test test/deno/` (scripts/test.mjs runs it as its own suite).
import { cases } from "../lib/cases.ts";

declare const Deno: { test(name: string, fn: () => unknown): void };

for (const c of cases) Deno.test(`library (deno): ${c.name}`, c.fn);
