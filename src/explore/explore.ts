/**
 * Explore: run seeded random episodes over the chosen page kinds under one scheme
 * until an invariant breaks or the budget (ops or seconds) ends; on a violation,
 * cut the episode after the op that detected it, shrink it (src/explore/shrink.ts)
 * to a 1-minimal trace that still produces a violation of the same kind caused by
 * an op of the same name, and turn that into a scenario file.
 *
 * Episodes run on engines with exploreCapacity(kinds) (few frames, so that the quiesce
 * checks stay cheap), several in a row on one engine until the ids it never
 * recycles run low; each ends with a teardown, whose check finds leaks, and
 * episodes also check now and then. What is shrunk is the engine's whole op
 * stream up to the detection, so a failure that needs an earlier episode's
 * leftovers still reproduces; ddmin drops the unneeded episodes first. Episode k's seed is the k-th draw of a PRNG
 * seeded with `seed`, so a run is reproducible from (scheme, kinds, ratios, seed,
 * episodeOps) and a seconds budget only decides how far it gets.
 *
 * @example
 * ```ts
 * import { explore } from "./explore.ts";
 * const r = await explore({ scheme: "E0-devmap", seed: 1, budgetOps: 200_000 });
 * console.log(r.found?.failure, r.found?.shrunk.n); // { kind: "leak_page", culprit: "munmap" } 6
 * ```
 */
import type { Capacity } from "../core/engine.ts";
import { Engine } from "../core/engine.ts";
import { RefsimError } from "../core/errors.ts";
import { VIOLATION_KINDS, VIOLATION_TEXT, type ViolationKind } from "../core/violations.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import type { Scenario } from "../scenario/types.ts";
import { Prng } from "../workload/prng.ts";
import { TraceRecorder } from "../trace/record.ts";
import { EpisodeGenerator, exploreCapacity, DEFAULT_KINDS, type ExploreOp, type PageKindName } from "./generate.ts";
import { SymExecutor, ST_OK, type SymTrace } from "./symbolic.ts";
import { EnginePool } from "./pool.ts";
import { runTrace, matches, failureOf, detectionIndex, culpritClass, type Failure, type Outcome, type TracedViolation } from "./outcome.ts";
import { shrinkTrace } from "./shrink.ts";
import { traceToScenario, traceToSteps } from "./scenario.ts";

export interface ExploreOptions {
  scheme: SchemeInput;
  kinds?: readonly PageKindName[];
  ratios?: Partial<Record<ExploreOp, number>>;
  seed?: number;
  /** Stop after this many ops (default 1 000 000 when no budget is given). */
  budgetOps?: number;
  /** Stop after this many seconds. */
  budgetSeconds?: number;
  /** Ops per episode (default 512). */
  episodeOps?: number;
  /** Only a violation of this kind counts as found. */
  violation?: ViolationKind;
  /** Shrink what is found (default true). */
  shrink?: boolean;
  maxShrinkRuns?: number;
  /** Keep the last machine's op stream in the result (machineTrace) when nothing is found. */
  keepTrace?: boolean;
  /** Called about once a second while exploring. */
  onProgress?: (p: ExploreProgress) => void;
}

export interface ExploreProgress {
  episodes: number;
  ops: number;
  elapsedMs: number;
}

export interface ExploreFound {
  /** 0-based episode number and its seed. */
  episode: number;
  episodeSeed: number;
  /** What the shrink kept: the violation kind and the name of the op that caused it. */
  failure: Failure;
  /** The machine's op stream up to the end of the failing episode, and cut after the op that detected the violation. */
  original: SymTrace;
  detected: SymTrace;
  shrunk: SymTrace;
  shrinkRuns: number;
  shrinkMs: number;
  /** The shrunk trace's run, and the violation it keeps. */
  outcome: Outcome;
  violation: TracedViolation;
  /** Index in the shrunk trace of the op at which that violation was first recorded. */
  detectedAt: number;
  scenario: Scenario;
}

export interface ExploreResult {
  scheme: string;
  kinds: readonly PageKindName[];
  seed: number;
  episodes: number;
  ops: number;
  /** Wall time in all, and of the random episodes alone (without the shrink). */
  elapsedMs: number;
  exploreMs: number;
  /** Rate of the random episodes. */
  opsPerSec: number;
  /** Why it stopped. */
  stop: "found" | "ops" | "seconds";
  found?: ExploreFound;
  /** With keepTrace and nothing found: the op stream of the last machine. */
  machineTrace?: SymTrace;
  capacity: Readonly<Capacity>;
}

