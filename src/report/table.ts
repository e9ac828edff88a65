/**
 * Side-by-side text tables: one column per scheme, one row per observation, so a
 * reader sees at a glance where the schemes part ways.
 *
 * @example
 * ```ts
 * import { formatTable } from "./table.ts";
 * console.log(formatTable(["", "E0", "E2"], [["refcount", "2", "1"]]));
 * ```
 */
import type { Check, ScenarioRun } from "../scenario/run.ts";
import { violationCounts } from "../core/violations.ts";

/** Pad columns to equal width. */
export function formatTable(header: string[], rows: string[][]): string {
  // a loop, not Math.max(...rows): a million rows overflow the argument stack
  const widths = header.map((h) => h.length);
  for (const r of rows) r.forEach((x, c) => { if (c < widths.length) widths[c] = Math.max(widths[c], (x ?? "").length); });
  const line = (r: string[]) => r.map((x, c) => (x ?? "").padEnd(widths[c])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function show(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length ? entries.map(([k, x]) => `${k}:${x}`).join(" ") : "none";
  }
  return String(v);
}

/** One scenario under several schemes, side by side. */
export function sideBySide(runs: ScenarioRun[]): string {
  const header = ["", ...runs.map((r) => r.scheme)];
  const rows: string[][] = [];
  // one pass over the checks (a Map, not a search per row: 1 M expect steps were quadratic here)
  const byKey = new Map<string, (Check | undefined)[]>();
  runs.forEach((r, i) => {
    for (const c of r.checks) {
      const k = `${c.step}\u0000${c.label}\u0000${c.field}`;
      let row = byKey.get(k);
      if (!row) byKey.set(k, (row = new Array(runs.length).fill(undefined)));
      row[i] ??= c;
    }
  });
  for (const row of byKey.values()) {
    const first = row.find((c) => c !== undefined)!;
    rows.push([`${first.label}: ${first.field}`, ...row.map((c) => {
      if (!c) return "";
      const mark = c.pass === null ? "" : c.pass ? " ok" : ` FAIL (want ${show(c.expected)})`;
      return show(c.observed) + mark;
    })]);
  }
  const boNames = [...new Set(runs.flatMap((r) => r.bos.map((b) => b.name)))];
  for (const name of boNames) {
    rows.push([`BO ${name} at end`, ...runs.map((r) => {
      const b = r.bos.find((x) => x.name === name);
      return b ? (b.state === "freed" ? "freed" : `live (${b.pages} pages)`) : "-";
    })]);
  }
  rows.push(["violations", ...runs.map((r) => {
    if (!r.violations.length) return "none";
    const counts = new Map<string, number>();
    for (const v of r.violations) {
      const key = `${v.kind}@step ${v.step === null ? "?" : v.step + 1}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([k, n]) => (n > 1 ? `${n}x ${k}` : k)).join(", ");
  })]);
  rows.push(["expectations", ...runs.map((r) => (r.error ? "ERROR" : r.passed ? "pass" : "FAIL"))]);
  return formatTable(header, rows);
}

/** Every violation with the step and op that caused it, one per line. */
export function violationDetails(runs: ScenarioRun[]): string {
  const out: string[] = [];
  for (const r of runs) {
    for (const v of r.violations) {
      const step = v.step === null ? "before any step" : `step ${v.step + 1} (${r.stepText[v.step]})`;
      const where = v.pfn ? `pfn ${v.pfn}` : v.kind === "leak_bo" ? `BO ${v.extra}` : "";
      const counts = violationCounts(v);
      out.push(`  ${r.scheme}: ${v.kind} at ${step}: ${where}${where ? ", " : ""}${counts}`);
    }
    if (r.error) out.push(`  ${r.scheme}: ERROR ${r.error.message}`);
    if (r.stopped) out.push(`  ${r.scheme}: STOPPED ${r.stopped.message}`);
  }
  return out.join("\n");
}
