/**
 * A full garbage collection between timed samples, so a sample does not pay for the garbage of
 * the ones before it (earlier engines' linear memories, the model's objects). Node exposes `gc`
 * only under --expose-gc; the flag is set here at run time, so `npm run bench` and `refsim bench`
 * (which imports bench/main.ts into the CLI's process) collect alike. Node only, like the bench.
 *
 * @example
 * ```ts
 * import { collectGarbage } from "./gc.ts";
 * collectGarbage(); // before the clock starts
 * ```
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

export function collectGarbage(): void {
  gc();
}
