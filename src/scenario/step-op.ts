/**
 * An op step of a scenario as the op record the engine runs, and the value its "as"
 * binds: kept once, for the scenario runner (./run.ts) and for recording a scenario
 * to a trace (../trace/scenario.ts). The two had drifted: `refsim record` passed a
 * dmirror step's mirror name through unresolved and its "errno" key as an op field.
 *
 * @example
 * ```ts
 * import { stepOp, boundValue } from "./step-op.ts";
 * const names = new Map([["p", 1]]);
 * const op = stepOp({ op: "mmap", mm: "p", addr: 65536, length: 4096, as: "buf", errno: { E2: "none" } }, (v) => (typeof v === "string" ? names.get(v) : v));
 * console.log(JSON.stringify(op), boundValue("mmap", 16, {})); // {"op":"mmap","mm":1,"addr":65536,"length":4096} 65536
 * ```
 */
import { decodeResult } from "../core/ops.ts";
import type { KernelOutcome } from "../core/errno.ts";

/** The op-step fields whose values may be names bound by an earlier step's "as" (`"mm": "p"`, `"addr": "buf+4K"`). */
export const NAME_FIELDS: ReadonlySet<string> = new Set([
  "mm", "addr", "length", "file", "offset", "driver", "bo", "handle", "value", "pages", "fault",
  "newLength", "newAddr", "device", "mirror", "npages", "step", "window", "walk", "child", "migration", "waiter",
]);

/** Fields of an op step that say what the kernel should return, or name or annotate the step: not op fields. */
export const NOT_OP_FIELDS: ReadonlySet<string> = new Set(["as", "note", "errno", "signal", "thread"]);

/** The op record of an op step, each name-valued field passed through `resolve(value, field)`. */
export function stepOp(step: object, resolve: (value: unknown, field: string) => unknown): Record<string, unknown> {
  const op: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(step)) {
    if (NOT_OP_FIELDS.has(k)) continue;
    op[k] = NAME_FIELDS.has(k) ? resolve(v, k) : v;
  }
  return op;
}

/**
 * What a step's "as" binds for an op's result: an address in bytes for mmap and
 * mremap (the core returns page numbers), a read's value as unsigned; undefined when
 * the kernel failed the op (a failed syscall binds no name).
 */
export function boundValue(op: string, result: number, outcome: KernelOutcome): number | undefined {
  if (outcome.errno || outcome.signal) return undefined;
  return decodeResult(op, result);
}
