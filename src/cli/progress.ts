/**
 * Progress on stderr for long commands (workload, explore, sweep, bench, compare):
 * done/total, rate and ETA, redrawn at most ten times a second and only after the
 * first second (REFSIM_PROGRESS_AFTER_MS changes that wait; 0 draws at once). Drawn
 * on a terminal only (or when forced with --progress), so piped output and CI logs
 * stay clean.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const p = new Progress("sweep eras", 40, "runs");
 * p.update(10); // "sweep eras [#######......] 25% 10/40 runs, 3.1 runs/s, ETA 0:10" (on a terminal, after a second)
 * p.end();
 * ```
 */
import type { OpTarget } from "../workload/target.ts";
import { Engine } from "../core/engine.ts";
import { rate } from "./format.ts";

/** "1:05", "12:00:07": a time left. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return (hms[0] ? [hms[0], String(hms[1]).padStart(2, "0")] : [hms[1]]).join(":") + `:${String(hms[2]).padStart(2, "0")}`;
}

/** How long a command runs before its progress line appears: 1 s, or REFSIM_PROGRESS_AFTER_MS. */
function afterMs(): number {
  const v = Number(process.env.REFSIM_PROGRESS_AFTER_MS);
  return process.env.REFSIM_PROGRESS_AFTER_MS !== undefined && Number.isFinite(v) && v >= 0 ? v : 1000;
}

export class Progress {
  #label: string;
  #total: number;
  #unit: string;
  #done = 0;
  #t0 = performance.now();
  #lastDraw = 0;
  #drawn = false;
  #enabled: boolean;
  #after = afterMs();
  #stream: { write(s: string): unknown; isTTY?: boolean };

  constructor(label: string, total: number, unit: string, force = false, stream: { write(s: string): unknown; isTTY?: boolean } = process.stderr) {
    this.#label = label;
    this.#total = Math.max(1, total);
    this.#unit = unit;
    this.#stream = stream;
    this.#enabled = force || !!stream.isTTY;
  }

  get done(): number { return this.#done; }

  /** The line as it would be drawn now (for tests and logs). */
  line(now = performance.now()): string {
    const frac = Math.min(1, this.#done / this.#total);
    const width = 24;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    const secs = (now - this.#t0) / 1000;
    const perSec = secs > 0 ? this.#done / secs : 0;
    const eta = perSec > 0 ? clock((this.#total - this.#done) / perSec) : "?";
    return `${this.#label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${this.#done}/${this.#total} ${this.#unit}, ${rate(perSec)} ${this.#unit}/s, ETA ${eta}`;
  }

  /** Set how much is done; redraws when due. */
  update(done: number): void {
    this.#done = done;
    if (!this.#enabled) return;
    const now = performance.now();
    if (now - this.#t0 < this.#after || now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    this.#stream.write(`\r${this.line(now)}\x1b[K`);
    this.#drawn = true;
  }

  add(n = 1): void { this.update(this.#done + n); }

  /** Clear the line, if one was drawn. */
  end(): void {
    if (this.#drawn) this.#stream.write("\r\x1b[K");
    this.#drawn = false;
  }
}

/** Progress of a workload: an OpTarget wrapper that counts the ops going through it. */
export class ProgressTarget implements OpTarget {
  #inner: OpTarget;
  #progress: Progress;

  constructor(inner: OpTarget, total: number, label: string, force = false) {
    this.#inner = inner;
    this.#progress = new Progress(label, total, "ops", force);
  }

  runEncoded(words: Int32Array, count: number): Int32Array {
    const r = this.#inner.runEncoded(words, count);
    this.#progress.add(count);
    return r;
  }

  stats() { return this.#inner.stats(); }
  violations() { return this.#inner.violations(); }
  /** The Engine under this line, if every op goes to one unchanged: generators inside the core may run on it. */
  coreEngine(): Engine | null {
    const t = this.#inner;
    return t instanceof Engine ? t : t.coreEngine?.() ?? null;
  }
  /** A batch a generator inside the core ran: counted like runEncoded's. */
  coreRan(words: Int32Array, count: number): void {
    this.#inner.coreRan?.(words, count);
    this.#progress.add(count);
  }
  /** The wrapped target's capacity, for generators that size themselves by it. */
  get capacity(): unknown { return (this.#inner as { capacity?: unknown }).capacity; }

  end(): void { this.#progress.end(); }
}
