/**
 * Sweeps: schemes × (scenarios, and workloads × param grid × seeds), expanded into
 * a numbered run list in one fixed order, run one fresh engine per run, and
 * gathered into a results document (src/experiment/results.ts).
 *
 * A run's result depends only on its scheme, subject, params and seed, never on
 * which worker, shard or machine ran it, so `--shard i/N` (runs whose index ≡ i
 * mod N) split across a batch system merge back into exactly the document of an
 * unsharded run. Wall-clock timings live apart, in `meta`.
 *
 * This module is runtime-neutral (no node: imports): the CLI fans runOne out over
 * worker threads; runSweep here runs the plan sequentially (Deno, browsers, tests).
 *
 * @example
 * ```ts
 * import { runSweep } from "./sweep.ts";
 * const doc = await runSweep({
 *   name: "fork", schemes: ["E0", "E4"],
 *   workloads: [{ workload: "fork-cost", params: { pages: [64, 512] } }], seeds: [1],
 * });
 * console.log(doc.runs.map((r) => `${r.scheme} ${r.params.pages}: ${r.measures?.atomicsPerFork}`));
 * ```
 */
import { Engine, type Capacity } from "../core/engine.ts";
import { RefsimError } from "../core/errors.ts";
import { VIOLATION_KINDS } from "../core/violations.ts";
import type { Stats } from "../core/stats.ts";
import type { Scheme } from "../scheme/presets.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import { checkScenario, type LoadedScenario } from "../scenario/parse.ts";
import { runScenario } from "../scenario/run.ts";
import type { Scenario } from "../scenario/types.ts";
import { Prng } from "../workload/prng.ts";
import { REFSIM_VERSION, RESULTS_FORMAT, nowMs, runtimeInfo } from "./meta.ts";
import type { ResultsDoc, ResultsMeta, RunResult, RunTiming, SweepInfo } from "./results.ts";
import { registryWorkloads } from "./registry.ts";
import { SamplingTarget } from "./sampler.ts";
import { scenarioTimeline } from "./timeline.ts";
import { checkSweep, sweepWhere } from "./sweep-check.ts";
import { EXPERIMENT_WORKLOADS, withDefaults, type ParamValue, type Params, type WorkloadDef } from "./workloads.ts";

/** A sweep file: what to run. */
export interface SweepSpec {
  name: string;
  /** Preset names or custom schemes ({ name, base, rules }). */
  schemes: SchemeInput[];
  /** Built-in scenario names, file paths (the host loads them) or scenario objects. */
  scenarios?: (string | Scenario)[];
  /**
   * Workloads, each with params given as one value or a list to sweep, and
   * optionally the engine capacity for its runs (over what the workload asks for).
   */
  workloads?: { workload: string; params?: Record<string, ParamValue | ParamValue[]>; capacity?: Partial<Capacity> }[];
  /** Seeds for workload runs (default [1]); scenarios are deterministic and run once. */
  seeds?: number[];
  /** Sample the counters every this many ops in workload runs (default 256). */
  every?: number;
}

/** Counters are sampled every this many ops in workload runs unless a sweep says otherwise. */
export const DEFAULT_EVERY = 256;

/** One run of the plan: plain data, so it can be posted to a worker. */
export interface RunSpec {
  index: number;
  id: string;
  kind: "scenario" | "workload";
  /** Scenario name / reference, or workload name. */
  subject: string;
  scheme: Scheme;
  /** Every scheme of the sweep, for per-scheme expectations in scenarios. */
  allSchemes: string[];
  params: Params;
  seed: number | null;
  every: number;
  scenario?: LoadedScenario;
  /** Engine capacity the sweep sets for this workload run. */
  capacity?: Partial<Capacity>;
}

export interface SweepPlan {
  info: SweepInfo;
  runs: RunSpec[];
}

export interface Shard {
  index: number;
  count: number;
}

