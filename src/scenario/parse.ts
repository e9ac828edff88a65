/**
 * Reading a scenario: JSON text (with line numbers for errors) or an object from
 * a `.ts` module, checked for shape before anything runs.
 *
 * @example
 * ```ts
 * import { parseScenario } from "./parse.ts";
 * const s = parseScenario('{"name":"t","steps":[{"op":"mm_new"}]}', "t.json");
 * console.log(s.scenario.steps.length); // 1
 * ```
 */
import { RefsimError, shown } from "../core/errors.ts";
import { OP_NAMES } from "../core/ops.ts";
import { resolveScheme } from "../scheme/resolve.ts";
import type { Scenario } from "./types.ts";
import { parseJsonText } from "./locate.ts";
import { checkExpectation } from "./expect.ts";
import { ERRNO_NAMES, SIGNAL_NAMES } from "../core/errno.ts";
import { checkConcurrentStep, checkRaceSpec } from "../races/format.ts";

export interface LoadedScenario {
  scenario: Scenario;
  /** Where it came from (file path or module), for messages. */
  source: string;
  /** Line of each step in the source, when known. */
  lines: number[];
}

const TOP_FIELDS = new Set(["name", "title", "spec", "description", "schemes", "capacity", "race", "steps", "$schema", "notes"]);
/** Fields of an op step that are not op fields. */
const STEP_FIELDS = new Set(["op", "as", "note", "errno", "signal", "thread"]);

