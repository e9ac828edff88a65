/**
 * Scenario values: sizes ("4K", "2M"), hex, names bound by `as`, and
 * "name+offset" address arithmetic.
 *
 * @example
 * ```ts
 * import { parseSize } from "./values.ts";
 * console.log(parseSize("2M")); // 2097152
 * ```
 */
import { RefsimError } from "../core/errors.ts";
const UNITS: Record<string, number> = { "": 1, K: 1 << 10, M: 1 << 20, G: 1 << 30, T: 2 ** 40 };

/** "4K" -> 4096, "0x1000" -> 4096, "12" -> 12; undefined when not a size. */
export function parseSize(s: string): number | undefined {
  const t = s.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t, 16);
  const m = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(t);
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2].toUpperCase()];
}

/** Resolve a scenario value against the names bound so far. */
export function resolveValue(v: unknown, names: ReadonlyMap<string, number>, where: string): unknown {
  if (typeof v !== "string") return v;
  const size = parseSize(v);
  if (size !== undefined) return size;
  const m = /^([A-Za-z_][\w-]*)\s*(?:([+-])\s*(.+))?$/.exec(v.trim());
  if (m) {
    const base = names.get(m[1]);
    if (base === undefined) {
      throw new RefsimError(`${where}: '${m[1]}' is not a name bound by an earlier step's "as" (known: ${[...names.keys()].join(", ") || "none"})`, { code: "BAD_SCENARIO" });
    }
    if (!m[2]) return base;
    const off = parseSize(m[3]);
    if (off === undefined) throw new RefsimError(`${where}: cannot read offset '${m[3]}' in '${v}'`, { code: "BAD_SCENARIO" });
    return m[2] === "+" ? base + off : base - off;
  }
  throw new RefsimError(`${where}: cannot read value '${v}' (a number, a size like "4K", hex like "0x1000", or a bound name)`, { code: "BAD_SCENARIO" });
}
