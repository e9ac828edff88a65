/**
 * Command-line flags: one parser for every refsim command and for `npm run bench`
 * (bench/main.ts uses the bench command's flag set from src/cli/commands.ts), so
 * a flag means the same and numbers read the same everywhere.
 *
 * Each command declares its flags; anything else is refused with the command's
 * flag list. Numbers have one format: digits with optional `_` separators and an
 * optional decimal suffix k, M or G (`250k`, `1_000_000`, `10M`).
 *
 * @example
 * ```ts
 * import { parseFlags, countArg } from "./flags.ts";
 * const { values, positionals } = parseFlags("workload", ["mix", "--ops", "20k"], {
 *   ops: { type: "string", arg: "N", doc: "ops to run" },
 * });
 * console.log(positionals[0], countArg(values.ops as string, "--ops")); // mix 20000
 * ```
 */
import { parseArgs } from "node:util";
import { RefsimError } from "../core/errors.ts";
import { MAX_OPS } from "../core/ops.ts";

export interface FlagSpec {
  type: "string" | "boolean";
  /** May be given more than once (values collect in a list). */
  multiple?: boolean;
  short?: string;
  /** The value's placeholder in help ("N", "FILE", "A,B"). */
  arg?: string;
  doc: string;
  /**
   * An old name kept working for a while: its value goes to this flag, with a note
   * on stderr, and help does not list it (`--budget` -> `--ops`, `--scheme` -> `--schemes`).
   */
  renamedTo?: string;
  /** An old flag still read, hidden from help; its use prints this note on stderr. */
  deprecated?: string;
}

export type FlagSet = Record<string, FlagSpec>;

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** Parse `argv` against a command's flags; unknown flags and missing values are RefsimErrors naming the command. */
export function parseFlags(command: string, argv: string[], flags: FlagSet, warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): { values: FlagValues; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: argv, options: flags as never, allowPositionals: true, strict: true });
    const values = parsed.values as FlagValues;
    for (const [name, spec] of Object.entries(flags)) {
      if (values[name] === undefined) continue;
      const who = command === "refsim" ? "refsim" : `refsim ${command}`;
      if (spec.deprecated) warn(`${who}: --${name} is deprecated: ${spec.deprecated}`);
      if (!spec.renamedTo) continue;
      warn(`${who}: --${name} is now --${spec.renamedTo}`);
      values[spec.renamedTo] ??= values[name];
    }
    return { values, positionals: parsed.positionals };
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    if (!code.startsWith("ERR_PARSE_ARGS")) throw e;
    const known = Object.keys(flags).filter((f) => f !== "help" && !flags[f].renamedTo && !flags[f].deprecated).map((f) => `--${f}`).join(", ");
    const opt = /'(-{1,2}[^'\s]+)/.exec((e as Error).message)?.[1];
    // The default job ("refsim [--schemes ...]") has no command word of its own.
    const [who, prefix, help] = command === "refsim" ? ["refsim", "", "refsim --help"] : [command, `${command}: `, `refsim ${command} --help`];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new RefsimError(`${prefix}unknown option ${opt ?? ""} (${who} takes ${known || "no options"}; see ${help})`, { field: opt?.replace(/^-+/, "") ?? "option" });
    }
    const bare = (e as Error).message.split("\n")[0].replace(/\.$/, "");
    throw new RefsimError(`${prefix}${bare} (see ${help})`, { field: opt?.replace(/^-+/, "") ?? "option" });
  }
}

const SUFFIX: Record<string, number> = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9 };

/**
 * A whole number in the one format: `1234`, `1_234`, `250k`, `2.5M`, `1G`, `1e6`.
 * Refused (RefsimError naming `flag`) unless it is a whole number from `min` to `max`.
 */
export function countArg(s: string, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const m = /^\s*(\d[\d_]*(?:\.\d+)?(?:e\d+)?)([kKMG]?)\s*$/.exec(s);
  const n = m ? Number(m[1].replace(/_/g, "")) * SUFFIX[m[2]] : NaN;
  const field = flag.replace(/^-+/, "");
  if (!Number.isInteger(n)) throw new RefsimError(`${flag} must be a whole number (like 5000, 5_000, 250k or 10M), got '${s}'`, { field });
  if (n < min) throw new RefsimError(`${flag} must be at least ${min}, got ${s}`, { field });
  if (n > max) throw new RefsimError(`${flag} must be at most ${max}, got ${s}`, { field });
  return n;
}

/** An op count for one engine: 1 .. MAX_OPS (its op sequence numbers are 32-bit). */
export function opsArg(s: string, flag = "--ops"): number {
  const n = countArg(s, flag, 1, Infinity);
  if (n > MAX_OPS) throw new RefsimError(`${flag} ${s} is more ops than one engine can run (at most ${MAX_OPS}: its op sequence numbers are 32-bit)`, { field: flag.replace(/^-+/, "") });
  return n;
}

/** An optional count: undefined stays undefined. */
export function optionalCount(s: string | undefined, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return s === undefined ? undefined : countArg(s, flag, min, max);
}

/** A comma-separated list, empty items dropped; `allowed` (if given) names every valid item. */
export function listArg(s: string, flag: string, allowed?: readonly string[]): string[] {
  const items = s.split(",").map((x) => x.trim()).filter(Boolean);
  if (!items.length) throw new RefsimError(`${flag}: '${s}' lists nothing`, { field: flag.replace(/^-+/, "") });
  const bad = allowed && items.find((x) => !allowed.includes(x));
  if (bad) throw new RefsimError(`${flag}: unknown value '${bad}' (one of: ${allowed!.join(", ")})`, { field: flag.replace(/^-+/, "") });
  return items;
}

/** "k=v" settings: numbers (the one format, or decimals), booleans, strings, or JSON objects. */
export function parseSettings(list: string[], what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new RefsimError(`${what}: expected key=value, got '${item}'`, { field: what });
    const k = item.slice(0, eq);
    const raw = item.slice(eq + 1);
    let v: unknown = raw;
    if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/.test(raw)) v = Number(raw);
    else if (/^\d[\d_]*(\.\d+)?[kKMG]?$/.test(raw)) v = countArg(raw, `${what} ${k}`);
    else if (raw === "true" || raw === "false") v = raw === "true";
    else if (raw.startsWith("{")) {
      try { v = JSON.parse(raw); } catch { throw new RefsimError(`${what}: '${k}' is not valid JSON`, { field: k }); }
    }
    out[k] = v;
  }
  return out;
}
