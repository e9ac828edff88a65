/**
 * Checking a sweep file before anything runs, as strictly as a scenario: every
 * key must be one the format has (a typo such as "parms" or "seed" is refused,
 * not ignored), every value of the type it must have. The check is the JSON
 * Schema generated from `SweepSpec` (sweep-schema.ts, by npm run schemas), so the
 * published schema and the check are one. Messages name the file, the line (when
 * the text's layout is known) and the field, as scenario errors do.
 *
 * @example
 * ```ts
 * import { checkSweep } from "./sweep-check.ts";
 * try {
 *   checkSweep({ name: "s", schemes: ["E2"], workloads: [{ workload: "seed-churn", parms: {} }] }, "s.json");
 * } catch (e) {
 *   console.log((e as Error).message); // s.json: workloads[0].parms: unknown field 'parms' (did you mean 'params'? fields: workload, params, capacity)
 * }
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import { firstProblem } from "./json-schema.ts";
import { SWEEP_SCHEMA } from "./sweep-schema.ts";
import type { SweepSpec } from "./sweep.ts";

/**
 * Where a sweep came from: `source` names it in messages; `lines` (from
 * scanJson's `paths`) gives the line of each JSON path.
 */
export interface SweepSource {
  source?: string;
  lines?: Map<string, number>;
}

/** The line of `path` or of the nearest enclosing path that has one. */
export function lineOfPath(lines: Map<string, number> | undefined, path: string): number | undefined {
  for (let p = path; lines; ) {
    const l = lines.get(p);
    if (l !== undefined) return l;
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    if (cut <= 0) return undefined;
    p = p.slice(0, cut);
  }
  return undefined;
}

/** "s.json line 4: workloads[0].parms" */
export function sweepWhere(src: SweepSource, path: string): string {
  const line = lineOfPath(src.lines, path);
  return `${src.source ?? "sweep"}${line ? ` line ${line}` : ""}${path ? `: ${path}` : ""}`;
}

/** Check a parsed sweep file against the format; throws a RefsimError naming the line and field. */
export function checkSweep(value: unknown, source?: string, lines?: Map<string, number>): SweepSpec {
  const p = firstProblem(SWEEP_SCHEMA, value);
  if (p) {
    const field = p.key ?? (p.path.split(/[.[]/).pop()?.replace(/]$/, "") || "sweep");
    throw new RefsimError(`${sweepWhere({ source, lines }, p.path)}: ${p.message}`, { field, code: "BAD_SWEEP" });
  }
  return value as SweepSpec;
}
