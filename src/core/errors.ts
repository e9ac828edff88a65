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

/**
 * A simulated syscall or CPU access that the kernel fails: the op ran and its
 * result is the kernel's errno (EFAULT, EPERM, ...) or signal (SIGSEGV, SIGBUS).
 * This is not bad input: a batch goes on past it, and only the one-op methods
 * (`e.mmap(...)`, `e.read(...)`) throw it. `errno` or `signal` names it.
 *
 * @example
 * ```ts
 * import { KernelError } from "./errors.ts";
 * const e = new KernelError("mmap: EEXIST", { op: "mmap", errno: "EEXIST", index: 0 });
 * console.log(e instanceof KernelError, e.errno, e.signal); // true EEXIST undefined
 * ```
 */
export class KernelError extends Error {
  readonly op?: string;
  readonly index?: number;
  /** The errno's name, for a failed syscall. */
  readonly errno?: string;
  /** The signal's name, for a CPU access the kernel refused. */
  readonly signal?: string;
  constructor(message: string, info: { op?: string; index?: number; errno?: string; signal?: string } = {}) {
    super(message);
    this.name = "KernelError";
    this.op = info.op;
    this.index = info.index;
    this.errno = info.errno;
    this.signal = info.signal;
  }
}

/**
 * A value as an error message shows it: JSON where JSON can say it, and a plain
 * description for what JSON cannot (BigInt, Symbol, functions, cycles, deep nesting),
 * so building the message never throws.
 *
 * @example
 * ```ts
 * import { shown } from "./errors.ts";
 * console.log(shown("4K"), shown(NaN), shown(4096n)); // "4K" NaN 4096n (a BigInt)
 * ```
 */
export function shown(v: unknown): string {
  switch (typeof v) {
    case "bigint": return `${v}n (a BigInt)`;
    case "symbol": return `${String(v)} (a Symbol)`;
    case "function": return "a function";
    case "undefined": return "undefined";
    case "object":
      if (v === null) return "null";
      try {
        const s = JSON.stringify(v) ?? "an object JSON cannot show";
        return s.length > 80 ? `${s.slice(0, 77)}...` : s;
      } catch {
        return Array.isArray(v) ? "an array JSON cannot show" : "an object JSON cannot show";
      }
    case "string": return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
    default: return String(v); // numbers (NaN and Infinity too) and booleans
  }
}
