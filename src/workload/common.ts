/**
 * What every workload generator shares: parameter specs with documented defaults
 * and validation, the capacity a target offers, pacing of resources the core never
 * recycles, the run session (op budget, timing) and the summary it returns.
 *
 * Resources and recycling in the core: page frames, VMAs, page tables and GUP
 * handles come back when they are freed, but mm ids (mm_new, fork), file ids and
 * file pages (file_new), drivers and device pages (driver_new) and buffer objects
 * (migrate_to_device with bo 0) are used up for good. A Pacer spreads such uses
 * evenly over the op budget so a long run never runs out of them.
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { Session, Pacer } from "./common.ts";
 * const e = await Engine.create();
 * const s = new Session("demo", e, 1, 1000);
 * const forks = new Pacer(10, 1000); // at most 10 uses, one per 100 ops
 * console.log(forks.allow(0), s.capacity.processes); // true 256
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { RefsimError, shown } from "../core/errors.ts";
import { DEFAULT_CAPACITY, Engine, type Capacity, type CoreWorkload, type CoreWorkloadRun } from "../core/engine.ts";
import type { Stats } from "../core/stats.ts";
import { VIOLATION_KINDS, type ViolationKind } from "../core/violations.ts";
import { OpEncoder } from "./encoder.ts";
import { Prng } from "./prng.ts";
import type { OpTarget } from "./target.ts";

// ---------------------------------------------------------------- parameters

export type ParamValue = number | string | boolean | Readonly<Record<string, number>>;

export interface ParamSpec<T extends ParamValue = ParamValue> {
  default: T;
  doc: string;
  /** numbers: inclusive bounds; records: bounds of every entry. */
  min?: number;
  max?: number;
  integer?: boolean;
  /** strings: the allowed values. */
  choices?: readonly string[];
}

export type Spec<P> = { readonly [K in keyof P]: P[K] extends ParamValue ? ParamSpec<P[K]> : never };

export function defaultsOf<P>(spec: Spec<P>): P {
  const out = {} as Record<string, unknown>;
  for (const [k, s] of Object.entries(spec) as [string, ParamSpec][]) {
    out[k] = typeof s.default === "object" ? { ...s.default } : s.default;
  }
  return out as P;
}

function badParam(workload: string, field: string, why: string): never {
  throw new RefsimError(`${workload}: parameter '${field}' ${why}`, { field, code: "BAD_PARAM" });
}

function checkNumber(workload: string, field: string, v: unknown, s: ParamSpec): number {
  if (typeof v !== "number" || !Number.isFinite(v)) badParam(workload, field, `must be a number, got ${shown(v)}`);
  if (s.integer && !Number.isInteger(v)) badParam(workload, field, `must be a whole number, got ${v}`);
  if (s.min !== undefined && v < s.min) badParam(workload, field, `must be >= ${s.min}, got ${v}`);
  if (s.max !== undefined && v > s.max) badParam(workload, field, `must be <= ${s.max}, got ${v}`);
  return v;
}

/** Defaults overlaid with `input`, every field checked against its spec. */
export function resolveParams<P>(workload: string, spec: Spec<P>, input: unknown): P {
  const out = defaultsOf(spec) as Record<string, unknown>;
  if (input === undefined || input === null) return out as P;
  if (typeof input !== "object" || Array.isArray(input)) badParam(workload, "params", `must be an object, got ${shown(input)}`);
  const specs = spec as unknown as Record<string, ParamSpec>;
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    const s = specs[k];
    if (!s) badParam(workload, k, `is unknown (parameters: ${Object.keys(specs).join(", ")})`);
    if (v === undefined) continue;
    const d = s.default;
    if (typeof d === "number") {
      out[k] = checkNumber(workload, k, v, s);
    } else if (typeof d === "boolean") {
      if (typeof v !== "boolean") badParam(workload, k, `must be true or false, got ${shown(v)}`);
      out[k] = v;
    } else if (typeof d === "string") {
      if (typeof v !== "string" || (s.choices && !s.choices.includes(v))) {
        badParam(workload, k, `must be one of ${(s.choices ?? []).map((c) => JSON.stringify(c)).join(", ")}, got ${shown(v)}`);
      }
      out[k] = v;
    } else {
      if (typeof v !== "object" || v === null || Array.isArray(v)) badParam(workload, k, `must be an object like ${JSON.stringify(d)}`);
      const merged: Record<string, number> = { ...d };
      for (const [kk, vv] of Object.entries(v as Record<string, unknown>)) {
        if (!(kk in d)) badParam(workload, `${k}.${kk}`, `is unknown (keys: ${Object.keys(d).join(", ")})`);
        merged[kk] = checkNumber(workload, `${k}.${kk}`, vv, s);
      }
      out[k] = merged;
    }
  }
  return out as P;
}

/** Reject params that cannot work: throws RefsimError naming the field. */
export function need(ok: boolean, workload: string, field: string, why: string): void {
  if (!ok) throw new RefsimError(`${workload}: ${why}`, { field, code: "BAD_PARAM" });
}