export interface SweepHost {
  /** Load a scenario given by name or path (the CLI reads files; default: only inline objects). */
  loadScenario?: (ref: string) => Promise<LoadedScenario>;
  /** More workloads, by name, besides the built-in experiment workloads. */
  workloads?: Record<string, WorkloadDef>;
  /** The sweep file's name, for messages. */
  source?: string;
  /** The line of each JSON path in the sweep file (scanJson's `paths`), for messages. */
  lines?: Map<string, number>;
}

/** "i/N" -> { index: i, count: N }, 0 <= i < N. */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) {
    throw new RefsimError(`--shard must be i/N with 0 <= i < N (e.g. 0/4), got '${s}'`, { field: "shard" });
  }
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** The runs a shard takes: those whose index ≡ shard.index (mod shard.count). */
export function shardRuns<T extends { index: number }>(runs: readonly T[], shard?: Shard): T[] {
  return shard ? runs.filter((r) => r.index % shard.count === shard.index) : [...runs];
}

/** FNV-1a of a string, as 8 hex digits. */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

function grid(params: Record<string, ParamValue | ParamValue[]> = {}): Params[] {
  let out: Params[] = [{}];
  for (const k of Object.keys(params).sort()) {
    const vs = Array.isArray(params[k]) ? (params[k] as ParamValue[]) : [params[k] as ParamValue];
    if (!vs.length) throw new RefsimError(`sweep: param '${k}' lists no values`, { field: k });
    out = out.flatMap((p) => vs.map((v) => ({ ...p, [k]: v })));
  }
  return out;
}

function paramText(p: Params): string {
  return Object.keys(p).sort().map((k) => `${k}=${typeof p[k] === "object" ? JSON.stringify(p[k]) : p[k]}`).join(",");
}

/** Workloads a sweep can name: the host's, the built-in experiment workloads, the registry's. */
export async function sweepWorkloads(host: SweepHost = {}): Promise<Record<string, WorkloadDef>> {
  return { ...(await registryWorkloads()), ...EXPERIMENT_WORKLOADS, ...host.workloads };
}

async function workloadDef(name: string, host: SweepHost, path = "workload"): Promise<WorkloadDef> {
  const all = await sweepWorkloads(host);
  const w = Object.hasOwn(all, name) ? all[name] : undefined;
  if (!w) {
    const known = Object.keys(all);
    throw new RefsimError(`${sweepWhere(host, path)}: unknown workload '${name}' (workloads: ${known.join(", ")})`, { field: "workload", code: "BAD_SWEEP" });
  }
  return w;
}

/** Run `f`; a RefsimError it throws is re-thrown with the sweep file, line and path in front. */
function at<T>(host: SweepHost, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof RefsimError)) throw e;
    throw new RefsimError(`${sweepWhere(host, path)}: ${e.message}`, { field: e.field, code: "BAD_SWEEP" });
  }
}

