/**
 * The scenario format's concurrent parts. A scenario gives its concurrent section
 * as one `threads` step, the ops each simulated CPU runs in order; `refsim races`
 * explores that section's interleavings, and `refsim run` runs it serially (each
 * thread to completion, in the order listed). A scenario that replays one exact
 * interleaving (what the explorer writes) uses two other forms instead: an op step
 * with `"thread": "A"` starts that op on thread A, and `{ "step": "A" }` runs one
 * atomic step of it. The top-level `race` field says what the explorer should
 * find under each scheme, and within which bound.
 *
 * ```json
 * { "threads": { "A": [{ "op": "read", "mm": "p", "addr": "buf" }],
 *                "B": [{ "op": "madvise_dontneed", "mm": "p", "addr": "buf", "length": "4K" }] } }
 * "race": { "bound": 6, "expect": { "E0": "use_after_free", "*": "none" } }
 * ```
 *
 * @example
 * ```ts
 * import { splitSection } from "./format.ts";
 * const s = splitSection({ name: "t", steps: [
 *   { op: "mm_new", as: "p" },
 *   { threads: { A: [{ op: "read", mm: "p", addr: 0 }], B: [{ op: "check" }] } },
 *   { op: "teardown" },
 * ] });
 * console.log(s.setup.length, s.threads.map((t) => t.name), s.epilogue.length); // 1 [ 'A', 'B' ] 1
 * ```
 */
import type { OpStep, RaceSpec, Scenario, Step, StepStep, ThreadsStep } from "../scenario/types.ts";

export type { RaceSpec, StepStep, ThreadsStep };

export const THREAD_NAME = /^[A-Za-z][\w-]{0,15}$/;
/** Most threads a section may have (the core's continuation slots). */
export const MAX_SECTION_THREADS = 8;
export const DEFAULT_BOUND = 8;

export interface Section {
  /** Steps before the threads step. */
  setup: Step[];
  threads: { name: string; ops: OpStep[] }[];
  /** Steps after it. */
  epilogue: Step[];
  /** Index of the threads step in the scenario. */
  at: number;
}

// An op step may have an op field called "step" (or "threads"): only a step without "op" is one of these.
export function isThreadsStep(st: unknown): st is ThreadsStep {
  return typeof st === "object" && st !== null && "threads" in st && !("op" in st);
}

export function isStepStep(st: unknown): st is StepStep {
  return typeof st === "object" && st !== null && "step" in st && !("op" in st);
}

/** A step of the concurrent forms: a threads step, a step step, or an op started on a thread. */
export function isConcurrent(st: unknown): boolean {
  return isThreadsStep(st) || isStepStep(st) || (typeof st === "object" && st !== null && "op" in st && "thread" in st);
}

/** The scenario around its (single) threads step. */
export function splitSection(sc: Scenario): Section {
  const steps = sc.steps as unknown[];
  const at = steps.findIndex(isThreadsStep);
  if (at < 0) throw new Error(`${sc.name}: no "threads" step: nothing runs concurrently`);
  if (steps.findIndex((s, i) => i > at && isThreadsStep(s)) >= 0) throw new Error(`${sc.name}: more than one "threads" step`);
  const ts = steps[at] as ThreadsStep;
  return {
    setup: sc.steps.slice(0, at),
    threads: Object.entries(ts.threads).map(([name, ops]) => ({ name, ops })),
    epilogue: sc.steps.slice(at + 1),
    at,
  };
}

/**
 * Shape checks for the concurrent steps, called by the scenario parser: `bad`
 * throws with the step and field named. Returns true if `st` was one of them.
 */
