/**
 * The scenario format: a list of ops and expectations, run under one or more
 * schemes. JSON files and `.ts` modules (default export) share this shape.
 *
 * @example
 * ```ts
 * import type { Scenario } from "./types.ts";
 * const s: Scenario = {
 *   name: "tiny",
 *   schemes: ["E2"],
 *   steps: [
 *     { op: "mm_new", as: "p" },
 *     { op: "mmap", mm: "p", length: "4K", as: "buf" },
 *     { op: "write", mm: "p", addr: "buf", value: 1 },
 *     { expect: { page: { mm: "p", addr: "buf" }, refcount: 1 } },
 *   ],
 * };
 * ```
 */
import type { Capacity } from "../core/engine.ts";
import type { SchemeInput } from "../scheme/resolve.ts";

/** A number, or a string: a name bound by `as`, hex ("0x1000"), a size ("4K", "2M"), or "name+4K". */
export type Value = number | string | boolean;

/** A value that may differ per scheme: { "E0": 2, "*": 1 }. */
export type PerScheme<T> = T | { [scheme: string]: T };

export interface OpStep {
  op: string;
  /** Bind the op's result (mm id, address, driver, BO, handle, file, value) to a name. */
  as?: string;
  /** Shown in reports instead of the op text. */
  note?: string;
  /**
   * The errno the kernel must fail this op with ("EPERM", "EFAULT", ...; "none":
   * it must succeed), one for all schemes or per scheme. The run goes on past it.
   */
  errno?: PerScheme<string>;
  /** The signal a CPU access must raise ("SIGSEGV", "SIGBUS"; "none": no signal). */
  signal?: PerScheme<string>;
  /** In a replay of one interleaving: the thread (simulated CPU) this op starts on; `{ "step": thread }` steps run it. */
  thread?: string;
  [field: string]: Value | PerScheme<string> | undefined;
}

export interface Expectation {
  /** Inspect what an address maps to (null when nothing is mapped). */
  page?: { mm: Value; addr: Value };
  /** Inspect a buffer object by name or id. */
  bo?: Value;
  /** Read a value through the CPU (a real read op: it may fault). */
  read?: { mm: Value; addr: Value };
  /** Check the result an earlier op bound with `as` (a fault token, a wait count...), against `value`. */
  result?: string;
  /** A test_hmm file (dmirror_open's result, or a name bound by `as`): fields cpages, faults (of its last ioctl that returned 0), entries, open. */
  mirror?: Value;
  cpages?: PerScheme<number>;
  faults?: PerScheme<number>;
  /** Entries in the file's device page table. */
  entries?: PerScheme<number>;
  open?: PerScheme<boolean>;
  /**
   * The bytes of the last dmirror_snapshot, one per page (HMM_DMIRROR_PROT_*): a number, or names joined by "|"
   * (ERROR, NONE, READ, WRITE, PMD, PUD, ZERO, DEV_PRIVATE_LOCAL, DEV_PRIVATE_REMOTE, DEV_COHERENT_LOCAL,
   * DEV_COHERENT_REMOTE), "*N" for N pages alike.
   */
  snapshot?: PerScheme<Array<number | string>>;
  /** folio_ref_count: the folio's count (the head page's, for a page of a large folio). */
  refcount?: PerScheme<number>;
  /** This page's _mapcount (its PTE mappings). */
  mapcount?: PerScheme<number>;
  /** folio->_entire_mapcount: PMD mappings of a large folio. */
  entireMapcount?: PerScheme<number>;
  /** folio->_pincount of a large folio. */
  pincount?: PerScheme<number>;
  /** Part of a large (PMD-order) folio. */
  large?: PerScheme<boolean>;
  /** Mapped by a PMD (a THP or the huge zero page). */
  pmd?: PerScheme<boolean>;
  kind?: PerScheme<string>;
  mapped?: PerScheme<boolean>;
  devicePrivate?: PerScheme<boolean>;
  devmap?: PerScheme<boolean>;
  writable?: PerScheme<boolean>;
  state?: PerScheme<"live" | "freed">;
  pages?: PerScheme<number>;
  value?: PerScheme<number>;
  /** Violation counts so far by kind; {} means none at all. */
  violations?: PerScheme<Record<string, number>>;
  /** Statistics counters so far, by dotted path ("wpCopy", "bufferObjects.freed"). */
  stats?: PerScheme<Record<string, number>>;
}

export interface ExpectStep {
  expect: Expectation;
  /** Row name in the side-by-side table. */
  label?: string;
}

/**
 * The concurrent section: the ops each thread (simulated CPU) runs in order.
 * `refsim races` explores its interleavings; `refsim run` runs the threads one
 * after another, in the order listed.
 */
export interface ThreadsStep {
  threads: Record<string, OpStep[]>;
  label?: string;
}

/** In a replay of one interleaving: run one atomic step of the named thread's current op. */
export interface StepStep {
  step: string;
  /** The kernel code the step models. */
  note?: string;
}

/** What `refsim races` must find in the scenario's concurrent section. */
export interface RaceSpec {
  /** Most steps one thread takes (retry loops unroll this far). */
  bound?: number;
  /** The violation kind the search must find under each scheme ("none": none within the bound), one for all or per scheme. */
  expect?: Record<string, string>;
  /** A statistic (dotted path, as in `expect.stats`) whose growth during the section counts as a violation. */
  never?: string;
  /** PCT instead of exhaustive search: runs and bug depth. */
  pct?: { runs: number; depth: number; seed?: number };
}

export type Step = OpStep | ExpectStep | ThreadsStep | StepStep;

export interface Scenario {
  name: string;
  title?: string;
  /** The spec §7 scenario this reproduces, e.g. "S1". */
  spec?: string;
  description?: string;
  /** Schemes to run under when none are given on the command line. */
  schemes?: SchemeInput[];
  capacity?: Partial<Capacity>;
  /** What `refsim races` must find in the "threads" step. */
  race?: RaceSpec;
  steps: Step[];
}
