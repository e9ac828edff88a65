/**
 * Schedules: which thread takes each step of a concurrent section. What a search
 * finds (a violation and the schedule that reaches it), the statistics every
 * search keeps, and running one given schedule from the section start.
 *
 * @example
 * ```ts
 * import { contextSwitches, runSchedule } from "./schedule.ts";
 * import { counterRace } from "./toy.ts";
 * console.log(contextSwitches([0, 1, 0, 1])); // 3
 * console.log(runSchedule(counterRace(2), [0, 1, 0, 1]).finding?.kind); // lost_update
 * ```
 */
import type { StepInfo, StepTarget } from "./target.ts";

/** A violation and the exact interleaving that reaches it. */
export interface Finding {
  kind: string;
  /** Thread index of every step, from the section start. */
  schedule: number[];
  /** The kernel code each step modelled. */
  labels: string[];
  /** Whether each step completed its thread's op. */
  done: boolean[];
  /** Found by the checks after the section (teardown), not during a step. */
  atEpilogue: boolean;
}

/** The finding for the cursor's current path. */
export function findingAt(path: readonly number[], steps: readonly StepInfo[], kind: string, atEpilogue: boolean): Finding {
  return { kind, schedule: [...path], labels: steps.map((s) => s.label), done: steps.map((s) => s.opDone), atEpilogue };
}

/** What a search did. */
export interface SearchStats {
  /** Complete interleavings explored (every thread finished, blocked or at the bound). */
  interleavings: number;
  /** Interleavings that ended because a thread reached the step bound. */
  cut: number;
  /** States visited (tree nodes). */
  states: number;
  /** Steps run on the target, counting replays. */
  executed: number;
  /** Steps not taken because the sleep set showed them equivalent to explored ones. */
  pruned: number;
  ms: number;
}

export function emptyStats(): SearchStats {
  return { interleavings: 0, cut: 0, states: 0, executed: 0, pruned: 0, ms: 0 };
}

/** Number of places where consecutive steps belong to different threads. */
export function contextSwitches(schedule: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < schedule.length; i++) if (schedule[i] !== schedule[i - 1]) n++;
  return n;
}

/** No thread can step: either all finished, or the rest wait forever (a deadlock). */
export function stuckKind(target: StepTarget, perThread: readonly number[], bound: number): "done" | "cut" | "deadlock" {
  let cut = false;
  let waiting = false;
  for (let t = 0; t < target.threads; t++) {
    if (target.finished(t)) continue;
    if (perThread[t] >= bound) cut = true;
    else waiting = true;
  }
  // A thread waiting behind one stopped at the bound (a fork holding its mmap_lock) is cut with it, not deadlocked.
  return cut ? "cut" : waiting ? "deadlock" : "done";
}

/**
 * Run a schedule from the section start, then (when every thread is done) the
 * epilogue. Stops at the first violation. A step of a thread that cannot step is
 * an error: the schedule does not belong to this target.
 */
export function runSchedule(target: StepTarget, schedule: readonly number[]): { finding: Finding | null; labels: string[]; complete: boolean } {
  target.reset();
  const labels: string[] = [];
  const ran: number[] = [];
  const opDone: boolean[] = [];
  const finding = (kind: string, atEpilogue: boolean): Finding => ({ kind, schedule: [...ran], labels: [...labels], done: [...opDone], atEpilogue });
  for (const t of schedule) {
    if (t < 0 || t >= target.threads || !target.enabled(t)) throw new Error(`schedule step ${labels.length + 1}: thread ${target.names[t] ?? t} cannot step`);
    const s = target.step(t);
    labels.push(s.label);
    opDone.push(s.opDone);
    ran.push(t);
    const v = target.violations();
    if (v.length) return { finding: finding(v[0], false), labels, complete: false };
  }
  let complete = true;
  for (let t = 0; t < target.threads; t++) if (target.enabled(t)) complete = false;
  if (complete && stuckKind(target, new Array<number>(target.threads).fill(0), Infinity) === "deadlock") {
    return { finding: finding("deadlock", false), labels, complete };
  }
  if (complete && target.epilogue) {
    const v = target.epilogue();
    if (v.length) return { finding: finding(v[0], true), labels, complete };
  }
  return { finding: null, labels, complete };
}