const DEFAULT_BUDGET_OPS = 1_000_000;

export async function explore(options: ExploreOptions): Promise<ExploreResult> {
  const scheme = resolveScheme(options.scheme);
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RefsimError(`explore: seed must be a whole number 0..2^32-1, got ${seed}`, { field: "seed" });
  const episodeOps = options.episodeOps ?? 512;
  if (!Number.isInteger(episodeOps) || episodeOps < 16) throw new RefsimError(`explore: episodeOps must be a whole number >= 16, got ${episodeOps}`, { field: "episodeOps" });
  if (options.violation !== undefined && !(VIOLATION_KINDS as readonly string[]).includes(options.violation)) {
    throw new RefsimError(`explore: unknown violation kind '${options.violation}' (kinds: ${VIOLATION_KINDS.join(", ")})`, { field: "violation" });
  }
  const budgetOps = options.budgetOps ?? (options.budgetSeconds === undefined ? DEFAULT_BUDGET_OPS : Infinity);
  const budgetMs = options.budgetSeconds === undefined ? Infinity : options.budgetSeconds * 1000;
  const capacity = exploreCapacity(options.kinds ?? DEFAULT_KINDS);
  const gen = new EpisodeGenerator({ kinds: options.kinds ?? DEFAULT_KINDS, ratios: options.ratios, capacity });
  const pool = new EnginePool(scheme, capacity);
  const master = new Prng(seed);
  const t0 = performance.now();
  let ops = 0;
  let episodes = 0;
  let lastProgress = t0;
  let stop: ExploreResult["stop"] = "ops";
  let found: ExploreFound | undefined;
  let exploreMs = 0;
  let machine: { exec: SymExecutor; engine: Engine } | undefined;
  let ranTo = 0; // the last machine's trace ran up to here
  for (;;) {
    const now = performance.now();
    if (ops >= budgetOps) { stop = "ops"; break; }
    if (now - t0 >= budgetMs) { stop = "seconds"; break; }
    if (options.onProgress && now - lastProgress >= 1000) {
      lastProgress = now;
      options.onProgress({ episodes, ops, elapsedMs: now - t0 });
    }
    if (!machine || gen.full) {
      gen.begin();
      const engine = await pool.take();
      machine = { engine, exec: new SymExecutor(engine, { expect: 1 << 15 }) };
    }
    const episodeSeed = master.u32();
    const episode0 = gen.episode(episodeSeed, Math.min(episodeOps, Math.max(16, budgetOps - ops)));
    const from = episode0.from;
    // the budget is a cap: an episode whose teardown would run past it stops at the budget
    const to = Math.min(episode0.to, from + (budgetOps - ops));
    ranTo = to;
    machine.exec.run(gen.trace, from, to);
    ops += to - from;
    const episode = episodes++;
    const v = machine.engine.stats().violations;
    if (v.total === 0 || (options.violation && v[options.violation] === 0)) continue;
    stop = "found";
    exploreMs = performance.now() - t0;
    found = await analyse(gen.trace.clone(), from, episode, episodeSeed, scheme.name, options, pool);
    break;
  }
  const elapsedMs = performance.now() - t0;
  if (!found) exploreMs = elapsedMs;
  return {
    scheme: scheme.name, kinds: gen.kinds, seed, episodes, ops, elapsedMs, exploreMs,
    opsPerSec: exploreMs > 0 ? Math.round((ops * 1000) / exploreMs) : 0, stop, capacity,
    ...(found ? { found } : {}),
    ...(!found && options.keepTrace && machine ? { machineTrace: gen.trace.prefix(ranTo) } : {}),
  };
}

