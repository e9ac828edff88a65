/**
 * The violation log: records in the order found, each naming the op (global
 * sequence number) that caused or detected it. Past capacity they are counted,
 * not stored, exactly as the core does.
 *
 * @example
 * ```ts
 * import { ViolationLog } from "./violations.ts";
 * import { Counters } from "./stats.ts";
 * import { V_UAF } from "../../assembly/abi.ts";
 * const log = new ViolationLog(1, new Counters());
 * log.currentOp = 7;
 * log.record(V_UAF, 3, 0, 0x10000, 0, 0, 2);
 * console.log(log.records[0].kind, log.records[0].op); // use_after_free 7
 * ```
 */
import { VIOLATION_KINDS, type Violation } from "../core/violations.ts";
import type { Counters } from "./stats.ts";

export class ViolationLog {
  readonly records: Violation[] = [];
  /** Sequence number of the op being executed (set by the dispatcher). */
  currentOp = 0;

  constructor(readonly capacity: number, private readonly counters: Counters) {}

  /** Record a violation of `kind` at frame `pfn` seen from (mm, vpn); op defaults to the current op. */
  record(kind: number, pfn: number, mm: number, vpn: number, refcount: number, mapcount: number, extra: number, op = -1): void {
    this.counters.violations[kind]++;
    if (this.records.length >= this.capacity) {
      this.counters.violationsDropped++;
      return;
    }
    this.records.push({
      kind: VIOLATION_KINDS[kind],
      op: op >= 0 ? op : this.currentOp,
      pfn, mm, vpn, refcount, mapcount, extra,
    });
  }
}
