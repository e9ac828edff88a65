/**
 * The one number format of refsim's terminal output: exact counts grouped by
 * thousands ("1,234,567 ops"), rates and large measures with an SI prefix
 * ("24.1 M", "950 k"), durations in seconds ("2.41 s"). Input numbers are read by
 * countArg in flags.ts ("250k", "10M"), the same prefixes.
 *
 * @example
 * ```ts
 * import { count, rate, seconds } from "./format.ts";
 * console.log(count(1234567), rate(24_100_000), seconds(2410)); // 1,234,567 24.1 M 2.41 s
 * ```
 */

/** An exact count: "1,234,567". */
export function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : String(n);
}

/** A rate or a large measure, three significant digits: "24.1 M", "950 k", "12.5". */
export function rate(n: number): string {
  if (!Number.isFinite(n)) return "-";
  const a = Math.abs(n);
  const [d, p] = a >= 1e9 ? [1e9, " G"] : a >= 1e6 ? [1e6, " M"] : a >= 1e3 ? [1e3, " k"] : [1, ""];
  const x = n / d;
  return `${Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)}${p}`;
}

/** Milliseconds as seconds: "2.41 s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
