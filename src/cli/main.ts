#!/usr/bin/env node
/**
 * refsim command line.
 *
 *   refsim                       the default job: the seed question (S1) and S9 under E0-devmap, E0, E2, E4
 *   refsim run <scenario>...     run scenario files or built-ins side by side [--schemes A,B] [--json]
 *   refsim list                  built-in scenarios and scheme presets
 *   refsim schemes               every preset with its rule values
 *   refsim workload [name]       run a workload generator under schemes [--seed N] [--ops N] [--set k=v]
 *   refsim bench [--quick] [--only ids] [--targets wasm,model,c] [--rounds n]   the benchmark table (bench/)
 *   refsim sweep <sweep.json>    schemes x scenarios/workloads x params x seeds on worker threads [--workers N] [--shard i/N] [--out f]
 *   refsim merge <a.json>...     join sweep shards [--out f]
 *   refsim report <results.json> one self-contained HTML report with charts, plus a Markdown summary [--out f.html]
 *   refsim serve                 serve the browser page (dist/web/) on localhost [--port N]
 *   refsim kernel-check          compare refsim's E2 with a real Linux 6.1 in QEMU (src/cli/kernel-check.ts)
 */
import { parseArgs } from "node:util";
import { readJsonFile } from "./input.ts";
import { RefsimError } from "../core/errors.ts";
import { MAX_OPS } from "../core/ops.ts";
import { PRESETS, PRESET_NAMES } from "../scheme/presets.ts";
import { RULES, RULE_NAMES } from "../scheme/rules.ts";
import type { SchemeInput } from "../scheme/resolve.ts";
import { resolveScheme } from "../scheme/resolve.ts";
import { loadScenario, builtinNames } from "../scenario/load.ts";
import { runScenario, type ScenarioRun } from "../scenario/run.ts";
import { sideBySide, violationDetails, formatTable } from "../report/table.ts";
import { workloadCommand, parseSettings } from "./workload.ts";
import { sweepCommand, mergeCommand } from "./sweep.ts";
import { reportCommand } from "./report.ts";
import { serveCommand } from "./serve.ts";
import { exploreCommand } from "./explore.ts";
import { recordCommand, replayCommand } from "./trace.ts";
import { compareCommand } from "./compare.ts";
import { kernelCheckCommand } from "./kernel-check.ts";

const DEFAULT_SCHEMES = ["E0-devmap", "E0", "E2", "E4"];
const DEFAULT_SCENARIOS = ["seed", "coherent-wp-after-fork"];

const USAGE = `usage: refsim [command] [options]

commands:
  (none)                  run the default job: built-in scenarios ${DEFAULT_SCENARIOS.join(", ")} under ${DEFAULT_SCHEMES.join(", ")}
  run <scenario>...       run scenario files (.json, .ts) or built-in names side by side
  list                    list built-in scenarios and scheme presets
  schemes                 print every preset's rules
  workload [name]         run a workload generator (no name: list them) [--seed N] [--ops N] [--set k=v]...
                          [--counter atomic|percpu|refcache|snzi --cpus N [--cost k=v]...]: with the cost model
  bench [--quick] [--only churn-small,memory] [--targets wasm,model,c] [--rounds n]
                          run the benchmarks (bench/) and print the table of ratios
  compare                 counter implementations x simulated CPUs on one workload (cost model; cycles are a model)
                          [--workload shared-pages] [--cpus 1,2,4,...,128] [--counters atomic,percpu,refcache,snzi]
                          [--schemes E4] [--ops N] [--set k=v] [--cost k=v] [--capacity k=v] [--json] [--out f.html]
  sweep <sweep.json>      run a sweep on worker threads, write results JSON + CSV
                          [--workers N] [--shard i/N] [--out results.json]
  merge <a.json> <b.json> join sweep shards into one results file [--out all.json] [--partial]
  report <results.json>   write one self-contained HTML report with charts and a Markdown summary
                          [--out report.html]
  serve                   serve the browser page (dist/web/index.html) on 127.0.0.1 [--port N]
  explore --scheme S      random workloads until an invariant breaks, shrunk to a minimal scenario file
                          [--kinds system,device-private,...] [--seed N] [--budget 10M|30s] [--episode N]
                          [--mix gup=8,fork=0] [--violation KIND] [--no-shrink] [--out f.json] [--trace t.rstrace]
  record <scenario|workload> --out t.rstrace   record a run's op stream [--scheme S] [--seed N] [--budget N] [--params JSON]
  replay <t.rstrace>      check and replay a trace bit-identically [--out again.rstrace]
  kernel-check [scenario...]  compare refsim's E2 with Linux 6.1 in QEMU: scenarios and random traces
                          [--traces N] [--ops N] [--seed N] [--shrink-runs N] [--json] [--out f.json] [--provision]
  help                    this text

options:
  --schemes A,B,...       schemes to compare: preset names or custom scheme files (.json: { "name", "base", "rules" })
  --json                  print results as JSON instead of tables
  --capacity k=v          engine capacity for workloads (systemPages=..., devicePages=..., ...)
  --progress              draw the progress bar even when stderr is not a terminal
`;

