/**
 * Schemes named on the command line (`--schemes`): preset names or custom scheme
 * files (.json: { "name", "base", "rules" }), comma-separated. Commands that work
 * under one scheme at a time (explore, record) take exactly one.
 *
 * @example
 * ```ts
 * import { schemeList } from "./scheme-arg.ts";
 * console.log(schemeList("E0,E4")); // [ 'E0', 'E4' ]
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import { PRESET_NAMES } from "../scheme/presets.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import { readJsonFile } from "./input.ts";

/** A custom scheme file, checked, kept as written (traces record it as given). */
function schemeFile(path: string, flag: string): SchemeInput {
  const obj = readJsonFile(path, flag);
  try {
    resolveScheme(obj as SchemeInput);
  } catch (e) {
    if (!(e instanceof RefsimError)) throw e;
    throw new RefsimError(`${flag}: ${path}: ${e.message}`, { field: "schemes" });
  }
  return obj as SchemeInput;
}

/** One item of --schemes: a preset name (checked) or a .json custom scheme file. */
export function schemeArg(s: string, flag = "--schemes"): SchemeInput {
  if (s.endsWith(".json")) return schemeFile(s, flag);
  resolveScheme(s);
  return s;
}

/** A comma-separated --schemes list: at least one scheme. */
export function schemeList(s: string, flag = "--schemes"): SchemeInput[] {
  const list = s.split(",").map((x) => x.trim()).filter(Boolean);
  if (!list.length) throw new RefsimError(`${flag} names no scheme, got '${s}' (presets: ${PRESET_NAMES.join(", ")})`, { field: "schemes" });
  return list.map((x) => schemeArg(x, flag));
}

/** Exactly one scheme, for commands that run under one (explore, record). */
export function oneScheme(s: string | undefined, command: string, dflt?: SchemeInput): SchemeInput {
  if (s === undefined) {
    if (dflt !== undefined) return dflt;
    throw new RefsimError(`${command}: --schemes: name a scheme preset or a custom scheme file (.json)`, { field: "schemes" });
  }
  const list = schemeList(s);
  if (list.length !== 1) throw new RefsimError(`${command} runs under one scheme at a time; --schemes gives ${list.length} (${s})`, { field: "schemes" });
  return list[0];
}