async function analyse(original: SymTrace, episodeStart: number, episode: number, episodeSeed: number, schemeName: string, options: ExploreOptions, pool: EnginePool): Promise<ExploreFound> {
  const first = runTrace(original, await pool.take());
  const f = failureOf(first, options.violation);
  if (!f) throw new RefsimError(`explore: episode ${episode} broke an invariant once but not when run again (nondeterminism?)`, { code: "NONDETERMINISTIC" });
  const failure: Failure = { kind: f.kind, culprit: f.culprit };
  const d = detectionIndex(original, await pool.take(), failure.kind);
  let detected = d >= 0 ? original.prefix(d + 1) : original;
  if (!matches(runTrace(detected, await pool.take()), failure)) detected = original;
  const test = async (c: SymTrace) => matches(runTrace(c, await pool.take()), failure);
  const inert = async (c: SymTrace) => {
    const o = runTrace(c, await pool.take());
    return Array.from({ length: c.n }, (_, i) => o.exec.status[i] !== ST_OK);
  };
  const s0 = performance.now();
  const shrunk = options.shrink === false ? { trace: detected, runs: 0 } : await shrinkTrace(detected, test, { maxRuns: options.maxShrinkRuns, inert });
  const shrinkMs = performance.now() - s0;
  const outcome = runTrace(shrunk.trace, await pool.take());
  const cls = culpritClass(failure.culprit);
  const violation = outcome.violations.find((x) => x.kind === failure.kind && culpritClass(x.culprit) === cls)!;
  failure.culprit = violation.culprit; // a simpler op of the same class may have taken its place
  const detectedAt = detectionIndex(shrunk.trace, await pool.take(), failure.kind);
  const counts: Record<string, number> = {};
  for (const k of VIOLATION_KINDS) if (outcome.stats.violations[k] > 0) counts[k] = outcome.stats.violations[k];
  const { steps } = traceToSteps(shrunk.trace, outcome.exec.results);
  const culpritStep = violation.index;
  const culpritText = culpritStep >= 0 ? describeStep(steps[culpritStep] as unknown as Record<string, unknown>) : "?";
  const kinds = (options.kinds ?? DEFAULT_KINDS).join(",");
  const scenario = traceToScenario(shrunk.trace, outcome.exec.results, {
    name: `explore-${schemeName}-${failure.kind}`.replace(/[^\w.-]+/g, "_"),
    title: `${failure.kind} under ${schemeName}, caused by ${failure.culprit} (found by refsim explore)`,
    description:
      `${VIOLATION_TEXT[failure.kind]}. Caused by step ${culpritStep + 1} (${culpritText}). ` +
      `Found by \`refsim explore --scheme ${schemeName} --kinds ${kinds} --seed ${options.seed ?? 1}\` in episode ${episode} ` +
      `(episode seed ${episodeSeed}, ops ${episodeStart}..${original.n - 1} of its machine; the violation was detected at op ${detected.n - 1}), ` +
      `then shrunk to ${shrunk.trace.n} ops in ${shrunk.runs} runs, keeping a ${failure.kind} caused by ${f.culprit === failure.culprit ? `a ${f.culprit}` : `an op of the same class as the original ${f.culprit}`}.`,
    scheme: options.scheme,
    schemeName,
    capacity: exploreCapacity(options.kinds ?? DEFAULT_KINDS),
    violations: counts,
  });
  return {
    episode, episodeSeed, failure, original, detected, shrunk: shrunk.trace, shrinkRuns: shrunk.runs, shrinkMs,
    outcome, violation, detectedAt, scenario,
  };
}

/** "munmap mm=p1 addr=buf1 length=4K" */
export function describeStep(s: Record<string, unknown>): string {
  const args = Object.entries(s).filter(([k]) => k !== "op" && k !== "as").map(([k, v]) => `${k}=${v}`);
  return `${s.op}${args.length ? " " + args.join(" ") : ""}`;
}

/**
 * Run a symbolic trace on a fresh engine through a recorder: the trace file of
 * what ran. Ops the core rejects (or skips) change nothing, so they are left out
 * first and the recording sees every op's result.
 */
export async function recordSymbolic(t: SymTrace, scheme: SchemeInput, capacity: Partial<Capacity>, meta: { source: string; seed?: number | null; engineVersion?: string }): Promise<Uint8Array> {
  const dry = new SymExecutor(await Engine.create({ scheme, capacity }));
  dry.run(t);
  const ran = t.filter(Array.from({ length: t.n }, (_, i) => dry.status[i] === ST_OK));
  const rec = new TraceRecorder(await Engine.create({ scheme, capacity }), { source: meta.source, seed: meta.seed ?? null, engineVersion: meta.engineVersion });
  new SymExecutor(rec).run(ran);
  return rec.finish();
}
