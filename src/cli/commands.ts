/**
 * Every refsim command, kept once: its name, arguments, one-line summary, its own
 * flags, and what it runs. `refsim --help`, `refsim CMD --help`, the README's
 * command table (checked by test/cli.test.ts) and the flags each command accepts
 * all come from this list. To add a command, add an entry here.
 *
 * @example
 * ```ts
 * import { COMMANDS, commandHelp } from "./commands.ts";
 * console.log(COMMANDS.map((c) => c.name).includes("sweep")); // true
 * console.log(commandHelp(COMMANDS.find((c) => c.name === "sweep")!).split("\n")[0]); // usage: refsim sweep <sweep.json> [options]
 * ```
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { RefsimError } from "../core/errors.ts";
import { REFSIM_VERSION } from "../experiment/meta.ts";
import type { FlagSet, FlagValues } from "./flags.ts";
import { optionalCount, opsArg, parseSettings, parseFlags } from "./flags.ts";
import { schemeList } from "./scheme-arg.ts";
import { BENCH_FLAGS, benchArgs, type BenchArgs } from "./bench-args.ts";
import { DEFAULT_SCENARIOS, DEFAULT_SCHEMES, runScenarios, type RunFormat } from "./run.ts";
import { listCommand, schemesCommand } from "./info.ts";

export interface Command {
  /** "" is the default job (no command). */
  name: string;
  /** Positional arguments, as shown in usage: "<sweep.json>". */
  args: string;
  summary: string;
  /** More lines for `refsim CMD --help`. */
  details?: string;
  flags: FlagSet;
  /** The command parses its own argv: run gets the raw arguments, once they passed the check against `flags`. */
  ownParser?: boolean;
  run(positionals: string[], values: FlagValues): Promise<number> | number;
}

// Flags that mean the same in every command that takes them.
const SCHEMES = { type: "string", arg: "A,B", doc: "schemes: preset names or custom scheme files (.json: { \"name\", \"base\", \"rules\" })" } as const;
const ONE_SCHEME = { type: "string", arg: "S", doc: "the scheme: a preset name or a custom scheme file (.json)" } as const;
const SCHEME_OLD = { type: "string", arg: "S", doc: "", renamedTo: "schemes" } as const;
const JSON_OUT = { type: "boolean", doc: "print the result as JSON instead of tables" } as const;
const OPS = { type: "string", arg: "N", doc: "ops to run (like 1M, 250k)" } as const;
const SEED = { type: "string", arg: "N", doc: "the random seed (default 1)" } as const;
const SET = { type: "string", multiple: true, arg: "k=v", doc: "a workload parameter (repeatable)" } as const;
const CAPACITY = { type: "string", multiple: true, arg: "k=v", doc: "engine capacity: systemPages=..., devicePages=..., hugePages=... (repeatable)" } as const;
const COST = { type: "string", multiple: true, arg: "k=v", doc: "cost-model parameter, e.g. epochNs=1e6 (repeatable)" } as const;
const PROGRESS = { type: "boolean", doc: "draw the progress line even when stderr is not a terminal" } as const;
const QUIET = { type: "boolean", doc: "no progress or notes on stderr" } as const;

const settings = (v: FlagValues, k: string) => parseSettings((v[k] as string[] | undefined) ?? [], `--${k}`);
const str = (v: FlagValues, k: string) => v[k] as string | undefined;

function noPositionals(command: string, rest: string[]): void {
  if (!rest.length) return;
  if (command === "refsim") throw new RefsimError(`unexpected argument '${rest[0]}' (see refsim --help)`, { field: "command" });
  throw new RefsimError(`${command}: unexpected argument '${rest[0]}' (see refsim ${command} --help)`, { field: command });
}