/** Check a sweep spec and expand it into its numbered runs, in the one fixed order. */
export async function planSweep(spec: SweepSpec, host: SweepHost = {}): Promise<SweepPlan> {
  if (!spec || typeof spec !== "object" || Array.isArray(spec)) throw new RefsimError(`${host.source ?? "sweep"}: expected an object with name, schemes, scenarios and/or workloads`, { field: "sweep", code: "BAD_SWEEP" });
  checkSweep(spec, host.source, host.lines);
  if (!spec.name) throw new RefsimError(`${sweepWhere(host, "name")}: 'name' must be a non-empty string`, { field: "name", code: "BAD_SWEEP" });
  if (!Array.isArray(spec.schemes) || !spec.schemes.length) throw new RefsimError(`${sweepWhere(host, "schemes")}: 'schemes' must list at least one scheme`, { field: "schemes", code: "BAD_SWEEP" });
  const schemes = spec.schemes.map((s, i) => at(host, `schemes[${i}]`, () => resolveScheme(s)));
  const names = schemes.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new RefsimError(`${sweepWhere(host, "schemes")}: scheme listed twice (${names.join(", ")})`, { field: "schemes", code: "BAD_SWEEP" });
  const seeds = spec.seeds ?? [1];
  if (!Array.isArray(seeds) || !seeds.length || !seeds.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 32)) {
    throw new RefsimError(`${sweepWhere(host, "seeds")}: 'seeds' must list whole numbers 0 .. 2^32-1`, { field: "seeds", code: "BAD_SWEEP" });
  }
  const every = spec.every ?? DEFAULT_EVERY;
  if (!Number.isInteger(every) || every < 1) throw new RefsimError(`${sweepWhere(host, "every")}: 'every' must be a whole number >= 1`, { field: "every", code: "BAD_SWEEP" });
  if (!spec.scenarios?.length && !spec.workloads?.length) throw new RefsimError(`${host.source ?? "sweep"}: name at least one scenario or workload`, { field: "scenarios", code: "BAD_SWEEP" });

  const runs: RunSpec[] = [];
  const add = (r: Omit<RunSpec, "index" | "id" | "scheme" | "allSchemes" | "every">) => {
    for (const scheme of schemes) {
      const cap = r.capacity ? `|capacity=${paramText(r.capacity as Params)}` : "";
      const id = `${r.kind}:${r.subject}|${scheme.name}|${paramText(r.params)}|seed=${r.seed ?? "-"}${cap}`;
      runs.push({ ...r, index: runs.length, id, scheme, allSchemes: names, every });
    }
  };
  for (const [i, ref] of (spec.scenarios ?? []).entries()) {
    let loaded: LoadedScenario;
    if (typeof ref === "string") {
      if (!host.loadScenario) throw new RefsimError(`${sweepWhere(host, `scenarios[${i}]`)}: scenario '${ref}' is a name; this host loads only scenario objects`, { field: "scenarios" });
      try {
        loaded = await host.loadScenario(ref);
      } catch (e) {
        if (!(e instanceof RefsimError)) throw e;
        throw new RefsimError(`${sweepWhere(host, `scenarios[${i}]`)}: ${e.message}`, { field: e.field ?? "scenarios", code: e.code });
      }
    } else {
      loaded = at(host, `scenarios[${i}]`, () => checkScenario(ref, ref?.name ?? "scenario"));
    }
    add({ kind: "scenario", subject: typeof ref === "string" ? ref : loaded.scenario.name, params: {}, seed: null, scenario: loaded });
  }
  for (const [i, w] of (spec.workloads ?? []).entries()) {
    const def = await workloadDef(w?.workload, host, `workloads[${i}].workload`);
    for (const p of at(host, `workloads[${i}].params`, () => grid(w.params))) {
      const params = at(host, `workloads[${i}].params`, () => withDefaults(def, p));
      for (const seed of seeds) add({ kind: "workload", subject: def.name, params, seed, ...(w.capacity ? { capacity: { ...w.capacity } } : {}) });
    }
  }
  const ids = new Set<string>();
  for (const r of runs) {
    if (ids.has(r.id)) throw new RefsimError(`sweep: run '${r.id}' appears twice (a scenario or workload listed twice?)`, { field: "sweep" });
    ids.add(r.id);
  }
  const schemeRules = Object.fromEntries(schemes.map((s) => [s.name, { ...s.rules }]));
  const fingerprint = fnv1a(JSON.stringify([RESULTS_FORMAT, spec.name, every, runs.map((r) => r.id), schemeRules]));
  return { info: { name: spec.name, runs: runs.length, every, fingerprint, schemes: schemeRules }, runs };
}

function violationCounts(s: Stats): Record<string, number> {
  return Object.fromEntries(VIOLATION_KINDS.map((k) => [k, s.violations[k] ?? 0]));
}

