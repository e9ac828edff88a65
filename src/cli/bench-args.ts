/**
 * The bench's flags, one set for `npm run bench` (bench/main.ts) and `refsim
 * bench` (commands.ts): both parse argv with parseFlags against BENCH_FLAGS and
 * turn the values into options with benchArgs.
 *
 * @example
 * ```ts
 * import { BENCH_FLAGS, benchArgs } from "./bench-args.ts";
 * import { parseFlags } from "./flags.ts";
 * const { values } = parseFlags("bench", ["--quick", "--only", "churn-small", "--rounds", "3"], BENCH_FLAGS);
 * const args = benchArgs(values);
 * console.log(args.quick, args.only, args.rounds); // true [ 'churn-small' ] 3
 * ```
 */
import type { FlagSet, FlagValues } from "./flags.ts";
import { countArg, listArg } from "./flags.ts";
import { RefsimError } from "../core/errors.ts";

export const BENCH_TARGETS = ["wasm", "model", "c"] as const;

export const BENCH_FLAGS: FlagSet = {
  quick: { type: "boolean", doc: "a short run: smaller streams, shorter sampling, one round, no model on the 8 Mi-frame cases" },
  only: { type: "string", arg: "IDS", doc: "run only cases whose id contains one of these (churn-small, churn-8M, fork-small, fork-8M, workload, memory, differential)" },
  targets: { type: "string", arg: "wasm,model,c", doc: "which builds to time (default all three)" },
  rounds: { type: "string", arg: "N", doc: "interleaved timing rounds of the WASM engine and the C builds; each keeps its best (default 2, 1 with --quick)" },
  engine: { type: "string", arg: "FILE", doc: "another engine.ts (an A/B build under tmp/) in place of src/core/engine.ts" },
  json: { type: "boolean", doc: "print the record (every case, its CPU and wall times, ratios, targets met or not) as JSON on stdout instead of the table" },
  out: { type: "string", arg: "FILE", doc: "where the JSON record goes (default tmp/bench-results.json)" },
  "model-large": { type: "boolean", doc: "run the TS model on the cases it skips by default (needs a bigger JS heap)" },
  progress: { type: "boolean", doc: "draw the progress line even when stderr is not a terminal" },
};

export interface BenchArgs {
  quick?: boolean;
  only?: string[];
  targets?: string[];
  rounds?: number;
  engine?: string;
  /** Print the JSON record on stdout instead of the Markdown table. */
  json?: boolean;
  /** Where the JSON record is written. */
  out?: string;
  modelLarge?: boolean;
  progress?: boolean;
}

/** Checked options from parsed bench flags (before anything is measured). */
export function benchArgs(v: FlagValues): BenchArgs {
  const targets = v.targets === undefined ? undefined : (v.targets as string).split(",").map((x) => x.trim()).filter(Boolean);
  const bad = targets?.find((t) => !(BENCH_TARGETS as readonly string[]).includes(t));
  if (bad) throw new RefsimError(`--targets takes wasm, model and c, got '${bad}'`, { field: "targets" });
  if (targets && !targets.length) throw new RefsimError("--targets names no target (wasm, model, c)", { field: "targets" });
  return {
    quick: !!v.quick,
    only: v.only === undefined ? undefined : listArg(v.only as string, "--only"),
    targets,
    rounds: v.rounds === undefined ? undefined : countArg(v.rounds as string, "--rounds", 1, 1000),
    engine: v.engine as string | undefined,
    json: !!v.json,
    out: v.out as string | undefined,
    modelLarge: !!v["model-large"],
    progress: !!v.progress,
  };
}
