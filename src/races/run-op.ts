/**
 * Running one engine op from a step, the two ways the steps need: `tryRun` for a cut's
 * first op, which the engine refuses when the case is not one the cut takes (the op then
 * runs whole and reports its own errors), and `within` for an op that must run, whose
 * refusal is re-thrown naming the thread and op it came from.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { tryRun, within } from "./run-op.ts";
 * const e = await Engine.create({ scheme: "E4" });
 * const mm = e.mmNew();
 * console.log(tryRun(e, { op: "zap_begin", mm, addr: 4096, length: 4096 })); // null
 * try {
 *   within("thread A op 1 (munmap)", () => e.runDetailed([{ op: "munmap", mm: 99, addr: 0, length: 4096 }]));
 * } catch (err) {
 *   console.log((err as Error).message.startsWith("thread A op 1 (munmap): ")); // true
 * }
 * ```
 */
import { RefsimError } from "../core/errors.ts";
import type { OpOutcome } from "../core/errno.ts";
import type { Op } from "../core/ops.ts";
import type { Host } from "./kernel-steps.ts";

/** One engine op, or null when the engine refuses it (a RefsimError); any other error is thrown. */
export function tryRun(host: Host, op: Op): OpOutcome | null {
  try {
    return host.runDetailed([op])[0];
  } catch (e) {
    if (e instanceof RefsimError) return null;
    throw e;
  }
}

/** f(), a RefsimError from it re-thrown with `where: ` before its message (the batch's "op 0" dropped), its op, field and code kept. */
export function within<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RefsimError) throw new RefsimError(`${where}: ${e.message.replace(/^op 0:? ?/, "")}`, { op: e.op, field: e.field, code: e.code });
    throw e;
  }
}
