/**
 * `refsim races <scenario> [--schemes A,B] [--bound k] [--mode exhaustive|pct]
 * [--runs N --depth d --seed N] [--backend engine|model] [--budget N] [--out FILE] [--no-shrink] [--json]`:
 * explore the interleavings of the scenario's "threads" step under each scheme,
 * print interleavings and states explored per second, and either the violation
 * found (shrunk to the fewest ops and context switches, written as a scenario
 * whose steps replay that exact interleaving) or "no violation up to bound k".
 * Exit status 0 when every scheme gives what the scenario's race.expect says (or,
 * without one, when nothing was found), 1 otherwise, 2 for bad input.
 * The flags are in commands.ts.
 */
import { RefsimError } from "../core/errors.ts";
import { loadScenario } from "../scenario/load.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import { raceScenario, sectionOf, type RaceMode, type RaceResult } from "../races/search.ts";
import { contextSwitches } from "../races/schedule.ts";
import type { Backend } from "../races/kernel-target.ts";
import { OutputFile, writeOutputs } from "./output.ts";
import { countArg, optionalCount } from "./flags.ts";
import { schemeList } from "./scheme-arg.ts";
import { count, rate, seconds } from "./format.ts";
import { formatScenario } from "./explore.ts";
import { readFileSync } from "node:fs";
import { isProtocolFile, parseProtocol, type ProtocolFile } from "../races/protocol-search.ts";

export interface RacesCliOptions {
  schemes?: string;
  bound?: string;
  mode?: string;
  runs?: string;
  depth?: string;
  seed?: string;
  backend?: string;
  budget?: string;
  out?: string;
  "no-shrink"?: boolean;
  json?: boolean;
}