export function checkConcurrentStep(st: Record<string, unknown>, bad: (msg: string, field?: string) => never, checkOp: (op: Record<string, unknown>, where: string) => void): boolean {
  if (isThreadsStep(st)) {
    for (const k of Object.keys(st)) if (k !== "threads" && k !== "label") bad(`unknown field '${k}' in a threads step (fields: threads, label)`, k);
    const th = st.threads;
    if (th === null || typeof th !== "object" || Array.isArray(th)) bad(`"threads" must be an object of thread names to op lists, like { "A": [ ... ] }`, "threads");
    const names = Object.keys(th as object);
    if (names.length < 1 || names.length > MAX_SECTION_THREADS) bad(`"threads" must name 1 to ${MAX_SECTION_THREADS} threads, got ${names.length}`, "threads");
    for (const n of names) {
      if (!THREAD_NAME.test(n)) bad(`thread name '${n}' must start with a letter (letters, digits, _ and -, at most 16)`, "threads");
      const ops = (th as Record<string, unknown>)[n];
      if (!Array.isArray(ops) || ops.length === 0) bad(`thread ${n} must have a non-empty list of op steps`, `threads.${n}`);
      (ops as unknown[]).forEach((op, j) => {
        if (op === null || typeof op !== "object" || Array.isArray(op) || !("op" in op)) bad(`thread ${n} op ${j + 1} must be an op step like { "op": "read", ... }`, `threads.${n}`);
        if ("thread" in (op as object)) bad(`thread ${n} op ${j + 1}: "thread" is implied inside a threads step`, "thread");
        checkOp(op as Record<string, unknown>, `thread ${n} op ${j + 1}`);
      });
    }
    return true;
  }
  if (isStepStep(st)) {
    for (const k of Object.keys(st)) if (k !== "step" && k !== "note") bad(`unknown field '${k}' in a step step (fields: step, note)`, k);
    if (typeof st.step !== "string" || !THREAD_NAME.test(st.step)) bad(`"step" must name a thread (letters, digits, _ and -)`, "step");
    return true;
  }
  if ("thread" in st && (typeof st.thread !== "string" || !THREAD_NAME.test(st.thread))) bad(`"thread" must be a thread name (letters, digits, _ and -)`, "thread");
  return false;
}

/** Shape checks for the top-level `race` field. */
export function checkRaceSpec(r: unknown, bad: (msg: string, field?: string) => never): void {
  if (r === null || typeof r !== "object" || Array.isArray(r)) bad(`"race" must be an object with "bound", "expect", "never" or "pct"`, "race");
  const o = r as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!["bound", "expect", "never", "pct"].includes(k)) bad(`unknown field '${k}' in "race" (fields: bound, expect, never, pct)`, `race.${k}`);
  if (o.bound !== undefined && (!Number.isInteger(o.bound) || (o.bound as number) < 1 || (o.bound as number) > 64)) bad(`"race.bound" must be a whole number 1..64`, "race.bound");
  if (o.expect !== undefined) {
    if (o.expect === null || typeof o.expect !== "object" || Array.isArray(o.expect)) bad(`"race.expect" must map schemes to a violation kind or "none"`, "race.expect");
    for (const [k, v] of Object.entries(o.expect as object)) if (typeof v !== "string") bad(`"race.expect.${k}" must be a violation kind or "none"`, `race.expect.${k}`);
  }
  if (o.never !== undefined && typeof o.never !== "string") bad(`"race.never" must be a statistic's dotted path, like "migrateFailed"`, "race.never");
  if (o.pct !== undefined) {
    const p = o.pct as Record<string, unknown>;
    if (p === null || typeof p !== "object" || !Number.isInteger(p.runs) || !Number.isInteger(p.depth) || (p.runs as number) < 1 || (p.depth as number) < 1) {
      bad(`"race.pct" must be { "runs": N, "depth": d } with whole numbers >= 1`, "race.pct");
    }
  }
}

/** The kind a scheme's race expectation names: its own entry, else "*". */
export function expectedKind(spec: RaceSpec | undefined, scheme: string): string | undefined {
  const e = spec?.expect;
  if (!e) return undefined;
  return e[scheme] ?? e["*"];
}
