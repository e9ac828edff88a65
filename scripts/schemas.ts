/**
 * npm run schemas: JSON Schemas of the file formats, generated from their
 * TypeScript types with the TypeScript compiler's own type checker (the
 * `typescript` dev dependency), so the types stay the one source: `Scenario`
 * (src/scenario/types.ts) and `SweepSpec` (src/experiment/sweep.ts). Writes
 * schemas/scenario.schema.json and schemas/sweep.schema.json (for editors: a file's
 * "$schema" key names one) and src/experiment/sweep-schema.ts (the sweep schema as
 * a module: refsim checks sweep files against it). test/schema.test.ts fails when
 * any of them differs from what the types give.
 *
 * Why not ts-json-schema-generator or typescript-json-schema: both pin TypeScript
 * 5.x (this repository builds with 6.x) and the first needs Node 22; and two places
 * need the types read with the file format in mind, which a generic tool does not
 * know:
 * - an op step (`OpStep`, typed loosely for the runner) is one of the `Op` union's
 *   members (src/core/ops.ts), each with its own fields, where a number field also
 *   takes a string (a name bound by `as`, hex, a size like "4K");
 * - a scheme in a file (`SchemeInput`) is a preset name or a `CustomScheme`, whose
 *   rules have the value types of `SchemeRules`; a resolved `Scheme` object is for
 *   the API only.
 * Everything else is read as the types say (doc comments become descriptions).
 */
import ts from "typescript";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ERRNO_NAMES, SIGNAL_NAMES } from "../src/core/errno.ts";

type Schema = Record<string, unknown>;

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const FILES = {
  scenario: `${ROOT}src/scenario/types.ts`,
  sweep: `${ROOT}src/experiment/sweep.ts`,
  ops: `${ROOT}src/core/ops.ts`,
  rules: `${ROOT}src/scheme/rules.ts`,
  resolve: `${ROOT}src/scheme/resolve.ts`,
};

export interface FormatSchemas {
  scenario: Schema;
  sweep: Schema;
}