/** "file.json step 3 (line 12)" */
export function stepWhere(l: LoadedScenario, i: number): string {
  const line = l.lines[i];
  return `${l.source} step ${i + 1}${line ? ` (line ${line})` : ""}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Check a scenario object's shape before anything runs: top-level fields and their
 * types, every scheme, every op step's field values (numbers, strings or booleans:
 * nothing nested) and every expectation; throws RefsimError naming the step, line and field.
 */
export function checkScenario(value: unknown, source: string, lines: number[] = []): LoadedScenario {
  const fail = (msg: string, field?: string, index?: number): never => {
    throw new RefsimError(`${source}: ${msg}`, { field, index, code: "BAD_SCENARIO" });
  };
  if (!isObject(value)) fail(`a scenario must be an object with "name" and "steps", got ${shown(value)}`);
  const s = value as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!TOP_FIELDS.has(k)) fail(`unknown top-level field '${k}' (fields: ${[...TOP_FIELDS].join(", ")})`, k);
  if (typeof s.name !== "string" || !s.name) fail(`"name" must be a non-empty string`, "name");
  for (const k of ["title", "spec", "description", "$schema"]) if (s[k] !== undefined && typeof s[k] !== "string") fail(`"${k}" must be a string, got ${shown(s[k])}`, k);
  if (s.notes !== undefined && typeof s.notes !== "string" && !(Array.isArray(s.notes) && s.notes.every((x) => typeof x === "string"))) {
    fail(`"notes" must be a string or an array of strings`, "notes");
  }
  if (!Array.isArray(s.steps) || s.steps.length === 0) fail(`"steps" must be a non-empty array`, "steps");
  if (s.schemes !== undefined) {
    if (!Array.isArray(s.schemes) || s.schemes.length === 0) fail(`"schemes" must be a non-empty array of scheme names or custom schemes (leave it out for the default)`, "schemes");
    (s.schemes as unknown[]).forEach((sc, i) => {
      try {
        resolveScheme(sc as never);
      } catch (e) {
        if (!(e instanceof RefsimError)) throw e;
        fail(`"schemes"[${i}]: ${e.message}`, "schemes");
      }
    });
  }
  if (s.capacity !== undefined) {
    if (!isObject(s.capacity)) fail(`"capacity" must be an object of capacity fields, got ${shown(s.capacity)}`, "capacity");
    for (const [k, v] of Object.entries(s.capacity as object)) {
      if (typeof v !== "number") fail(`"capacity.${k}" must be a number, got ${shown(v)}`, `capacity.${k}`);
    }
  }
  if (s.race !== undefined) checkRaceSpec(s.race, (msg, field) => fail(msg, field));
  const loaded: LoadedScenario = { scenario: s as unknown as Scenario, source, lines };
  const steps = s.steps as unknown[];
  for (let i = 0; i < steps.length; i++) {
    const bad = (msg: string, field?: string): never => {
      throw new RefsimError(`${stepWhere(loaded, i)}: ${msg}`, { field, index: i, code: "BAD_SCENARIO" });
    };
    const st = steps[i];
    if (!isObject(st)) bad(`a step must be an object with "op" or "expect", got ${shown(st)}`);
    const step = st as Record<string, unknown>;
    if ("expect" in step) {
      if ("op" in step) bad("a step has either \"op\" or \"expect\", not both", "op");
      if (!isObject(step.expect)) bad(`"expect" must be an object, got ${shown(step.expect)}`, "expect");
      const problem = checkExpectation(step.expect as Record<string, unknown>);
      if (problem) bad(problem.message, problem.field);
      for (const k of Object.keys(step)) if (k !== "expect" && k !== "label") bad(`unknown field '${k}' in an expect step`, k);
      if (step.label !== undefined && typeof step.label !== "string") bad(`"label" must be a string, got ${shown(step.label)}`, "label");
      continue;
    }
    if (checkConcurrentStep(step, bad, (op, where) => checkOpStep(op, (msg, field) => bad(`${where}: ${msg}`, field)))) continue;
    checkOpStep(step, bad);
  }
  return loaded;
}

/** An op step's fields: the op, its name, note, errno/signal and scalar op fields. */
function checkOpStep(step: Record<string, unknown>, bad: (msg: string, field?: string) => never): void {
  if (typeof step.op !== "string") bad(`"op" must be one of ${OP_NAMES.join(", ")}, got ${shown(step.op)}`, "op");
  if (!(OP_NAMES as string[]).includes(step.op as string)) bad(`unknown op ${shown(step.op)} (ops: ${OP_NAMES.join(", ")})`, "op");
  if (step.as !== undefined && (typeof step.as !== "string" || !/^[A-Za-z_][\w-]*$/.test(step.as))) bad(`"as" must be a name (letters, digits, _ and -), got ${shown(step.as)}`, "as");
  if (step.note !== undefined && typeof step.note !== "string") bad(`"note" must be a string, got ${shown(step.note)}`, "note");
  for (const k of ["errno", "signal"] as const) {
    if (step[k] === undefined) continue;
    const names = k === "errno" ? ERRNO_NAMES : SIGNAL_NAMES;
    const values = isObject(step[k]) ? Object.entries(step[k] as object) : [["", step[k]] as [string, unknown]];
    if (values.length === 0) bad(`"${k}" per scheme needs at least one scheme`, k);
    for (const [scheme, x] of values) {
      if (typeof x !== "string" || (x !== "none" && !names.includes(x))) {
        bad(`"${k}"${scheme ? ` for ${scheme}` : ""} must be one of ${names.join(", ")} or "none", got ${shown(x)}`, k);
      }
    }
  }
  if (step.errno !== undefined && step.signal !== undefined) bad(`a step expects an errno (a syscall) or a signal (a CPU access), not both`, "signal");
  for (const [k, v] of Object.entries(step)) {
    if (STEP_FIELDS.has(k)) continue;
    if (typeof v !== "number" && typeof v !== "string" && typeof v !== "boolean") {
      bad(`${step.op}: field '${k}' must be a number, a string (a name, hex, a size) or true/false, got ${shown(v)}`, k);
    }
  }
}

/** Parse scenario JSON text; syntax errors and keys written twice name the line. */
export function parseScenario(text: string, source: string): LoadedScenario {
  const { value, layout } = parseJsonText(text, source);
  const dup = layout.duplicate;
  if (dup) {
    const step = /^steps\[(\d+)\]/.exec(dup.path);
    const where = step ? `step ${Number(step[1]) + 1} (line ${dup.line})` : `line ${dup.line}`;
    throw new RefsimError(`${source} ${where}: key "${dup.key}" appears twice in ${dup.path} (JSON would keep only the last)`, { field: dup.key, code: "BAD_SCENARIO" });
  }
  return checkScenario(value, source, layout.stepLines);
}