function wholeNumber(s: string, flag: string): number {
  const n = Number(s.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < 0) throw new RefsimError(`--${flag} must be a whole number >= 0, got '${s}'`, { field: flag });
  return n;
}

/** An op count for one engine: at most MAX_OPS (its op sequence numbers are 32-bit). */
function opsArg(s: string, flag: string): number {
  const n = wholeNumber(s, flag);
  if (n > MAX_OPS) throw new RefsimError(`--${flag} ${s} is more ops than one engine can run (at most ${MAX_OPS}: its op sequence numbers are 32-bit)`, { field: flag });
  return n;
}

function atLeastOne(n: number, flag: string): number {
  if (n < 1) throw new RefsimError(`--${flag} must be at least 1, got ${n}`, { field: flag });
  return n;
}

/** A scheme from the command line: a preset name, or a JSON file of a custom scheme. */
function schemeArg(s: string): SchemeInput {
  if (s.endsWith(".json")) return resolveScheme(readJsonFile(s, "--schemes") as SchemeInput);
  return s;
}

/** A comma-separated --schemes list: at least one scheme. */
function schemeList(s: string): SchemeInput[] {
  const list = s.split(",").map((x) => x.trim()).filter(Boolean);
  if (!list.length) throw new RefsimError(`--schemes names no scheme, got '${s}' (presets: ${PRESET_NAMES.join(", ")})`, { field: "schemes" });
  return list.map(schemeArg);
}

/** Exit status of scenario runs: 2 if a step was rejected (bad input), 1 if an expectation failed, else 0. */
async function runAll(refs: string[], schemesOpt: string | undefined, json: boolean): Promise<number> {
  let ok = true;
  const rejected: string[] = [];
  const all: ScenarioRun[][] = [];
  for (const ref of refs) {
    const loaded = await loadScenario(ref);
    const sc = loaded.scenario;
    const schemes: SchemeInput[] = schemesOpt !== undefined ? schemeList(schemesOpt) : sc.schemes ?? DEFAULT_SCHEMES;
    const resolved = schemes.map((s) => resolveScheme(s));
    const names = resolved.map((s) => s.name);
    const runs: ScenarioRun[] = [];
    for (const s of resolved) runs.push(await runScenario(loaded, s, names));
    all.push(runs);
    ok &&= runs.every((r) => r.passed);
    for (const r of runs) if (r.error) rejected.push(`${r.scheme}: ${r.error.message}`);
    if (json) continue;
    console.log(`\n== ${sc.name}${sc.spec ? ` (spec §7 ${sc.spec})` : ""}: ${sc.title ?? ""}`);
    console.log(sideBySide(runs));
    const details = violationDetails(runs);
    if (details) console.log(`\nviolations, with the step that caused them:\n${details}`);
  }
  if (json) console.log(JSON.stringify(all.flat(), null, 2));
  // Everything before a rejected step is reported above; the rejection itself is bad input.
  for (const line of rejected) console.error(`refsim: ${line}`);
  return rejected.length ? 2 : ok ? 0 : 1;
}

function listCommand(): void {
  console.log("built-in scenarios:");
  for (const n of builtinNames()) console.log(`  ${n}`);
  console.log("\nscheme presets:");
  for (const n of PRESET_NAMES) console.log(`  ${n.padEnd(10)} ${PRESETS[n].kernels}`);
}