/** Generate both schemas from the sources as they are now. */
export function generateSchemas(): FormatSchemas {
  const program = ts.createProgram(Object.values(FILES), {
    strict: true, noEmit: true, allowImportingTsExtensions: true, module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const exported = (file: string, name: string): ts.Type => {
    const sf = program.getSourceFile(file);
    if (!sf) throw new Error(`schemas: cannot read ${file}`);
    const sym = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!).find((s) => s.name === name);
    if (!sym) throw new Error(`schemas: ${file} exports no ${name}`);
    return checker.getDeclaredTypeOfSymbol(sym);
  };
  const opType = exported(FILES.ops, "Op");
  const rulesType = exported(FILES.rules, "SchemeRules");
  const customScheme = exported(FILES.resolve, "CustomScheme");

  const describe = (sym: ts.Symbol): string | undefined => {
    const text = ts.displayPartsToString(sym.getDocumentationComment(checker)).trim();
    return text ? text.replace(/\s*\n\s*/g, " ") : undefined;
  };

  function convert(type: ts.Type, defs: Record<string, Schema>): Schema {
    const name = type.aliasSymbol?.name ?? (type.flags & ts.TypeFlags.Object ? type.getSymbol()?.name : undefined);
    if (name === "OpStep") return { $ref: "#/$defs/OpStep", ...def("OpStep", () => opSteps(defs)) };
    if (name === "SchemeInput") return { $ref: "#/$defs/SchemeInput", ...def("SchemeInput", () => schemeInput(defs)) };
    if (type.flags & ts.TypeFlags.String) return { type: "string" };
    if (type.flags & ts.TypeFlags.Number) return { type: "number" };
    if (type.flags & ts.TypeFlags.Boolean) return { type: "boolean" };
    if (type.flags & ts.TypeFlags.Unknown || type.flags & ts.TypeFlags.Any) return {};
    if (type.isStringLiteral() || type.isNumberLiteral()) return { const: type.value };
    if (type.flags & ts.TypeFlags.BooleanLiteral) return { const: checker.typeToString(type) === "true" };
    if (type.isUnion()) {
      const parts = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
      if (parts.every((t) => t.isStringLiteral() || t.isNumberLiteral())) return { enum: parts.map((t) => (t as ts.LiteralType).value) };
      if (parts.length === 2 && parts.every((t) => t.flags & ts.TypeFlags.BooleanLiteral)) return { type: "boolean" };
      const schemas = parts.map((t) => convert(t, defs));
      return schemas.length === 1 ? schemas[0] : { anyOf: mergeBooleans(schemas) };
    }
    if (checker.isArrayType(type)) return { type: "array", items: convert(checker.getTypeArguments(type as ts.TypeReference)[0], defs) };
    if (type.flags & ts.TypeFlags.Object) {
      const named = name && /^[A-Z]/.test(name) && name !== "__type" && name !== "Partial" && name !== "Record" ? name : undefined;
      const body = () => objectSchema(type, defs);
      return named && !type.aliasTypeArguments ? { $ref: `#/$defs/${named}`, ...def(named, body) } : body();
    }
    throw new Error(`schemas: no JSON Schema for type ${checker.typeToString(type)}`);

    /** Put a definition in $defs once (the placeholder stops recursion), and return nothing to spread. */
    function def(n: string, make: () => Schema): Schema {
      if (!defs[n]) {
        defs[n] = {};
        defs[n] = make();
      }
      return {};
    }
  }

  /** true|false written as two consts, folded back into one boolean. */
  function mergeBooleans(parts: Schema[]): Schema[] {
    const t = parts.findIndex((p) => p.const === true);
    const f = parts.findIndex((p) => p.const === false);
    if (t < 0 || f < 0) return parts;
    return [...parts.filter((_, i) => i !== t && i !== f), { type: "boolean" }];
  }

  function objectSchema(type: ts.Type, defs: Record<string, Schema>): Schema {
    const props: Record<string, Schema> = {};
    const required: string[] = [];
    for (const p of checker.getPropertiesOfType(type)) {
      const decl = p.valueDeclaration ?? p.declarations?.[0];
      const t = decl ? checker.getTypeOfSymbolAtLocation(p, decl) : checker.getTypeOfSymbol(p);
      const s = convert(t, defs);
      const doc = describe(p);
      props[p.name] = doc ? { description: doc, ...s } : s;
      if (!(p.flags & ts.SymbolFlags.Optional)) required.push(p.name);
    }
    const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
    const out: Schema = { type: "object" };
    if (Object.keys(props).length) out.properties = props;
    if (required.length) out.required = required;
    out.additionalProperties = index ? convert(index.type, defs) : false;
    return out;
  }

  /** An op step's expected kernel outcome: one name (or "none"), or per scheme. */
  function outcome(names: readonly string[], description: string): Schema {
    const one = { enum: [...names, "none"] };
    return { description, anyOf: [one, { type: "object", additionalProperties: one, minProperties: 1 }] };
  }

  /** Op steps: one object schema per member of the Op union, numbers also as names / hex / sizes. */
  function opSteps(defs: Record<string, Schema>): Schema {
    const members = (opType as ts.UnionType).types;
    const value = { anyOf: [{ type: "number" }, { type: "string", description: "a name bound by \"as\", hex (\"0x1000\"), a size (\"4K\", \"2M\") or \"name+4K\"" }] };
    const steps = members.map((m) => {
      const s = objectSchema(m, defs) as { properties: Record<string, Schema>; required?: string[] };
      for (const [k, p] of Object.entries(s.properties)) {
        if (k !== "op" && (p.type === "number" || (Array.isArray(p.enum) && p.enum.every((x) => typeof x === "number")))) s.properties[k] = value;
      }
      s.properties.as = { type: "string", pattern: "^[A-Za-z_][\\w-]*$", description: "Bind the op's result (mm id, address, driver, BO, handle, file, value) to a name." };
      s.properties.note = { type: "string", description: "Shown in reports instead of the op text." };
      s.properties.errno = outcome(ERRNO_NAMES, "The errno the kernel must fail this op with (\"none\": it must succeed), one for all schemes or per scheme.");
      s.properties.signal = outcome(SIGNAL_NAMES, "The signal a CPU access must raise (\"none\": no signal), one for all schemes or per scheme.");
      s.properties.thread = { type: "string", pattern: "^[A-Za-z][\\w-]{0,15}$", description: "In a replay of one interleaving: the thread this op starts on; { \"step\": thread } steps run it." };
      return s;
    });
    return { description: "An op step: the op and its fields.", oneOf: steps };
  }

  /** A scheme in a file: a preset name, or a custom scheme whose rules have SchemeRules' value types. */
  function schemeInput(defs: Record<string, Schema>): Schema {
    const custom = objectSchema(customScheme, defs) as { properties: Record<string, Schema> };
    custom.properties.rules = { description: "Rule values over the base preset's.", ...objectSchema(rulesType, defs), required: undefined };
    delete (custom.properties.rules as Schema).required;
    return { anyOf: [{ type: "string", description: "A preset name (refsim list)." }, custom] };
  }

  const schemaOf = (type: ts.Type, id: string, title: string): Schema => {
    const defs: Record<string, Schema> = {};
    const root = convert(type, defs) as { $ref?: string };
    const rootName = root.$ref?.replace("#/$defs/", "");
    const body = rootName ? defs[rootName] : root;
    if (rootName) delete defs[rootName];
    const props = (body as { properties?: Record<string, Schema> }).properties;
    if (props) props.$schema = { type: "string", description: "This schema, for editors." };
    return { $schema: "https://json-schema.org/draft/2020-12/schema", $id: id, title, ...body, $defs: sortKeys(defs) };
  };
  return {
    scenario: schemaOf(exported(FILES.scenario, "Scenario"), "refsim/scenario.schema.json", "refsim scenario"),
    sweep: schemaOf(exported(FILES.sweep, "SweepSpec"), "refsim/sweep.schema.json", "refsim sweep"),
  };
}

function sortKeys(o: Record<string, Schema>): Record<string, Schema> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** The schema files' text, as written to schemas/. */
export function schemaText(s: Schema): string {
  return JSON.stringify(s, null, 2) + "\n";
}

/** The generated module holding the sweep schema (src/experiment/sweep-schema.ts). */
export function sweepSchemaModule(s: Schema): string {
  return `// Generated by npm run schemas (scripts/schemas.ts) from SweepSpec in sweep.ts: do not edit.
// refsim checks sweep files against it (sweep-check.ts); schemas/sweep.schema.json is the same for editors.
import type { JsonSchema } from "./json-schema.ts";

export const SWEEP_SCHEMA: JsonSchema = ${JSON.stringify(s, null, 2)};
`;
}

export const OUTPUTS = {
  scenario: `${ROOT}schemas/scenario.schema.json`,
  sweep: `${ROOT}schemas/sweep.schema.json`,
  sweepModule: `${ROOT}src/experiment/sweep-schema.ts`,
};

/** Every generated file's path and text. */
export function generatedFiles(): [string, string][] {
  const s = generateSchemas();
  return [[OUTPUTS.scenario, schemaText(s.scenario)], [OUTPUTS.sweep, schemaText(s.sweep)], [OUTPUTS.sweepModule, sweepSchemaModule(s.sweep)]];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, text] of generatedFiles()) writeFileSync(path, text);
  console.log(`schemas: wrote ${Object.values(OUTPUTS).map((p) => p.slice(ROOT.length)).join(", ")}`);
}
