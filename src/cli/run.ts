/**
 * `refsim run <scenario>...` (and the default job): scenarios side by side under
 * the schemes given, as tables, JSON, or TAP (`--tap`, TAP version 13 as
 * kselftest prints it: one test point per scenario and scheme, the failed
 * expectations and a rejected step as YAML diagnostics), so `scenarios/` plugs
 * into TAP-reading CI. Exit status: 2 if a step was rejected (bad input), 1 if an
 * expectation failed, else 0.
 */
import type { SchemeInput } from "../scheme/resolve.ts";
import { resolveScheme } from "../scheme/resolve.ts";
import { loadScenario } from "../scenario/load.ts";
import { runScenario, type ScenarioRun } from "../scenario/run.ts";
import { sideBySide, violationDetails, show } from "../report/table.ts";
import { schemeList } from "./scheme-arg.ts";
import { colourOn, paintOutcomes } from "./style.ts";

export const DEFAULT_SCHEMES = ["E0-devmap", "E0", "E2", "E4"];
export const DEFAULT_SCENARIOS = ["seed", "coherent-wp-after-fork"];

export type RunFormat = "table" | "json" | "tap";

/** A YAML block scalar's line: quoted, so any text is safe. */
const yamlString = (s: string) => JSON.stringify(s);

/** One TAP test point for a scenario run under one scheme. */
export function tapPoint(n: number, r: ScenarioRun): string {
  const ok = r.passed && !r.error;
  const failed = r.checks.filter((c) => c.pass === false);
  const lines = [`${ok ? "ok" : "not ok"} ${n} ${r.scenario} [${r.scheme}]`];
  if (!ok) {
    lines.push("  ---");
    if (r.error) lines.push(`  error: ${yamlString(`step ${r.error.step + 1}: ${r.error.message}`)}`);
    if (failed.length) {
      lines.push("  failed:");
      for (const c of failed) lines.push(`    - ${yamlString(`step ${c.step + 1} ${c.label}: ${c.field} expected ${show(c.expected)}, observed ${show(c.observed)}`)}`);
    }
    if (r.violations.length) lines.push(`  violations: ${yamlString(r.violations.map((v) => v.kind).join(", "))}`);
    lines.push("  ...");
  }
  return lines.join("\n");
}

/** Run scenarios; prints as `format` asks and returns the exit status. */
export async function runScenarios(refs: string[], schemesOpt: string | undefined, format: RunFormat): Promise<number> {
  let ok = true;
  const rejected: string[] = [];
  const all: ScenarioRun[][] = [];
  const colour = colourOn(process.stdout);
  let point = 0;
  if (format === "tap") console.log("TAP version 13");
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
    if (format === "json") continue;
    if (format === "tap") {
      console.log(`# ${sc.name}${sc.spec ? ` (spec §7 ${sc.spec})` : ""}: ${sc.title ?? ""}`);
      for (const r of runs) console.log(tapPoint(++point, r));
      continue;
    }
    console.log(`\n== ${sc.name}${sc.spec ? ` (spec §7 ${sc.spec})` : ""}: ${sc.title ?? ""}`);
    console.log(paintOutcomes(sideBySide(runs), colour));
    const details = violationDetails(runs);
    if (details) console.log(`\nviolations, with the step that caused them:\n${details}`);
  }
  if (format === "tap") console.log(`1..${point}`);
  if (format === "json") console.log(JSON.stringify(all.flat(), null, 2));
  // Everything before a rejected step is reported above; the rejection itself is bad input.
  for (const line of rejected) console.error(`refsim: ${line}`);
  return rejected.length ? 2 : ok ? 0 : 1;
}