/** The benchmarks live in the repository's bench/ (TypeScript, a C compiler); the installed package does not ship them. */
async function benchCommand(rest: string[], v: FlagValues): Promise<number> {
  noPositionals("bench", rest);
  const args = benchArgs(v);
  const main = new URL("../../bench/main.ts", import.meta.url);
  if (!fileURLToPath(import.meta.url).endsWith(".ts") || !existsSync(main)) {
    throw new RefsimError("bench: the benchmarks are not part of the installed package (they need the TypeScript sources of bench/ and a C compiler); "
      + "in a clone of the repository run 'npm ci && npm run bench' (or 'npm run refsim -- bench')", { field: "bench", code: "NOT_AVAILABLE" });
  }
  // Loaded by URL, not by a static import, so the compiled package (dist/) holds no bench or test code.
  const { runBench } = await import(pathToFileURL(fileURLToPath(main)).href) as { runBench(o: BenchArgs): Promise<number> };
  return runBench(args);
}

export const COMMANDS: Command[] = [
  {
    name: "",
    args: "",
    summary: `the default job: built-in scenarios ${DEFAULT_SCENARIOS.join(", ")} under ${DEFAULT_SCHEMES.join(", ")}`,
    flags: { schemes: SCHEMES, json: JSON_OUT, tap: { type: "boolean", doc: "print TAP (version 13) instead of tables" } },
    run: async (rest, v) => {
      noPositionals("refsim", rest);
      if (!v.json && !v.tap) console.log("refsim default job: the Feb 2022 seed question and its write-fault follow-up, compared across schemes");
      return runScenarios(DEFAULT_SCENARIOS, str(v, "schemes") ?? DEFAULT_SCHEMES.join(","), v.tap ? "tap" : v.json ? "json" : "table");
    },
  },
  {
    name: "run",
    args: "<scenario>...",
    summary: "run scenario files (.json, .ts) or built-in scenarios side by side under the schemes given (default: each scenario's own list)",
    details: "Exit status: 0 when every expectation held, 1 when one failed, 2 when a step was rejected (bad input).",
    flags: { schemes: SCHEMES, json: JSON_OUT, tap: { type: "boolean", doc: "print TAP (version 13, as kselftest does): one test point per scenario and scheme" } },
    run: (rest, v) => {
      if (!rest.length) throw new RefsimError("run: name at least one scenario file or built-in scenario", { field: "scenario" });
      if (v.json && v.tap) throw new RefsimError("run: give --json or --tap, not both", { field: "tap" });
      const format: RunFormat = v.tap ? "tap" : v.json ? "json" : "table";
      return runScenarios(rest, str(v, "schemes"), format);
    },
  },
  {
    name: "list",
    args: "",
    summary: "built-in scenarios (scenarios/) and scheme presets",
    flags: {},
    run: (rest) => (noPositionals("list", rest), listCommand()),
  },
  {
    name: "schemes",
    args: "",
    summary: "every preset's rule values, and what each rule models",
    flags: { json: JSON_OUT },
    run: (rest, v) => (noPositionals("schemes", rest), schemesCommand(!!v.json)),
  },
  {
    name: "workload",
    args: "[name]",
    summary: "run a workload generator under schemes; no name lists them with their params",
    details: "Exit status 1 when a run found violations, 0 when none did.",
    flags: {
      schemes: { ...SCHEMES, doc: `${SCHEMES.doc} (default E4)` }, scheme: SCHEME_OLD, ops: { ...OPS, doc: "ops to run (default 1M)" }, seed: SEED, set: SET, capacity: CAPACITY,
      counter: { type: "string", arg: "C", doc: "counter implementation for the cost model: atomic, percpu, refcache, snzi" },
      cpus: { type: "string", arg: "N", doc: "simulated CPUs (with --counter)" }, cost: COST, json: JSON_OUT, progress: PROGRESS,
    },
    run: async (rest, v) => {
      const { workloadCommand } = await import("./workload.ts");
      if (rest.length > 1) throw new RefsimError(`workload: one workload at a time, got ${rest.join(" ")}`, { field: "workload" });
      return workloadCommand({
        name: rest[0],
        schemes: schemeList(str(v, "schemes") ?? "E4"),
        seed: optionalCount(str(v, "seed"), "--seed", 0, 2 ** 32 - 1) ?? 1,
        ops: str(v, "ops") === undefined ? 1_000_000 : opsArg(str(v, "ops")!),
        params: settings(v, "set"),
        capacity: settings(v, "capacity") as Record<string, number>,
        json: !!v.json,
        progress: !!v.progress,
        counter: str(v, "counter") as never,
        cpus: optionalCount(str(v, "cpus"), "--cpus", 1),
        cost: v.cost ? settings(v, "cost") as Record<string, number> : undefined,
      });
    },
  },
  {
    name: "explore",
    args: "",
    summary: "seeded random workloads until an invariant breaks, shrunk to a minimal scenario file",
    details: "Exit status 1 when a violation was found (the scenario file reproduces it), 0 when the budget ran out clean.",
    flags: {
      schemes: ONE_SCHEME, scheme: SCHEME_OLD,
      kinds: { type: "string", arg: "A,B", doc: "page kinds: system, device-private, device-coherent, fsdax, device-dax, p2pdma, thp (default the first three)" },
      seed: SEED, ops: { ...OPS, doc: "op budget (default 1M)" }, time: { type: "string", arg: "30s", doc: "time budget instead (30s, 2min)" },
      budget: { type: "string", arg: "N", doc: "", deprecated: "use --ops 10M or --time 30s" },
      episode: { type: "string", arg: "N", doc: "ops per episode" }, mix: { type: "string", arg: "op=w,...", doc: "op ratios, e.g. gup=8,fork=0" },
      violation: { type: "string", arg: "KIND", doc: "only this violation kind counts" }, "no-shrink": { type: "boolean", doc: "keep the failing trace as found" },
      out: { type: "string", arg: "FILE", doc: "the scenario file to write (default explore-<scheme>-<kind>.json)" },
      trace: { type: "string", arg: "FILE", doc: "also record the op stream of the machine that broke (or of the last one)" },
      json: JSON_OUT, quiet: QUIET, progress: PROGRESS,
    },
    run: async (rest, v) => (await import("./explore.ts")).exploreCommand(rest, v as never),
  },
  {
    name: "races",
    args: "<scenario>",
    summary: "explore the interleavings of a scenario's \"threads\" step: a violation shrunk to the fewest context switches and written as a scenario replaying it, or \"no violation up to bound k\"",
    details: "Exit status 0 when every scheme gives what the scenario's \"race.expect\" says (without one: when nothing was found), 1 otherwise; each written scenario is run and must reproduce its violation.",
    flags: {
      schemes: { ...SCHEMES, doc: "schemes: presets, or the scenario's own custom schemes by name (default: the scenario's)" },
      bound: { type: "string", arg: "k", doc: "most steps one thread takes (default: the scenario's race.bound, else 8)" },
      mode: { type: "string", arg: "M", doc: "exhaustive (sleep sets; default) or pct (randomized, with a bug-depth guarantee)" },
      runs: { type: "string", arg: "N", doc: "PCT runs (default 1000)" }, depth: { type: "string", arg: "d", doc: "PCT bug depth (default 2)" }, seed: SEED,
      backend: { type: "string", arg: "B", doc: "engine (the WASM core; default) or model (the TypeScript model)" },
      budget: { type: "string", arg: "N", doc: "steps one exhaustive search may run before it stops, like 2M (default 10M)" },
      out: { type: "string", arg: "FILE", doc: "the replay scenario to write (default races-<scenario>-<scheme>-<kind>.json; -<scheme> added when several schemes write)" },
      "no-shrink": { type: "boolean", doc: "report the interleaving as found, write nothing" },
      json: JSON_OUT,
    },
    run: async (rest, v) => (await import("./races.ts")).racesCommand(rest, v as never),
  },
  {
    name: "record",
    args: "<scenario|workload>",
    summary: "record a scenario's or workload's op stream to a binary trace (--out t.rstrace)",
    flags: {
      out: { type: "string", arg: "FILE", doc: "the trace to write (required)" }, schemes: ONE_SCHEME, scheme: SCHEME_OLD, seed: SEED,
      ops: { ...OPS, doc: "ops of a workload (default 100k)" }, budget: { type: "string", arg: "N", doc: "", deprecated: "use --ops" }, set: SET,
      params: { type: "string", arg: "JSON", doc: "", deprecated: "use --set k=v" },
    },
    run: async (rest, v) => (await import("./trace.ts")).recordCommand(rest, v as never),
  },
  {
    name: "replay",
    args: "<t.rstrace>",
    summary: "check a trace and replay it bit-identically",
    details: "Exit status 0 when the replay is identical to the recording, 1 when it differs, 2 for a damaged file.",
    flags: {
      schemes: { ...SCHEMES, doc: "replay under these schemes instead of the recorded one (record once, compare eras)" },
      out: { type: "string", arg: "FILE", doc: "record the replay again" }, json: JSON_OUT,
    },
    run: async (rest, v) => (await import("./trace.ts")).replayCommand(rest, v as never),
  },
  {
    name: "dump",
    args: "<t.rstrace>",
    summary: "a trace as text: the header and one line per op record; --page PFN: every op that changed that frame, as page_ref_* tracepoints print it",
    flags: {
      page: { type: "string", arg: "PFN", doc: "replay and show this page frame's history (count, mapcount, pincount per op)" },
      schemes: { ...ONE_SCHEME, doc: "with --page: replay under this scheme instead of the recorded one" }, json: { type: "boolean", doc: "with --page: the history as JSON" },
    },
    run: async (rest, v) => (await import("./trace.ts")).dumpCommand(rest, v as never),
  },
  {
    name: "export",
    args: "<scenario>",
    summary: "a scenario (an explore result, say) as a C program for a real kernel: syscalls, and lib/test_hmm.c's dmirror ioctls for device memory",
    details: "Ops with no C counterpart are printed by the program as notes ('not exportable: <reason>'); the program prints what the kernel shows at each expect step beside refsim's values.",
    flags: { out: { type: "string", arg: "FILE", doc: "the C file to write (default stdout)" } },
    run: async (rest, v) => (await import("./export.ts")).exportCommand(rest, v as never),
  },
  {
    name: "bench",
    args: "",
    summary: "the benchmark table: WASM vs the TS model vs a C reference, in one run (bench/, also npm run bench)",
    flags: BENCH_FLAGS,
    run: benchCommand,
  },
  {
    name: "compare",
    args: "",
    summary: "counter implementations x simulated CPUs on one workload: throughput, ns, atomics and transfers per op, memory, zero delay (cycles are a model)",
    flags: {
      workload: { type: "string", arg: "W", doc: "the workload (default shared-pages)" },
      cpus: { type: "string", arg: "1,2,...", doc: "simulated CPU counts (default 1,2,4,8,16,32,64,80,128)" },
      counters: { type: "string", arg: "A,B", doc: "atomic, percpu, refcache, snzi (default all)" },
      schemes: { ...SCHEMES, doc: `${SCHEMES.doc} (default E4)` }, scheme: SCHEME_OLD, ops: { ...OPS, doc: "ops per run (default 60k)" }, seed: SEED, set: SET, cost: COST, capacity: CAPACITY,
      json: JSON_OUT, out: { type: "string", arg: "FILE", doc: "also write an HTML page with the charts" },
      csv: { type: "string", arg: "FILE", doc: "also write will-it-scale-shaped CSV: tasks, a column per scheme/counter (ops per simulated second), linear" }, progress: PROGRESS,
    },
    run: async (rest, v) => {
      const { compareCommand } = await import("./compare.ts");
      if (rest.length > 1) throw new RefsimError(`compare: one workload at a time, got ${rest.join(" ")}`, { field: "workload" });
      return compareCommand({
        workload: str(v, "workload") ?? rest[0] ?? "shared-pages",
        cpus: str(v, "cpus"),
        counters: str(v, "counters"),
        schemes: schemeList(str(v, "schemes") ?? "E4"),
        ops: str(v, "ops") === undefined ? 60_000 : opsArg(str(v, "ops")!),
        seed: optionalCount(str(v, "seed"), "--seed", 0, 2 ** 32 - 1) ?? 1,
        params: settings(v, "set"),
        capacity: settings(v, "capacity") as Record<string, number>,
        cost: settings(v, "cost") as Record<string, number>,
        json: !!v.json,
        out: str(v, "out"),
        csv: str(v, "csv"),
        progress: !!v.progress,
      });
    },
  },
  {
    name: "sweep",
    args: "<sweep.json>",
    summary: "schemes x scenarios/workloads x params x seeds on worker threads; results JSON + CSV, streamed per run, resumable",
    details: "Exit status 1 when a run failed (its worker crashed or died: listed in meta.failed), a step was rejected or an expectation failed.",
    flags: {
      workers: { type: "string", arg: "N", doc: "worker threads (default: the CPUs this process may use: affinity and cgroup cpu.max)" },
      shard: { type: "string", arg: "i/N", doc: "run the runs whose index is i mod N; 'auto' reads Slurm (SLURM_ARRAY_TASK_ID, _MIN, _COUNT) or Kubernetes (JOB_COMPLETION_INDEX, JOB_COMPLETIONS)" },
      out: { type: "string", arg: "FILE", doc: "the results JSON (a CSV beside it; every finished run is streamed to FILE.runs.ndjson at once); default stdout" },
      resume: { type: "boolean", doc: "continue an interrupted sweep: run only what the --out file's run stream does not hold (failed runs again)" },
      quiet: QUIET, progress: PROGRESS,
    },
    run: async (rest, v) => (await import("./sweep.ts")).sweepCommand(rest, v as never),
  },
  {
    name: "merge",
    args: "<a.json> <b.json>...",
    summary: "join the shards of one sweep (results files, or the .runs.ndjson stream of a killed shard); refuses other sweeps and missing runs unless --partial",
    flags: { out: { type: "string", arg: "FILE", doc: "the merged results JSON (and CSV beside it); default stdout" }, partial: { type: "boolean", doc: "allow runs to be missing" } },
    run: async (rest, v) => (await import("./sweep.ts")).mergeCommand(rest, v as never),
  },
  {
    name: "report",
    args: "<results.json>",
    summary: "one self-contained HTML file with charts, and a Markdown summary beside it",
    flags: { out: { type: "string", arg: "FILE", doc: "the HTML file (default: the results file's name with .html)" }, quiet: QUIET },
    run: async (rest, v) => (await import("./report.ts")).reportCommand(rest, v as never),
  },
  {
    name: "serve",
    args: "",
    summary: "serve the browser page (dist/web/, after npm run build:dist) on 127.0.0.1",
    flags: { port: { type: "string", arg: "N", doc: "the port (default 8080; 0 picks a free one)" }, host: { type: "string", arg: "H", doc: "the address to bind (default 127.0.0.1)" } },
    run: async (rest, v) => (noPositionals("serve", rest), (await import("./serve.ts")).serveCommand(v as never)),
  },
  {
    name: "kernel-check",
    args: "[scenario...]",
    summary: "compare refsim's E2 with a real Linux 6.1 in QEMU: scenarios and random traces (src/cli/kernel-check.ts)",
    details: "Exit status: 0 when every difference is a known one (src/kernel/known.ts), 1 on an unexplained difference (--strict: on any), 2 bad input, 3 cannot provision.",
    ownParser: true,
    flags: {
      traces: { type: "string", arg: "N", doc: "random traces (default 200)" }, ops: { type: "string", arg: "N", doc: "ops per trace (default 40)" }, seed: SEED,
      "shrink-runs": { type: "string", arg: "N", doc: "guest runs per shrink (default 40; 0: no shrink)" },
      found: { type: "string", arg: "DIR", doc: "where shrunk differences go (default kernel-check-found)" }, json: JSON_OUT,
      out: { type: "string", arg: "FILE", doc: "the JSON form to a file" }, provision: { type: "boolean", doc: "provision and stop" }, quiet: QUIET,
      strict: { type: "boolean", doc: "exit 1 on any difference, known ones too" },
    },
    run: async (argv) => (await import("./kernel-check.ts")).kernelCheckCommand(argv),
  },
  {
    name: "help",
    args: "[command]",
    summary: "this list, or one command's help",
    flags: {},
    run: (rest) => {
      const c = rest[0] === undefined ? undefined : findCommand(rest[0]);
      console.log(c ? commandHelp(c) : usage());
      return 0;
    },
  },
];