/** Run one planned run on a fresh engine. The result depends only on the RunSpec. */
export async function runOne(spec: RunSpec, host: SweepHost = {}): Promise<{ result: RunResult; timing: RunTiming }> {
  const base = { index: spec.index, id: spec.id, kind: spec.kind, subject: spec.subject, scheme: spec.scheme.name, params: spec.params, seed: spec.seed };
  if (spec.kind === "scenario") {
    const loaded = spec.scenario!;
    const t0 = nowMs();
    const run = await runScenario(loaded, spec.scheme, spec.allSchemes);
    const ms = nowMs() - t0;
    const { steps: _steps, stoppedAt: _stopped, ...series } = await scenarioTimeline(loaded, spec.scheme);
    const ops = series.op[series.op.length - 1] ?? 0;
    const result: RunResult = {
      ...base,
      ops,
      passed: run.passed,
      ...(run.error ? { error: run.error.message } : {}),
      violations: violationCounts(run.stats),
      stats: run.stats,
      checks: run.checks.map(({ step, label, field, expected, observed, pass }) => ({ step, label, field, expected, observed, pass })),
      violationRecords: run.violations.map((v) => ({ kind: v.kind, step: v.step, op: v.op, pfn: v.pfn, refcount: v.refcount, mapcount: v.mapcount })),
      series,
    };
    return { result, timing: { ms, opsPerSec: ms > 0 ? ops / (ms / 1000) : 0 } };
  }
  const def = await workloadDef(spec.subject, host);
  const engine = await Engine.create({ scheme: spec.scheme, capacity: { ...def.capacity?.(spec.params), ...spec.capacity } });
  const target = new SamplingTarget(engine, spec.every);
  const measures: Record<string, number> = {};
  let error: string | undefined;
  const t0 = nowMs();
  try {
    await def.run({ target, params: spec.params, prng: new Prng(spec.seed ?? 0), seed: spec.seed ?? 0, measure: (k, v) => void (measures[k] = v) });
    target.run([{ op: "teardown" }]);
  } catch (e) {
    if (!(e instanceof RefsimError)) throw e;
    error = e.message;
  }
  const ms = nowMs() - t0;
  const series = target.finish();
  const stats = engine.stats();
  const result: RunResult = {
    ...base,
    ops: engine.opsExecuted,
    passed: null,
    ...(error ? { error } : {}),
    violations: violationCounts(stats),
    stats,
    measures,
    series,
  };
  return { result, timing: { ms, opsPerSec: ms > 0 ? engine.opsExecuted / (ms / 1000) : 0 } };
}

/** The results document from a plan's info and the results of the runs done. */
export function assembleResults(info: SweepInfo, results: RunResult[], meta: ResultsMeta): ResultsDoc {
  return { format: RESULTS_FORMAT, sweep: info, runs: [...results].sort((a, b) => a.index - b.index), meta };
}

/** Fresh metadata for a sweep started now. */
export function startMeta(shard: Shard | undefined, workers: number): ResultsMeta {
  return {
    refsim: REFSIM_VERSION,
    runtime: runtimeInfo(),
    startedAt: new Date().toISOString(),
    wallMs: 0,
    workers,
    shard: shard ? `${shard.index}/${shard.count}` : null,
    runs: {},
  };
}

/** Plan and run a sweep (or one shard of it) sequentially in this thread. */
export async function runSweep(spec: SweepSpec, opts: SweepHost & { shard?: Shard; onRun?: (r: RunResult) => void } = {}): Promise<ResultsDoc> {
  const plan = await planSweep(spec, opts);
  const meta = startMeta(opts.shard, 1);
  const t0 = nowMs();
  const results: RunResult[] = [];
  for (const r of shardRuns(plan.runs, opts.shard)) {
    const { result, timing } = await runOne(r, opts);
    results.push(result);
    meta.runs[r.id] = { ...timing, worker: 0 };
    opts.onRun?.(result);
  }
  meta.wallMs = nowMs() - t0;
  return assembleResults(plan.info, results, meta);
}
