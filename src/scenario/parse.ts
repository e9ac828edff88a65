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
import { RefsimError } from "../core/errors.ts";
import { OP_NAMES } from "../core/ops.ts";
import type { Scenario } from "./types.ts";
import { stepLines, jsonErrorLocation } from "./locate.ts";

export interface LoadedScenario {
  scenario: Scenario;
  /** Where it came from (file path or module), for messages. */
  source: string;
  /** Line of each step in the source, when known. */
  lines: number[];
}

const TOP_FIELDS = new Set(["name", "title", "spec", "description", "schemes", "capacity", "steps", "$schema", "notes"]);
const EXPECT_FIELDS = new Set([
  "page", "bo", "read", "result", "refcount", "mapcount", "kind", "mapped", "devicePrivate", "devmap", "writable", "state",
  "pages", "value", "violations", "stats", "entireMapcount", "pincount", "large", "pmd",
]);

/** "file.json step 3 (line 12)" */
export function stepWhere(l: LoadedScenario, i: number): string {
  const line = l.lines[i];
  return `${l.source} step ${i + 1}${line ? ` (line ${line})` : ""}`;
}

/** Check a scenario object's shape; throws RefsimError naming the step, line and field. */
export function checkScenario(value: unknown, source: string, lines: number[] = []): LoadedScenario {
  const fail = (msg: string, field?: string, index?: number): never => {
    throw new RefsimError(`${source}: ${msg}`, { field, index, code: "BAD_SCENARIO" });
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail("a scenario must be an object with \"name\" and \"steps\"");
  const s = value as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!TOP_FIELDS.has(k)) fail(`unknown top-level field '${k}' (fields: ${[...TOP_FIELDS].join(", ")})`, k);
  if (typeof s.name !== "string" || !s.name) fail(`"name" must be a non-empty string`, "name");
  if (!Array.isArray(s.steps) || s.steps.length === 0) fail(`"steps" must be a non-empty array`, "steps");
  if (s.schemes !== undefined && !Array.isArray(s.schemes)) fail(`"schemes" must be an array of scheme names or custom schemes`, "schemes");
  if (s.capacity !== undefined && (typeof s.capacity !== "object" || s.capacity === null)) fail(`"capacity" must be an object`, "capacity");
  const loaded: LoadedScenario = { scenario: s as unknown as Scenario, source, lines };
  (s.steps as unknown[]).forEach((step, i) => {
    const where = stepWhere(loaded, i);
    const bad = (msg: string, field?: string): never => {
      throw new RefsimError(`${where}: ${msg}`, { field, index: i, code: "BAD_SCENARIO" });
    };
    if (step === null || typeof step !== "object" || Array.isArray(step)) bad("a step must be an object with \"op\" or \"expect\"");
    const st = step as Record<string, unknown>;
    if ("expect" in st) {
      if ("op" in st) bad("a step has either \"op\" or \"expect\", not both", "op");
      const e = st.expect;
      if (e === null || typeof e !== "object" || Array.isArray(e)) bad("\"expect\" must be an object", "expect");
      for (const k of Object.keys(e as object)) if (!EXPECT_FIELDS.has(k)) bad(`unknown expectation '${k}' (fields: ${[...EXPECT_FIELDS].join(", ")})`, k);
      const ex = e as Record<string, unknown>;
      const subjects = ["page", "bo", "read", "result"].filter((k) => k in ex);
      if (subjects.length > 1) bad(`one subject per expectation, got ${subjects.join(" and ")}`, subjects[1]);
      for (const k of Object.keys(st)) if (k !== "expect" && k !== "label") bad(`unknown field '${k}' in an expect step`, k);
      if (st.label !== undefined && typeof st.label !== "string") bad("\"label\" must be a string", "label");
      return;
    }
    if (typeof st.op !== "string") bad(`"op" must be one of ${OP_NAMES.join(", ")}`, "op");
    if (!(OP_NAMES as string[]).includes(st.op as string)) bad(`unknown op '${st.op}' (ops: ${OP_NAMES.join(", ")})`, "op");
    if (st.as !== undefined && (typeof st.as !== "string" || !/^[A-Za-z_][\w-]*$/.test(st.as))) bad("\"as\" must be a name (letters, digits, _ and -)", "as");
  });
  return loaded;
}

/** Parse scenario JSON text; syntax errors name the line and column. */
export function parseScenario(text: string, source: string): LoadedScenario {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = jsonErrorLocation(text, msg);
    throw new RefsimError(`${source}: invalid JSON${at ? ` at ${at}` : ""}: ${msg}`, { code: "BAD_SCENARIO" });
  }
  return checkScenario(value, source, stepLines(text));
}
