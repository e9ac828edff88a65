/**
 * `refsim races` without the printing: explore a scenario's concurrent section
 * under one scheme (exhaustive with sleep sets, or PCT), shrink a violation to the
 * fewest ops and context switches, and write it as a scenario whose steps replay
 * that exact interleaving; the written scenario is run before it is returned, and
 * its expectation holds the violations the replay produced.
 *
 * @example
 * ```ts
 * import { raceScenario } from "./search.ts";
 * import { loadScenario } from "../scenario/load.ts";
 * const l = await loadScenario("scenarios/races/cve-2022-3523.json");
 * const r = await raceScenario(l, "E0", { bound: 6 });
 * console.log(r.finding?.kind, r.shrunk?.switches, r.replayPassed); // use_after_free 2 true
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import { VIOLATION_KINDS } from "../core/violations.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import type { LoadedScenario } from "../scenario/parse.ts";
import { checkScenario } from "../scenario/parse.ts";
import { runScenario } from "../scenario/run.ts";
import type { OpStep, Scenario } from "../scenario/types.ts";
import { DEFAULT_BOUND, expectedKind, splitSection, type Section } from "./format.ts";
import { targetFactory, type Backend, type KernelTarget } from "./kernel-target.ts";
import { exhaustive } from "./sleepsets.ts";
import { pct } from "./pct.ts";
import { shrinkRace } from "./shrink.ts";
import { contextSwitches, type Finding, type SearchStats } from "./schedule.ts";
import { replayScenario } from "./write.ts";

export type RaceMode = "exhaustive" | "pct";

export interface RaceOptions {
  /** Most steps one thread takes (default: the scenario's race.bound, else 8). */
  bound?: number;
  mode?: RaceMode;
  /** PCT: runs, bug depth, seed (default: the scenario's race.pct, else 1000 runs, depth 2, seed 1). */
  runs?: number;
  depth?: number;
  seed?: number;
  backend?: Backend;
  /** Shrink a violation and write its replay scenario (default true). */
  shrink?: boolean;
  /** Steps one search may run before it is given up (default 2 M). */
  budget?: number;
}

export interface RaceResult {
  scheme: string;
  mode: RaceMode;
  bound: number;
  threads: Section["threads"];
  stats: SearchStats;
  /** Exhaustive: every interleaving within the bound was explored. */
  complete: boolean;
  finding: Finding | null;
  /** PCT: the chance bound that all runs missed a bug of the given depth. */
  pct?: { runs: number; depth: number; seed: number; guarantee: number; missBound: number };
  shrunk?: { threads: Section["threads"]; finding: Finding; switches: number; searches: number; ms: number };
  /** The scenario replaying the (shrunk) interleaving, and whether its expectations held when run. */
  replay?: Scenario;
  replayPassed?: boolean;
  /** What the scenario's race.expect says for this scheme, if anything. */
  expected?: string;
  /** The result is what race.expect says (true when it says nothing). */
  asExpected: boolean;
}

type Tagged = { name: string; op: OpStep };

/** The section of a loaded scenario, as a RefsimError when it has none. */
export function sectionOf(l: LoadedScenario): Section {
  try {
    return splitSection(l.scenario);
  } catch (e) {
    throw new RefsimError(`${l.source}: ${(e as Error).message}`, { field: "threads", code: "BAD_SCENARIO" });
  }
}

