/**
 * A thin wrapper over benchmark.js: warm a test function up (V8 runs new WASM
 * and JS code in its baseline tier first), let benchmark.js time it, and turn
 * seconds per call into ns per op. Plus the Markdown table and the JSON record.
 *
 * @example
 * ```ts
 * import { timeCase } from "./harness.ts";
 * const r = timeCase("sum", () => { let s = 0; for (let i = 0; i < 1e4; i++) s += i; }, { opsPerCall: 1e4 });
 * console.log(r.nsPerOp, r.rme);
 * ```
 */
import Benchmark from "benchmark";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface Timing {
  /** Mean nanoseconds per op (per PTE for range ops). */
  nsPerOp: number;
  /** Relative margin of error of the mean, percent (95%). */
  rme: number;
  samples: number;
  /** Calls of the test function that benchmark.js timed (all samples). */
  calls: number;
  opsPerCall: number;
  warmupMs: number;
  /**
   * CPU time (process.cpuUsage: user + system) over wall time while benchmark.js
   * sampled: below 1 when the process waited for a core (a co-tenant, another
   * process on the machine); a little above 1 with V8's helper threads (GC).
   */
  cpuShare: number;
  /** ns per op of CPU time: nsPerOp × cpuShare, the cost without the time spent waiting. */
  cpuNsPerOp: number;
}

export interface TimeOptions {
  /** Ops (or PTEs) one call performs. */
  opsPerCall: number;
  /** Seconds benchmark.js may spend sampling. */
  maxTime?: number;
  minSamples?: number;
  /** Warm-up: call for at least this long, and at least warmupCalls times. */
  warmupMs?: number;
  warmupCalls?: number;
}

/** Warm `fn` up, then time it with benchmark.js. Throws what `fn` threw. */
export function timeCase(name: string, fn: () => void, o: TimeOptions): Timing {
  const t0 = performance.now();
  const minCalls = o.warmupCalls ?? 3;
  const minMs = o.warmupMs ?? 300;
  for (let i = 0; i < minCalls || performance.now() - t0 < minMs; i++) fn();
  const warmupMs = performance.now() - t0;
  const bench = new Benchmark(name, fn, { maxTime: o.maxTime ?? 1, minSamples: o.minSamples ?? 5, initCount: 1 });
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  bench.run({ async: false });
  const cpu = process.cpuUsage(cpu0);
  const cpuShare = (cpu.user + cpu.system) / 1000 / Math.max(1e-9, performance.now() - wall0);
  if (bench.error) throw bench.error instanceof Error ? bench.error : new Error(String(bench.error));
  const s = bench.stats;
  return {
    nsPerOp: (s.mean * 1e9) / o.opsPerCall,
    rme: s.rme,
    samples: s.sample.length,
    calls: s.sample.length * bench.count,
    opsPerCall: o.opsPerCall,
    warmupMs,
    cpuShare,
    cpuNsPerOp: (s.mean * 1e9 * cpuShare) / o.opsPerCall,
  };
}

/** "12.3 ±1.2%" style cell. */
export function fmtTiming(t: { nsPerOp: number; rme: number } | undefined | null, missing = "–"): string {
  if (!t) return missing;
  return `${fmtNum(t.nsPerOp)} ±${t.rme < 10 ? t.rme.toFixed(1) : Math.round(t.rme)}%`;
}

export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function fmtRatio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(b > 0)) return "–";
  return `${(a / b).toFixed(2)}×`;
}

/** A Markdown table; cells are already strings. */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (c ?? "").padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2) + "\n");
}

export const benchmarkJsVersion: string = Benchmark.version;
