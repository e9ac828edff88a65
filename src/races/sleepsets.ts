/**
 * Exhaustive search of a concurrent section's interleavings, depth first, with
 * sleep sets (Godefroid 1996) as the partial-order reduction: after the subtree
 * that starts with thread t's step has been explored, t "sleeps" in its siblings'
 * subtrees until some step dependent on t's step runs, because every interleaving
 * in which t's step comes first is equivalent (commuting independent steps) to
 * one already explored. Sleep sets prune transitions, never states, so every
 * reachable state, and so every violation a step or the epilogue can raise, is
 * still visited.
 *
 * The bound is per thread: a thread stops after `bound` steps (retry loops such as
 * a refault or a try-get spin are unrolled that far). Swapping independent steps
 * keeps every thread's step count, so the bound and the reduction agree. A second,
 * optional bound on context switches serves the shrinker (reduction off then).
 *
 * @example
 * ```ts
 * import { exhaustive } from "./sleepsets.ts";
 * import { privateWork, counterRace } from "./toy.ts";
 * console.log(exhaustive(privateWork(3, 2), { bound: 8 }).stats.interleavings); // 1 (of 90 schedules)
 * console.log(exhaustive(counterRace(2), { bound: 8 }).finding?.schedule); // [ 0, 1, 1, 0 ]
 * ```
 */
import { Cursor, type BacktrackMode } from "./cursor.ts";
import { dependent, type Footprint, type StepTarget } from "./target.ts";
import { emptyStats, findingAt, stuckKind, type Finding, type SearchStats } from "./schedule.ts";

export interface ExhaustiveOptions {
  /** Most steps any one thread takes. */
  bound: number;
  /** Sleep-set reduction (default on). */
  reduction?: boolean;
  /** At most this many context switches in an interleaving (default: no limit). */
  maxSwitches?: number;
  /** Stop at the first violation (default) or explore everything and keep the first. */
  stopAtFirst?: boolean;
  /** Only violations this accepts count (default: any). */
  want?: (kind: string) => boolean;
  /** Give up after executing this many steps (default: no limit). */
  budget?: number;
  mode?: BacktrackMode;
  /** Called with every finding (also the ones after the first when stopAtFirst is off). */
  onFinding?: (f: Finding) => void;
}

export interface ExhaustiveResult {
  finding: Finding | null;
  stats: SearchStats;
  /** Every interleaving within the bounds was explored (no budget stop, no early stop). */
  complete: boolean;
}

export function exhaustive(target: StepTarget, o: ExhaustiveOptions): ExhaustiveResult {
  const started = Date.now();
  const cur = new Cursor(target, o.mode);
  const stats = emptyStats();
  const reduce = o.reduction ?? true;
  const stopAtFirst = o.stopAtFirst ?? true;
  const want = o.want ?? (() => true);
  const maxSwitches = o.maxSwitches ?? Infinity;
  let first: Finding | null = null;
  let stopped = false;

  const found = (kind: string, atEpilogue: boolean): void => {
    const f = findingAt(cur.path, cur.steps, kind, atEpilogue);
    o.onFinding?.(f);
    if (!first) first = f;
    if (stopAtFirst) stopped = true;
  };

  const visit = (sleep: Map<number, Footprint>, switches: number): void => {
    stats.states++;
    if (o.budget !== undefined && cur.executed >= o.budget) { stopped = true; return; }
    const enabled: number[] = [];
    for (let t = 0; t < target.threads; t++) if (cur.perThread[t] < o.bound && target.enabled(t)) enabled.push(t);
    if (enabled.length === 0) {
      const how = stuckKind(target, cur.perThread, o.bound);
      stats.interleavings++;
      if (how === "cut") { stats.cut++; return; }
      if (how === "deadlock") { if (want("deadlock")) found("deadlock", false); return; }
      if (target.epilogue) {
        const v = cur.probe(() => target.epilogue!());
        const k = v.find(want);
        if (k !== undefined) found(k, true);
      }
      return;
    }
    const last = cur.path.length ? cur.path[cur.path.length - 1] : -1;
    // Keep running the current thread first: interleavings with few switches come early.
    if (last >= 0) {
      const i = enabled.indexOf(last);
      if (i > 0) { enabled.splice(i, 1); enabled.unshift(last); }
    }
    const asleep = new Map(sleep);
    for (const t of enabled) {
      if (stopped) return;
      if (reduce && asleep.has(t)) { stats.pruned++; continue; }
      const sw = switches + (last >= 0 && t !== last ? 1 : 0);
      if (sw > maxSwitches) continue;
      cur.settle();
      const before = target.violations().length;
      const step = cur.push(t);
      const k = target.violations().slice(before).find(want);
      if (k !== undefined) {
        stats.interleavings++;
        found(k, false); // deeper states keep the violation: no need to go on
      } else {
        const childSleep = new Map<number, Footprint>();
        if (reduce) for (const [u, f] of asleep) if (!dependent(f, step.footprint)) childSleep.set(u, f);
        visit(childSleep, sw);
      }
      cur.pop();
      if (reduce) asleep.set(t, step.footprint);
    }
  };

  visit(new Map(), 0);
  stats.executed = cur.executed;
  stats.ms = Date.now() - started;
  return { finding: first, stats, complete: !stopped };
}