export async function raceScenario(l: LoadedScenario, schemeInput: SchemeInput, o: RaceOptions = {}): Promise<RaceResult> {
  const sc = l.scenario;
  const scheme = resolveScheme(schemeInput);
  const section = sectionOf(l);
  const spec = sc.race;
  const bound = o.bound ?? spec?.bound ?? DEFAULT_BOUND;
  const mode: RaceMode = o.mode ?? (spec?.pct ? "pct" : "exhaustive");
  const make = await targetFactory(sc, schemeInput, o.backend ?? "engine", spec?.never);
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RefsimError) throw new RefsimError(`${l.source}: ${e.message}`, { op: e.op, field: e.field, code: e.code });
      throw e;
    }
  };
  const target: KernelTarget = wrap(() => make(section));
  let finding: Finding | null;
  let stats: SearchStats;
  let complete = false;
  let pctInfo: RaceResult["pct"];
  if (mode === "pct") {
    const runs = o.runs ?? spec?.pct?.runs ?? 1000;
    const depth = o.depth ?? spec?.pct?.depth ?? 2;
    const seed = o.seed ?? spec?.pct?.seed ?? 1;
    const r = wrap(() => pct(target, { bound, depth, runs, seed }));
    ({ finding, stats } = r);
    pctInfo = { runs, depth, seed, guarantee: r.guarantee, missBound: r.missBound };
  } else {
    const r = wrap(() => exhaustive(target, { bound, budget: o.budget }));
    ({ finding, stats, complete } = r);
  }
  const expected = expectedKind(spec, scheme.name);
  const result: RaceResult = {
    scheme: scheme.name, mode, bound, threads: section.threads, stats, complete, finding, ...(pctInfo ? { pct: pctInfo } : {}),
    ...(expected !== undefined ? { expected } : {}),
    asExpected: expected === undefined ? true : expected === "none" ? finding === null && (mode === "pct" || complete) : finding?.kind === expected,
  };
  if (!finding || o.shrink === false) return result;

  // Shrink: ops tagged with their thread's name, so a thread keeps its name when others go.
  const started = Date.now();
  const program: Tagged[][] = section.threads.map((t) => t.ops.map((op) => ({ name: t.name, op })));
  const toThreads = (p: Tagged[][]): Section["threads"] => p.map((ops) => ({ name: ops[0].name, ops: ops.map((x) => x.op) }));
  const s = shrinkRace<Tagged>((p) => make({ ...section, threads: toThreads(p) }), program, finding.kind, { bound, budget: o.budget });
  const threads = toThreads(s.program);
  result.shrunk = { threads, finding: s.finding, switches: s.switches, searches: s.searches, ms: Date.now() - started };

  // The replay scenario: run once to learn the violations it produces, then with them as its expectation.
  const how = mode === "pct" ? `PCT (${pctInfo!.runs} runs, depth ${pctInfo!.depth}, seed ${pctInfo!.seed}), bound ${bound}` : `exhaustive search, bound ${bound}`;
  const w = { scenario: sc, section, threads, finding: s.finding, scheme: scheme.name, how: `${how}, shrunk to ${contextSwitches(s.finding.schedule)} context switches` };
  const first = replayScenario(w, {});
  first.schemes = [schemeInput];
  const probe = await runScenario(checkScenario(first, `${sc.name} replay`), schemeInput);
  const counts: Record<string, number> = {};
  for (const k of VIOLATION_KINDS) if (probe.stats.violations[k]) counts[k] = probe.stats.violations[k];
  // A race.never finding ("<path> grew") is replayed as the statistic's value at the end.
  const grew = spec?.never !== undefined && s.finding.kind === `${spec.never} grew` ? spec.never : undefined;
  const grown = grew === undefined ? undefined : grew.split(".").reduce<unknown>((x, k) => (x as Record<string, unknown>)?.[k], probe.stats);
  const nested = grew === undefined ? undefined : grew.split(".").reduceRight<unknown>((x, k) => ({ [k]: x }), grown) as Record<string, unknown>;
  const replay = replayScenario(w, counts, nested);
  replay.schemes = [schemeInput];
  const check = await runScenario(checkScenario(replay, `${sc.name} replay`), schemeInput);
  result.replay = replay;
  result.replayPassed = check.passed && (grew !== undefined ? typeof grown === "number" && grown > 0 : (counts[s.finding.kind] ?? 0) > 0);
  return result;
}
