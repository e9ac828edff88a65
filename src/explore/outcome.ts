/**
 * Running one symbolic trace on a fresh engine and reading what it broke: each
 * violation tied back to the trace op that caused it, and the shrink predicate
 * "a violation of this kind, caused by an op of this name".
 *
 * @example
 * ```ts
 * import * as abi from "../../assembly/abi.ts";
 * import { Engine } from "../core/engine.ts";
 * import { SymTrace } from "./symbolic.ts";
 * import { runTrace } from "./outcome.ts";
 * const t = new SymTrace();
 * const mm = t.push(abi.OP_MM_NEW);
 * t.push(abi.OP_MMAP, [mm, 0x10000, 1, abi.VM_READ | abi.VM_WRITE | abi.VM_ANON, -1, 0], 1);
 * t.push(abi.OP_WRITE, [mm, 0x10000, 1], 1);
 * const gpu = t.push(abi.OP_DRIVER_NEW, [abi.KIND_DEVICE_COHERENT, 16]);
 * t.push(abi.OP_MIGRATE_TO_DEVICE, [mm, 0x10000, 1, gpu, 0], 0b1001);
 * t.push(abi.OP_MUNMAP, [mm, 0x10000, 1], 1);
 * t.push(abi.OP_CHECK);
 * const o = runTrace(t, await Engine.create({ scheme: "E0-devmap" }));
 * console.log(o.violations.map((v) => `${v.kind}@${v.index}`)); // [ "leak_page@5", "leak_bo@5" ]
 * ```
 */
import type { Engine } from "../core/engine.ts";
import type { Stats } from "../core/stats.ts";
import type { Violation, ViolationKind } from "../core/violations.ts";
import { SymExecutor, opName, type SymTrace } from "./symbolic.ts";

export interface TracedViolation extends Violation {
  /** Index in the trace of the op that caused it, or -1. */
  index: number;
  /** That op's name, or "" when unknown. */
  culprit: string;
}

export interface Outcome {
  violations: TracedViolation[];
  stats: Stats;
  exec: SymExecutor;
}

/** Run trace t on engine e (fresh) and tie each violation to the op that caused it. */
export function runTrace(t: SymTrace, e: Engine): Outcome {
  const exec = new SymExecutor(e);
  exec.run(t);
  const violations = e.violations().map((v) => {
    const index = exec.indexOf(v.op);
    return { ...v, index, culprit: index >= 0 ? opName(t.code(index)) : "" };
  });
  return { violations, stats: e.stats(), exec };
}

/**
 * What a shrink must keep: a violation of `kind` caused by an op of the same
 * class as `culprit` (the name of the op that caused it in the original trace).
 */
export interface Failure {
  kind: ViolationKind;
  culprit: string;
}

/**
 * Ops that reach the same kernel path count as one culprit: munmap,
 * madvise(MADV_DONTNEED), exit and teardown all zap page tables (zap_pte_range);
 * read and write are CPU accesses (handle_mm_fault). Any other op is its own class.
 */
export function culpritClass(op: string): string {
  switch (op) {
    case "munmap": case "madvise_dontneed": case "exit": case "teardown": return "zap";
    case "read": case "write": return "access";
  }
  return op;
}

export function matches(o: Outcome, f: Failure): boolean {
  const c = culpritClass(f.culprit);
  return o.violations.some((v) => v.kind === f.kind && culpritClass(v.culprit) === c);
}

/** The failure to keep: the first violation (of `kind`, if given). */
export function failureOf(o: Outcome, kind?: ViolationKind): (Failure & { violation: TracedViolation }) | undefined {
  const v = o.violations.find((x) => kind === undefined || x.kind === kind);
  return v ? { kind: v.kind, culprit: v.culprit, violation: v } : undefined;
}

/**
 * The index of the op at which a violation of `kind` is first recorded (a check,
 * a teardown, or the faulting access itself); -1 if none is. Runs op by op.
 */
export function detectionIndex(t: SymTrace, e: Engine, kind: ViolationKind): number {
  const exec = new SymExecutor(e, { batch: 1 });
  for (let i = 0; i < t.n; i++) {
    exec.run(t, i, i + 1);
    if (e.stats().violations[kind] > 0) return i;
  }
  return -1;
}