export function findCommand(name: string): Command {
  const c = COMMANDS.find((x) => x.name === name && name !== "");
  if (!c) throw new RefsimError(`unknown command '${name}' (commands: ${COMMANDS.filter((x) => x.name).map((x) => x.name).join(", ")}; refsim --help)`, { field: "command" });
  return c;
}

const visible = (flags: FlagSet) => Object.entries(flags).filter(([, f]) => !f.renamedTo && !f.deprecated);

/** "sweep <sweep.json> [--workers N] [--shard i/N] ...": a command with all its flags. */
export function synopsis(c: Command): string {
  const flags = visible(c.flags).map(([n, f]) => `[--${n}${f.type === "string" ? ` ${f.arg ?? "X"}` : ""}]`);
  return [c.name || "(none)", c.args, ...flags].filter(Boolean).join(" ");
}

/** "  --workers N  worker threads ...": a flag set's visible flags, one a line. */
function optionLines(set: FlagSet): string[] {
  const flags = visible(set);
  const left = flags.map(([n, f]) => `  --${n}${f.type === "string" ? ` ${f.arg ?? "X"}` : ""}`);
  const w = Math.max(0, ...left.map((l) => l.length)) + 2;
  return flags.map(([, f], i) => `${left[i].padEnd(w)}${f.doc}`);
}

