/**
 * `refsim explore --scheme S [--kinds a,b] [--seed N] [--budget 10M|30s]`: seeded
 * random episodes until an invariant breaks or the budget ends; a violation is
 * shrunk to a minimal scenario, written as a scenario file (default
 * explore-<scheme>-<kind>.json) that `refsim run` reproduces. Exit status 1 when
 * a violation was found, 0 when the budget ran out clean, 2 for bad input.
 *
 * Options: --episode N (ops per episode), --mix gup=8,fork=0 (op ratios),
 * --violation KIND (only that kind counts), --no-shrink, --out FILE, --trace FILE
 * (record the op stream of the machine that broke, or of the last one),
 * --json (the result as JSON on stdout), --quiet (no progress).
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
import { readJsonFile } from "./input.ts";
import { explore, recordSymbolic, describeStep, parseKinds, parseRatios, DEFAULT_KINDS, type ExploreResult } from "../explore/index.ts";

export interface ExploreCliOptions {
  scheme?: string;
  kinds?: string;
  seed?: string;
  budget?: string;
  episode?: string;
  mix?: string;
  violation?: string;
  out?: string;
  trace?: string;
  "no-shrink"?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** package.json's version: the engine version written into traces. */
export function engineVersion(): string {
  try {
    return String(JSON.parse(readFileSync(resolve(packageRoot(), "package.json"), "utf8")).version);
  } catch {
    return "unknown";
  }
}

/** A scheme from the command line: a preset name, or a custom scheme file (.json) kept as written. */
export function schemeInputArg(s: string | undefined, option = "--scheme"): SchemeInput {
  if (!s) throw new RefsimError(`${option}: name a scheme preset or a custom scheme file (.json)`, { field: option.replace(/^-+/, "") });
  if (!s.endsWith(".json")) {
    resolveScheme(s);
    return s;
  }
  const obj = readJsonFile(s, option);
  try {
    resolveScheme(obj as SchemeInput);
  } catch (e) {
    throw new RefsimError(`${option}: ${s}: ${(e as Error).message}`, { field: "scheme" });
  }
  return obj as SchemeInput;
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

export function wholeArg(s: string | undefined, option: string, min: number, max = 2 ** 32 - 1): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max) throw new RefsimError(`${option}: must be a whole number from ${min} to ${max}, got '${s}'`, { field: option.replace(/^-+/, "") });
  return n;
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
  if (args.length) throw new RefsimError(`explore: unexpected argument '${args[0]}' (options: --scheme, --kinds, --seed, --budget, --episode, --mix, --violation, --no-shrink, --out, --trace)`, { field: "explore" });
  const scheme = schemeInputArg(o.scheme);
  const schemeName = resolveScheme(scheme).name;
  const kinds = o.kinds ? parseKinds(o.kinds) : [...DEFAULT_KINDS];
  const seed = wholeArg(o.seed, "--seed", 0) ?? 1;
  const budget = o.budget ? parseBudget(o.budget) : {};
  const episodeOps = wholeArg(o.episode, "--episode", 16, 1 << 20);
  const ratios = o.mix ? parseRatios(o.mix) : undefined;
  if (o.violation !== undefined && !(VIOLATION_KINDS as readonly string[]).includes(o.violation)) {
    throw new RefsimError(`--violation: unknown kind '${o.violation}' (kinds: ${VIOLATION_KINDS.join(", ")})`, { field: "violation" });
  }
  // Where the results go is checked before exploring: a bad --out or --trace costs nothing.
  const outFile = OutputFile.check(o.out ?? defaultOut(schemeName, "KIND"), "--out");
  const traceFile = o.trace === undefined ? undefined : OutputFile.check(o.trace, "--trace");
  const say = (line: string) => { if (!o.json) process.stdout.write(line + "\n"); };
  const budgetText = budget.seconds !== undefined ? `${budget.seconds} s` : `${(budget.ops ?? 1_000_000).toLocaleString("en-US")} ops`;
  say(`refsim explore: scheme ${schemeName}, kinds ${kinds.join(",")}, seed ${seed}, budget ${budgetText}`);
  const r: ExploreResult = await explore({
    scheme, kinds, seed, budgetOps: budget.ops, budgetSeconds: budget.seconds, episodeOps, ratios,
    violation: o.violation as ViolationKind | undefined, shrink: !o["no-shrink"], keepTrace: !!o.trace,
    onProgress: o.quiet || o.json ? undefined : (p) => process.stderr.write(`  ... ${p.episodes} episodes, ${p.ops.toLocaleString("en-US")} ops, ${(p.elapsedMs / 1000).toFixed(0)} s\n`),
  });
  const version = engineVersion();
  const rate = `${r.opsPerSec.toLocaleString("en-US")} ops/s`;
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
    say(`found ${f.failure.kind} caused by ${f.failure.culprit} in episode ${f.episode} after ${r.ops.toLocaleString("en-US")} ops in ${(r.exploreMs / 1000).toFixed(2)} s (${rate}); ${(r.elapsedMs / 1000).toFixed(2)} s in all`);
    say(`shrunk ${f.detected.n} ops (cut after the detection) -> ${f.shrunk.n} ops in ${f.shrinkRuns} runs (${(f.shrinkMs / 1000).toFixed(2)} s):`);
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
  say(`no violation: ${r.episodes.toLocaleString("en-US")} episodes, ${r.ops.toLocaleString("en-US")} ops in ${(r.elapsedMs / 1000).toFixed(2)} s (${rate})${o.trace ? `; trace of the last machine: ${o.trace}` : ""}`);
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
