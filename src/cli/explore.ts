/**
 * `refsim explore --schemes S [--kinds a,b] [--seed N] [--ops 10M | --time 30s]`:
 * seeded random episodes until an invariant breaks or the budget ends; a violation
 * is shrunk to a minimal scenario, written as a scenario file (default
 * explore-<scheme>-<kind>.json) that `refsim run` reproduces. Exit status 1 when
 * a violation was found, 0 when the budget ran out clean, 2 for bad input.
 * The flags are in commands.ts.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { RefsimError } from "../core/errors.ts";
import { MAX_OPS } from "../core/ops.ts";
import { VIOLATION_KINDS, type ViolationKind } from "../core/violations.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import { packageRoot } from "../scenario/load.ts";
import type { Scenario } from "../scenario/types.ts";
import { OutputFile, writeOutputs } from "./output.ts";
import { opsArg, optionalCount } from "./flags.ts";
import { oneScheme } from "./scheme-arg.ts";
import { Progress } from "./progress.ts";
import { count, rate, seconds } from "./format.ts";
import { explore, recordSymbolic, describeStep, parseKinds, parseRatios, DEFAULT_KINDS, type ExploreResult } from "../explore/index.ts";

export interface ExploreCliOptions {
  schemes?: string;
  kinds?: string;
  seed?: string;
  ops?: string;
  time?: string;
  /** The old name: ops (10M) or a time (30s). */
  budget?: string;
  episode?: string;
  mix?: string;
  violation?: string;
  out?: string;
  trace?: string;
  "no-shrink"?: boolean;
  json?: boolean;
  quiet?: boolean;
  progress?: boolean;
}

/** package.json's version: the engine version written into traces. */
export function engineVersion(): string {
  try {
    return String(JSON.parse(readFileSync(resolve(packageRoot(), "package.json"), "utf8")).version);
  } catch {
    return "unknown";
  }
}

/** "10M", "250k", "5000" -> ops; "30s", "2min" -> seconds. */
export function parseBudget(s: string): { ops?: number; seconds?: number } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(k|K|M|G|s|sec|min)?\s*$/.exec(s);
  if (!m) throw new RefsimError(`--budget: cannot read '${s}' (ops like 10M or 250k, or seconds like 30s or 2min)`, { field: "budget" });
  const n = Number(m[1]);
  if (m[2] === "s" || m[2] === "sec" || m[2] === "min") return { seconds: m[2] === "min" ? n * 60 : n };
  const unit = m[2] === undefined ? 1 : ({ k: 1e3, K: 1e3, M: 1e6, G: 1e9 } as Record<string, number>)[m[2]];
  const ops = Math.round(n * unit);
  if (unit === 1 && (!Number.isInteger(n) || n < 1)) throw new RefsimError(`--budget: a number of ops must be a whole number >= 1, got '${s}'`, { field: "budget" });
  if (ops < 1) throw new RefsimError(`--budget: '${s}' is less than one op`, { field: "budget" });
  if (ops > MAX_OPS) throw new RefsimError(`--budget: '${s}' is more ops than one engine can run (at most ${MAX_OPS}: op sequence numbers are 32-bit); give a time budget like 90min for a longer run`, { field: "budget" });
  return { ops };
}

/** A time budget: "30s", "90sec", "2min", or plain seconds. */
export function parseTime(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|sec|min)?\s*$/.exec(s);
  if (!m || Number(m[1]) <= 0) throw new RefsimError(`--time: cannot read '${s}' (seconds like 30s or 90, or minutes like 2min)`, { field: "time" });
  return Number(m[1]) * (m[2] === "min" ? 60 : 1);
}

/** Scenario JSON with one step a line, as the built-in scenarios are written. */
export function formatScenario(s: Scenario): string {
  const { steps, ...top } = s;
  const head = JSON.stringify(top, null, 2).replace(/\n}$/, "");
  const capacity = top.capacity ? JSON.stringify(top.capacity) : undefined;
  const headOneLineCap = capacity ? head.replace(/"capacity": \{[\s\S]*?\n  \}/, `"capacity": ${capacity}`) : head;
  const schemes = JSON.stringify(top.schemes);
  const fixed = headOneLineCap.replace(/"schemes": \[[\s\S]*?\n  \]/, `"schemes": ${schemes}`);
  return `${fixed},\n  "steps": [\n${steps.map((st) => `    ${JSON.stringify(st)}`).join(",\n")}\n  ]\n}\n`;
}

/** The scenario file written for a violation of `kind` when --out is not given. */
function defaultOut(schemeName: string, kind: string): string {
  return `explore-${schemeName}-${kind}.json`.replace(/[^\w.-]+/g, "_");
}