/** The protocol scenario at path, or null when the file is anything else (loadScenario then reports it). */
function protocolFileAt(path: string): ProtocolFile | null {
  let x: unknown;
  try {
    x = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
  return isProtocolFile(x) ? parseProtocol(x, path) : null;
}

function choice<T extends string>(v: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new RefsimError(`${flag}: '${v}' is not one of ${allowed.join(", ")}`, { field: flag.replace(/^-+/, "") });
  return v as T;
}

/** The file a scheme's replay goes to: --out as given for one, with "-<scheme>" before .json when several schemes write. */
function outName(out: string | undefined, scenario: string, r: RaceResult, several: boolean): string {
  const kind = r.shrunk?.finding.kind ?? r.finding!.kind;
  if (out === undefined) return `races-${scenario}-${r.scheme}-${kind}.json`.replace(/[^\w.-]+/g, "_");
  return several ? out.replace(/(\.json)?$/, `-${r.scheme.replace(/[^\w.-]+/g, "_")}$1`) : out;
}

export async function racesCommand(args: string[], o: RacesCliOptions): Promise<number> {
  if (args.length !== 1) throw new RefsimError(args.length ? `races: one scenario at a time, got ${args.length}` : "races: name a scenario file with a \"threads\" step", { field: "scenario" });
  // A protocol scenario (a top-level "protocol": atomic refcount steps, src/races/atomics.ts) has a runner of its own.
  const proto = protocolFileAt(args[0]);
  if (proto) return (await import("./races-protocol.ts")).protocolRacesCommand(args[0], proto, o);
  const loaded = await loadScenario(args[0]);
  const section = sectionOf(loaded); // a scenario without a concurrent section is bad input before anything runs
  // --schemes may name the scenario's own custom schemes (an object in its "schemes" with that name) as well as presets
  const own = new Map((loaded.scenario.schemes ?? []).flatMap((s) => (typeof s === "object" && typeof s.name === "string" ? [[s.name, s] as const] : [])));
  const named = (list: string) => list.split(",").map((x) => x.trim()).filter(Boolean).map((x) => own.get(x) ?? schemeList(x)[0]);
  const schemes: SchemeInput[] = o.schemes !== undefined ? (own.size ? named(o.schemes) : schemeList(o.schemes)) : loaded.scenario.schemes ?? ["E4"];
  schemes.forEach((s) => resolveScheme(s));
  const bound = optionalCount(o.bound, "--bound", 1, 64);
  const mode = choice<RaceMode>(o.mode, "--mode", ["exhaustive", "pct"]);
  const runs = optionalCount(o.runs, "--runs", 1, 10_000_000);
  const depth = optionalCount(o.depth, "--depth", 1, 16);
  const seed = optionalCount(o.seed, "--seed", 0, 2 ** 32 - 1);
  if (mode !== "pct" && !(mode === undefined && loaded.scenario.race?.pct) && (runs !== undefined || depth !== undefined || seed !== undefined)) {
    throw new RefsimError("races: --runs, --depth and --seed are for --mode pct", { field: runs !== undefined ? "runs" : depth !== undefined ? "depth" : "seed" });
  }
  const backend = choice<Backend>(o.backend, "--backend", ["engine", "model"]);
  const budget = o.budget === undefined ? 10_000_000 : countArg(o.budget, "--budget", 1);
  const outFile = o.out !== undefined ? OutputFile.check(o.out, "--out") : undefined;
  const say = (line: string) => { if (!o.json) process.stdout.write(line + "\n"); };
  const name = loaded.scenario.name;
  say(`refsim races ${args[0]}: threads ${section.threads.map((t) => `${t.name} (${t.ops.length} op${t.ops.length === 1 ? "" : "s"})`).join(", ")}`);

  const results: RaceResult[] = [];
  for (const s of schemes) {
    const r = await raceScenario(loaded, s, { bound, mode, runs, depth, seed, backend, budget, shrink: !o["no-shrink"] });
    results.push(r);
    const per = (n: number) => (r.stats.ms > 0 ? `${rate((n * 1000) / r.stats.ms)}` : "-");
    const how = r.mode === "pct" ? `PCT ${count(r.pct!.runs)} runs, depth ${r.pct!.depth}, seed ${r.pct!.seed}, bound ${r.bound}` : `exhaustive, bound ${r.bound}`;
    const speed = `${count(r.stats.interleavings)} interleavings, ${count(r.stats.states)} states in ${seconds(r.stats.ms)} (${per(r.stats.interleavings)} interleavings/s, ${per(r.stats.states)} states/s)`;
    if (!r.finding) {
      const what = r.mode === "pct" ? `no violation in ${count(r.pct!.runs)} PCT runs (a depth-${r.pct!.depth} bug is missed with probability at most ${r.pct!.missBound.toPrecision(2)}), bound ${r.bound}`
        : r.complete ? `no violation up to bound ${r.bound}` : `no violation found before the step budget ran out (bound ${r.bound}; not every interleaving explored)`;
      say(`${r.scheme}: ${what}: ${speed}${r.stats.cut ? `; ${count(r.stats.cut)} interleavings reached the bound` : ""}`);
    } else {
      say(`${r.scheme}: ${r.finding.kind} (${how}): ${speed}`);
      const f = r.shrunk?.finding ?? r.finding;
      const threads = r.shrunk?.threads ?? r.threads;
      if (r.shrunk) say(`  shrunk to ${threads.reduce((n, t) => n + t.ops.length, 0)} ops on ${threads.length} threads, ${r.shrunk.switches} context switch${r.shrunk.switches === 1 ? "" : "es"} (${r.shrunk.searches} searches, ${seconds(r.shrunk.ms)}):`);
      else say(`  the interleaving found (${contextSwitches(f.schedule)} context switch${contextSwitches(f.schedule) === 1 ? "" : "es"}):`);
      f.schedule.forEach((t, i) => {
        const last = i === f.schedule.length - 1;
        say(`  ${String(i + 1).padStart(3)}  ${threads[t].name}  ${f.labels[i]}${last && !f.atEpilogue ? `   <- ${f.kind}` : ""}`);
      });
      if (f.atEpilogue) say(`       then the steps after the section   <- ${f.kind}`);
    }
    if (r.expected !== undefined) say(`  race.expect ${r.expected}: ${r.asExpected ? "ok" : "NOT MET"}`);
  }

  const writing = results.filter((r) => r.replay);
  const files = writing.map((r) => outName(o.out, name, r, writing.length > 1));
  if (writing.length) {
    writeOutputs(writing.map((r, i) => [outFile && writing.length === 1 ? outFile : OutputFile.check(files[i], "--out"), formatScenario(r.replay!)]));
    writing.forEach((r, i) => say(`wrote ${files[i]}: ${r.scheme}'s interleaving, step by step (refsim run ${files[i]} replays it${r.replayPassed ? ": checked" : ": NOT reproduced"})`));
  }
  const ok = results.every((r) => (r.expected !== undefined ? r.asExpected : r.finding === null)) && writing.every((r) => r.replayPassed);
  if (o.json) {
    process.stdout.write(JSON.stringify({
      scenario: name,
      results: results.map((r, i) => ({
        scheme: r.scheme, mode: r.mode, bound: r.bound, complete: r.complete, stats: r.stats,
        interleavingsPerSec: r.stats.ms > 0 ? (r.stats.interleavings * 1000) / r.stats.ms : null,
        statesPerSec: r.stats.ms > 0 ? (r.stats.states * 1000) / r.stats.ms : null,
        ...(r.pct ? { pct: r.pct } : {}),
        violation: r.finding ? { kind: r.finding.kind, schedule: r.finding.schedule, labels: r.finding.labels } : null,
        shrunk: r.shrunk ? { switches: r.shrunk.switches, schedule: r.shrunk.finding.schedule, threads: r.shrunk.threads.map((t) => t.name), labels: r.shrunk.finding.labels } : null,
        out: r.replay ? files[writing.indexOf(r)] : null, replayPassed: r.replayPassed ?? null,
        expected: r.expected ?? null, asExpected: r.asExpected, index: i,
      })),
      ok,
    }, null, 2) + "\n");
  }
  return ok ? 0 : 1;
}
