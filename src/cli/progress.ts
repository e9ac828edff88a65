/**
 * A progress bar on stderr for runs longer than a second: wraps an OpTarget and
 * redraws at most ten times a second as ops go through it. Drawn only on a
 * terminal (or when forced), so piped output and CI logs stay clean.
 */
import type { OpTarget } from "../workload/target.ts";

export class ProgressTarget implements OpTarget {
  #inner: OpTarget;
  #total: number;
  #label: string;
  #done = 0;
  #t0 = performance.now();
  #lastDraw = 0;
  #drawn = false;
  #enabled: boolean;

  constructor(inner: OpTarget, total: number, label: string, force = false) {
    this.#inner = inner;
    this.#total = Math.max(1, total);
    this.#label = label;
    this.#enabled = force || !!process.stderr.isTTY;
  }

  runEncoded(words: Int32Array, count: number): Int32Array {
    const r = this.#inner.runEncoded(words, count);
    this.#done += count;
    const now = performance.now();
    if (this.#enabled && now - this.#t0 > 1000 && now - this.#lastDraw > 100) {
      this.#lastDraw = now;
      this.#draw(now);
    }
    return r;
  }

  stats() { return this.#inner.stats(); }
  violations() { return this.#inner.violations(); }
  /** The wrapped target's capacity, for generators that size themselves by it. */
  get capacity(): unknown { return (this.#inner as { capacity?: unknown }).capacity; }

  #draw(now: number): void {
    const frac = Math.min(1, this.#done / this.#total);
    const width = 30;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    const rate = this.#done / ((now - this.#t0) / 1000);
    process.stderr.write(`\r${this.#label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${fmt(this.#done)}/${fmt(this.#total)} ops ${fmt(rate)} ops/s `);
    this.#drawn = true;
  }

  /** Clear the bar line, if one was drawn. */
  end(): void {
    if (this.#drawn) process.stderr.write("\r" + " ".repeat(100) + "\r");
  }
}

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}
