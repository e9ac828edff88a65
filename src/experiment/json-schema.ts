/**
 * A small JSON Schema checker for the subset the generated schemas use (type,
 * properties, required, additionalProperties, items, enum, const, anyOf, oneOf,
 * pattern, $ref into $defs): enough to check a sweep file against the schema
 * generated from its TypeScript type (scripts/schemas.ts), so the schema and the
 * check never drift apart. Reports the first problem with its JSON path
 * ("workloads[0].parms"), for the caller to turn into a line number.
 *
 * @example
 * ```ts
 * import { firstProblem } from "./json-schema.ts";
 * const schema = { type: "object", properties: { seeds: { type: "array", items: { type: "number" } } }, additionalProperties: false };
 * console.log(firstProblem(schema, { seed: [1] })); // { path: "seed", key: "seed", message: "unknown field 'seed' (did you mean 'seeds'? fields: seeds)" }
 * ```
 */

export interface JsonSchema {
  [k: string]: unknown;
}

export interface SchemaProblem {
  /** Where: "" for the top level, "workloads[0].params". */
  path: string;
  /** The unknown key, when the problem is one. */
  key?: string;
  message: string;
}

const typeOf = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
const join = (path: string, k: string | number) => (typeof k === "number" ? `${path}[${k}]` : path ? `${path}.${k}` : k);
const shown = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : typeOf(v) === "object" ? "an object" : typeOf(v) === "array" ? "an array" : String(v));

/** Edit distance with transpositions (optimal string alignment), for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known key closest to `key`, if it is close. */
export function didYouMean(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dd = distance(key.toLowerCase(), k.toLowerCase());
    if (dd < bestD) [best, bestD] = [k, dd];
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/** The first place `value` does not fit `schema`, or undefined. */
export function firstProblem(schema: JsonSchema, value: unknown, root: JsonSchema = schema, path = ""): SchemaProblem | undefined {
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace(/^#\/\$defs\//, "");
    return firstProblem((root.$defs as Record<string, JsonSchema>)[name], value, root, path);
  }
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (variants) {
    const problems = variants.map((s) => firstProblem(s, value, root, path));
    if (problems.some((p) => !p)) return undefined;
    // The variant that got furthest (a deeper path) says the most; else name the choice.
    const deepest = problems.reduce((a, b) => (b!.path.length > a!.path.length ? b : a));
    if (deepest!.path.length > path.length) return deepest;
    const opOf = variants.map((v) => ((v.properties as Record<string, JsonSchema> | undefined)?.op?.const)).filter((x) => x !== undefined);
    return { path, message: opOf.length ? `not a known op step (ops: ${opOf.join(", ")})` : `must be ${variants.map(describe).join(" or ")}, got ${shown(value)}` };
  }
  if ("const" in schema && value !== schema.const) return { path, message: `must be ${JSON.stringify(schema.const)}, got ${shown(value)}` };
  if (Array.isArray(schema.enum) && !schema.enum.includes(value as never)) return { path, message: `must be one of ${schema.enum.map((x) => JSON.stringify(x)).join(", ")}, got ${shown(value)}` };
  const t = schema.type as string | undefined;
  if (t && !(t === typeOf(value) || (t === "number" && typeof value === "number"))) return { path, message: `must be ${describe(schema)}, got ${shown(value)}` };
  if (t === "string" && typeof schema.pattern === "string" && !new RegExp(schema.pattern).test(value as string)) return { path, message: `must match ${schema.pattern}, got ${shown(value)}` };
  if (t === "array") {
    const items = schema.items as JsonSchema | undefined;
    if (items) for (let i = 0; i < (value as unknown[]).length; i++) {
      const p = firstProblem(items, (value as unknown[])[i], root, join(path, i));
      if (p) return p;
    }
  }
  if (t === "object") {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const k of (schema.required ?? []) as string[]) if (!Object.hasOwn(obj, k)) return { path, message: `missing field '${k}'` };
    for (const [k, v] of Object.entries(obj)) {
      if (Object.hasOwn(props, k)) {
        const p = firstProblem(props[k], v, root, join(path, k));
        if (p) return p;
      } else if (schema.additionalProperties === false) {
        const known = Object.keys(props).filter((x) => x !== "$schema");
        const near = didYouMean(k, known);
        return { path: join(path, k), key: k, message: `unknown field '${k}'${near ? ` (did you mean '${near}'?` : " ("}${near ? " fields: " : "fields: "}${known.join(", ")})` };
      } else if (typeof schema.additionalProperties === "object") {
        const p = firstProblem(schema.additionalProperties as JsonSchema, v, root, join(path, k));
        if (p) return p;
      }
    }
  }
  return undefined;
}

function describe(s: JsonSchema): string {
  if (s.$ref) return String(s.$ref).replace("#/$defs/", "a ");
  if ("const" in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((x) => JSON.stringify(x)).join(", ")}`;
  const variants = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (variants) return variants.map(describe).join(" or ");
  return ({ string: "a string", number: "a number", boolean: "true or false", array: "an array", object: "an object" } as Record<string, string>)[s.type as string] ?? "something else";
}