function schemesCommand(json: boolean): void {
  if (json) {
    console.log(JSON.stringify(PRESETS, null, 2));
    return;
  }
  const rows = RULE_NAMES.map((r) => [r, ...PRESET_NAMES.map((p) => String(PRESETS[p].rules[r]))]);
  console.log(formatTable(["rule", ...PRESET_NAMES], rows));
  console.log("\nrules:");
  for (const r of RULE_NAMES) console.log(`  ${r}: ${RULES[r].doc}`);
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "kernel-check") return kernelCheckCommand(argv.slice(1)); // its own flags (src/cli/kernel-check.ts)
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      schemes: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" },
      workers: { type: "string" }, shard: { type: "string" }, out: { type: "string" }, partial: { type: "boolean" },
      port: { type: "string" }, host: { type: "string" }, quiet: { type: "boolean" },
      scheme: { type: "string" }, seed: { type: "string" }, ops: { type: "string" },
      set: { type: "string", multiple: true }, capacity: { type: "string", multiple: true },
      progress: { type: "boolean" }, quick: { type: "boolean" }, only: { type: "string" }, targets: { type: "string" }, rounds: { type: "string" },
      kinds: { type: "string" }, budget: { type: "string" }, episode: { type: "string" }, mix: { type: "string" },
      violation: { type: "string" }, trace: { type: "string" }, "no-shrink": { type: "boolean" }, params: { type: "string" },
      workload: { type: "string" }, cpus: { type: "string" }, counter: { type: "string" }, counters: { type: "string" }, cost: { type: "string", multiple: true },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === "help") {
    console.log(USAGE);
    return 0;
  }
  switch (command) {
    case undefined: {
      if (!values.json) console.log("refsim default job: the Feb 2022 seed question and its write-fault follow-up, compared across schemes");
      return runAll(DEFAULT_SCENARIOS, values.schemes ?? DEFAULT_SCHEMES.join(","), !!values.json);
    }
    case "run":
      if (!rest.length) throw new RefsimError("run: name at least one scenario file or built-in scenario", { field: "scenario" });
      return runAll(rest, values.schemes, !!values.json);
    case "list":
      listCommand();
      return 0;
    case "schemes":
      schemesCommand(!!values.json);
      return 0;
    case "workload": {
      return workloadCommand({
        name: rest[0],
        schemes: schemeList(values.schemes ?? values.scheme ?? "E4"),
        seed: wholeNumber(values.seed ?? "1", "seed"),
        ops: opsArg(values.ops ?? "1000000", "ops"),
        params: parseSettings(values.set ?? [], "set"),
        capacity: parseSettings(values.capacity ?? [], "capacity") as Record<string, number>,
        json: !!values.json,
        progress: !!values.progress,
        counter: values.counter as never,
        cpus: values.cpus === undefined ? undefined : wholeNumber(values.cpus, "cpus"),
        cost: values.cost ? parseSettings(values.cost, "cost") as Record<string, number> : undefined,
      });
    }
    case "bench": {
      const { runBench } = await import("../../bench/main.ts");
      const list = (v: string | undefined) => v?.split(",").map((x) => x.trim()).filter(Boolean);
      const targets = list(values.targets);
      const bad = targets?.find((t) => !["wasm", "model", "c"].includes(t));
      if (bad) throw new RefsimError(`--targets takes wasm, model and c, got '${bad}'`, { field: "targets" });
      return runBench({
        quick: !!values.quick, only: list(values.only), targets,
        rounds: values.rounds === undefined ? undefined : atLeastOne(wholeNumber(values.rounds, "rounds"), "rounds"),
      });
    }
    case "compare":
      return compareCommand({
        workload: values.workload ?? rest[0] ?? "shared-pages",
        cpus: values.cpus,
        counters: values.counters,
        schemes: schemeList(values.schemes ?? values.scheme ?? "E4"),
        ops: opsArg(values.ops ?? "60000", "ops"),
        seed: wholeNumber(values.seed ?? "1", "seed"),
        params: parseSettings(values.set ?? [], "set"),
        capacity: parseSettings(values.capacity ?? [], "capacity") as Record<string, number>,
        cost: parseSettings(values.cost ?? [], "cost") as Record<string, number>,
        json: !!values.json,
        out: values.out,
      });
    case "sweep":
      return sweepCommand(rest, values);
    case "merge":
      return mergeCommand(rest, values);
    case "report":
      return reportCommand(rest, values);
    case "explore":
      return exploreCommand(rest, values);
    case "record":
      return recordCommand(rest, { ...values, budget: values.budget ?? values.ops });
    case "replay":
      return replayCommand(rest, values);
    case "serve":
      return serveCommand(values);
    default:
      throw new RefsimError(`unknown command '${command}'\n\n${USAGE}`, { field: "command" });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof RefsimError || (e as { code?: string }).code?.startsWith?.("ERR_PARSE_ARGS")) {
      console.error(`refsim: ${(e as Error).message}`);
      process.exit(2);
    }
    console.error(e);
    process.exit(3);
  },
);