/** `refsim CMD --help`. */
export function commandHelp(c: Command): string {
  const name = c.name ? `refsim ${c.name}` : "refsim";
  const lines = [`usage: ${name}${c.args ? ` ${c.args}` : ""}${Object.keys(c.flags).length ? " [options]" : ""}`, "", c.summary + "."];
  if (c.details) lines.push(c.details);
  const flags = optionLines(c.flags);
  if (flags.length) lines.push("", "options:", ...flags);
  lines.push("", "Numbers: 5000, 5_000, 250k, 10M. Colour on a terminal; NO_COLOR turns it off, FORCE_COLOR on.");
  return lines.join("\n");
}

/** `refsim --help`: every command with its summary. */
export function usage(): string {
  const rows = COMMANDS.map((c) => [`  ${c.name || "(none)"}${c.args ? ` ${c.args}` : ""}`, c.summary]);
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return [
    "usage: refsim [command] [options]      (refsim COMMAND --help for a command's options)",
    "",
    "commands:",
    ...rows.map(([l, s]) => `${l.padEnd(w)}${s}`),
    "",
    "options of the default job (refsim [options], no command):",
    ...optionLines(COMMANDS[0].flags),
    "",
    "  --help, -h    help (of a command, after its name)",
    "  --version     refsim's version",
    "",
    "Exit status: 0 when every expectation held, 1 when one failed (or violations were found where a command says so), 2 for bad input.",
  ].join("\n");
}

