/**
 * The one error type refsim throws for bad input: it names the op, the field and,
 * for batches and scenario files, where the offending op stands.
 *
 * @example
 * ```ts
 * import { RefsimError } from "./errors.ts";
 * try { throw new RefsimError("bad", { op: "mmap", field: "length" }); }
 * catch (e) { console.log((e as RefsimError).field); } // "length"
 * ```
 */
export interface RefsimErrorInfo {
  /** The op's name, e.g. "mmap". */
  op?: string;
  /** The field at fault, e.g. "addr". */
  field?: string;
  /** Index of the op in the batch or of the step in the scenario. */
  index?: number;
  /** Machine-readable reason (ERR_* name from the core, or a host reason). */
  code?: string;
}

export class RefsimError extends Error {
  readonly op?: string;
  readonly field?: string;
  readonly index?: number;
  readonly code?: string;
  constructor(message: string, info: RefsimErrorInfo = {}) {
    super(message);
    this.name = "RefsimError";
    this.op = info.op;
    this.field = info.field;
    this.index = info.index;
    this.code = info.code;
  }
}