/** The weights of a record in a fixed key order, for Prng.weighted. */
export function weightsOf<K extends string>(rec: Readonly<Record<K, number>>, keys: readonly K[]): number[] {
  return keys.map((k) => rec[k]);
}

// ---------------------------------------------------------------- capacity

/** The target's capacity if it says (the Engine does), else the Engine default. */
export function capacityOf(target: OpTarget): Readonly<Capacity> {
  const c = (target as { capacity?: Partial<Capacity> }).capacity;
  return c ? { ...DEFAULT_CAPACITY, ...c } : DEFAULT_CAPACITY;
}

/** What earlier ops on the target already used, as far as its counters tell. */
export interface Usage {
  /** mm ids handed out (never reused). */
  mms: number;
  /** buffer objects created (ids never reused). */
  bos: number;
  files: number;
  drivers: number;
  gupLive: number;
  /** System frames in use. */
  systemLive: number;
  /** Device frames in use. */
  deviceLive: number;
}

export function usageOf(s: Stats): Usage {
  const deviceLive = s.device.allocated - s.device.pageFree;
  return {
    mms: s.ops.mm_new + s.ops.fork,
    bos: s.bufferObjects.created,
    files: s.ops.file_new,
    drivers: s.ops.driver_new,
    gupLive: s.gupLive,
    systemLive: s.frames.live - deviceLive,
    deviceLive,
  };
}

/** System frames the core still has free, from exact counters. */
export function systemFree(cap: Readonly<Capacity>, s: Stats): number {
  return cap.systemPages - usageOf(s).systemLive;
}

// ---------------------------------------------------------------- pacing

/**
 * Spreads `slots` uses of a never-recycled resource evenly over `budget` ops: use
 * k (0-based) is allowed once k * budget <= opsDone * slots. With slots >= budget
 * it never holds anything back.
 */
export class Pacer {
  used = 0;
  constructor(readonly slots: number, readonly budget: number) {}
  allow(opsDone: number): boolean {
    return this.used < this.slots && this.used * this.budget <= opsDone * this.slots;
  }
  take(): void { this.used++; }
  get left(): number { return this.slots - this.used; }
}

// ---------------------------------------------------------------- session and summary

export interface WorkloadSummary {
  workload: string;
  seed: number;
  budget: number;
  /** Ops this run executed (setup, main phase and drain). */
  ops: number;
  elapsedMs: number;
  opsPerSec: number;
  /** Atomic RMWs on _refcount and _mapcount per op. */
  atomicsPerOp: number;
  atomics: { refcount: number; mapcount: number };
  /** Violations found during this run, by kind. */
  violations: Record<ViolationKind, number> & { total: number };
  /** Highest number of live frames (system + device) the target has seen. */
  peakFrames: number;
  /** Live frames before and after the run. */
  liveFrames: { before: number; after: number };
  /** Page faults, COW copies, migrations and failed migrations during the run. */
  faults: number;
  wpCopy: number;
  migrated: number;
  migrateFailed: number;
  /** FNV-1a (u32) of the op stream: equal streams have equal hashes. */
  streamHash: number;
  /** Set when the main phase ended before the budget (e.g. nothing more could be done). */
  note?: string;
  /** The target's counters at the end. */
  stats: Stats;
}

/** Common run bookkeeping: encoder, PRNG, budget, starting counters, timing. */
export class Session {
  readonly enc: OpEncoder;
  readonly rng: Prng;
  readonly capacity: Readonly<Capacity>;
  readonly before: Stats;
  readonly usage: Usage;
  readonly start: number;
  readonly t0: number;
  note?: string;

