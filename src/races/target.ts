/**
 * What the interleaving explorer drives: the threads of a concurrent section,
 * each running kernel paths one atomic step at a time. A step reports what it
 * touched (its footprint), so the explorer can tell which steps commute.
 *
 * A footprint is a list of object ids, each `id * 2 + 1` when the step wrote the
 * object and `id * 2` when it only read it; GLOBAL stands for "anything" (a step
 * whose effects were not itemised, such as a whole op run as one step). Two steps
 * of different threads are independent when they touch no common object or only
 * read it: executing them in either order gives the same state.
 *
 * @example
 * ```ts
 * import { dependent, GLOBAL, readOf, writeOf } from "./target.ts";
 * console.log(dependent([readOf(7)], [readOf(7)]));   // false: two reads commute
 * console.log(dependent([readOf(7)], [writeOf(7)]));  // true
 * console.log(dependent([writeOf(1)], [GLOBAL]));     // true
 * ```
 */

/** A footprint entry that depends on everything. */
export const GLOBAL = -1;

export type Footprint = readonly number[];

export const readOf = (id: number): number => id * 2;
export const writeOf = (id: number): number => id * 2 + 1;

/** Do two steps' footprints conflict (a common object, written by at least one)? */
export function dependent(a: Footprint, b: Footprint): boolean {
  for (const x of a) {
    if (x === GLOBAL) return true;
    for (const y of b) {
      if (y === GLOBAL) return true;
      if (x >> 1 === y >> 1 && ((x | y) & 1) === 1) return true;
    }
  }
  return false; // an empty footprint (thread-local work) commutes with anything
}

/** One atomic step that ran. */
export interface StepInfo {
  footprint: Footprint;
  /** The kernel code the step modelled, for reports and written scenarios. */
  label: string;
  /** The thread's current op completed with this step. */
  opDone: boolean;
}

/** A snapshot of a target's whole state, opaque to the explorer. */
export type Snapshot = unknown;

export interface StepTarget {
  /** Number of threads in the section. */
  readonly threads: number;
  /** Thread names, for reports (A, B, ... by default). */
  readonly names: readonly string[];
  /** Back to the state at the start of the concurrent section. */
  reset(): void;
  /** Thread t could take a step now: it has work left and does not wait for a lock. */
  enabled(t: number): boolean;
  /** Thread t has run every op it was given. */
  finished(t: number): boolean;
  /** Run one atomic step of thread t, which must be enabled. */
  step(t: number): StepInfo;
  /** Violation kinds recorded since the section started, in the order found. */
  violations(): readonly string[];
  /**
   * From a state where no thread can step: run what the scenario does after the
   * section (its teardown and checks) and return every violation kind recorded then.
   * The state is left changed: the explorer restores it.
   */
  epilogue?(): readonly string[];
  /** Save and restore the whole state, for backtracking without replay. */
  save?(): Snapshot;
  load?(s: Snapshot): void;
}