/** The README's command table, generated from COMMANDS (test/cli.test.ts checks the README holds it). */
export function commandsMarkdown(): string {
  const rows = COMMANDS.filter((c) => c.name !== "help").map((c) => `| \`${synopsis(c).replace(/\|/g, "\\|")}\` | ${c.summary.replace(/\|/g, "\\|")} |`);
  return ["| command | what it does |", "|---|---|", ...rows].join("\n");
}

/** Parse one command's argv (everything after its name). */
export function parseCommand(c: Command, argv: string[]) {
  return parseFlags(c.name || "refsim", argv, { ...c.flags, help: { type: "boolean", short: "h", doc: "this help" } });
}


/**
 * Run `refsim ARGV...` (main.ts maps its result and errors to the exit status): the
 * command comes first; with none, or a flag first, it is the default job. Every
 * command's flags are checked against its list, also for a command that reads its
 * argv itself (kernel-check), so an unknown flag is bad input naming the list.
 */
export async function dispatch(argv: string[]): Promise<number> {
  const name = argv[0] !== undefined && !argv[0].startsWith("-") ? argv[0] : "";
  if (argv[0] === "--version" || argv[0] === "-V") {
    console.log(`refsim ${REFSIM_VERSION}`);
    return 0;
  }
  if (name === "" && (argv.includes("--help") || argv.includes("-h"))) {
    console.log(usage());
    return 0;
  }
  const command = name === "" ? COMMANDS[0] : findCommand(name);
  const rest = name === "" ? argv : argv.slice(1);
  const { values, positionals } = parseCommand(command, rest);
  if (values.help) {
    console.log(commandHelp(command));
    return 0;
  }
  delete values.help;
  return command.run(command.ownParser ? rest : positionals, values);
}