  constructor(readonly workload: string, readonly target: OpTarget, readonly seed: number, readonly budget: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RefsimError(`${workload}: seed must be a whole number 0..2^32-1, got ${shown(seed)}`, { field: "seed", code: "BAD_PARAM" });
    }
    if (!Number.isInteger(budget) || budget < 1) {
      throw new RefsimError(`${workload}: budget must be a whole number of ops >= 1, got ${shown(budget)}`, { field: "budget", code: "BAD_PARAM" });
    }
    this.t0 = performance.now();
    this.enc = new OpEncoder(target);
    this.rng = new Prng(seed);
    this.capacity = capacityOf(target);
    this.before = target.stats();
    this.usage = usageOf(this.before);
    this.start = this.enc.seq;
  }

  /** Ops issued by this run so far. */
  get done(): number { return this.enc.seq - this.start; }

  /** True while a step of up to `stepOps` ops still fits, keeping `reserve` ops for the drain. */
  fits(stepOps: number, reserve: number): boolean {
    return this.done + stepOps + reserve <= this.budget;
  }

  /** Fail early when the setup and drain alone do not fit the budget. */
  needBudget(minimum: number): void {
    if (this.budget < minimum) {
      throw new RefsimError(`${this.workload}: budget ${this.budget} is below the ${minimum} ops its setup and drain need with these parameters`, { field: "budget", code: "BAD_PARAM" });
    }
  }

  /** Flush and build the summary. */
  finish(): WorkloadSummary {
    this.enc.flush();
    const after = this.target.stats();
    const elapsedMs = performance.now() - this.t0;
    const b = this.before;
    const ops = this.done;
    const refcount = after.atomics.refcount - b.atomics.refcount;
    const mapcount = after.atomics.mapcount - b.atomics.mapcount;
    const violations = { total: 0 } as Record<ViolationKind, number> & { total: number };
    for (const k of VIOLATION_KINDS) {
      violations[k] = after.violations[k] - b.violations[k];
      violations.total += violations[k];
    }
    return {
      workload: this.workload,
      seed: this.seed,
      budget: this.budget,
      ops,
      elapsedMs,
      opsPerSec: elapsedMs > 0 ? Math.round((ops * 1000) / elapsedMs) : 0,
      atomicsPerOp: ops > 0 ? (refcount + mapcount) / ops : 0,
      atomics: { refcount, mapcount },
      violations,
      peakFrames: after.frames.peak,
      liveFrames: { before: b.frames.live, after: after.frames.live },
      faults: after.faults - b.faults,
      wpCopy: after.wpCopy - b.wpCopy,
      migrated: after.migrated - b.migrated,
      migrateFailed: after.migrateFailed - b.migrateFailed,
      streamHash: this.enc.streamHash,
      ...(this.note ? { note: this.note } : {}),
      stats: after,
    };
  }
}

/** How a run may be made: which generator, and a look at the ops a generator inside the core issues. */
export interface RunOptions {
  /**
   * "auto" (the default): on an Engine, a workload with a generator inside the core (page-fault1,
   * page-fault3, mmap1, fork-heavy, shared-pages, gpu-churn, rdma-pins; mix its whole run) issues its main loop there, with no JavaScript per op; on any other target,
   * and always with "js", the TypeScript generator issues every op. Both issue the same op stream.
   */
  generator?: "auto" | "js";
  /** Sees each batch of ops the core's generator ran (a view valid during the call); not called for "js". */
  onCoreBatch?: (words: Int32Array, count: number) => void;
}

/**
 * The Engine to run a generator's main loop inside, or null for the TypeScript generator: a plain
 * Engine, or the one a wrapper names (OpTarget.coreEngine; any other wrapper, the model or a
 * SpreadTarget sees every op through runEncoded), only when the tasks' ids are consecutive (the
 * core's generators number them from the first one).
 */
export function coreEngine(target: OpTarget, options: RunOptions | undefined, ...ids: Int32Array[]): Engine | null {
  if (options?.generator === "js") return null;
  const e = target instanceof Engine ? target : target.coreEngine?.() ?? null;
  if (!(e instanceof Engine)) return null;
  for (const a of ids) for (let t = 1; t < a.length; t++) if (a[t] !== a[0] + t) return null;
  return e;
}

/**
 * Run `ops` ops (fork-heavy: at most) of a generator inside the core for session s (flushed first),
 * the stream hash carried on; returns what the core reports (fork-heavy's live children).
 */
export function runInCore(s: Session, core: Engine, w: CoreWorkload, ops: number, options: RunOptions | undefined): CoreWorkloadRun {
  s.enc.flush();
  const t = s.target;
  const seen = options?.onCoreBatch;
  const told = t !== core && t.coreRan ? t.coreRan.bind(t) : undefined;
  const onBatch = seen && told ? (words: Int32Array, n: number) => { told(words, n); seen(words, n); } : seen ?? told;
  const run = core.runCoreWorkload(w, ops, s.enc.streamHash, onBatch);
  s.enc.ranElsewhere(run.ops, run.hash);
  return run;
}

/** How a registry entry describes and runs a workload. */
export interface WorkloadDef<P = Record<string, ParamValue>> {
  readonly name: string;
  /** One paragraph: what the workload models. */
  readonly describe: string;
  /** What it needs from the target's capacity with the default parameters. */
  readonly needs: string;
  readonly spec: Spec<P>;
  readonly defaults: Readonly<P>;
  run(target: OpTarget, params?: Partial<P>, seed?: number, budget?: number, options?: RunOptions): WorkloadSummary;
}

export const DEFAULT_SEED = 1;
export const DEFAULT_BUDGET = 1_000_000;

/** Where generators place their mappings: MMAP_BASE of the core, 512-aligned. */
export const MAP_BASE = 0x10000;

/** Page tables (pte tables) a range of n pages starting 512-aligned needs. */
export function pteTablesFor(npages: number): number {
  return Math.ceil(npages / 512);
}

export function kindCode(kind: string): number {
  return kind === "device-coherent" ? abi.KIND_DEVICE_COHERENT : abi.KIND_DEVICE_PRIVATE;
}
