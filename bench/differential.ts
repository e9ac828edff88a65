/**
 * The differential oracle at full size: 1 M random ops per scheme preset (and
 * one THP run), each op run on the WASM engine and twice on the TypeScript model
 * (one op at a time, and in the engine's batches), with every result, rejection,
 * statistic, violation record, frame and mapped page compared
 * (test/differential-harness.ts; the test command runs the same at 100 k ops).
 *
 * @example
 * ```ts ignore
 * import { runDifferentialBench } from "./differential.ts";
 * const d = await runDifferentialBench({ quick: true, log: console.log });
 * console.log(d.ok, d.markdown);
 * ```
 */
import { PRESET_NAMES } from "../src/scheme/presets.ts";
import { runDifferential, DIFF_CAPACITY } from "../test/differential-harness.ts";

export interface DifferentialRow {
  scheme: string;
  thp: boolean;
  ops: number;
  compared: number;
  rejected: number;
  violations: number;
  seconds: number;
  /** The first mismatch, if engine and model disagreed. */
  error?: string;
}

export async function runDifferentialBench(o: { quick: boolean; log: (s: string) => void }): Promise<{ rows: DifferentialRow[]; ok: boolean; markdown: string }> {
  const ops = o.quick ? 100_000 : 1_000_000;
  const runs = [...PRESET_NAMES.map((scheme) => ({ scheme, thp: false })), { scheme: "E4", thp: true }];
  const rows: DifferentialRow[] = [];
  for (const [i, { scheme, thp }] of runs.entries()) {
    const t0 = performance.now();
    // mm ids are never reused: enough of them that a 1 M-op trace does not run out (the test command's
    // 100 k-op runs keep DIFF_CAPACITY's 2048, where running out is part of what is compared)
    const base = { ...DIFF_CAPACITY, processes: 32768 };
    const capacity = thp ? { ...base, hugePages: 12, pteTables: 400 } : base;
    try {
      const r = await runDifferential({ scheme, seed: 0xd1ff + i, ops, capacity });
      rows.push({ scheme, thp, ops: r.ops, compared: r.resultsCompared, rejected: r.rejected, violations: r.violations, seconds: (performance.now() - t0) / 1000 });
    } catch (e) {
      rows.push({ scheme, thp, ops, compared: 0, rejected: 0, violations: 0, seconds: (performance.now() - t0) / 1000, error: (e as Error).message.split("\n")[0].slice(0, 300) });
    }
    const r = rows[rows.length - 1];
    o.log(`differential ${scheme}${thp ? " (THP)" : ""}: ${r.error ? `MISMATCH ${r.error}` : `${r.ops} ops identical`} in ${r.seconds.toFixed(1)} s`);
  }
  const markdown = [
    "### Differential oracle (engine vs TypeScript model)",
    "",
    `${ops.toLocaleString("en")} random ops per run; every op's result or rejection, the statistics, the violation records, every frame and every mapped page compared.`,
    "",
    "| scheme | THP pool | ops | results compared | rejections compared | violations | s | outcome |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.scheme} | ${r.thp ? "12" : "–"} | ${r.ops} | ${r.compared} | ${r.rejected} | ${r.violations} | ${r.seconds.toFixed(1)} | ${r.error ? `MISMATCH: ${r.error}` : "identical"} |`),
    "",
  ].join("\n");
  return { rows, ok: rows.every((r) => !r.error), markdown };
}
