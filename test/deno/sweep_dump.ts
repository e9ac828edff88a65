// `deno run test/deno/sweep_dump.ts`: the deterministic part of the
// library-subset sweep as JSON on stdout, for test/experiment.test.ts to compare
// with Node's. (Not a *_test.ts file: `deno test test/deno/` does not pick it up.)
import { runSweep, deterministicPart } from "../../src/index.ts";
import { SWEEP } from "../lib/cases.ts";

console.log(JSON.stringify(deterministicPart(await runSweep(SWEEP))));
