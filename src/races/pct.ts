/**
 * Probabilistic concurrency testing (PCT; Burckhardt, Kothari, Musuvathi,
 * Nagarakatte, ASPLOS 2010), for sections too large to explore exhaustively.
 * Each run gives the n threads distinct random priorities above d and picks d-1
 * random change points among the k steps; at every step the enabled thread with
 * the highest priority runs, and at the i-th change point the running thread's
 * priority drops to i. A bug of depth d (d ordering constraints between steps)
 * is found by one run with probability at least 1 / (n * k^(d-1)), so R runs miss
 * it with probability at most (1 - 1/(n k^(d-1)))^R. Seeded: the same seed gives
 * the same runs on every runtime.
 *
 * @example
 * ```ts
 * import { pct } from "./pct.ts";
 * import { counterRace } from "./toy.ts";
 * const r = pct(counterRace(2), { bound: 8, depth: 2, runs: 200, seed: 1 });
 * console.log(r.finding?.kind, r.guarantee > 0); // lost_update true
 * ```
 */
import { Prng } from "../workload/prng.ts";
import { Cursor } from "./cursor.ts";
import type { StepTarget } from "./target.ts";
import { emptyStats, findingAt, stuckKind, type Finding, type SearchStats } from "./schedule.ts";

export interface PctOptions {
  /** Most steps any one thread takes. */
  bound: number;
  /** Bug depth d the guarantee is for. */
  depth: number;
  runs: number;
  seed: number;
  want?: (kind: string) => boolean;
}

export interface PctResult {
  finding: Finding | null;
  stats: SearchStats;
  /** k = threads * bound, the bound on one run's steps that the guarantee uses. */
  steps: number;
  /** The most steps a run took. */
  longest: number;
  /** Lower bound on one run's chance to hit a given depth-d bug: 1 / (n k^(d-1)). */
  guarantee: number;
  /** Upper bound on the chance that all runs missed a depth-d bug. */
  missBound: number;
}

export function pct(target: StepTarget, o: PctOptions): PctResult {
  const started = Date.now();
  const rng = new Prng(o.seed);
  const stats = emptyStats();
  const want = o.want ?? (() => true);
  const n = target.threads;
  const d = Math.max(1, o.depth);
  // k must bound the steps of every run: n threads of at most `bound` steps each.
  const k = Math.max(1, n * o.bound);
  let longest = 0;
  let finding: Finding | null = null;
  let runs = 0;
  for (; runs < o.runs && !finding; runs++) {
    const cur = new Cursor(target, "replay");
    const prio = shuffle(Array.from({ length: n }, (_, i) => d + i), rng);
    const change = new Set<number>();
    while (change.size < Math.min(d - 1, k)) change.add(1 + rng.below(k));
    const changeAt = [...change].sort((a, b) => a - b);
    for (let i = 1; ; i++) {
      let pick = -1;
      for (let t = 0; t < n; t++) {
        if (cur.perThread[t] >= o.bound || !target.enabled(t)) continue;
        if (pick < 0 || prio[t] > prio[pick]) pick = t;
      }
      stats.states++;
      if (pick < 0) {
        stats.interleavings++;
        const how = stuckKind(target, cur.perThread, o.bound);
        if (how === "cut") stats.cut++;
        else if (how === "deadlock") { if (want("deadlock")) finding = found(cur, "deadlock", false); }
        else if (target.epilogue) {
          const kind = target.epilogue().find(want);
          if (kind !== undefined) finding = found(cur, kind, true);
        }
        break;
      }
      const before = target.violations().length;
      cur.push(pick);
      const kind = target.violations().slice(before).find(want);
      if (kind !== undefined) { stats.interleavings++; finding = found(cur, kind, false); break; }
      const j = changeAt.indexOf(i);
      if (j >= 0) prio[pick] = j + 1; // below every initial priority (those start at d)
    }
    longest = Math.max(longest, cur.depth);
    stats.executed += cur.executed;
  }
  const guarantee = 1 / (n * k ** (d - 1));
  stats.ms = Date.now() - started;
  return { finding, stats, steps: k, longest, guarantee, missBound: finding ? 0 : powRuns(1 - guarantee, runs) };
}

function found(cur: Cursor, kind: string, atEpilogue: boolean): Finding {
  return findingAt(cur.path, cur.steps, kind, atEpilogue);
}

function shuffle<T>(a: T[], rng: Prng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * x ** n for a whole n by squaring: each step is one IEEE multiplication, so
 * every runtime rounds it the same way (`**` and Math.pow on a fraction are
 * implementation-approximated: V8 11 and V8 15 differ in the last bit here).
 * @example
 * ```ts
 * import { powRuns } from "./pct.ts";
 * if (powRuns(0.5, 3) !== 0.125) throw new Error("powRuns");
 * ```
 */
export function powRuns(x: number, n: number): number {
  let result = 1;
  for (let base = x, e = n; e > 0; e = Math.floor(e / 2), base *= base) if (e % 2 === 1) result *= base;
  return result;
}
