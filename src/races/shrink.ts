/**
 * Shrinking a violation found in a concurrent section to the fewest ops and the
 * fewest context switches that still produce it:
 *   1. ops: drop one thread op at a time (a thread left with none is dropped) and
 *      keep the cut if an exhaustive search of the smaller section still finds the
 *      same violation kind; repeat until no op can go;
 *   2. context switches: search the smallest section with at most c switches for
 *      c = 0, 1, 2, ... (no reduction: a switch bound and sleep sets do not mix);
 *      the first c with a violation is the minimum, and of its schedules the
 *      shortest is kept.
 * Both searches are exhaustive within the bound, so the result is minimal in ops
 * (no single op can be removed) and exactly minimal in switches for those ops.
 * Whether a cut still shows the violation is asked with at most 0, 1, 2 switches
 * first (iterative context bounding), then without a switch bound: a race needs few
 * switches, and an unbounded depth-first search can spend long in serial schedules.
 *
 * @example
 * ```ts
 * import { shrinkRace } from "./shrink.ts";
 * import { incrementers } from "./toy.ts";
 * const r = shrinkRace((p) => incrementers(p), [["work", "inc", "work"], ["inc"]], "lost_update", { bound: 8 });
 * console.log(r.program, r.finding.schedule); // [ [ 'inc' ], [ 'inc' ] ] [ 0, 1, 1, 0 ]
 * ```
 */
import { exhaustive } from "./sleepsets.ts";
import { contextSwitches, type Finding } from "./schedule.ts";
import type { StepTarget } from "./target.ts";

export interface ShrinkOptions {
  /** Per-thread step bound of every search. */
  bound: number;
  /** Steps one search may execute before it is given up (default 2 M). */
  budget?: number;
}

export interface ShrinkResult<Op> {
  program: Op[][];
  /** Which of the original threads each remaining one is. */
  threadOf: number[];
  finding: Finding;
  switches: number;
  /** Searches run while shrinking. */
  searches: number;
}

/**
 * Shrink `program` (ops per thread) whose section, built by `make`, has a
 * violation of `kind`. Throws if the full program does not show it.
 */
export function shrinkRace<Op>(
  make: (program: Op[][]) => StepTarget,
  program: readonly (readonly Op[])[],
  kind: string,
  o: ShrinkOptions,
): ShrinkResult<Op> {
  const budget = o.budget ?? 2_000_000;
  let searches = 0;
  const want = (k: string) => k === kind;
  const shows = (p: Op[][]): boolean => {
    searches++;
    let target: StepTarget;
    try {
      target = make(p);
      // Few context switches first (iterative context bounding, as CHESS does): a race needs only one or two, and
      // a depth-first search with no switch bound may run a long way down serial schedules before it switches early.
      for (let c = 0; c <= 2; c++) {
        if (exhaustive(target, { bound: o.bound, want, budget, reduction: false, maxSwitches: c }).finding !== null) return true;
      }
      return exhaustive(target, { bound: o.bound, want, budget }).finding !== null;
    } catch {
      return false; // a cut that breaks the program (a name no op binds any more)
    }
  };
  let cur = program.map((ops) => [...ops]);
  let threadOf = cur.map((_, i) => i);
  if (!shows(cur)) throw new Error(`shrinkRace: the program does not show '${kind}' within bound ${o.bound}`);
  for (let changed = true; changed;) {
    changed = false;
    for (let t = 0; !changed && t < cur.length; t++) {
      for (let i = 0; !changed && i < cur[t].length; i++) {
        const next = cur.map((ops, u) => (u === t ? ops.filter((_, j) => j !== i) : [...ops]));
        const keep = next.map((ops) => ops.length > 0);
        const cut = next.filter((_, u) => keep[u]);
        if (cut.length === 0 || !shows(cut)) continue;
        threadOf = threadOf.filter((_, u) => keep[u]);
        cur = cut;
        changed = true;
      }
    }
  }
  const target = make(cur);
  for (let c = 0; ; c++) {
    let best: Finding | null = null;
    searches++;
    const r = exhaustive(target, {
      bound: o.bound, want, budget, reduction: false, maxSwitches: c, stopAtFirst: false,
      onFinding: (f) => { if (!best || f.schedule.length < best.schedule.length) best = f; },
    });
    const found = best as Finding | null;
    if (found) return { program: cur, threadOf, finding: found, switches: contextSwitches(found.schedule), searches };
    if (c >= cur.length * o.bound || !r.complete) throw new Error(`shrinkRace: no schedule with at most ${c} switches shows the violation (search ${r.complete ? "complete" : "over budget"})`);
  }
}