export async function exploreCommand(args: string[], o: ExploreCliOptions): Promise<number> {
  if (args.length) throw new RefsimError(`explore: unexpected argument '${args[0]}' (see refsim explore --help)`, { field: "explore" });
  const scheme = oneScheme(o.schemes, "explore");
  const schemeName = resolveScheme(scheme).name;
  const kinds = o.kinds ? parseKinds(o.kinds) : [...DEFAULT_KINDS];
  const seed = optionalCount(o.seed, "--seed", 0, 2 ** 32 - 1) ?? 1;
  if ([o.ops, o.time, o.budget].filter((x) => x !== undefined).length > 1) throw new RefsimError("explore: give one of --ops and --time", { field: "ops" });
  const budget: { ops?: number; seconds?: number } = o.ops !== undefined ? { ops: opsArg(o.ops) }
    : o.time !== undefined ? { seconds: parseTime(o.time) } : o.budget !== undefined ? parseBudget(o.budget) : {};
  const episodeOps = optionalCount(o.episode, "--episode", 16, 1 << 20);
  const ratios = o.mix ? parseRatios(o.mix) : undefined;
  if (o.violation !== undefined && !(VIOLATION_KINDS as readonly string[]).includes(o.violation)) {
    throw new RefsimError(`--violation: unknown kind '${o.violation}' (kinds: ${VIOLATION_KINDS.join(", ")})`, { field: "violation" });
  }
  // Where the results go is checked before exploring: a bad --out or --trace costs nothing.
  const outFile = OutputFile.check(o.out ?? defaultOut(schemeName, "KIND"), "--out");
  const traceFile = o.trace === undefined ? undefined : OutputFile.check(o.trace, "--trace");
  const say = (line: string) => { if (!o.json) process.stdout.write(line + "\n"); };
  const budgetText = budget.seconds !== undefined ? `${budget.seconds} s` : `${count(budget.ops ?? 1_000_000)} ops`;
  say(`refsim explore: scheme ${schemeName}, kinds ${kinds.join(",")}, seed ${seed}, budget ${budgetText}`);
  // Progress in ops against the op budget, or in seconds against the time budget.
  const progress = o.quiet ? undefined : budget.seconds !== undefined
    ? new Progress(`explore ${schemeName}`, Math.ceil(budget.seconds), "s", !!o.progress)
    : new Progress(`explore ${schemeName}`, budget.ops ?? 1_000_000, "ops", !!o.progress);
  const r: ExploreResult = await explore({
    scheme, kinds, seed, budgetOps: budget.ops, budgetSeconds: budget.seconds, episodeOps, ratios,
    violation: o.violation as ViolationKind | undefined, shrink: !o["no-shrink"], keepTrace: !!o.trace,
    onProgress: progress && ((p) => progress.update(budget.seconds !== undefined ? Math.floor(p.elapsedMs / 1000) : p.ops)),
  });
  progress?.end();
  const version = engineVersion();
  const speed = `${rate(r.opsPerSec)} ops/s`;
  let out: string | undefined;
  if (r.found) {
    const f = r.found;
    out = o.out ?? defaultOut(schemeName, f.failure.kind);
    const writes: [OutputFile, string | Uint8Array][] = [[o.out !== undefined ? outFile : outFile.sibling(out), formatScenario(f.scenario)]];
    if (traceFile) {
      writes.push([traceFile, await recordSymbolic(f.original, scheme, r.capacity, { source: `explore ${schemeName} seed ${seed} episode ${f.episode}`, seed: f.episodeSeed, engineVersion: version })]);
    }
    writeOutputs(writes);
    if (o.json) {
      process.stdout.write(JSON.stringify({ ...summary(r), out, trace: o.trace ?? null, scenario: f.scenario }, null, 2) + "\n");
      return 1;
    }
    say(`found ${f.failure.kind} caused by ${f.failure.culprit} in episode ${f.episode} after ${count(r.ops)} ops in ${seconds(r.exploreMs)} (${speed}); ${seconds(r.elapsedMs)} in all`);
    say(`shrunk ${count(f.detected.n)} ops (cut after the detection) -> ${count(f.shrunk.n)} ops in ${f.shrinkRuns} runs (${seconds(f.shrinkMs)}):`);
    const steps = f.scenario.steps.filter((s) => "op" in s) as unknown as Record<string, unknown>[];
    steps.forEach((s, i) => {
      const tags: string[] = [];
      if (i === f.violation.index) tags.push(`caused ${f.failure.kind}`);
      if (i === f.detectedAt) tags.push("detected here");
      say(`  ${String(i + 1).padStart(2)}  ${describeStep(s)}${s.as ? `  as ${s.as}` : ""}${tags.length ? `   <- ${tags.join(", ")}` : ""}`);
    });
    const counts = Object.entries(f.outcome.stats.violations).filter(([k, n]) => (VIOLATION_KINDS as readonly string[]).includes(k) && (n as number) > 0);
    say(`violations: ${counts.map(([k, n]) => `${k} ${n}`).join(", ")}`);
    say(`wrote ${out} (refsim run ${out} reproduces it)${o.trace ? `; trace of the machine's op stream: ${o.trace}` : ""}`);
    return 1;
  }
  if (traceFile && r.machineTrace) {
    traceFile.write(await recordSymbolic(r.machineTrace, scheme, r.capacity, { source: `explore ${schemeName} seed ${seed} last machine`, seed, engineVersion: version }));
  }
  if (o.json) {
    process.stdout.write(JSON.stringify({ ...summary(r), out: null, trace: o.trace ?? null }, null, 2) + "\n");
    return 0;
  }
  say(`no violation: ${count(r.episodes)} episodes, ${count(r.ops)} ops in ${seconds(r.elapsedMs)} (${speed})${o.trace ? `; trace of the last machine: ${o.trace}` : ""}`);
  return 0;
}

function summary(r: ExploreResult) {
  return {
    scheme: r.scheme, kinds: r.kinds, seed: r.seed, episodes: r.episodes, ops: r.ops, elapsedMs: Math.round(r.elapsedMs),
    opsPerSec: r.opsPerSec, stop: r.stop,
    found: r.found ? {
      kind: r.found.failure.kind, culprit: r.found.failure.culprit, episode: r.found.episode, episodeSeed: r.found.episodeSeed,
      opsBefore: r.found.detected.n, opsAfter: r.found.shrunk.n, shrinkRuns: r.found.shrinkRuns, shrinkMs: Math.round(r.found.shrinkMs),
      violations: r.found.outcome.violations.map(({ kind, index, culprit, pfn, refcount, mapcount, extra }) => ({ kind, step: index + 1, culprit, pfn, refcount, mapcount, extra })),
    } : null,
  };
}
