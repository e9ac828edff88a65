/**
 * Turning what a user wrote (a preset name, or a preset with rule overrides)
 * into a checked Scheme, and a Scheme into the core's scheme block.
 *
 * @example
 * ```ts
 * import { resolveScheme } from "./resolve.ts";
 * const s = resolveScheme({ name: "E2-no-fault-ref", base: "E2", rules: { swapFaultRef: "none" } });
 * console.log(s.rules.swapFaultRef); // none
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { PRESETS, PRESET_NAMES, type Scheme } from "./presets.ts";
import { RULES, RULE_NAMES, type RuleName, type RuleSpec, type SchemeRules } from "./rules.ts";
import { RefsimError, shown } from "../core/errors.ts";

/** A custom scheme: a preset with some rules overridden. */
export interface CustomScheme {
  name?: string;
  base: string;
  description?: string;
  rules?: Partial<Record<RuleName, unknown>>;
}

export type SchemeInput = string | Scheme | CustomScheme;

const CUSTOM_FIELDS = ["name", "base", "description", "rules"];

function checkRule(name: string, value: unknown, where: string): SchemeRules[RuleName] {
  if (!(RULE_NAMES as string[]).includes(name)) {
    throw new RefsimError(`${where}: unknown rule '${name}' (rules: ${RULE_NAMES.join(", ")})`, { field: name });
  }
  const spec = RULES[name as RuleName];
  if (spec.type === "boolean") {
    if (typeof value !== "boolean") throw new RefsimError(`${where}: rule '${name}' must be true or false, got ${shown(value)}`, { field: name });
    return value;
  }
  if (spec.type === "choice") {
    const choices = (spec as { choices: readonly string[] }).choices;
    if (typeof value !== "string" || !choices.includes(value)) {
      const list = choices.map((c) => JSON.stringify(c));
      const options = `${list.slice(0, -1).join(", ")} or ${list[list.length - 1]}`;
      throw new RefsimError(`${where}: rule '${name}' must be ${options}, got ${shown(value)}`, { field: name });
    }
    return value as SchemeRules[RuleName];
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 1 << 20) {
    throw new RefsimError(`${where}: rule '${name}' must be a whole number from 0 to ${1 << 20}, got ${shown(value)}`, { field: name });
  }
  return value;
}

/** Resolve a preset name or a custom scheme; throws RefsimError naming the bad field. */
export function resolveScheme(input: SchemeInput): Scheme {
  if (typeof input === "string") {
    const preset = Object.hasOwn(PRESETS, input) ? PRESETS[input] : undefined; // not "toString"
    if (!preset) throw new RefsimError(`unknown scheme '${input}' (presets: ${PRESET_NAMES.join(", ")})`, { field: "scheme" });
    return preset;
  }
  if (input === null || typeof input !== "object") {
    throw new RefsimError(`a scheme must be a preset name or an object { base, rules }, got ${shown(input)}`, { field: "scheme" });
  }
  if ("kernels" in input && "rules" in input && !("base" in input)) {
    const s = input as Scheme;
    for (const name of RULE_NAMES) checkRule(name, s.rules[name], `scheme '${s.name}'`);
    return s;
  }
  const custom = input as CustomScheme;
  for (const k of Object.keys(custom)) {
    if (!CUSTOM_FIELDS.includes(k)) throw new RefsimError(`custom scheme: unknown field '${k}' (fields: ${CUSTOM_FIELDS.join(", ")})`, { field: k });
  }
  if (custom.description !== undefined && typeof custom.description !== "string") {
    throw new RefsimError(`custom scheme "description" must be a string, got ${shown(custom.description)}`, { field: "description" });
  }
  if (typeof custom.base !== "string" || !Object.hasOwn(PRESETS, custom.base)) {
    throw new RefsimError(`custom scheme needs "base": one of ${PRESET_NAMES.join(", ")}, got ${shown(custom.base)}`, { field: "base" });
  }
  const base = resolveScheme(custom.base);
  const name = custom.name ?? `${base.name}+custom`;
  if (typeof name !== "string" || name.length === 0) throw new RefsimError(`custom scheme "name" must be a non-empty string`, { field: "name" });
  const overrides = custom.rules ?? {};
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
    throw new RefsimError(`scheme '${name}': "rules" must be an object of rule overrides`, { field: "rules" });
  }
  const rules: Record<string, unknown> = { ...base.rules };
  for (const [k, v] of Object.entries(overrides)) rules[k] = checkRule(k, v, `scheme '${name}'`);
  const r = rules as unknown as SchemeRules;
  for (const kind of ["Private", "Coherent"] as const) {
    if (r[`idle${kind}`] > r[`freeAt${kind}`] + 1) {
      throw new RefsimError(`scheme '${name}': idle${kind} (${r[`idle${kind}`]}) may be at most freeAt${kind} + 1`, { field: `idle${kind}` });
    }
  }
  if (r.idleP2pdma > 1) {
    throw new RefsimError(`scheme '${name}': idleP2pdma (${r.idleP2pdma}) may be at most 1 (a p2pdma page is freed on 1->0)`, { field: "idleP2pdma" });
  }
  return {
    name,
    kernels: `custom, based on ${base.name}`,
    description: custom.description ?? `${base.name} with ${Object.keys(overrides).join(", ") || "no"} overridden`,
    rules: r,
  };
}

/** The core's scheme block for a scheme. */
export function encodeScheme(s: Scheme): Int32Array {
  const block = new Int32Array(abi.SCHEME_WORDS);
  for (const name of RULE_NAMES) {
    const spec: RuleSpec = RULES[name];
    const v = s.rules[name];
    block[spec.slot] = typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "string" ? spec.choices!.indexOf(v) : v;
  }
  return block;
}
